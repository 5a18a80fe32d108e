// Trust on first use for peer identity keys: a text file of
// "<peer name> <hex SHA-256 of the DER public key>" lines ('#' comments).
#pragma once

#include "blaze/storage/status.hpp"

#include <optional>
#include <string>

namespace blaze::runtime::detail {

// Checks `fingerprint` (empty: the peer presented no identity) against the
// key pinned for `peer` in `path`, pinning it when `peer` is new.
// errc::identity_mismatch when a pinned peer presents another key or none;
// errc::io_error when the file cannot be read or appended to.
result<void> pin_or_verify(const std::string& path, const std::string& peer,
                           const std::string& fingerprint);

} // namespace blaze::runtime::detail
