#include "codec.hpp"

#include "blaze/storage/database.hpp"
#include "blaze/storage/team_seal.hpp"

#include <cmath>
#include <cstring>

namespace blaze::detail {

namespace {
constexpr std::uint8_t op_format = 1;
constexpr std::uint8_t vv_format = 1;
// Bounds that keep a hostile length field from allocating gigabytes.
constexpr std::uint64_t max_fields = 1u << 16;
constexpr std::uint64_t max_batch = 1u << 24;
} // namespace

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "put_fixed64 assumes a little-endian host");

void put_fixed64(std::string& out, std::uint64_t v) {
  v = __builtin_bswap64(v); // big-endian on the (little-endian) hosts Blaze runs on
  char buf[8];
  std::memcpy(buf, &v, 8);
  out.append(buf, 8);
}

std::uint64_t get_fixed64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s.data(), s.size());
}

void put_stamp(std::string& out, const stamp& s) {
  put_fixed64(out, s.time);
  put_fixed64(out, s.origin);
}

void put_value(std::string& out, const value& v) {
  out.push_back(static_cast<char>(v.type()));
  switch (v.type()) {
    case value_type::null: break;
    case value_type::boolean: out.push_back(*v.as_bool() ? 1 : 0); break;
    case value_type::integer: {
      auto i = *v.as_int();
      put_varint(out, (static_cast<std::uint64_t>(i) << 1) ^ static_cast<std::uint64_t>(i >> 63));
      break;
    }
    case value_type::real: {
      std::uint64_t bits;
      std::memcpy(&bits, v.as_double(), 8);
      put_fixed64(out, bits);
      break;
    }
    case value_type::string: put_string(out, *v.as_string()); break;
    case value_type::bytes: {
      auto& b = *v.as_bytes();
      put_string(out, std::string_view{reinterpret_cast<const char*>(b.data()), b.size()});
      break;
    }
  }
}

bool reader::byte(std::uint8_t& b) {
  if (pos_ >= in_.size())
    return false;
  b = static_cast<std::uint8_t>(in_[pos_++]);
  return true;
}

bool reader::varint(std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    std::uint8_t b;
    if (!byte(b))
      return false;
    if (shift == 63 && b > 1)
      return false; // more than 64 bits
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

bool reader::fixed64(std::uint64_t& v) {
  if (remaining() < 8)
    return false;
  v = get_fixed64(in_.data() + pos_);
  pos_ += 8;
  return true;
}

bool reader::string(std::string& s) {
  std::uint64_t n;
  if (!varint(n) || n > remaining())
    return false;
  s.assign(in_.data() + pos_, n);
  pos_ += n;
  return true;
}

bool reader::stamp(blaze::stamp& s) {
  return fixed64(s.time) && fixed64(s.origin);
}

bool reader::value(blaze::value& v) {
  std::uint8_t tag;
  if (!byte(tag))
    return false;
  switch (static_cast<value_type>(tag)) {
    case value_type::null: v = blaze::value{}; return true;
    case value_type::boolean: {
      std::uint8_t b;
      if (!byte(b) || b > 1)
        return false;
      v = blaze::value{b == 1};
      return true;
    }
    case value_type::integer: {
      std::uint64_t z;
      if (!varint(z))
        return false;
      v = blaze::value{static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1))};
      return true;
    }
    case value_type::real: {
      std::uint64_t bits;
      if (!fixed64(bits))
        return false;
      double d;
      std::memcpy(&d, &bits, 8);
      if (std::isnan(d))
        return false;
      v = blaze::value{d};
      return true;
    }
    case value_type::string: {
      std::string s;
      if (!string(s))
        return false;
      v = blaze::value{std::move(s)};
      return true;
    }
    case value_type::bytes: {
      std::uint64_t n;
      if (!varint(n) || n > remaining())
        return false;
      auto p = reinterpret_cast<const std::uint8_t*>(in_.data() + pos_);
      v = blaze::value{blaze::bytes(p, p + n)};
      pos_ += n;
      return true;
    }
  }
  return false;
}

bool valid_value(const value& v) {
  if (auto d = v.as_double())
    return !std::isnan(*d);
  return true;
}

result<void> validate_op(const op& o) {
  if (o.origin == 0)
    return error{errc::invalid_argument, "op without origin"};
  if (o.seq == 0)
    return error{errc::invalid_argument, "op sequence numbers start at 1"};
  if (auto r = validate_collection(o.collection); !r)
    return r;
  if (auto r = validate_record_id(o.id); !r)
    return r;
  if (o.kind == op_kind::erase) {
    // A sealed erase carries its real names in the sealed header, and only that.
    bool sealed_header = is_sealed_collection(o.collection) && o.fields.size() == 1
                         && o.fields.begin()->first == sealed_header_field
                         && o.fields.begin()->second.as_bytes();
    if ((!o.fields.empty() && !sealed_header) || !o.removed.empty())
      return error{errc::invalid_argument, "an erase op carries no fields"};
    return {};
  }
  if (o.kind != op_kind::set)
    return error{errc::invalid_argument, "unknown op kind"};
  for (auto& [name, v] : o.fields) {
    if (auto r = validate_field_name(name); !r)
      return r;
    if (!valid_value(v))
      return error{errc::invalid_argument, "field '" + name + "': NaN is not a storable value"};
  }
  for (auto& name : o.removed) {
    if (auto r = validate_field_name(name); !r)
      return r;
    if (o.fields.count(name))
      return error{errc::invalid_argument, "field '" + name + "' both set and removed"};
  }
  return {};
}

} // namespace blaze::detail

namespace blaze {

using namespace detail;

std::string to_hex(node_id id) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[i] = digits[id & 15];
    id >>= 4;
  }
  return s;
}

void encode_append(const op& o, std::string& out) {
  out.push_back(static_cast<char>(op_format));
  put_fixed64(out, o.origin);
  put_varint(out, o.seq);
  put_fixed64(out, o.time);
  put_string(out, o.collection);
  put_string(out, o.id);
  out.push_back(static_cast<char>(o.kind));
  put_varint(out, o.fields.size());
  for (auto& [name, v] : o.fields) {
    put_string(out, name);
    put_value(out, v);
  }
  put_varint(out, o.removed.size());
  for (auto& name : o.removed)
    put_string(out, name);
}

std::string encode(const op& o) {
  std::string out;
  out.reserve(64);
  encode_append(o, out);
  return out;
}

namespace {

error bad(const char* what) {
  return error{errc::corruption, std::string{"malformed "} + what};
}

bool read_op(reader& in, op& o) {
  std::uint8_t format, kind;
  std::uint64_t nfields, nremoved;
  if (!in.byte(format) || format != op_format || !in.fixed64(o.origin) || !in.varint(o.seq)
      || !in.fixed64(o.time) || !in.string(o.collection) || !in.string(o.id) || !in.byte(kind))
    return false;
  if (kind != static_cast<std::uint8_t>(op_kind::set)
      && kind != static_cast<std::uint8_t>(op_kind::erase))
    return false;
  o.kind = static_cast<op_kind>(kind);
  if (!in.varint(nfields) || nfields > max_fields || nfields > in.remaining())
    return false;
  for (std::uint64_t i = 0; i < nfields; ++i) {
    std::string name;
    value v;
    if (!in.string(name) || !in.value(v))
      return false;
    if (!o.fields.emplace(std::move(name), std::move(v)).second)
      return false; // a field named twice
  }
  if (!in.varint(nremoved) || nremoved > max_fields || nremoved > in.remaining())
    return false;
  o.removed.resize(nremoved);
  for (auto& name : o.removed)
    if (!in.string(name))
      return false;
  return validate_op(o).ok();
}

} // namespace

result<op> decode_op(std::string_view bytes) {
  reader in{bytes};
  op o;
  if (!read_op(in, o) || !in.at_end())
    return bad("op");
  return o;
}

std::string encode_batch(const std::vector<op>& ops) {
  std::string out;
  put_varint(out, ops.size());
  std::string one;
  for (auto& o : ops) {
    one.clear();
    encode_append(o, one);
    put_string(out, one);
  }
  return out;
}

result<std::vector<op>> decode_batch(std::string_view bytes) {
  reader in{bytes};
  std::uint64_t n;
  if (!in.varint(n) || n > max_batch || n > in.remaining())
    return bad("op batch");
  std::vector<op> ops;
  ops.reserve(n);
  std::string one;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!in.string(one))
      return bad("op batch");
    auto o = decode_op(one);
    if (!o)
      return o.error();
    ops.push_back(std::move(*o));
  }
  if (!in.at_end())
    return bad("op batch");
  return ops;
}

std::string encode(const version_vector& v) {
  std::string out;
  out.push_back(static_cast<char>(vv_format));
  put_varint(out, v.entries().size());
  for (auto& [origin, seq] : v.entries()) {
    put_fixed64(out, origin);
    put_varint(out, seq);
  }
  return out;
}

result<version_vector> decode_version_vector(std::string_view bytes) {
  reader in{bytes};
  std::uint8_t format;
  std::uint64_t n;
  if (!in.byte(format) || format != vv_format || !in.varint(n) || n > in.remaining())
    return bad("version vector");
  version_vector v;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t origin, seq;
    if (!in.fixed64(origin) || !in.varint(seq) || origin == 0 || seq == 0
        || v.get(origin) != 0)
      return bad("version vector");
    v.set(origin, seq);
  }
  if (!in.at_end())
    return bad("version vector");
  return v;
}

} // namespace blaze
