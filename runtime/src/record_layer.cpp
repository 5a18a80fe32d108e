#include "record_layer.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

namespace blaze::runtime::detail {

namespace {

constexpr std::string_view key_label = "blaze-channel v1 record key";
constexpr std::string_view iv_label = "blaze-channel v1 record iv";
constexpr std::string_view ratchet_label = "blaze-channel v1 ratchet";

} // namespace

record_cipher::~record_cipher() {
  EVP_CIPHER_CTX_free(ctx_); // cleanses the expanded key schedule
  wipe(secret_);
  wipe(iv_.data(), iv_.size());
}

std::uint32_t record_cipher::length_of(std::string_view header) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < record_header_size; ++i)
    v = (v << 8) | static_cast<std::uint8_t>(header[i]);
  return v;
}

result<void> record_cipher::start(direction dir, const bytes32& traffic_secret,
                                  std::uint64_t rekey_after) {
  if (!ctx_)
    ctx_ = EVP_CIPHER_CTX_new();
  if (!ctx_)
    return error{errc::crypto_error, "cipher context unavailable"};
  dir_ = dir;
  secret_ = traffic_secret;
  rekey_after_ = rekey_after;
  counter_ = 0;
  return load_keys();
}

result<void> record_cipher::load_keys() {
  bytes32 key;
  if (auto r = hkdf_expand(secret_, key_label, key.data(), key.size()); !r)
    return r;
  if (auto r = hkdf_expand(secret_, iv_label, iv_.data(), iv_.size()); !r) {
    wipe(key);
    return r;
  }
  int ok = EVP_CipherInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr,
                             dir_ == direction::seal ? 1 : 0);
  wipe(key);
  if (ok != 1) {
    ERR_clear_error();
    return error{errc::crypto_error, "AES-256-GCM initialisation failed"};
  }
  return {};
}

// One record done: count it, and ratchet once the key has carried its share.
result<void> record_cipher::advance() {
  if (++counter_ < rekey_after_)
    return {};
  bytes32 next;
  if (auto r = hkdf_expand(secret_, ratchet_label, next.data(), next.size()); !r)
    return r;
  secret_ = next;
  wipe(next);
  counter_ = 0;
  return load_keys();
}

void record_cipher::make_nonce(std::uint8_t* nonce) const {
  for (std::size_t i = 0; i < iv_.size(); ++i)
    nonce[i] = iv_[i];
  for (std::size_t i = 0; i < 8; ++i)
    nonce[4 + i] ^= static_cast<std::uint8_t>(counter_ >> (56 - 8 * i));
}

result<void> record_cipher::seal(std::string_view plain, std::string& out) {
  if (!ctx_ || dir_ != direction::seal)
    return error{errc::crypto_error, "record cipher not started for sealing"};
  std::size_t base = out.size();
  auto body = static_cast<std::uint32_t>(plain.size() + record_tag_size);
  out.resize(base + record_header_size + body);
  auto* p = reinterpret_cast<unsigned char*>(out.data() + base);
  for (std::size_t i = 0; i < record_header_size; ++i)
    p[i] = static_cast<unsigned char>(body >> (24 - 8 * i));
  unsigned char nonce[12];
  make_nonce(nonce);
  int len = 0;
  int tail = 0;
  bool ok = EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1
            && EVP_EncryptUpdate(ctx_, nullptr, &len, p, record_header_size) == 1
            && EVP_EncryptUpdate(ctx_, p + record_header_size, &len,
                                 reinterpret_cast<const unsigned char*>(plain.data()),
                                 static_cast<int>(plain.size()))
                 == 1
            && EVP_EncryptFinal_ex(ctx_, p + record_header_size + len, &tail) == 1
            && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, record_tag_size,
                                   p + record_header_size + plain.size())
                 == 1;
  if (!ok) {
    ERR_clear_error();
    out.resize(base);
    return error{errc::crypto_error, "AES-256-GCM encryption failed"};
  }
  return advance();
}

bool record_cipher::open(std::string_view record, std::string& out) {
  if (!ctx_ || dir_ != direction::open
      || record.size() < record_header_size + record_tag_size
      || length_of(record) != record.size() - record_header_size)
    return false;
  auto* p = reinterpret_cast<const unsigned char*>(record.data());
  std::size_t n = record.size() - record_header_size - record_tag_size;
  std::size_t base = out.size();
  out.resize(base + n);
  auto* dst = reinterpret_cast<unsigned char*>(out.data() + base);
  unsigned char nonce[12];
  make_nonce(nonce);
  int len = 0;
  int tail = 0;
  bool ok = EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1
            && EVP_DecryptUpdate(ctx_, nullptr, &len, p, record_header_size) == 1
            && EVP_DecryptUpdate(ctx_, dst, &len, p + record_header_size, static_cast<int>(n))
                 == 1
            && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, record_tag_size,
                                   const_cast<unsigned char*>(p + record_header_size + n))
                 == 1
            && EVP_DecryptFinal_ex(ctx_, dst + len, &tail) == 1;
  if (!ok || !advance()) {
    ERR_clear_error();
    wipe(dst, n); // unauthenticated plaintext must not linger
    out.resize(base);
    return false;
  }
  return true;
}

} // namespace blaze::runtime::detail
