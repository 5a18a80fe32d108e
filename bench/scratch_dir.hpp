// A fresh directory for one benchmark run, removed with everything in it
// when the run ends (also when it ends by an exception).
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include <stdlib.h>

namespace blaze::bench {

class scratch_dir {
public:
  // Creates `<base>/blaze-bench-XXXXXX`; an empty base means the system
  // temp directory.
  explicit scratch_dir(const std::filesystem::path& base) {
    auto parent = base.empty() ? std::filesystem::temp_directory_path() : base;
    std::filesystem::create_directories(parent);
    std::string templ = (parent / "blaze-bench-XXXXXX").string();
    if (!mkdtemp(templ.data()))
      throw std::runtime_error("cannot create a directory under " + parent.string() + ": "
                               + std::strerror(errno));
    path_ = templ;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

// Bytes of every regular file under `dir`.
inline std::uintmax_t directory_bytes(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec))
      total += it->file_size(ec);
  return total;
}

} // namespace blaze::bench
