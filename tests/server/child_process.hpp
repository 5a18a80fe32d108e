// Child processes for the server suites: started with posix_spawn, output
// to files, every wait bounded so that a hung child fails the test instead
// of hanging it.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace blaze_test {

inline std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::filesystem::path& file, const std::string& text,
                       std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write) {
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::permissions(file, mode);
}

class child_process {
public:
  // Runs `argv` with stdout and stderr to the given files; `env` adds
  // NAME=VALUE entries to this process's environment.
  child_process(std::vector<std::string> argv, const std::filesystem::path& out,
                const std::filesystem::path& err, std::vector<std::string> env = {}) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
      env_strings.emplace_back(*e);
    for (auto& e : env)
      env_strings.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_strings)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }

  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  // The raw wait status once the child ended, or nullopt when it is still
  // running after `timeout` (it is then killed).
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return status;
      }
      if (r < 0 && errno != EINTR)
        throw std::runtime_error("waitpid failed");
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Exit code of a normal exit; -1 for a timeout, 128+N for death by signal N.
  int exit_code(std::chrono::milliseconds timeout) {
    auto status = wait(timeout);
    if (!status)
      return -1;
    if (WIFEXITED(*status))
      return WEXITSTATUS(*status);
    if (WIFSIGNALED(*status))
      return 128 + WTERMSIG(*status);
    return -2;
  }

  bool running() {
    if (pid_ <= 0)
      return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

private:
  pid_t pid_ = -1;
};

// Runs a command to the end within `timeout`: exit code (-1 on timeout),
// stdout and stderr.
struct command_result {
  int code = -1;
  std::string out;
  std::string err;
};

inline command_result run_command(std::vector<std::string> argv, const std::filesystem::path& dir,
                                  std::vector<std::string> env = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  static int counter = 0;
  auto out = dir / ("cmd-" + std::to_string(counter) + ".out");
  auto err = dir / ("cmd-" + std::to_string(counter++) + ".err");
  command_result r;
  {
    child_process p{std::move(argv), out, err, std::move(env)};
    r.code = p.exit_code(timeout);
  }
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

} // namespace blaze_test
