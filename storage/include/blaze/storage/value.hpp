// Typed field values and records: what a Blaze document is made of.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace blaze {

using bytes = std::vector<std::uint8_t>;

enum class value_type : std::uint8_t { null = 0, boolean, integer, real, string, bytes };

const char* to_string(value_type t) noexcept;

// A field value: null, bool, int64, double, string or bytes. Constructors
// are explicit about the type so that a string literal never becomes a bool.
class value {
public:
  using variant_type =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, blaze::bytes>;

  value() = default;
  value(std::nullptr_t) {}
  value(bool b) : v_(b) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  value(T i) : v_(static_cast<std::int64_t>(i)) {}
  value(double d) : v_(d) {}
  value(float d) : v_(static_cast<double>(d)) {}
  value(const char* s) : v_(std::string{s}) {}
  value(std::string_view s) : v_(std::string{s}) {}
  value(std::string s) : v_(std::move(s)) {}
  value(blaze::bytes b) : v_(std::move(b)) {}

  value_type type() const noexcept { return static_cast<value_type>(v_.index()); }
  bool is_null() const noexcept { return v_.index() == 0; }

  // Typed access; each returns nullptr when the value holds another type.
  const bool* as_bool() const { return std::get_if<bool>(&v_); }
  const std::int64_t* as_int() const { return std::get_if<std::int64_t>(&v_); }
  const double* as_double() const { return std::get_if<double>(&v_); }
  const std::string* as_string() const { return std::get_if<std::string>(&v_); }
  const blaze::bytes* as_bytes() const { return std::get_if<blaze::bytes>(&v_); }

  const variant_type& raw() const noexcept { return v_; }

  // A short human-readable form: null, true, 42, 1.5, "text", b64:... .
  std::string to_display() const;

  friend bool operator==(const value& a, const value& b) { return a.v_ == b.v_; }
  friend bool operator!=(const value& a, const value& b) { return !(a == b); }

private:
  variant_type v_;
};

// Total order used by queries: null < bool < numbers < string < bytes;
// int64 and double compare by numeric value. Returns <0, 0 or >0.
int compare(const value& a, const value& b) noexcept;

using field_map = std::map<std::string, value, std::less<>>;

struct record {
  std::string id;
  field_map fields;

  const value* field(std::string_view name) const {
    auto i = fields.find(name);
    return i == fields.end() ? nullptr : &i->second;
  }
  friend bool operator==(const record& a, const record& b) {
    return a.id == b.id && a.fields == b.fields;
  }
};

} // namespace blaze
