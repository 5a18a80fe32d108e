// The one error type inside the command-line tool: a message for the user
// and the process exit code. main() turns it into "blaze: <message>".
#pragma once

#include "blaze/storage/status.hpp"

#include <stdexcept>
#include <string>

namespace blaze::cli {

// Exit codes: 1 for a failed command, 2 for a malformed command line.
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

class tool_error : public std::runtime_error {
public:
  explicit tool_error(const std::string& message, int exit_code = exit_failure)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

private:
  int exit_code_;
};

// Unwraps a storage result or throws its error as a tool_error.
template <class T> T unwrap(result<T> r) {
  if (!r)
    throw tool_error(r.error().to_string());
  return std::move(r).value();
}

inline void unwrap(result<void> r) {
  if (!r)
    throw tool_error(r.error().to_string());
}

} // namespace blaze::cli
