#include "blaze/storage/value.hpp"

#include <cmath>
#include <cstdio>

namespace blaze {

const char* to_string(value_type t) noexcept {
  switch (t) {
    case value_type::null: return "null";
    case value_type::boolean: return "bool";
    case value_type::integer: return "int64";
    case value_type::real: return "double";
    case value_type::string: return "string";
    case value_type::bytes: return "bytes";
  }
  return "unknown";
}

namespace {

std::string base64(const bytes& b) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    unsigned v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i < b.size()) {
    unsigned v = b[i] << 16;
    if (i + 1 < b.size())
      v |= b[i + 1] << 8;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += i + 1 < b.size() ? tbl[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Rank of a type in the cross-type order; integers and doubles share one.
int type_rank(value_type t) {
  switch (t) {
    case value_type::null: return 0;
    case value_type::boolean: return 1;
    case value_type::integer:
    case value_type::real: return 2;
    case value_type::string: return 3;
    case value_type::bytes: return 4;
  }
  return 5;
}

int compare_numbers(const value& a, const value& b) {
  if (auto ai = a.as_int(); ai)
    if (auto bi = b.as_int(); bi)
      return *ai < *bi ? -1 : (*ai > *bi ? 1 : 0);
  // Mixed or both double. long double keeps int64 exact on x86-64.
  long double x = a.as_int() ? static_cast<long double>(*a.as_int()) : *a.as_double();
  long double y = b.as_int() ? static_cast<long double>(*b.as_int()) : *b.as_double();
  return x < y ? -1 : (x > y ? 1 : 0);
}

} // namespace

std::string value::to_display() const {
  switch (type()) {
    case value_type::null: return "null";
    case value_type::boolean: return *as_bool() ? "true" : "false";
    case value_type::integer: return std::to_string(*as_int());
    case value_type::real: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *as_double());
      return buf;
    }
    case value_type::string: return '"' + *as_string() + '"';
    case value_type::bytes: return "b64:" + base64(*as_bytes());
  }
  return {};
}

int compare(const value& a, const value& b) noexcept {
  int ra = type_rank(a.type()), rb = type_rank(b.type());
  if (ra != rb)
    return ra < rb ? -1 : 1;
  switch (a.type()) {
    case value_type::null: return 0;
    case value_type::boolean: return int(*a.as_bool()) - int(*b.as_bool());
    case value_type::integer:
    case value_type::real: return compare_numbers(a, b);
    case value_type::string: {
      int c = a.as_string()->compare(*b.as_string());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case value_type::bytes: {
      auto& x = *a.as_bytes();
      auto& y = *b.as_bytes();
      return x < y ? -1 : (y < x ? 1 : 0);
    }
  }
  return 0;
}

} // namespace blaze
