// Standard base64 (RFC 4648, '+' and '/', '=' padding) for bytes values in
// the tool's JSON form.
#pragma once

#include "blaze/storage/value.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace blaze::cli {

std::string base64_encode(const bytes& data);

// Accepts padded or unpadded input; anything else outside the alphabet,
// or trailing bits that are not zero, gives nullopt.
std::optional<bytes> base64_decode(std::string_view text);

} // namespace blaze::cli
