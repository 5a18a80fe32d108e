// Where passwords come from: an environment variable, else the controlling
// terminal with echo off. Never the command line, which other users can
// read from /proc.
#pragma once

#include <string>

namespace blaze::cli {

enum class confirmation { once, twice };

// Returns $env_var when set; otherwise prompts on /dev/tty (asking twice
// and comparing when `confirm` is twice). Throws tool_error when neither is
// available, when the entries differ, or when the password is empty.
std::string read_password(const char* env_var, const std::string& prompt,
                          confirmation confirm = confirmation::once);

// A secret kept in a file of its own; one trailing line break is not part
// of it. Throws tool_error when the file cannot be read or is empty.
std::string read_secret_file(const std::string& file);

} // namespace blaze::cli
