#include "blaze/storage/database.hpp"

#include "blaze/storage/team_seal.hpp"

#include "codec.hpp"
#include "crypto.hpp"
#include "key_filter.hpp"
#include "record_state.hpp"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace fs = std::filesystem;

namespace blaze {

using namespace detail;

// Key space of one store (LevelDB keys are plaintext, values sealed with
// the key as associated data):
//   "h"                                   header: KDF parameters, wrapped data key
//   "r" collection "\0" id                a record: live flag (1 byte), then its sealed
//                                         merge state; the flag is authenticated too
//   "o" origin(be64) seq(be64)            op log
//   "v" origin(be64)                      version-vector checkpoint of a remote origin:
//                                         contiguous seq and newest HLC seen. The op log is
//                                         the truth: open() reads on from the checkpoint,
//                                         which apply() writes only every
//                                         `checkpoint_interval` ops of an origin (and a
//                                         clean close writes the rest).
namespace {

constexpr char header_key[] = "h";
constexpr char live_flag = 1;
constexpr char deleted_flag = 0;
constexpr char header_magic[] = "BLAZEDB1";
constexpr std::uint8_t header_format = 1;
constexpr int scrypt_r = 8;
constexpr int scrypt_p = 1;
constexpr int min_log2_n = 10;
constexpr int max_log2_n = 22;
// A remote stamp further ahead of the wall clock than this comes from a
// broken clock; accepting it would drag every replica's clock along.
constexpr hlc_time max_clock_lead = make_hlc(366ull * 24 * 60 * 60 * 1000, 0);
// An origin's version-vector checkpoint is rewritten once its contiguous
// frontier has moved this far past it. A lone applied op then writes two
// LevelDB entries (op, record) instead of three; after a crash, open()
// reads at most this many ops per origin past the checkpoint.
constexpr std::uint64_t checkpoint_interval = 1024;

std::string record_key(std::string_view coll, std::string_view id) {
  std::string k;
  k.reserve(2 + coll.size() + id.size());
  k.push_back('r');
  k.append(coll);
  k.push_back('\0');
  k.append(id);
  return k;
}

std::string collection_prefix(std::string_view coll) {
  std::string k;
  k.push_back('r');
  k.append(coll);
  k.push_back('\0');
  return k;
}

std::string op_key(node_id origin, std::uint64_t seq) {
  std::string k;
  k.reserve(17);
  k.push_back('o');
  put_fixed64(k, origin);
  put_fixed64(k, seq);
  return k;
}

std::string op_origin_prefix(node_id origin) {
  std::string k{"o"};
  put_fixed64(k, origin);
  return k;
}

std::string vv_key(node_id origin) {
  std::string k{"v"};
  put_fixed64(k, origin);
  return k;
}

// Moves an origin's contiguous frontier over the ops stored just past it.
void fold_ahead(std::uint64_t& frontier, std::set<std::uint64_t>& ahead) {
  while (!ahead.empty() && *ahead.begin() == frontier + 1) {
    ahead.erase(ahead.begin());
    ++frontier;
  }
}

bool starts_with(const leveldb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view view(const leveldb::Slice& s) {
  return {s.data(), s.size()};
}

error from_leveldb(const leveldb::Status& s, std::string_view what) {
  std::string msg = std::string{what} + ": " + s.ToString();
  if (s.IsCorruption())
    return error{errc::corruption, msg};
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
    return error{errc::busy, std::string{what} + ": the store is in use by another open handle ("
                               + s.ToString() + ")"};
  if (s.IsNotFound())
    return error{errc::not_found, msg};
  return error{errc::io_error, msg};
}

hlc_time wall_clock_hlc() {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return make_hlc(static_cast<std::uint64_t>(ms), 0);
}

// The store's header: everything but the wrapped key is authenticated as
// associated data of the wrap, so a tampered header fails like a wrong
// password instead of silently weakening the KDF.
struct header {
  std::string name;
  int log2_n = 15;
  int r = scrypt_r;
  int p = scrypt_p;
  std::string salt;
  std::string wrapped; // sealed(data key || node id)

  std::string authenticated_part() const {
    std::string out{header_magic};
    out.push_back(static_cast<char>(header_format));
    put_string(out, name);
    out.push_back(static_cast<char>(log2_n));
    out.push_back(static_cast<char>(r));
    out.push_back(static_cast<char>(p));
    put_string(out, salt);
    return out;
  }
  std::string encode() const {
    std::string out = authenticated_part();
    put_string(out, wrapped);
    return out;
  }
  static result<header> decode(std::string_view bytes) {
    std::size_t magic_len = sizeof(header_magic) - 1;
    if (bytes.size() < magic_len + 1 || bytes.substr(0, magic_len) != header_magic)
      return error{errc::not_a_database, "the store header is not a Blaze header"};
    if (static_cast<std::uint8_t>(bytes[magic_len]) != header_format)
      return error{errc::unsupported_version,
                   "store format " + std::to_string(std::uint8_t(bytes[magic_len]))
                     + " is not supported by this build (expects "
                     + std::to_string(header_format) + ")"};
    reader in{bytes.substr(magic_len + 1)};
    header h;
    std::uint8_t n, r, p;
    if (!in.string(h.name) || !in.byte(n) || !in.byte(r) || !in.byte(p) || !in.string(h.salt)
        || !in.string(h.wrapped) || !in.at_end())
      return error{errc::corruption, "the store header is damaged"};
    if (n < min_log2_n || n > max_log2_n || r < 1 || r > 32 || p < 1 || p > 16
        || h.salt.size() != 16)
      return error{errc::corruption, "the store header holds impossible KDF parameters"};
    h.log2_n = n;
    h.r = r;
    h.p = p;
    return h;
  }
};

struct unwrapped {
  key256 data_key;
  node_id id;
};

result<key256> derive_kek(const header& h, std::string_view password) {
  return derive_key(password, h.salt, h.log2_n, h.r, h.p);
}

result<void> wrap(header& h, std::string_view password, const unwrapped& secret) {
  auto kek = derive_kek(h, password);
  if (!kek)
    return kek.error();
  std::string plain(reinterpret_cast<const char*>(secret.data_key.data()), 32);
  put_fixed64(plain, secret.id);
  sealer s{*kek};
  wipe(kek->data(), kek->size());
  h.wrapped.clear();
  auto r = s.seal(plain, h.authenticated_part(), h.wrapped);
  wipe(plain.data(), plain.size());
  return r;
}

result<unwrapped> unwrap(const header& h, std::string_view password) {
  auto kek = derive_kek(h, password);
  if (!kek)
    return kek.error();
  sealer s{*kek};
  wipe(kek->data(), kek->size());
  std::string plain;
  if (!s.open(h.wrapped, h.authenticated_part(), plain) || plain.size() != 40)
    return error{errc::wrong_password,
                 "the password does not open this store (or its header was altered)"};
  unwrapped u;
  std::memcpy(u.data_key.data(), plain.data(), 32);
  u.id = get_fixed64(plain.data() + 32);
  wipe(plain.data(), plain.size());
  return u;
}

struct leveldb_handles {
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  std::unique_ptr<leveldb::DB> db;
};

result<leveldb_handles> open_leveldb(const fs::path& path, bool create, std::size_t cache_bytes,
                                     std::size_t write_buffer_bytes) {
  leveldb_handles h;
  h.cache.reset(leveldb::NewLRUCache(cache_bytes));
  h.filter.reset(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options opts;
  opts.create_if_missing = create;
  opts.block_cache = h.cache.get();
  opts.filter_policy = h.filter.get();
  opts.paranoid_checks = true;
  // Values are ciphertext, which does not compress.
  opts.compression = leveldb::kNoCompression;
  opts.write_buffer_size = write_buffer_bytes;
  leveldb::DB* raw = nullptr;
  auto s = leveldb::DB::Open(opts, path.string(), &raw);
  if (!s.ok())
    return from_leveldb(s, "cannot open " + path.string());
  h.db.reset(raw);
  return h;
}

// Decides whether `path` may hold a store, creating the directory if asked.
// Returns true when no LevelDB store exists there yet.
result<bool> prepare_directory(const fs::path& path, const open_options& options) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (!fs::exists(st)) {
    if (!options.create_if_missing)
      return error{errc::not_found, "no database at " + path.string()};
    fs::create_directories(path, ec);
    if (ec)
      return error{errc::io_error, "cannot create " + path.string() + ": " + ec.message()};
    return true;
  }
  if (!fs::is_directory(st))
    return error{errc::not_a_database, path.string() + " is not a directory"};
  if (fs::exists(path / "CURRENT", ec))
    return false;
  if (!fs::is_empty(path, ec))
    return error{errc::not_a_database,
                 path.string() + " is a non-empty directory that holds no Blaze store"};
  if (!options.create_if_missing)
    return error{errc::not_found, "no database at " + path.string()};
  return true;
}

} // namespace

struct database::impl {
  std::string name;
  fs::path path;
  node_id self = 0;
  leveldb_handles store;
  std::unique_ptr<sealer> seal;
  leveldb::WriteOptions write_options;
  leveldb::ReadOptions read_options;

  // Everything below is guarded by `mu` (the sealer and the replication state).
  mutable std::mutex mu;
  hlc_time clock = 0;
  std::uint64_t self_seq = 0;
  version_vector have;                                // contiguous frontier per origin
  std::map<node_id, std::set<std::uint64_t>> beyond;  // stored ops past a gap
  std::set<node_id> origins;                          // every origin in the op log
  // Per remote origin: the frontier its stored checkpoint holds, and the
  // newest stamp seen of it (what the next checkpoint records).
  version_vector checkpointed;
  std::map<node_id, hlc_time> newest_seen;
  // open() went through: only then does closing write checkpoints.
  bool opened = false;

  // Keys of every stored record (live or tombstone), once `known_complete`:
  // a write to a key the filter has never seen needs no merge read.
  key_filter known_keys;
  bool known_complete = false;
  // Fills known_keys from an existing store without delaying open().
  std::thread key_scanner;
  std::atomic<bool> stop_scan{false};

  std::mutex observers_mu;
  std::map<observer_id, std::shared_ptr<observer>> observers;
  std::map<observer_id, std::shared_ptr<commit_observer>> commit_observers;
  observer_id next_observer = 1;

  hlc_time tick() {
    auto now = wall_clock_hlc();
    clock = now > clock ? now : clock + 1;
    return clock;
  }
  // Seen stamps move the clock forward, so a local change always follows
  // every change this replica has seen (read-your-writes under LWW).
  void observe(hlc_time t) {
    if (t > clock)
      clock = t;
  }

  bool has_observers() {
    std::lock_guard<std::mutex> g{observers_mu};
    return !observers.empty() || !commit_observers.empty();
  }
  void notify(std::vector<change>&& changes) {
    if (changes.empty())
      return;
    std::vector<std::shared_ptr<observer>> fns;
    std::vector<std::shared_ptr<commit_observer>> commit_fns;
    {
      std::lock_guard<std::mutex> g{observers_mu};
      fns.reserve(observers.size());
      for (auto& [id, fn] : observers)
        fns.push_back(fn);
      commit_fns.reserve(commit_observers.size());
      for (auto& [id, fn] : commit_observers)
        commit_fns.push_back(fn);
    }
    // The change is committed whatever an observer does; an exception from
    // one must not turn a successful write into a failed call.
    for (auto& c : changes)
      for (auto& fn : fns) {
        try {
          (*fn)(c);
        } catch (...) {
        }
      }
    for (std::size_t i = 0; i < commit_fns.size(); ++i) {
      try {
        if (i + 1 < commit_fns.size())
          (*commit_fns[i])(std::vector<change>{changes});
        else
          (*commit_fns[i])(std::move(changes));
      } catch (...) {
      }
    }
  }

  // Buffers reused by every write (guarded by `mu`): a put then costs no
  // allocations beyond LevelDB's own.
  leveldb::WriteBatch batch_buffer;
  std::string plain_buffer;
  std::string sealed_buffer;

  result<void> put_sealed(leveldb::WriteBatch& batch, const std::string& key,
                          std::string_view plain) {
    sealed_buffer.clear();
    if (auto r = seal->seal(plain, key, sealed_buffer); !r)
      return r;
    batch.Put(key, sealed_buffer);
    return {};
  }

  static std::string printable(std::string_view key) {
    std::string out;
    for (char c : key) {
      if (c >= 0x20 && c < 0x7f)
        out.push_back(c);
      else
        out += '/';
    }
    return out;
  }

  result<record_state> decode_state(std::string_view plain, const std::string& key) const {
    auto st = record_state::decode(plain);
    if (!st)
      return error{errc::corruption, "stored record does not decode (key " + printable(key) + ")"};
    return std::move(*st);
  }

  // Opens a stored record value: flag byte, then the sealed state.
  result<record_state> open_record(const std::string& key, std::string_view stored) const {
    std::string plain;
    if (stored.empty() || (stored[0] != live_flag && stored[0] != deleted_flag)
        || !seal->open(stored.substr(1), key, plain, stored.substr(0, 1)))
      return error{errc::corruption,
                   "stored value failed authentication (key " + printable(key) + ")"};
    auto st = decode_state(plain, key);
    if (st && st->exists() != (stored[0] == live_flag))
      return error{errc::corruption, "stored record flag disagrees with its state (key "
                                       + printable(key) + ")"};
    return st;
  }

  ~impl() {
    stop_scan = true;
    if (key_scanner.joinable())
      key_scanner.join();
    // A clean close checkpoints every origin, so the next open reads no op
    // log. Should the write fail, open() reads on from the older checkpoints.
    if (opened) {
      std::lock_guard<std::mutex> g{mu};
      leveldb::WriteBatch batch;
      bool any = false;
      for (auto& [origin, seq] : have.entries()) {
        if (origin == self || seq <= checkpointed.get(origin))
          continue;
        auto n = newest_seen.find(origin);
        if (!put_checkpoint(batch, origin, seq, n == newest_seen.end() ? 0 : n->second))
          return;
        any = true;
      }
      if (any)
        (void)write(batch);
    }
  }

  // Adds the version-vector checkpoint of a remote origin to `batch`.
  result<void> put_checkpoint(leveldb::WriteBatch& batch, node_id origin, std::uint64_t seq,
                              hlc_time newest) {
    std::string entry;
    put_varint(entry, seq);
    put_varint(entry, newest);
    return put_sealed(batch, vv_key(origin), entry);
  }

  // Runs on key_scanner: adds every record key of the store to known_keys.
  // Keys written meanwhile are added by their writers, so once the scan is
  // through, a key missing from the filter is missing from the store.
  void scan_record_keys() {
    leveldb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<leveldb::Iterator> it{store.db->NewIterator(ro)};
    std::vector<std::string> chunk;
    auto flush = [&] {
      std::lock_guard<std::mutex> g{mu};
      for (auto& k : chunk)
        known_keys.add(k);
      chunk.clear();
    };
    for (it->Seek("r"); it->Valid() && starts_with(it->key(), "r"); it->Next()) {
      chunk.push_back(it->key().ToString());
      if (chunk.size() == 4096) {
        flush();
        if (stop_scan)
          return;
      }
    }
    // On a read error the filter stays incomplete: every write keeps reading.
    if (!it->status().ok())
      return;
    flush();
    std::lock_guard<std::mutex> g{mu};
    known_complete = true;
  }

  // The record's state; a default state (nothing written) when absent.
  result<record_state> load(const std::string& key) const {
    if (known_complete && !known_keys.may_contain(key))
      return record_state{};
    std::string stored;
    auto s = store.db->Get(read_options, key, &stored);
    if (s.IsNotFound())
      return record_state{};
    if (!s.ok())
      return from_leveldb(s, "read failed");
    return open_record(key, stored);
  }

  result<void> store_record(leveldb::WriteBatch& batch, const std::string& key,
                            const record_state& st) {
    st.encode_into(plain_buffer);
    sealed_buffer.clear();
    sealed_buffer.push_back(st.exists() ? live_flag : deleted_flag);
    const char flag = sealed_buffer[0];
    if (auto r = seal->seal(plain_buffer, key, sealed_buffer, std::string_view{&flag, 1}); !r)
      return r;
    batch.Put(key, sealed_buffer);
    return {};
  }

  result<void> write(leveldb::WriteBatch& batch) {
    auto s = store.db->Write(write_options, &batch);
    if (!s.ok())
      return from_leveldb(s, "write failed");
    return {};
  }

  // Commits the local changes of `changes` in order, in one write; each
  // gets its op or the error that rejected it.
  result<std::vector<result<op>>> commit_local(write_batch& changes) {
    std::vector<result<op>> out;
    out.reserve(changes.changes_.size());
    std::vector<change> notes;
    {
      std::lock_guard<std::mutex> g{mu};
      bool want_changes = has_observers();
      // Records touched by the batch, by key: a later change of the same
      // record starts from the state the earlier one left.
      std::unordered_map<std::string, record_state> records;
      std::uint64_t seq = self_seq;
      auto& batch = batch_buffer;
      batch.Clear();
      for (auto& c : changes.changes_) {
        if (c.rejected) {
          out.emplace_back(*c.rejected);
          continue;
        }
        op& o = c.change;
        auto key = record_key(o.collection, o.id);
        auto it = records.find(key);
        if (it == records.end()) {
          auto state = load(key);
          if (!state)
            return state.error();
          it = records.emplace(std::move(key), std::move(*state)).first;
        }
        auto& state = it->second;
        if (c.must_exist && !state.exists()) {
          out.emplace_back(error{errc::not_found, o.collection + "/" + o.id});
          continue;
        }
        o.origin = self;
        o.seq = ++seq;
        o.time = tick();
        state.apply(o);
        plain_buffer.clear();
        encode_append(o, plain_buffer);
        if (auto r = put_sealed(batch, op_key(self, o.seq), plain_buffer); !r)
          return r.error();
        if (want_changes)
          notes.push_back(make_change(o, state, true));
        out.emplace_back(std::move(o));
      }
      if (seq == self_seq)
        return out; // every change was rejected: nothing to write
      // One value per record: the state after the batch's last change of it.
      for (auto& [key, state] : records)
        if (auto r = store_record(batch, key, state); !r)
          return r.error();
      if (auto r = write(batch); !r)
        return r.error();
      for (auto& [key, state] : records)
        known_keys.add(key);
      self_seq = seq;
      have.set(self, self_seq);
      origins.insert(self);
    }
    notify(std::move(notes));
    return out;
  }

  static change make_change(const op& o, const record_state& st, bool local) {
    change c;
    c.collection = o.collection;
    c.id = o.id;
    c.deleted = !st.exists();
    if (st.exists())
      c.current = st.visible(o.id);
    c.local = local;
    c.origin = o.origin;
    c.seq = o.seq;
    c.cause = o;
    return c;
  }

  // Rebuilds the replication state from the store (called once at open).
  result<void> load_replication_state() {
    std::unique_ptr<leveldb::Iterator> it{store.db->NewIterator(read_options)};
    std::string plain;
    // Version-vector entries of remote origins: seq and newest HLC seen.
    for (it->Seek("v"); it->Valid() && starts_with(it->key(), "v"); it->Next()) {
      std::string key = it->key().ToString();
      if (key.size() != 9 || !seal->open(view(it->value()), key, plain))
        return error{errc::corruption, "version vector entry failed authentication"};
      reader in{plain};
      std::uint64_t seq, time;
      if (!in.varint(seq) || !in.varint(time) || !in.at_end())
        return error{errc::corruption, "version vector entry does not decode"};
      node_id origin = get_fixed64(key.data() + 1);
      have.set(origin, seq);
      checkpointed.set(origin, seq);
      newest_seen[origin] = time;
      observe(time);
    }
    // Every origin in the op log, found by skipping from one origin to the next.
    for (it->Seek("o"); it->Valid() && starts_with(it->key(), "o");) {
      if (it->key().size() != 17)
        return error{errc::corruption, "malformed op log key"};
      node_id origin = get_fixed64(it->key().data() + 1);
      origins.insert(origin);
      if (origin == UINT64_MAX)
        break;
      it->Seek(op_origin_prefix(origin + 1));
    }
    // Own ops are written in order, one atomic batch each: the last one is the count.
    if (origins.count(self)) {
      it->Seek(op_key(self, UINT64_MAX));
      if (it->Valid())
        it->Prev();
      else
        it->SeekToLast();
      while (it->Valid() && !starts_with(it->key(), op_origin_prefix(self)))
        it->Prev();
      if (!it->Valid())
        return error{errc::corruption, "op log of this replica not found"};
      auto o = open_op(it->key(), it->value());
      if (!o)
        return o.error();
      self_seq = o->seq;
      have.set(self, self_seq);
      observe(o->time);
    }
    // Ops of remote origins stored beyond a gap in their sequence.
    for (node_id origin : origins) {
      if (origin == self)
        continue;
      auto prefix = op_origin_prefix(origin);
      std::uint64_t frontier = have.get(origin);
      auto& ahead = beyond[origin];
      auto& newest = newest_seen[origin];
      for (it->Seek(op_key(origin, frontier + 1));
           it->Valid() && starts_with(it->key(), prefix); it->Next()) {
        auto o = open_op(it->key(), it->value());
        if (!o)
          return o.error();
        // Ops that continue the checkpoint's frontier without a gap move
        // it (applied after the last checkpoint); the rest lie past a gap.
        if (o->seq == frontier + 1 && ahead.empty())
          frontier = o->seq;
        else
          ahead.insert(o->seq);
        newest = std::max(newest, o->time);
        observe(o->time);
      }
      fold_ahead(frontier, ahead);
      if (ahead.empty())
        beyond.erase(origin);
      if (frontier > 0)
        have.set(origin, frontier);
    }
    if (!it->status().ok())
      return from_leveldb(it->status(), "reading the op log failed");
    return {};
  }

  result<op> open_op(const leveldb::Slice& key, const leveldb::Slice& value) const {
    std::string plain;
    std::string k = key.ToString();
    if (!seal->open(view(value), k, plain))
      return error{errc::corruption, "op log entry failed authentication"};
    auto o = decode_op(plain);
    if (!o)
      return error{errc::corruption, "op log entry does not decode"};
    if (k.size() != 17 || o->origin != get_fixed64(k.data() + 1)
        || o->seq != get_fixed64(k.data() + 9))
      return error{errc::corruption, "op log entry is stored under another key"};
    return o;
  }

  // Calls fn(id, state) for each live record of a collection in id order,
  // starting after `start_after`; fn returns false to stop.
  template <class F>
  result<void> scan(std::string_view coll, std::string_view start_after, F fn) const {
    auto prefix = collection_prefix(coll);
    std::unique_ptr<leveldb::Iterator> it{store.db->NewIterator(read_options)};
    if (start_after.empty()) {
      it->Seek(prefix);
    } else {
      auto from = record_key(coll, start_after);
      it->Seek(from);
      if (it->Valid() && it->key() == leveldb::Slice(from))
        it->Next();
    }
    for (; it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      std::string key = it->key().ToString();
      // Deleted records are opened too, so that a flipped flag is detected.
      auto st = open_record(key, view(it->value()));
      if (!st)
        return st.error();
      if (st->exists() && !fn(std::string_view{key}.substr(prefix.size()), *st))
        return {};
    }
    if (!it->status().ok())
      return from_leveldb(it->status(), "scan failed");
    return {};
  }
};

database::database(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
database::~database() = default;

const std::string& database::name() const { return impl_->name; }
node_id database::id() const { return impl_->self; }
const fs::path& database::path() const { return impl_->path; }

result<std::unique_ptr<database>> database::open(std::string_view name, const fs::path& path,
                                                 std::string_view password,
                                                 const open_options& options) {
  if (options.kdf_log2_n < min_log2_n || options.kdf_log2_n > max_log2_n)
    return error{errc::invalid_argument, "kdf_log2_n must be between "
                                           + std::to_string(min_log2_n) + " and "
                                           + std::to_string(max_log2_n)};
  auto fresh = prepare_directory(path, options);
  if (!fresh)
    return fresh.error();
  auto handles = open_leveldb(path, *fresh, options.cache_bytes, options.write_buffer_bytes);
  if (!handles)
    return handles.error();
  auto& db = *handles->db;

  std::string raw_header;
  auto s = db.Get(leveldb::ReadOptions{}, header_key, &raw_header);
  header h;
  unwrapped secret;
  if (s.IsNotFound()) {
    // No header: either a new store, or one whose creation was interrupted
    // before anything else was written. Anything else is not ours.
    std::unique_ptr<leveldb::Iterator> it{db.NewIterator(leveldb::ReadOptions{})};
    it->SeekToFirst();
    if (it->Valid())
      return error{errc::not_a_database, path.string() + " holds a LevelDB store that is not Blaze's"};
    if (!options.create_if_missing)
      return error{errc::not_found, "no database at " + path.string()};
    h.name = name.empty() ? path.filename().string() : std::string{name};
    if (h.name.empty())
      h.name = path.parent_path().filename().string();
    h.log2_n = options.kdf_log2_n;
    h.salt.resize(16);
    if (auto r = random_bytes(h.salt.data(), h.salt.size()); !r)
      return r.error();
    if (auto r = random_bytes(secret.data_key.data(), secret.data_key.size()); !r)
      return r.error();
    do {
      if (auto r = random_bytes(&secret.id, sizeof secret.id); !r)
        return r.error();
    } while (secret.id == 0 || secret.id == UINT64_MAX);
    if (auto r = wrap(h, password, secret); !r)
      return r.error();
    leveldb::WriteOptions sync;
    sync.sync = true;
    if (auto ws = db.Put(sync, header_key, h.encode()); !ws.ok())
      return from_leveldb(ws, "cannot write the store header");
  } else if (!s.ok()) {
    return from_leveldb(s, "cannot read the store header");
  } else {
    if (options.error_if_exists)
      return error{errc::already_exists, "a database already exists at " + path.string()};
    auto parsed = header::decode(raw_header);
    if (!parsed)
      return parsed.error();
    h = std::move(*parsed);
    if (!name.empty() && name != h.name)
      return error{errc::name_mismatch, "the store at " + path.string() + " is named '" + h.name
                                          + "', not '" + std::string{name} + "'"};
    auto u = unwrap(h, password);
    if (!u)
      return u.error();
    secret = *u;
  }

  auto p = std::make_unique<impl>();
  p->name = h.name;
  p->path = path;
  p->self = secret.id;
  p->store = std::move(*handles);
  p->seal = std::make_unique<sealer>(secret.data_key);
  wipe(secret.data_key.data(), secret.data_key.size());
  if (!p->seal->valid())
    return error{errc::crypto_error, "cannot set up AES-256-GCM"};
  p->write_options.sync = options.sync_writes;
  p->read_options.verify_checksums = true;
  if (auto r = p->load_replication_state(); !r)
    return r.error();
  if (*fresh || s.IsNotFound()) {
    p->known_complete = true; // nothing stored yet
  } else {
    auto* self = p.get();
    p->key_scanner = std::thread{[self] { self->scan_record_keys(); }};
  }
  p->opened = true;
  return std::unique_ptr<database>{new database(std::move(p))};
}

result<void> database::change_password(const fs::path& path, std::string_view old_password,
                                       std::string_view new_password, int kdf_log2_n) {
  if (kdf_log2_n < min_log2_n || kdf_log2_n > max_log2_n)
    return error{errc::invalid_argument, "kdf_log2_n out of range"};
  open_options o;
  o.create_if_missing = false;
  auto fresh = prepare_directory(path, o);
  if (!fresh)
    return fresh.error();
  auto handles = open_leveldb(path, false, 1u << 20, 1u << 20);
  if (!handles)
    return handles.error();
  std::string raw;
  auto s = handles->db->Get(leveldb::ReadOptions{}, header_key, &raw);
  if (s.IsNotFound())
    return error{errc::not_a_database, path.string() + " holds no Blaze store"};
  if (!s.ok())
    return from_leveldb(s, "cannot read the store header");
  auto h = header::decode(raw);
  if (!h)
    return h.error();
  auto secret = unwrap(*h, old_password);
  if (!secret)
    return secret.error();
  header next = *h;
  next.log2_n = kdf_log2_n;
  next.salt.assign(16, '\0');
  if (auto r = random_bytes(next.salt.data(), next.salt.size()); !r)
    return r;
  auto r = wrap(next, new_password, *secret);
  wipe(secret->data_key.data(), secret->data_key.size());
  if (!r)
    return r;
  leveldb::WriteOptions sync;
  sync.sync = true;
  if (auto ws = handles->db->Put(sync, header_key, next.encode()); !ws.ok())
    return from_leveldb(ws, "cannot write the store header");
  return {};
}

namespace {

op local_set_op(std::string_view collection, std::string_view id) {
  op o;
  o.collection = collection;
  o.id = id;
  o.kind = op_kind::set;
  // Placeholders that pass validation; the commit sets both.
  o.origin = 1;
  o.seq = 1;
  return o;
}

} // namespace

void write_batch::add(op o, bool must_exist) {
  pending p{std::move(o), must_exist, std::nullopt};
  if (is_sealed_collection(p.change.collection))
    p.rejected = error{errc::invalid_argument,
                       "collection '" + p.change.collection + "': names starting with '"
                         + std::string{sealed_collection_prefix}
                         + "' are reserved for end-to-end sealed ops"};
  else if (auto r = validate_op(p.change); !r)
    p.rejected = r.error();
  changes_.push_back(std::move(p));
}

void write_batch::put(std::string_view collection, std::string_view id, field_map fields) {
  op o = local_set_op(collection, id);
  o.fields = std::move(fields);
  add(std::move(o), false);
}

void write_batch::remove_fields(std::string_view collection, std::string_view id,
                                std::vector<std::string> fields) {
  if (fields.empty()) {
    changes_.push_back({local_set_op(collection, id), true,
                        error{errc::invalid_argument, "no field to remove"}});
    return;
  }
  std::sort(fields.begin(), fields.end());
  fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
  op o = local_set_op(collection, id);
  o.removed = std::move(fields);
  add(std::move(o), true);
}

void write_batch::erase(std::string_view collection, std::string_view id) {
  op o = local_set_op(collection, id);
  o.kind = op_kind::erase;
  add(std::move(o), true);
}

// The single-change calls are batches of one: one code path commits.
result<op> database::put(std::string_view collection, std::string_view id, field_map fields) {
  write_batch b;
  b.put(collection, id, std::move(fields));
  return commit_one(b);
}

result<op> database::remove_fields(std::string_view collection, std::string_view id,
                                   std::vector<std::string> fields) {
  write_batch b;
  b.remove_fields(collection, id, std::move(fields));
  return commit_one(b);
}

result<op> database::erase(std::string_view collection, std::string_view id) {
  write_batch b;
  b.erase(collection, id);
  return commit_one(b);
}

result<op> database::commit_one(write_batch& b) {
  auto r = impl_->commit_local(b);
  if (!r)
    return r.error();
  return std::move(r->front());
}

result<std::vector<result<op>>> database::write(write_batch batch) {
  return impl_->commit_local(batch);
}

result<std::optional<record>> database::get(std::string_view collection,
                                            std::string_view id) const {
  if (auto r = validate_collection(collection); !r)
    return r.error();
  if (auto r = validate_record_id(id); !r)
    return r.error();
  std::lock_guard<std::mutex> g{impl_->mu};
  auto st = impl_->load(record_key(collection, id));
  if (!st)
    return st.error();
  if (!st->exists())
    return std::optional<record>{};
  return std::optional<record>{st->visible(std::string{id})};
}

result<std::vector<record>> database::list(std::string_view collection, std::size_t limit,
                                           std::string_view start_after) const {
  if (auto r = validate_collection(collection); !r)
    return r.error();
  std::vector<record> out;
  std::lock_guard<std::mutex> g{impl_->mu};
  auto r = impl_->scan(collection, start_after, [&](std::string_view id, const record_state& st) {
    out.push_back(st.visible(std::string{id}));
    return limit == 0 || out.size() < limit;
  });
  if (!r)
    return r.error();
  return out;
}

result<std::uint64_t> database::count(std::string_view collection) const {
  if (auto r = validate_collection(collection); !r)
    return r.error();
  // Reads the live flags only: counting does not decrypt every record.
  auto prefix = collection_prefix(collection);
  std::unique_ptr<leveldb::Iterator> it{impl_->store.db->NewIterator(impl_->read_options)};
  std::uint64_t n = 0;
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next())
    if (!it->value().empty() && it->value()[0] == live_flag)
      ++n;
  if (!it->status().ok())
    return from_leveldb(it->status(), "count failed");
  return n;
}

namespace {

// Records missing the ordering field sort before all others.
bool ordered_before(const record& a, const record& b, const std::string& field, bool desc) {
  if (field == "_id")
    return desc ? b.id < a.id : a.id < b.id;
  auto* x = a.field(field);
  auto* y = b.field(field);
  int c;
  if (!x || !y)
    c = (x ? 1 : 0) - (y ? 1 : 0);
  else
    c = compare(*x, *y);
  return desc ? c > 0 : c < 0;
}

} // namespace

result<std::vector<record>> database::find(const query& q) const {
  if (auto r = validate_collection(q.collection); !r)
    return r.error();
  for (auto& c : q.where) {
    if (c.field != "_id")
      if (auto r = validate_field_name(c.field); !r)
        return r.error();
    if (!valid_value(c.value))
      return error{errc::invalid_argument, "NaN cannot be compared"};
  }
  if (q.order_by && *q.order_by != "_id")
    if (auto r = validate_field_name(*q.order_by); !r)
      return r.error();
  auto all_match = [&](const record& r) {
    return std::all_of(q.where.begin(), q.where.end(),
                       [&](const condition& c) { return matches(r, c); });
  };
  // An equality on the id is a point lookup.
  for (auto& c : q.where) {
    if (c.field == "_id" && c.op == compare_op::eq && c.value.as_string()) {
      auto one = get(q.collection, *c.value.as_string());
      if (!one)
        return one.error();
      std::vector<record> out;
      if (*one && all_match(**one))
        out.push_back(std::move(**one));
      return out;
    }
  }
  bool ordered_by_field = q.order_by && *q.order_by != "_id";
  bool early_stop = !ordered_by_field && !(q.order_by && q.descending);
  std::vector<record> out;
  {
    std::lock_guard<std::mutex> g{impl_->mu};
    // Conditions are tested on the stored state; only matches become records.
    auto state_matches = [&](std::string_view id, const record_state& st) {
      for (auto& c : q.where) {
        if (c.field == "_id") {
          if (!matches_value(value{id}, c))
            return false;
          continue;
        }
        auto reg = st.fields.find(c.field);
        if (reg == st.fields.end() || !reg->second.present || !(st.deleted < reg->second.written)
            || !matches_value(reg->second.v, c))
          return false;
      }
      return true;
    };
    auto r = impl_->scan(q.collection, {}, [&](std::string_view id, const record_state& st) {
      if (state_matches(id, st))
        out.push_back(st.visible(std::string{id}));
      return !(early_stop && q.limit != 0 && out.size() >= q.limit);
    });
    if (!r)
      return r.error();
  }
  if (q.order_by) {
    auto& field = *q.order_by;
    std::stable_sort(out.begin(), out.end(), [&](const record& a, const record& b) {
      return ordered_before(a, b, field, q.descending);
    });
  }
  if (q.limit != 0 && out.size() > q.limit)
    out.resize(q.limit);
  return out;
}

result<std::vector<std::string>> database::collections() const {
  std::vector<std::string> out;
  std::unique_ptr<leveldb::Iterator> it{impl_->store.db->NewIterator(impl_->read_options)};
  for (it->Seek("r"); it->Valid() && starts_with(it->key(), "r");) {
    auto key = view(it->key()).substr(1);
    auto end = key.find('\0');
    if (end == std::string_view::npos)
      return error{errc::corruption, "malformed record key"};
    std::string coll{key.substr(0, end)};
    auto prefix = collection_prefix(coll);
    // A collection is listed while it holds at least one live record.
    while (it->Valid() && starts_with(it->key(), prefix) && !it->value().empty()
           && it->value()[0] != live_flag)
      it->Next();
    if (it->Valid() && starts_with(it->key(), prefix)) {
      out.push_back(coll);
      std::string next = "r" + coll;
      next.push_back('\x01'); // just past every "r<collection>\0..." key
      it->Seek(next);
    }
  }
  if (!it->status().ok())
    return from_leveldb(it->status(), "listing collections failed");
  return out;
}

result<void> check_op_clock(const op& o) {
  if (o.time > wall_clock_hlc() + max_clock_lead)
    return error{errc::invalid_argument,
                 "op " + to_hex(o.origin) + ":" + std::to_string(o.seq)
                   + " is stamped more than a year ahead of this clock"};
  return {};
}

result<apply_stats> database::apply(const std::vector<op>& ops) {
  auto& d = *impl_;
  for (auto& o : ops)
    if (auto r = validate_op(o); !r)
      return error{r.error().code(), "op " + to_hex(o.origin) + ":" + std::to_string(o.seq)
                                       + " rejected: " + r.error().message()};
  apply_stats stats;
  std::vector<change> changes;
  {
    std::lock_guard<std::mutex> g{d.mu};
    bool want_changes = d.has_observers();
    // Progress of each origin the batch touches, worked out beside the
    // replication state and moved into it once the write succeeded: a
    // failed write leaves the in-memory state as it was.
    struct progress {
      std::uint64_t frontier;
      std::set<std::uint64_t> ahead;
      hlc_time newest;
    };
    std::map<node_id, progress> touched_origins;
    hlc_time latest = 0; // the newest stamp of the batch
    struct touched {
      record_state state;
      bool dirty = false;
    };
    std::unordered_map<std::string, touched> records; // by record key
    auto& batch = d.batch_buffer;
    batch.Clear();
    std::string& encoded = d.plain_buffer;
    for (auto& o : ops) {
      if (o.origin == d.self) {
        if (o.seq <= d.self_seq) {
          ++stats.duplicates;
          continue;
        }
        return error{errc::invalid_argument,
                     "op " + to_hex(o.origin) + ":" + std::to_string(o.seq)
                       + " carries this replica's node id but this replica never wrote it"
                         " (was the store copied?)"};
      }
      if (auto r = check_op_clock(o); !r)
        return r.error();
      auto pi = touched_origins.find(o.origin);
      if (pi == touched_origins.end()) {
        progress p{d.have.get(o.origin), {}, 0};
        if (auto b = d.beyond.find(o.origin); b != d.beyond.end())
          p.ahead = b->second;
        if (auto n = d.newest_seen.find(o.origin); n != d.newest_seen.end())
          p.newest = n->second;
        pi = touched_origins.emplace(o.origin, std::move(p)).first;
      }
      auto& pr = pi->second;
      if (o.seq <= pr.frontier || pr.ahead.count(o.seq)) {
        ++stats.duplicates;
        continue;
      }
      auto key = record_key(o.collection, o.id);
      auto it = records.find(key);
      if (it == records.end()) {
        auto st = d.load(key);
        if (!st)
          return st.error();
        it = records.emplace(std::move(key), touched{std::move(*st), false}).first;
      }
      if (it->second.state.apply(o))
        it->second.dirty = true;
      encoded.clear();
      encode_append(o, encoded);
      if (auto r = d.put_sealed(batch, op_key(o.origin, o.seq), encoded); !r)
        return r.error();
      if (o.seq == pr.frontier + 1) {
        ++pr.frontier;
        fold_ahead(pr.frontier, pr.ahead);
      } else {
        pr.ahead.insert(o.seq);
      }
      pr.newest = std::max(pr.newest, o.time);
      latest = std::max(latest, o.time);
      ++stats.applied;
      if (want_changes)
        changes.push_back(impl::make_change(o, it->second.state, false));
    }
    if (stats.applied == 0)
      return stats;
    for (auto& [key, t] : records)
      if (t.dirty) {
        if (auto r = d.store_record(batch, key, t.state); !r)
          return r.error();
        // Added before the write: should it fail, an extra key only costs a read.
        d.known_keys.add(key);
      }
    // Checkpoints of the origins whose frontier moved far enough.
    std::vector<node_id> checkpoints;
    for (auto& [origin, pr] : touched_origins) {
      if (pr.frontier < d.checkpointed.get(origin) + checkpoint_interval)
        continue;
      if (auto r = d.put_checkpoint(batch, origin, pr.frontier, pr.newest); !r)
        return r.error();
      checkpoints.push_back(origin);
    }
    if (auto r = d.write(batch); !r)
      return r.error();
    for (auto& [origin, pr] : touched_origins) {
      d.have.set(origin, pr.frontier);
      if (pr.ahead.empty())
        d.beyond.erase(origin);
      else
        d.beyond[origin] = std::move(pr.ahead);
      d.newest_seen[origin] = pr.newest;
      d.origins.insert(origin);
    }
    for (node_id origin : checkpoints)
      d.checkpointed.set(origin, d.have.get(origin));
    d.observe(latest);
  }
  impl_->notify(std::move(changes));
  return stats;
}

result<std::vector<op>> database::ops_since(const version_vector& have, std::size_t limit) const {
  auto& d = *impl_;
  std::vector<op> out;
  std::lock_guard<std::mutex> g{d.mu};
  std::unique_ptr<leveldb::Iterator> it{d.store.db->NewIterator(d.read_options)};
  for (node_id origin : d.origins) {
    auto after = have.get(origin);
    if (after == std::numeric_limits<std::uint64_t>::max())
      continue; // complete (and after + 1 would start over at 0)
    auto prefix = op_origin_prefix(origin);
    for (it->Seek(op_key(origin, after + 1));
         it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      auto o = d.open_op(it->key(), it->value());
      if (!o)
        return o.error();
      out.push_back(std::move(*o));
      if (limit != 0 && out.size() >= limit)
        return out;
    }
  }
  if (!it->status().ok())
    return from_leveldb(it->status(), "reading the op log failed");
  return out;
}

version_vector database::version() const {
  std::lock_guard<std::mutex> g{impl_->mu};
  return impl_->have;
}

observer_id database::subscribe(observer fn) {
  std::lock_guard<std::mutex> g{impl_->observers_mu};
  auto id = impl_->next_observer++;
  impl_->observers.emplace(id, std::make_shared<observer>(std::move(fn)));
  return id;
}

observer_id database::subscribe_commits(commit_observer fn) {
  std::lock_guard<std::mutex> g{impl_->observers_mu};
  auto id = impl_->next_observer++;
  impl_->commit_observers.emplace(id, std::make_shared<commit_observer>(std::move(fn)));
  return id;
}

void database::unsubscribe(observer_id id) {
  std::lock_guard<std::mutex> g{impl_->observers_mu};
  impl_->observers.erase(id);
  impl_->commit_observers.erase(id);
}

} // namespace blaze
