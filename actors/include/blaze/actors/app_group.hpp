// The plain data of cross-app sharing: an app group, an export's policy and
// one entry of a group's manifest. No CAF here, so the manifest codec (and
// its fuzz target) builds without an actor system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace blaze::actors {

// An app group: its name and the directory it shares (empty: a directory
// of the name under $XDG_RUNTIME_DIR/blaze/groups, else /tmp/blaze-<uid>/groups).
struct app_group {
  std::string name;
  std::filesystem::path dir;
};

// What an export lets cross: these collections (at least one), these fields
// of them (empty: every field), and whether importers may write.
struct export_policy {
  std::vector<std::string> collections;
  std::vector<std::string> fields;
  bool read_only = true;
};

// One line of an app group's manifest.
struct export_entry {
  std::string database;
  std::filesystem::path socket; // absolute
  std::int64_t pid = 0;         // the exporting process
  std::uint32_t uid = 0;        // its user
  export_policy policy;
  bool live = false;            // listing: the exporting process still runs
};

} // namespace blaze::actors
