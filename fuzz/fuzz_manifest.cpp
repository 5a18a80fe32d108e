// libFuzzer target: arbitrary bytes as an app group's manifest.json, which
// any process of the group's users can write. The parser must never crash
// or throw; what it accepts must encode and parse back to the same entries.
#include "manifest_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace blaze::actors;

namespace {

bool same(const export_entry& a, const export_entry& b) {
  return a.database == b.database && a.socket == b.socket && a.pid == b.pid && a.uid == b.uid
         && a.policy.collections == b.policy.collections && a.policy.fields == b.policy.fields
         && a.policy.read_only == b.policy.read_only;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto entries = detail::parse_manifest({reinterpret_cast<const char*>(data), size});
  auto again = detail::parse_manifest(detail::encode_manifest(entries));
  if (again.size() != entries.size())
    std::abort();
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (!same(entries[i], again[i]))
      std::abort();
  return 0;
}
