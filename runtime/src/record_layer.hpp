// One direction of the secure channel's record layer:
//
//   record = u32 big-endian length of (ciphertext + tag) | ciphertext | tag[16]
//
// AES-256-GCM, nonce = IV XOR the record counter (big-endian, last 8 bytes),
// the 4-byte length header as associated data. Each record's nonce is fixed
// by its position, so a replayed, reordered or dropped record fails to open.
// Every `rekey_after` records the traffic secret is ratcheted by HKDF and the
// counter restarts; both ends do it at the same record, no message needed.
#pragma once

#include "channel_crypto.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace blaze::runtime::detail {

constexpr std::size_t record_header_size = 4;
constexpr std::size_t record_tag_size = 16;

class record_cipher {
public:
  enum class direction { seal, open };

  record_cipher() = default;
  ~record_cipher();
  record_cipher(const record_cipher&) = delete;
  record_cipher& operator=(const record_cipher&) = delete;

  // Takes over the traffic secret (the caller should wipe its copy).
  result<void> start(direction dir, const bytes32& traffic_secret, std::uint64_t rekey_after);

  // Appends one record carrying `plain` to `out`.
  result<void> seal(std::string_view plain, std::string& out);
  // Opens one complete record (header included); appends its plaintext to
  // `out`. False when it fails authentication; `out` is then unchanged.
  bool open(std::string_view record, std::string& out);

  // Length field of a record header (at least record_header_size bytes).
  static std::uint32_t length_of(std::string_view header);

private:
  result<void> load_keys();
  result<void> advance();
  void make_nonce(std::uint8_t* nonce) const;

  EVP_CIPHER_CTX* ctx_ = nullptr;
  direction dir_ = direction::seal;
  bytes32 secret_{};
  std::array<std::uint8_t, 12> iv_{};
  std::uint64_t counter_ = 0;
  std::uint64_t rekey_after_ = 0;
};

} // namespace blaze::runtime::detail
