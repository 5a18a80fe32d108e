// Scratch directories for the actor suites: unique per process and call,
// emptied before use.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

namespace blaze_test {

inline std::filesystem::path fresh_dir(std::string_view tag) {
  static int counter = 0;
  auto p = std::filesystem::temp_directory_path()
           / ("blaze-" + std::string{tag} + "-test-" + std::to_string(::getpid()) + "-"
              + std::to_string(counter++));
  std::filesystem::remove_all(p);
  return p;
}

} // namespace blaze_test
