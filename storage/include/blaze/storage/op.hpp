// Operations: every change to a database is an op stamped by a hybrid
// logical clock; replicas exchange ops and merge them deterministically.
#pragma once

#include "blaze/storage/status.hpp"
#include "blaze/storage/value.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace blaze {

// A replica's identity: random, chosen when the store is created.
using node_id = std::uint64_t;

std::string to_hex(node_id id);

// Hybrid logical clock timestamp: milliseconds since the epoch in the high
// 48 bits, a logical counter in the low 16. Compares as a plain integer.
using hlc_time = std::uint64_t;

constexpr std::uint64_t hlc_physical_ms(hlc_time t) noexcept { return t >> 16; }
constexpr std::uint32_t hlc_logical(hlc_time t) noexcept { return t & 0xffffu; }
constexpr hlc_time make_hlc(std::uint64_t ms, std::uint32_t logical) noexcept {
  return (ms << 16) | (logical & 0xffffu);
}

// Last-writer-wins order: the HLC first, the origin breaks ties.
struct stamp {
  hlc_time time = 0;
  node_id origin = 0;
  friend bool operator<(const stamp& a, const stamp& b) {
    return a.time != b.time ? a.time < b.time : a.origin < b.origin;
  }
  friend bool operator>(const stamp& a, const stamp& b) { return b < a; }
  friend bool operator==(const stamp& a, const stamp& b) {
    return a.time == b.time && a.origin == b.origin;
  }
  friend bool operator!=(const stamp& a, const stamp& b) { return !(a == b); }
};

enum class op_kind : std::uint8_t {
  set = 1,   // set `fields`, remove `removed` (creates the record if needed)
  erase = 2, // delete the record (a tombstone)
};

struct op {
  node_id origin = 0;
  std::uint64_t seq = 0; // per-origin, 1, 2, 3, ... without gaps
  hlc_time time = 0;
  std::string collection;
  std::string id;
  op_kind kind = op_kind::set;
  field_map fields;                 // kind == set: fields written
  std::vector<std::string> removed; // kind == set: fields removed

  blaze::stamp stamp() const { return {time, origin}; }
  friend bool operator==(const op& a, const op& b) {
    return a.origin == b.origin && a.seq == b.seq && a.time == b.time
           && a.collection == b.collection && a.id == b.id && a.kind == b.kind
           && a.fields == b.fields && a.removed == b.removed;
  }
};

// What a replica has: per origin, the highest seq such that every op
// 1..seq of that origin is present.
class version_vector {
public:
  std::uint64_t get(node_id origin) const {
    auto i = entries_.find(origin);
    return i == entries_.end() ? 0 : i->second;
  }
  void set(node_id origin, std::uint64_t seq) {
    if (seq == 0)
      entries_.erase(origin);
    else
      entries_[origin] = seq;
  }
  bool contains(node_id origin, std::uint64_t seq) const { return seq <= get(origin); }
  // Pointwise maximum.
  void merge(const version_vector& other) {
    for (auto& [o, s] : other.entries_)
      if (s > get(o))
        entries_[o] = s;
  }
  // True when this vector has everything `other` has.
  bool dominates(const version_vector& other) const {
    for (auto& [o, s] : other.entries_)
      if (get(o) < s)
        return false;
    return true;
  }
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (auto& [o, s] : entries_)
      n += s;
    return n;
  }
  const std::map<node_id, std::uint64_t>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  friend bool operator==(const version_vector& a, const version_vector& b) {
    return a.entries_ == b.entries_;
  }
  friend bool operator!=(const version_vector& a, const version_vector& b) { return !(a == b); }

private:
  std::map<node_id, std::uint64_t> entries_;
};

// Binary codec for ops and op batches (the storage format of the op log,
// and what relays send). Decoding validates everything; bad bytes give
// errc::corruption, never a partially filled op.
std::string encode(const op& o);
void encode_append(const op& o, std::string& out);
result<op> decode_op(std::string_view bytes);
std::string encode_batch(const std::vector<op>& ops);
result<std::vector<op>> decode_batch(std::string_view bytes);
std::string encode(const version_vector& v);
result<version_vector> decode_version_vector(std::string_view bytes);

} // namespace blaze
