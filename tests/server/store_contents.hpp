// What a store holds, read through the storage API: its records, op log and
// version vector. Two equal snapshots mean nothing of the store changed
// (LevelDB's own files may still be rewritten: every open folds its
// write-ahead log into a table).
#pragma once

#include "blaze/storage/database.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace blaze_test {

struct store_contents {
  std::map<blaze::node_id, std::uint64_t> version;
  std::map<std::string, std::vector<blaze::record>> records;
  std::vector<blaze::op> ops;

  friend bool operator==(const store_contents& a, const store_contents& b) {
    return a.version == b.version && a.records == b.records && a.ops == b.ops;
  }
};

inline store_contents read_store(const std::filesystem::path& path, const std::string& name,
                                 const std::string& password) {
  auto db = blaze::database::open(name, path, password);
  BOOST_REQUIRE_MESSAGE(db, path.string() << " does not open");
  store_contents out;
  out.version = (*db)->version().entries();
  std::vector<std::string> collections = (*db)->collections().value();
  for (auto& c : collections)
    out.records[c] = (*db)->list(c).value();
  out.ops = (*db)->ops_since(blaze::version_vector{}).value();
  return out;
}

// The names of the entries directly under `dir` (a data directory: its stores).
inline std::set<std::string> listing(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

} // namespace blaze_test
