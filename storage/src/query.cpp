#include "blaze/storage/query.hpp"

namespace blaze {

std::optional<compare_op> parse_compare_op(std::string_view t) {
  if (t == "==" || t == "=")
    return compare_op::eq;
  if (t == "!=")
    return compare_op::ne;
  if (t == "<")
    return compare_op::lt;
  if (t == "<=")
    return compare_op::le;
  if (t == ">")
    return compare_op::gt;
  if (t == ">=")
    return compare_op::ge;
  return std::nullopt;
}

namespace {

bool numeric(value_type t) {
  return t == value_type::integer || t == value_type::real;
}

bool comparable(const value& a, const value& b) {
  return a.type() == b.type() || (numeric(a.type()) && numeric(b.type()));
}

} // namespace

bool matches(const record& r, const condition& c) {
  if (c.field == "_id")
    return matches_value(value{r.id}, c);
  auto* v = r.field(c.field);
  return v && matches_value(*v, c);
}

bool matches_value(const value& v, const condition& c) {
  if (!comparable(v, c.value))
    return c.op == compare_op::ne;
  int cmp = compare(v, c.value);
  switch (c.op) {
    case compare_op::eq: return cmp == 0;
    case compare_op::ne: return cmp != 0;
    case compare_op::lt: return cmp < 0;
    case compare_op::le: return cmp <= 0;
    case compare_op::gt: return cmp > 0;
    case compare_op::ge: return cmp >= 0;
  }
  return false;
}

} // namespace blaze
