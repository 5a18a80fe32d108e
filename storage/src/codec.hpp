// Byte-level building blocks of the storage format: varints, fixed-width
// big-endian integers, length-prefixed strings and typed values. The reader
// never reads past its input and reports failure instead of throwing.
#pragma once

#include "blaze/storage/op.hpp"
#include "blaze/storage/value.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace blaze::detail {

void put_varint(std::string& out, std::uint64_t v);
void put_fixed64(std::string& out, std::uint64_t v); // big-endian: sorts like the integer
void put_string(std::string& out, std::string_view s);
void put_value(std::string& out, const value& v);
void put_stamp(std::string& out, const stamp& s);

class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  bool byte(std::uint8_t& b);
  bool varint(std::uint64_t& v);
  bool fixed64(std::uint64_t& v);
  bool string(std::string& s);
  bool value(blaze::value& v);
  bool stamp(blaze::stamp& s);
  bool at_end() const { return pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }

private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

std::uint64_t get_fixed64(const char* p);

// Semantic checks shared by the local API and by ops arriving from peers.
bool valid_value(const value& v);
result<void> validate_op(const op& o);

} // namespace blaze::detail
