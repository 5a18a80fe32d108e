// A real blaze-node process for benchmarks: its config and secrets written to
// a scratch directory, started on loopback ports it picks, killed with the
// bench (PR_SET_PDEATHSIG) should the bench die first.
#pragma once

#include "stats.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace blaze::bench::node {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

[[noreturn]] inline void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

inline std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last `n` lines of `text`, for error messages that quote a log.
inline std::string tail(const std::string& text, std::size_t n = 5) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::move(line));
  std::string out;
  for (auto i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " | ") + lines[i];
  return out.empty() ? "(no log)" : out;
}

inline void write_secret_file(const fs::path& file, const std::string& text) {
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text << '\n';
    if (!out.flush())
      throw std::runtime_error("cannot write " + file.string());
  }
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
}

inline fs::path find_node_binary(const fs::path& given) {
  fs::path p = given;
  if (p.empty())
    if (const char* env = std::getenv("BLAZE_NODE"); env && *env)
      p = env;
  if (p.empty())
    p = BLAZE_BENCH_NODE_PATH;
  if (p.empty() || ::access(p.c_str(), X_OK) != 0)
    throw std::runtime_error("no blaze-node binary at '" + p.string()
                             + "' (set BLAZE_NODE or --node)");
  return p;
}

// CPU seconds (user + system) a process has used so far, from /proc.
inline double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) // state .. cmajflt: fields 3..13
    fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident memory of a process in bytes (VmRSS), 0 when unknown.
inline double resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atof(line.c_str() + 6) * 1024;
  return 0;
}

class node_process {
public:
  // Hosts `databases` (empty stores, or whatever <dir>/data/<name> holds),
  // each with the sync secret `sync_secret`.
  node_process(const fs::path& binary, const fs::path& dir, std::size_t threads,
               bool low_latency, const std::vector<std::string>& databases,
               const std::string& node_secret, const std::string& sync_secret,
               const std::string& database_placement = "detached")
      : dir_(dir) {
    fs::create_directories(dir_ / "secrets");
    write_secret_file(dir_ / "secrets/node.secret", node_secret);
    write_secret_file(dir_ / "secrets/db.password", "blaze-bench password");
    write_secret_file(dir_ / "secrets/db.sync", sync_secret);
    {
      std::ofstream cfg(dir_ / "node.toml", std::ios::trunc);
      cfg << "[node]\nname = \"bench-node\"\ndata_dir = \"data\"\n"
             "secret_file = \"secrets/node.secret\"\n"
          << "threads = " << threads << "\nlow_latency = " << (low_latency ? "true" : "false")
          << "\ndatabase_placement = \"" << database_placement << "\"\n\n"
             "[listen]\nhost = \"127.0.0.1\"\nport = 0\n\n"
             "[sync]\nhost = \"127.0.0.1\"\nport = 0\n\n"
             "[log]\nlevel = \"info\"\n";
      for (auto& name : databases)
        cfg << "\n[[database]]\nname = \"" << name
            << "\"\npassword_file = \"secrets/db.password\"\n"
               "sync_secret_file = \"secrets/db.sync\"\n";
      if (!cfg.flush())
        throw std::runtime_error("cannot write " + (dir_ / "node.toml").string());
    }
    spawn(binary);
    try {
      // Bounded: the node opens two stores (one with the default KDF cost).
      auto deadline = bench_clock::now() + 30s;
      while (!fs::exists(port_file())) {
        if (!running())
          throw std::runtime_error("blaze-node exited during start-up: " + tail(log()));
        if (bench_clock::now() > deadline)
          throw std::runtime_error("blaze-node did not write its sync port within 30 s: "
                                   + tail(log()));
        std::this_thread::sleep_for(10ms);
      }
      int port = std::atoi(slurp(port_file()).c_str());
      if (port <= 0 || port > 65535)
        throw std::runtime_error("bad sync port file: '" + slurp(port_file()) + "'");
      sync_port_ = static_cast<std::uint16_t>(port);
    } catch (...) {
      kill_now(); // no destructor runs for a constructor that throws
      throw;
    }
  }

  ~node_process() { kill_now(); }

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  std::uint16_t sync_port() const { return sync_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return slurp(dir_ / "node.err"); }

  // Waits until the node's CPU use stays under 2% of a core for 50 ms (it
  // scans its stores' keys after opening them), at most `limit`.
  void wait_until_idle(std::chrono::milliseconds limit) const {
    auto deadline = bench_clock::now() + limit;
    double last = process_cpu_seconds(pid_);
    while (bench_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      double now = process_cpu_seconds(pid_);
      if (now - last < 0.001)
        return;
      last = now;
    }
  }

  // SIGTERM, then waits for the exit (killed after 30 s). The exit code;
  // -1 when the node had to be killed, 128+N for death by signal N.
  int stop() {
    ::kill(pid_, SIGTERM);
    auto deadline = bench_clock::now() + 30s;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (r < 0 && errno != EINTR)
        fail_errno("waitpid");
      if (bench_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

private:
  fs::path port_file() const { return dir_ / "sync.port"; }

  void spawn(const fs::path& binary) {
    std::vector<std::string> args{binary.string(), "--config", (dir_ / "node.toml").string(),
                                  "--sync-port-file", port_file().string()};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int out = ::open((dir_ / "node.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = ::open((dir_ / "node.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || err < 0 || in < 0)
      fail_errno("cannot open the node's log files");
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int fork_errno = errno;
    ::close(out);
    ::close(err);
    ::close(in);
    if (pid_ < 0) {
      errno = fork_errno;
      fail_errno("fork");
    }
  }

  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  bool running() {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  fs::path dir_;
  pid_t pid_ = -1;
  std::uint16_t sync_port_ = 0;
};

} // namespace blaze::bench::node
