#include "password_source.hpp"

#include "tool_error.hpp"

#include "blaze/server/config.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

namespace blaze::cli {

namespace {

// Saved for the signal handler, which must put echo back before the
// process dies of Ctrl-C at the prompt.
int echo_fd = -1;
struct termios saved_mode;
// Not SIGTSTP: a stopped prompt resumes reading, and must still hide input.
constexpr int restoring_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

extern "C" void restore_echo_and_reraise(int sig) {
  if (echo_fd >= 0)
    tcsetattr(echo_fd, TCSAFLUSH, &saved_mode);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

class terminal {
public:
  terminal() : fd_(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) {}
  ~terminal() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;

  bool available() const { return fd_ >= 0; }

  void write(const std::string& text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        throw tool_error(std::string{"cannot write to the terminal: "} + std::strerror(errno));
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }

  std::string read_hidden_line(const std::string& prompt) {
    write(prompt);
    struct termios mode;
    bool echo_changed = false;
    if (tcgetattr(fd_, &mode) == 0) {
      saved_mode = mode;
      echo_fd = fd_;
      for (int sig : restoring_signals)
        std::signal(sig, restore_echo_and_reraise);
      mode.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      mode.c_lflag |= ECHONL;
      echo_changed = tcsetattr(fd_, TCSAFLUSH, &mode) == 0;
    }
    std::string line;
    bool got_newline = false;
    int read_errno = 0;
    for (;;) {
      char c;
      ssize_t n = ::read(fd_, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        read_errno = errno;
      if (n <= 0)
        break;
      if (c == '\n') {
        got_newline = true;
        break;
      }
      line += c;
    }
    if (echo_changed)
      tcsetattr(fd_, TCSAFLUSH, &saved_mode);
    if (echo_fd >= 0) {
      for (int sig : restoring_signals)
        std::signal(sig, SIG_DFL);
      echo_fd = -1;
    }
    if (read_errno != 0)
      throw tool_error(std::string{"cannot read from the terminal: "} + std::strerror(read_errno));
    if (!got_newline && line.empty())
      throw tool_error("no password entered");
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    return line;
  }

private:
  int fd_;
};

} // namespace

std::string read_password(const char* env_var, const std::string& prompt, confirmation confirm) {
  if (const char* from_env = std::getenv(env_var)) {
    if (*from_env == '\0')
      throw tool_error(std::string{env_var} + " is set but empty");
    return from_env;
  }
  terminal tty;
  if (!tty.available())
    throw tool_error(std::string{"no password: set "} + env_var + " or run on a terminal");
  std::string password = tty.read_hidden_line(prompt);
  if (password.empty())
    throw tool_error("empty password");
  if (confirm == confirmation::twice) {
    std::string again = tty.read_hidden_line("Repeat: ");
    if (again != password)
      throw tool_error("the passwords do not match");
  }
  return password;
}

std::string read_secret_file(const std::string& file) {
  auto secret = server::read_secret_file(file);
  if (!secret)
    throw tool_error("the secret file: " + secret.error().message());
  return std::move(*secret);
}

} // namespace blaze::cli
