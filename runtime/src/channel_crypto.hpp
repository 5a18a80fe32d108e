// The OpenSSL 3 primitives the secure channel is built from: ephemeral P-256
// ECDH, HKDF-SHA256, HMAC-SHA256, SHA-256 and ECDSA P-256 identity keys.
// Thin wrappers so the handshake reads as protocol, not as EVP plumbing.
#pragma once

#include "blaze/storage/status.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace blaze::runtime::detail {

using bytes32 = std::array<std::uint8_t, 32>;

// SEC1 uncompressed point: 0x04 | X | Y.
constexpr std::size_t p256_point_size = 65;

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const noexcept;
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// Overwrites memory in a way the compiler keeps.
void wipe(void* p, std::size_t n) noexcept;
inline void wipe(bytes32& b) noexcept { wipe(b.data(), b.size()); }
void wipe(std::string& s) noexcept;

result<void> random_bytes(std::uint8_t* out, std::size_t n);

inline std::string_view as_view(const bytes32& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
std::string to_hex(std::string_view bytes);

// --- ephemeral ECDH ---------------------------------------------------------
result<pkey_ptr> generate_p256_key();
// The uncompressed public point of `key` (p256_point_size bytes).
result<std::string> public_point(EVP_PKEY* key);
// Parses an uncompressed point; errc::protocol_error unless it is a valid
// point of P-256 (on the curve, not the point at infinity).
result<pkey_ptr> parse_public_point(std::string_view point);
// The shared secret (x-coordinate of own·peer).
result<void> ecdh(EVP_PKEY* own, EVP_PKEY* peer, bytes32& shared);

// --- hashing and key derivation ---------------------------------------------
result<void> sha256(std::string_view data, bytes32& out);
result<void> hkdf_extract(std::string_view salt, std::string_view ikm, bytes32& prk);
result<void> hkdf_expand(const bytes32& prk, std::string_view info, std::uint8_t* out,
                         std::size_t n);
result<void> hmac_sha256(const bytes32& key, std::string_view data, bytes32& out);
// Constant-time comparison.
bool equal_secret(const bytes32& a, const bytes32& b) noexcept;

// --- long-term identity keys (ECDSA P-256) ----------------------------------
// errc::invalid_argument unless `pem` holds a P-256 private key.
result<pkey_ptr> load_identity_key(std::string_view pem);
result<std::string> generate_identity_pem();
// DER SubjectPublicKeyInfo of the key's public half.
result<std::string> public_key_der(EVP_PKEY* key);
// errc::protocol_error unless `der` is a canonical DER P-256 public key.
result<pkey_ptr> parse_identity_der(std::string_view der);
result<std::string> sign(EVP_PKEY* key, std::string_view message);
bool verify(EVP_PKEY* key, std::string_view message, std::string_view signature);

} // namespace blaze::runtime::detail
