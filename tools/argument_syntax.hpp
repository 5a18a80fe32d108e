// The small languages on the command line: field values (`42`, `true`,
// `"quoted"`, `plain text`), assignments (`FIELD=VALUE`) and query
// conditions (`FIELD>=VALUE`).
#pragma once

#include "blaze/storage/query.hpp"
#include "blaze/storage/value.hpp"

#include <string>
#include <string_view>
#include <utility>

namespace blaze::cli {

// A JSON scalar (null, true, 42, 1.5, "quoted string") or one of the tagged
// objects of the JSON form ({"$bytes": ...}); anything else is taken as a
// plain string. Throws tool_error for an integer outside int64 or a
// malformed tagged object.
value parse_value(std::string_view text);

// "FIELD=VALUE", split at the first '='. Throws tool_error without a '='.
std::pair<std::string, value> parse_assignment(std::string_view text);

// "FIELD OP VALUE" with OP one of == = != < <= > >=; spaces around OP are
// allowed. Throws tool_error when there is no valid operator.
condition parse_condition(std::string_view text);

} // namespace blaze::cli
