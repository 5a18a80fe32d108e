// The merge state of one record: a last-writer-wins register per field and
// the record's create/delete stamps. Applying ops is commutative,
// associative and idempotent, and the state is kept canonical (registers
// older than the delete stamp are dropped), so replicas that saw the same
// ops in any order hold byte-identical states.
#pragma once

#include "blaze/storage/op.hpp"
#include "blaze/storage/value.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::detail {

struct field_register {
  stamp written;
  bool present = true; // false: a removed field (a field tombstone)
  value v;
};

struct record_state {
  stamp created; // newest set op
  stamp deleted; // newest erase op
  std::map<std::string, field_register, std::less<>> fields;

  bool exists() const { return deleted < created; }
  // Merges one op (of this record). Returns true when the state changed.
  bool apply(const op& o);
  record visible(std::string id) const;

  std::string encode() const;
  void encode_into(std::string& out) const; // replaces out's contents
  static std::optional<record_state> decode(std::string_view bytes);
};

} // namespace blaze::detail
