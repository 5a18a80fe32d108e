#include "argument_syntax.hpp"

#include "json_codec.hpp"
#include "tool_error.hpp"

namespace blaze::cli {

namespace {

constexpr std::string_view whitespace = " \t";
constexpr std::string_view operator_chars = "=!<>";

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(whitespace);
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(whitespace);
  return s.substr(first, last - first + 1);
}

// "-123" or "123": JSON would read an integer too large for int64 as a
// double, which silently loses digits; we refuse instead.
bool is_integer_literal(std::string_view s) {
  if (!s.empty() && s.front() == '-')
    s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool is_tagged_object(const json& j) {
  return j.is_object() && j.size() == 1 && (j.contains("$bytes") || j.contains("$double"));
}

} // namespace

value parse_value(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || j.is_array() || (j.is_object() && !is_tagged_object(j)))
    return value{std::string{text}};
  if (j.is_number_float() && is_integer_literal(trim(text)))
    throw tool_error("integer " + std::string{trim(text)} + " is out of the int64 range");
  return value_from_json(j);
}

std::pair<std::string, value> parse_assignment(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw tool_error("expected FIELD=VALUE, got '" + std::string{text} + "'", exit_usage);
  try {
    return {std::string{text.substr(0, eq)}, parse_value(text.substr(eq + 1))};
  } catch (const tool_error& e) {
    throw tool_error("field '" + std::string{text.substr(0, eq)} + "': " + e.what());
  }
}

condition parse_condition(std::string_view text) {
  auto start = text.find_first_of(operator_chars);
  if (start == std::string_view::npos)
    throw tool_error("condition '" + std::string{text} + "' has no operator (== = != < <= > >=)",
                     exit_usage);
  auto end = text.find_first_not_of(operator_chars, start);
  if (end == std::string_view::npos)
    end = text.size();
  auto field = trim(text.substr(0, start));
  auto op_text = text.substr(start, end - start);
  auto op = parse_compare_op(op_text);
  if (field.empty() || !op)
    throw tool_error("cannot read condition '" + std::string{text} +
                         "': expected FIELD OP VALUE with OP one of == = != < <= > >=",
                     exit_usage);
  try {
    return condition{std::string{field}, *op, parse_value(trim(text.substr(end)))};
  } catch (const tool_error& e) {
    throw tool_error("condition '" + std::string{text} + "': " + e.what());
  }
}

} // namespace blaze::cli
