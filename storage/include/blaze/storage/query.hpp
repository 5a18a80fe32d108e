// Queries over one collection: conditions on fields, an order, a limit.
#pragma once

#include "blaze/storage/value.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace blaze {

enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge };

// Parses "==", "=", "!=", "<", "<=", ">", ">=".
std::optional<compare_op> parse_compare_op(std::string_view text);

struct condition {
  std::string field; // "_id" names the record id
  compare_op op = compare_op::eq;
  blaze::value value;
};

// A record matches when every condition holds. A condition on a missing
// field never holds. Range comparisons across types never hold (a string
// is not "less than" a number), except int64 against double.
struct query {
  std::string collection;
  std::vector<condition> where;
  std::optional<std::string> order_by; // field name, or "_id"
  bool descending = false;
  std::size_t limit = 0; // 0: no limit

  query() = default;
  explicit query(std::string coll) : collection(std::move(coll)) {}
  query& when(std::string field, compare_op op, blaze::value v) {
    where.push_back({std::move(field), op, std::move(v)});
    return *this;
  }
  query& order(std::string field, bool desc = false) {
    order_by = std::move(field);
    descending = desc;
    return *this;
  }
  query& take(std::size_t n) {
    limit = n;
    return *this;
  }
};

bool matches(const record& r, const condition& c);
// The condition applied to one present field value.
bool matches_value(const value& v, const condition& c);

} // namespace blaze
