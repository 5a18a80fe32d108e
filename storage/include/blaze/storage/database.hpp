// The embedded database: one encrypted LevelDB store holding collections of
// records, the op log of every change, and the replica's version vector.
#pragma once

#include "blaze/storage/op.hpp"
#include "blaze/storage/query.hpp"
#include "blaze/storage/status.hpp"
#include "blaze/storage/value.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blaze {

struct open_options {
  bool create_if_missing = true;
  bool error_if_exists = false;
  // scrypt cost (N = 2^kdf_log2_n, r = 8, p = 1) for a store created now;
  // an existing store keeps the cost recorded in its header. 15 costs about
  // 0.1 s and 32 MiB; values below 15 are meant for tests only.
  int kdf_log2_n = 15;
  // LevelDB block cache for this store.
  std::size_t cache_bytes = 8u << 20;
  // LevelDB memtable size: larger absorbs write bursts with fewer
  // compaction stalls; up to twice this much memory per open store.
  std::size_t write_buffer_bytes = 16u << 20;
  // Force every write to disk before it returns (fsync). Off: a killed
  // process loses nothing, a power cut may lose the last writes.
  bool sync_writes = false;
};

// One committed change, as observers see it.
struct change {
  std::string collection;
  std::string id;
  bool deleted = false;            // true: the record no longer exists
  std::optional<record> current;   // the record after the change (if it exists)
  bool local = false;              // made through this database, not applied from a peer
  node_id origin = 0;
  std::uint64_t seq = 0;
  // The op that made the change (local or applied), so that relays can
  // forward it without reading it back from the op log.
  op cause;
};

using observer = std::function<void(const change&)>;
// Told of a whole commit at once: its changes in order, handed over.
using commit_observer = std::function<void(std::vector<change>&&)>;
using observer_id = std::uint64_t;

struct apply_stats {
  std::size_t applied = 0;    // new ops stored and merged
  std::size_t duplicates = 0; // ops this replica already had
};

// Local changes to commit together (database::write): one LevelDB write
// for the lot instead of one per change (group commit). Each change is
// checked as it is added; one that is invalid is rejected on its own.
class write_batch {
public:
  void put(std::string_view collection, std::string_view id, field_map fields);
  // The record must exist when the change is made (else errc::not_found).
  void remove_fields(std::string_view collection, std::string_view id,
                     std::vector<std::string> fields);
  void erase(std::string_view collection, std::string_view id);

  std::size_t size() const { return changes_.size(); }
  bool empty() const { return changes_.empty(); }
  void clear() { changes_.clear(); }

private:
  friend class database;
  struct pending {
    op change;
    bool must_exist = false;
    std::optional<error> rejected; // set when the change is invalid
  };
  void add(op o, bool must_exist);
  std::vector<pending> changes_;
};

class database {
public:
  // Opens the store in directory `path`, creating it when missing (unless
  // options say otherwise). `name` is recorded at creation; opening with a
  // non-empty other name is an error. A wrong password leaves the store
  // untouched and returns errc::wrong_password.
  static result<std::unique_ptr<database>>
  open(std::string_view name, const std::filesystem::path& path, std::string_view password,
       const open_options& options = {});

  // Re-wraps the data key under a new password; records are not rewritten.
  static result<void> change_password(const std::filesystem::path& path,
                                      std::string_view old_password,
                                      std::string_view new_password, int kdf_log2_n = 15);

  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  const std::string& name() const;
  node_id id() const;
  const std::filesystem::path& path() const;

  // Local changes. Each commits the record and its op in one atomic write
  // and returns the op. put merges `fields` into the record (creating it).
  result<op> put(std::string_view collection, std::string_view id, field_map fields);
  result<op> remove_fields(std::string_view collection, std::string_view id,
                           std::vector<std::string> fields);
  result<op> remove_field(std::string_view collection, std::string_view id,
                          std::string field) {
    return remove_fields(collection, id, {std::move(field)});
  }
  // Deletes the record. errc::not_found when it does not exist.
  result<op> erase(std::string_view collection, std::string_view id);
  // Makes the batch's changes in order, as the calls above would one by
  // one: each gets its own op (consecutive seqs, increasing stamps) or its
  // own error, which does not stop the others. All that succeed are stored
  // in one atomic write; observers then see them in order. An error of the
  // write itself is returned instead, and then nothing was stored.
  result<std::vector<result<op>>> write(write_batch batch);

  // Reads.
  result<std::optional<record>> get(std::string_view collection, std::string_view id) const;
  // Records in id order, starting after `start_after` (empty: from the first).
  result<std::vector<record>> list(std::string_view collection, std::size_t limit = 0,
                                   std::string_view start_after = {}) const;
  result<std::uint64_t> count(std::string_view collection) const;
  result<std::vector<record>> find(const query& q) const;
  result<std::vector<std::string>> collections() const;

  // Replication. apply merges remote ops (any order, duplicates allowed)
  // in one atomic write; ops_since returns the ops `have` lacks, per origin
  // in sequence order, at most `limit` of them (0: all). An origin at the
  // largest seq (std::numeric_limits<std::uint64_t>::max()) is complete:
  // none of its ops are read.
  result<apply_stats> apply(const std::vector<op>& ops);
  result<std::vector<op>> ops_since(const version_vector& have, std::size_t limit = 0) const;
  version_vector version() const;

  // Observers run after the change is committed, on the thread that made
  // it, outside the database's lock (they may read the database). An
  // exception an observer throws is caught and dropped: the change stands.
  observer_id subscribe(observer fn);
  // A commit observer is told once per commit, after the per-change
  // observers, and takes the changes: the last one subscribed gets the
  // vector itself, any other a copy (what an actor that forwards the
  // changes wants: no copy per change). The same rules otherwise.
  observer_id subscribe_commits(commit_observer fn);
  // Ends either kind of subscription.
  void unsubscribe(observer_id id);

  struct impl;

private:
  explicit database(std::unique_ptr<impl> p);
  result<op> commit_one(write_batch& b);
  std::unique_ptr<impl> impl_;
};

// Names: a collection is 1..128 characters of [A-Za-z0-9_.-]; a record id
// is 1..512 bytes without NUL; a field name is 1..256 bytes without NUL and
// must not start with '_' (reserved: "_id").
result<void> validate_collection(std::string_view name);
result<void> validate_record_id(std::string_view id);
result<void> validate_field_name(std::string_view name);

// What database::apply refuses of a decoded op from another replica before
// it stores anything, beyond what decoding checks: a clock stamped more
// than a year ahead of this machine's. A link checks it before it forwards
// an op to other peers (which would refuse it too).
result<void> check_op_clock(const op& o);

} // namespace blaze
