// The peer process of the socket-link suites (tests/actors/link_peer.cpp),
// started with fork/exec and driven by line commands on its stdin.
#pragma once

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace blaze_test {

namespace fs = std::filesystem;

// The peer process, driven by line commands (tests/actors/link_peer.cpp).
class peer_process {
public:
  // `with_topology`: the peer serves through a topology supervisor.
  // `options`: more leading options, such as --grant.
  peer_process(const fs::path& db, const fs::path& socket, const std::string& secret = {},
               bool with_topology = false, const std::vector<std::string>& options = {}) {
    std::vector<std::string> args{BLAZE_LINK_PEER};
    if (with_topology)
      args.push_back("--topology");
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(db.string());
    args.push_back(socket.string());
    if (!secret.empty())
      args.push_back(secret);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int in[2], out[2];
    BOOST_REQUIRE(::pipe(in) == 0 && ::pipe(out) == 0);
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      ::execv(BLAZE_LINK_PEER, argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = ::fdopen(in[1], "w");
    from_ = ::fdopen(out[0], "r");
    BOOST_REQUIRE_EQUAL(line(), "READY");
  }
  ~peer_process() {
    if (pid_ > 0) {
      std::fputs("quit\n", to_);
      std::fflush(to_);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (to_)
      std::fclose(to_);
    if (from_)
      std::fclose(from_);
  }
  std::string command(const std::string& c) {
    std::fputs((c + "\n").c_str(), to_);
    std::fflush(to_);
    return line();
  }
  std::uint64_t count(const std::string& coll = "c") {
    auto l = command("count " + coll);
    BOOST_REQUIRE(l.rfind("COUNT ", 0) == 0);
    return std::stoull(l.substr(6));
  }
  void kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

private:
  std::string line() {
    char buf[256];
    if (!std::fgets(buf, sizeof buf, from_))
      return "<eof>";
    std::string s{buf};
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
      s.pop_back();
    return s;
  }
  pid_t pid_ = -1;
  std::FILE* to_ = nullptr;
  std::FILE* from_ = nullptr;
};

} // namespace blaze_test
