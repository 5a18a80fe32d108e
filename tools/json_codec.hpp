// The tool's JSON form of Blaze data. Field values map to JSON natively
// (null, bool, int64, double, string); bytes become {"$bytes":"<base64>"} and
// a non-finite double {"$double":"nan"|"inf"|"-inf"}, so every value
// round-trips. Other objects and arrays are not field values.
#pragma once

#include "blaze/storage/op.hpp"
#include "blaze/storage/value.hpp"

#include <nlohmann/json.hpp>

#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace blaze::cli {

// Ordered so that "_collection" and "_id" come first in what we print.
using json = nlohmann::ordered_json;

json value_to_json(const value& v);
// Throws tool_error saying what is wrong with `j` (no context added).
value value_from_json(const json& j);

// {"_id": ..., fields...}, with "_collection" first when `collection` is given.
json record_to_json(const record& r, std::string_view collection = {});

// Every member of `object` is a field; reserved or invalid names and
// unsupported values throw tool_error naming the field.
field_map fields_from_json(const json& object);

// One line of an export file: {"_collection": ..., "_id": ..., fields...}.
struct document {
  std::string collection;
  record content;
};
// Validates names and values the way the database would, so that a file
// can be checked completely before anything is written.
document document_from_json(const json& object);

// The documents of an export file (JSON lines; blank lines are skipped),
// each with its line number. Reads and checks the whole input before
// anything is written, so that a bad line leaves the store exactly as it
// was: throws tool_error naming `source` and the line.
struct numbered_document {
  std::size_t line;
  document doc;
};
std::vector<numbered_document> read_documents(std::istream& in, const std::string& source);

json op_to_json(const op& o);

// A version vector as {"<origin hex>": seq, ...}.
json version_to_json(const version_vector& v);
version_vector version_from_json(const json& j);

// One line of output; invalid UTF-8 in strings is replaced, not fatal.
std::string to_line(const json& j);

} // namespace blaze::cli
