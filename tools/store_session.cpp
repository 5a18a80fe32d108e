#include "store_session.hpp"

#include "password_source.hpp"
#include "tool_error.hpp"

#include <cerrno>
#include <cstdlib>

namespace blaze::cli {

namespace fs = std::filesystem;

namespace {

constexpr int min_kdf_log2_n = 4;
constexpr int max_kdf_log2_n = 24; // 2^24 * 1 KiB = 16 GiB of scrypt memory

// "/data/notes/" names the store "notes".
std::string default_name(const fs::path& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (p.filename().empty())
    p = p.parent_path();
  return p.filename().string();
}

} // namespace

int kdf_cost_from_env() {
  const char* text = std::getenv("BLAZE_KDF_LOG2_N");
  if (text == nullptr)
    return open_options{}.kdf_log2_n;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || n < min_kdf_log2_n || n > max_kdf_log2_n)
    throw tool_error("BLAZE_KDF_LOG2_N must be an integer from " + std::to_string(min_kdf_log2_n) +
                     " to " + std::to_string(max_kdf_log2_n) + ", got '" + text + "'");
  return static_cast<int>(n);
}

fs::path store_path(const store_options& options) {
  if (options.db.empty())
    throw tool_error("no store given: pass --db PATH or set BLAZE_DB", exit_usage);
  return fs::path{options.db};
}

std::unique_ptr<database> create_store(const store_options& options) {
  fs::path path = store_path(options);
  if (fs::exists(path) && !(fs::is_directory(path) && fs::is_empty(path)))
    throw tool_error("cannot create a store at " + path.string() + ": it already exists");
  open_options open;
  open.create_if_missing = true;
  open.error_if_exists = true;
  open.kdf_log2_n = kdf_cost_from_env();
  std::string name = options.name.empty() ? default_name(path) : options.name;
  std::string password = read_password("BLAZE_PASSWORD", "New password for " + path.string() + ": ",
                                       confirmation::twice);
  return unwrap(database::open(name, path, password, open));
}

std::unique_ptr<database> open_store(const store_options& options) {
  fs::path path = store_path(options);
  if (!fs::exists(path))
    throw tool_error("no store at " + path.string() + " (create one with: blaze init)");
  open_options open;
  open.create_if_missing = false;
  std::string password = read_password("BLAZE_PASSWORD", "Password for " + path.string() + ": ");
  return unwrap(database::open(options.name, path, password, open));
}

} // namespace blaze::cli
