#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstring>

namespace blaze::detail {

namespace {

// OpenSSL frees its global state (providers, fetched ciphers, the random
// generators) in an atexit handler unless told not to, and only the
// threads that ended before it get theirs freed. CAF does not join the
// threads of detached actors: a database's thread may still be ending, or
// still sealing, when exit() runs that handler. Its random generator was
// then left behind (LeakSanitizer reported it at the CLI's exit, about
// one run in ten under load), and a seal at that moment would use freed
// state. Process exit takes the memory back; nothing needs that handler.
// The first OpenSSL call of the process must say so: this one runs while
// static objects are built, before any thread exists.
[[maybe_unused]] const bool openssl_kept_until_exit =
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;

} // namespace

result<void> random_bytes(void* out, std::size_t n) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1)
    return error{errc::crypto_error, "the random number generator failed"};
  return {};
}

void wipe(void* p, std::size_t n) {
  OPENSSL_cleanse(p, n);
}

result<key256> derive_key(std::string_view password, std::string_view salt, int log2_n, int r,
                          int p) {
  key256 key;
  std::uint64_t n = std::uint64_t{1} << log2_n;
  // Room for scrypt's 128·r·N bytes plus its small extra buffers.
  std::uint64_t maxmem = 128ull * r * (n + p + 2) + (1u << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n,
                     static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(p), maxmem,
                     key.data(), key.size())
      != 1)
    return error{errc::crypto_error, "scrypt key derivation failed"};
  return key;
}

sealer::sealer(const key256& key) {
  enc_ = EVP_CIPHER_CTX_new();
  dec_ = EVP_CIPHER_CTX_new();
  if (!enc_ || !dec_
      || EVP_EncryptInit_ex(enc_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1
      || EVP_DecryptInit_ex(dec_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1) {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    enc_ = dec_ = nullptr;
  }
}

sealer::~sealer() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

result<void> sealer::next_nonce(std::uint8_t* nonce) {
  if (!have_prefix_ || counter_ == UINT32_MAX) {
    if (auto r = random_bytes(&prefix_, sizeof prefix_); !r)
      return r;
    counter_ = 0;
    have_prefix_ = true;
  }
  ++counter_;
  std::memcpy(nonce, &prefix_, 8);
  std::memcpy(nonce + 8, &counter_, 4);
  return {};
}

result<void> sealer::seal(std::string_view plain, std::string_view aad, std::string& out,
                          std::string_view aad_tail) {
  if (!valid())
    return error{errc::crypto_error, "cipher context unavailable"};
  std::size_t base = out.size();
  out.resize(base + nonce_size + plain.size() + tag_size);
  auto* p = reinterpret_cast<std::uint8_t*>(out.data() + base);
  if (auto r = next_nonce(p); !r)
    return r;
  int len = 0;
  bool ok = EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, p) == 1
            && EVP_EncryptUpdate(enc_, nullptr, &len,
                                 reinterpret_cast<const unsigned char*>(aad.data()),
                                 static_cast<int>(aad.size()))
                 == 1
            && (aad_tail.empty()
                || EVP_EncryptUpdate(enc_, nullptr, &len,
                                     reinterpret_cast<const unsigned char*>(aad_tail.data()),
                                     static_cast<int>(aad_tail.size()))
                     == 1)
            && EVP_EncryptUpdate(enc_, p + nonce_size, &len,
                                 reinterpret_cast<const unsigned char*>(plain.data()),
                                 static_cast<int>(plain.size()))
                 == 1
            && EVP_EncryptFinal_ex(enc_, p + nonce_size + len, &len) == 1
            && EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, tag_size,
                                   p + nonce_size + plain.size())
                 == 1;
  if (!ok) {
    out.resize(base);
    return error{errc::crypto_error, "AES-GCM encryption failed"};
  }
  return {};
}

bool sealer::open(std::string_view sealed, std::string_view aad, std::string& out,
                  std::string_view aad_tail) {
  if (!valid() || sealed.size() < overhead)
    return false;
  auto* p = reinterpret_cast<const std::uint8_t*>(sealed.data());
  std::size_t n = sealed.size() - overhead;
  out.resize(n);
  int len = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  bool ok = EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, p) == 1
            && EVP_DecryptUpdate(dec_, nullptr, &len,
                                 reinterpret_cast<const unsigned char*>(aad.data()),
                                 static_cast<int>(aad.size()))
                 == 1
            && (aad_tail.empty()
                || EVP_DecryptUpdate(dec_, nullptr, &len,
                                     reinterpret_cast<const unsigned char*>(aad_tail.data()),
                                     static_cast<int>(aad_tail.size()))
                     == 1)
            && EVP_DecryptUpdate(dec_, dst, &len, p + nonce_size, static_cast<int>(n)) == 1
            && EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, tag_size,
                                   const_cast<std::uint8_t*>(p + nonce_size + n))
                 == 1
            && EVP_DecryptFinal_ex(dec_, dst + len, &len) == 1;
  if (!ok) {
    out.clear();
    return false;
  }
  return true;
}

} // namespace blaze::detail
