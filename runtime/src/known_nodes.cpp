#include "known_nodes.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace blaze::runtime::detail {

namespace {

// Channels of one process check and pin concurrently; one lock keeps the
// read-then-append of a new peer from pinning it twice.
std::mutex known_nodes_mutex;

result<std::optional<std::string>> find_pin(const std::string& path, const std::string& peer) {
  std::ifstream in{path};
  if (!in) {
    if (errno == ENOENT)
      return std::optional<std::string>{};
    return error{errc::io_error, "cannot read known nodes file " + path + ": "
                                   + std::strerror(errno)};
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string name;
    std::string fingerprint;
    if (!(fields >> name) || name[0] == '#')
      continue;
    if (name == peer && (fields >> fingerprint))
      return std::optional<std::string>{fingerprint};
  }
  return std::optional<std::string>{};
}

} // namespace

result<void> pin_or_verify(const std::string& path, const std::string& peer,
                           const std::string& fingerprint) {
  std::lock_guard<std::mutex> guard{known_nodes_mutex};
  auto pinned = find_pin(path, peer);
  if (!pinned)
    return pinned.error();
  if (*pinned) {
    if (fingerprint.empty())
      return error{errc::identity_mismatch, "peer " + peer + " is pinned to identity "
                                              + **pinned + " but presented no identity key"};
    if (**pinned != fingerprint)
      return error{errc::identity_mismatch, "peer " + peer + " presented identity " + fingerprint
                                              + " but is pinned to " + **pinned + " in " + path};
    return {};
  }
  if (fingerprint.empty())
    return {};
  std::ofstream out{path, std::ios::app};
  out << peer << ' ' << fingerprint << '\n';
  out.flush();
  if (!out)
    return error{errc::io_error, "cannot pin peer " + peer + " in known nodes file " + path};
  return {};
}

} // namespace blaze::runtime::detail
