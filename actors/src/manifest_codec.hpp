// An app group's manifest.json as text: {"exports": [entry, ...]}. Plain code
// (no CAF, no files) so that scripts/fuzz.sh can fuzz the parser on its own.
#pragma once

#include "blaze/actors/app_group.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace blaze::actors::detail {

// The entries of a manifest. Entries that do not parse are skipped (one bad
// writer must not hide the other exports); text that is not a manifest at
// all gives none. Never throws on bad input.
std::vector<export_entry> parse_manifest(std::string_view text);

// The manifest's text (indented JSON and a final line break); `live` is not
// written.
std::string encode_manifest(const std::vector<export_entry>& entries);

} // namespace blaze::actors::detail
