#include "manifest_codec.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>

namespace blaze::actors::detail {

namespace {

nlohmann::json to_json(const export_entry& e) {
  return {{"database", e.database},
          {"socket", e.socket.string()},
          {"pid", e.pid},
          {"uid", e.uid},
          {"collections", e.policy.collections},
          {"fields", e.policy.fields},
          {"read_only", e.policy.read_only}};
}

// Integers only, and only in range: nlohmann's get<> converts a float or an
// out-of-range number with a plain cast (undefined for 1e300, a silent wrap
// for a uid of -3). Non-negative JSON integers parse as unsigned.
template <class Int> std::optional<Int> integer_at(const nlohmann::json& j, const char* key) {
  using limits = std::numeric_limits<Int>;
  auto& v = j.at(key);
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(limits::max()))
      return static_cast<Int>(u);
  } else if (v.is_number_integer() && limits::is_signed) {
    auto i = v.get<std::int64_t>();
    if (i >= static_cast<std::int64_t>(limits::min()))
      return static_cast<Int>(i);
  }
  return std::nullopt;
}

} // namespace

std::vector<export_entry> parse_manifest(std::string_view text) {
  std::vector<export_entry> out;
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("exports")
      || !doc["exports"].is_array())
    return out;
  for (auto& j : doc["exports"]) {
    try {
      export_entry e;
      e.database = j.at("database").get<std::string>();
      e.socket = j.at("socket").get<std::string>();
      auto pid = integer_at<std::int64_t>(j, "pid");
      auto uid = integer_at<std::uint32_t>(j, "uid");
      if (!pid || !uid)
        continue;
      e.pid = *pid;
      e.uid = *uid;
      e.policy.collections = j.at("collections").get<std::vector<std::string>>();
      e.policy.fields = j.at("fields").get<std::vector<std::string>>();
      e.policy.read_only = j.at("read_only").get<bool>();
      out.push_back(std::move(e));
    } catch (const nlohmann::json::exception&) {
    }
  }
  return out;
}

std::string encode_manifest(const std::vector<export_entry>& entries) {
  nlohmann::json doc{{"exports", nlohmann::json::array()}};
  for (auto& e : entries)
    doc["exports"].push_back(to_json(e));
  return doc.dump(2) + "\n";
}

} // namespace blaze::actors::detail
