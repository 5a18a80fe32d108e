// Sealing of stored values (AES-256-GCM) and the password KDF (scrypt).
#pragma once

#include "blaze/storage/status.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace blaze::detail {

using key256 = std::array<std::uint8_t, 32>;

// Fills `out` with cryptographically secure random bytes.
result<void> random_bytes(void* out, std::size_t n);

// scrypt(password, salt, N = 2^log2_n, r, p) -> 32-byte key.
result<key256> derive_key(std::string_view password, std::string_view salt, int log2_n, int r,
                          int p);

// Overwrites memory in a way the compiler keeps.
void wipe(void* p, std::size_t n);

// AES-256-GCM with a fixed key. Sealed form: nonce(12) | ciphertext | tag(16),
// the associated data bound in the tag. Nonces are a random 64-bit prefix
// drawn per sealer (redrawn every 2^32 seals) and a counter, so they never
// repeat without calling the RNG per value.
class sealer {
public:
  static constexpr std::size_t nonce_size = 12;
  static constexpr std::size_t tag_size = 16;
  static constexpr std::size_t overhead = nonce_size + tag_size;

  explicit sealer(const key256& key);
  ~sealer();
  sealer(const sealer&) = delete;
  sealer& operator=(const sealer&) = delete;

  bool valid() const { return enc_ && dec_; }

  // Appends the sealed form of `plain` to `out`. The associated data is
  // aad followed by aad_tail (two parts, so callers need not concatenate).
  result<void> seal(std::string_view plain, std::string_view aad, std::string& out,
                    std::string_view aad_tail = {});
  // Replaces `out` with the plaintext; false when authentication fails.
  bool open(std::string_view sealed, std::string_view aad, std::string& out,
            std::string_view aad_tail = {});

private:
  result<void> next_nonce(std::uint8_t* nonce);
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
  std::uint64_t prefix_ = 0;
  std::uint32_t counter_ = 0;
  bool have_prefix_ = false;
};

} // namespace blaze::detail
