#include "json_codec.hpp"

#include "base64.hpp"
#include "tool_error.hpp"

#include "blaze/storage/database.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>

namespace blaze::cli {

namespace {

json special_double(double d) {
  const char* text = std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
  return json::object({{"$double", text}});
}

value value_from_tagged_object(const json& j) {
  if (j.size() == 1 && j.contains("$bytes")) {
    auto& b64 = j["$bytes"];
    if (!b64.is_string())
      throw tool_error("$bytes must hold a base64 string");
    auto decoded = base64_decode(b64.get_ref<const std::string&>());
    if (!decoded)
      throw tool_error("$bytes is not valid base64");
    return value{std::move(*decoded)};
  }
  if (j.size() == 1 && j.contains("$double")) {
    auto& text = j["$double"];
    if (text == "nan")
      return value{std::numeric_limits<double>::quiet_NaN()};
    if (text == "inf")
      return value{std::numeric_limits<double>::infinity()};
    if (text == "-inf")
      return value{-std::numeric_limits<double>::infinity()};
    throw tool_error(R"($double must be "nan", "inf" or "-inf")");
  }
  throw tool_error(
      R"(nested objects are not supported (only {"$bytes": ...} and {"$double": ...}))");
}

} // namespace

json value_to_json(const value& v) {
  switch (v.type()) {
  case value_type::null:
    return nullptr;
  case value_type::boolean:
    return *v.as_bool();
  case value_type::integer:
    return *v.as_int();
  case value_type::real: {
    double d = *v.as_double();
    return std::isfinite(d) ? json(d) : special_double(d);
  }
  case value_type::string:
    return *v.as_string();
  case value_type::bytes:
    return json::object({{"$bytes", base64_encode(*v.as_bytes())}});
  }
  return nullptr;
}

value value_from_json(const json& j) {
  switch (j.type()) {
  case json::value_t::null:
    return value{};
  case json::value_t::boolean:
    return value{j.get<bool>()};
  case json::value_t::number_integer:
    return value{j.get<std::int64_t>()};
  case json::value_t::number_unsigned: {
    auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw tool_error("integer " + std::to_string(u) + " is out of the int64 range");
    return value{static_cast<std::int64_t>(u)};
  }
  case json::value_t::number_float:
    return value{j.get<double>()};
  case json::value_t::string:
    return value{j.get<std::string>()};
  case json::value_t::object:
    return value_from_tagged_object(j);
  case json::value_t::array:
    throw tool_error("arrays are not supported as field values");
  default:
    throw tool_error("unsupported JSON value");
  }
}

json record_to_json(const record& r, std::string_view collection) {
  json out = json::object();
  if (!collection.empty())
    out["_collection"] = std::string{collection};
  out["_id"] = r.id;
  for (auto& [name, v] : r.fields)
    out[name] = value_to_json(v);
  return out;
}

field_map fields_from_json(const json& object) {
  if (!object.is_object())
    throw tool_error("expected a JSON object of fields");
  field_map fields;
  for (auto& [name, j] : object.items()) {
    unwrap(validate_field_name(name));
    try {
      fields.insert_or_assign(name, value_from_json(j));
    } catch (const tool_error& e) {
      throw tool_error("field '" + name + "': " + e.what());
    }
  }
  return fields;
}

document document_from_json(const json& object) {
  if (!object.is_object())
    throw tool_error("expected a JSON object");
  auto coll = object.find("_collection");
  if (coll == object.end() || !coll->is_string())
    throw tool_error("\"_collection\" must be present and a string");
  auto id = object.find("_id");
  if (id == object.end() || !id->is_string())
    throw tool_error("\"_id\" must be present and a string");
  document doc;
  doc.collection = coll->get<std::string>();
  doc.content.id = id->get<std::string>();
  unwrap(validate_collection(doc.collection));
  unwrap(validate_record_id(doc.content.id));
  json rest = object;
  rest.erase("_collection");
  rest.erase("_id");
  doc.content.fields = fields_from_json(rest);
  return doc;
}

std::vector<numbered_document> read_documents(std::istream& in, const std::string& source) {
  std::vector<numbered_document> docs;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
      continue;
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    try {
      if (parsed.is_discarded())
        throw tool_error("not valid JSON");
      docs.push_back({number, document_from_json(parsed)});
    } catch (const tool_error& e) {
      throw tool_error(source + ": line " + std::to_string(number) + ": " + e.what() +
                       " (nothing imported)");
    }
  }
  if (in.bad())
    throw tool_error("cannot read " + source);
  return docs;
}

json op_to_json(const op& o) {
  json fields = json::object();
  for (auto& [name, v] : o.fields)
    fields[name] = value_to_json(v);
  return json{{"origin", to_hex(o.origin)},
              {"seq", o.seq},
              {"hlc", o.time},
              {"collection", o.collection},
              {"id", o.id},
              {"kind", o.kind == op_kind::erase ? "erase" : "set"},
              {"fields", std::move(fields)},
              {"removed", o.removed}};
}

json version_to_json(const version_vector& v) {
  json out = json::object();
  for (auto& [origin, seq] : v.entries())
    out[to_hex(origin)] = seq;
  return out;
}

version_vector version_from_json(const json& j) {
  if (!j.is_object())
    throw tool_error(R"(a version vector is a JSON object {"<origin hex>": seq, ...})");
  version_vector v;
  for (auto& [key, seq] : j.items()) {
    if (key.empty() || key.size() > 16 ||
        key.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      throw tool_error("version vector: '" + key + "' is not a hexadecimal node id");
    node_id origin = std::strtoull(key.c_str(), nullptr, 16);
    if (!seq.is_number_unsigned() && !(seq.is_number_integer() && seq.get<std::int64_t>() >= 0))
      throw tool_error("version vector: the sequence for " + key +
                       " must be a non-negative integer");
    v.set(origin, seq.get<std::uint64_t>());
  }
  return v;
}

std::string to_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace blaze::cli
