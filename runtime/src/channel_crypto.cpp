#include "channel_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstring>

namespace blaze::runtime::detail {

namespace {

// No OpenSSL cleanup at exit, for the reason given in storage/src/crypto.cpp
// (threads of detached actors may still be using it). Said here as well so
// that it holds whichever of the two is initialized first.
[[maybe_unused]] const bool openssl_kept_until_exit =
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// A failed OpenSSL call leaves entries on the thread's error queue; drop them
// so a peer feeding garbage cannot make later, unrelated calls look failed.
error crypto_failure(const char* what) {
  ERR_clear_error();
  return error{errc::crypto_error, what};
}

error peer_failure(errc code, std::string what) {
  ERR_clear_error();
  return error{code, std::move(what)};
}

struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

struct kdf_ctx_deleter {
  void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
};
using kdf_ctx_ptr = std::unique_ptr<EVP_KDF_CTX, kdf_ctx_deleter>;

// Fetched once: EVP_KDF objects are immutable and shareable across threads.
EVP_KDF* hkdf_algorithm() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

bool is_p256(EVP_PKEY* key) {
  if (!EVP_PKEY_is_a(key, "EC"))
    return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len)
      != 1)
    return false;
  return std::strcmp(group, "prime256v1") == 0;
}

result<void> hkdf(int mode, std::string_view key, std::string_view salt, std::string_view info,
                  std::uint8_t* out, std::size_t n) {
  EVP_KDF* kdf = hkdf_algorithm();
  if (!kdf)
    return crypto_failure("HKDF is not available");
  kdf_ctx_ptr ctx{EVP_KDF_CTX_new(kdf)};
  if (!ctx)
    return crypto_failure("HKDF context unavailable");
  char digest[] = "SHA256";
  OSSL_PARAM params[6];
  std::size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<char*>(key.data()), key.size());
  if (!salt.empty())
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  if (!info.empty())
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
  params[i] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out, n, params) != 1)
    return crypto_failure("HKDF-SHA256 failed");
  return {};
}

// Encrypted PEM is not supported: without this callback OpenSSL would prompt
// for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

} // namespace

void pkey_deleter::operator()(EVP_PKEY* key) const noexcept {
  EVP_PKEY_free(key);
}

void wipe(void* p, std::size_t n) noexcept {
  if (p && n)
    OPENSSL_cleanse(p, n);
}

void wipe(std::string& s) noexcept {
  wipe(s.data(), s.size());
  s.clear();
}

result<void> random_bytes(std::uint8_t* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    return crypto_failure("the random number generator failed");
  return {};
}

std::string to_hex(std::string_view in) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() * 2);
  for (unsigned char c : in) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

result<pkey_ptr> generate_p256_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return crypto_failure("generating a P-256 key failed");
  return key;
}

result<std::string> public_point(EVP_PKEY* key) {
  std::string out(p256_point_size, '\0');
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                      &len)
        != 1
      || len != p256_point_size || out[0] != 0x04)
    return crypto_failure("encoding the ephemeral public key failed");
  return out;
}

result<pkey_ptr> parse_public_point(std::string_view point) {
  if (point.size() != p256_point_size || point[0] != 0x04)
    return peer_failure(errc::protocol_error,
                        "the peer's ephemeral key is not an uncompressed P-256 point");
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  if (!ctx)
    return crypto_failure("EC context unavailable");
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<char*>(point.data()),
                                      point.size()),
    OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1
      || EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1 || !raw)
    return peer_failure(errc::protocol_error,
                        "the peer's ephemeral key is not a point on P-256");
  pkey_ptr key{raw};
  pkey_ctx_ptr check{EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr)};
  // The quick check (on the curve, not the point at infinity) is the full
  // check for P-256, whose cofactor is 1; the full check adds a generic
  // n·Q multiplication that would double the handshake's cost.
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1)
    return peer_failure(errc::protocol_error,
                        "the peer's ephemeral key is not a valid P-256 public key");
  return key;
}

result<void> ecdh(EVP_PKEY* own, EVP_PKEY* peer, bytes32& shared) {
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr)};
  std::size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1
      || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1
      || EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    wipe(shared);
    return peer_failure(errc::protocol_error, "ECDH with the peer's ephemeral key failed");
  }
  return {};
}

result<void> sha256(std::string_view data, bytes32& out) {
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1
      || len != out.size())
    return crypto_failure("SHA-256 failed");
  return {};
}

result<void> hkdf_extract(std::string_view salt, std::string_view ikm, bytes32& prk) {
  return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, prk.data(), prk.size());
}

result<void> hkdf_expand(const bytes32& prk, std::string_view info, std::uint8_t* out,
                         std::size_t n) {
  return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, as_view(prk), {}, info, out, n);
}

result<void> hmac_sha256(const bytes32& key, std::string_view data, bytes32& out) {
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
            out.data(), &len)
      || len != out.size())
    return crypto_failure("HMAC-SHA256 failed");
  return {};
}

bool equal_secret(const bytes32& a, const bytes32& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

result<pkey_ptr> load_identity_key(std::string_view pem) {
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio)
    return crypto_failure("BIO unavailable");
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  if (!key)
    return peer_failure(errc::invalid_argument,
                        "identity_private_key_pem is not an unencrypted PEM private key");
  if (!is_p256(key.get()))
    return peer_failure(errc::invalid_argument,
                        "identity_private_key_pem must hold a P-256 (prime256v1) EC key");
  return key;
}

result<std::string> generate_identity_pem() {
  auto key = generate_p256_key();
  if (!key)
    return key.error();
  // Secure memory: the buffer is cleansed when the BIO is freed.
  bio_ptr bio{BIO_new(BIO_s_secmem())};
  if (!bio
      || PEM_write_bio_PrivateKey(bio.get(), key->get(), nullptr, nullptr, 0, nullptr, nullptr)
           != 1)
    return crypto_failure("writing the identity key as PEM failed");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0 || !data)
    return crypto_failure("writing the identity key as PEM failed");
  return std::string(data, static_cast<std::size_t>(n));
}

result<std::string> public_key_der(EVP_PKEY* key) {
  int n = i2d_PUBKEY(key, nullptr);
  if (n <= 0)
    return crypto_failure("encoding the identity public key failed");
  std::string out(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d_PUBKEY(key, &p) != n)
    return crypto_failure("encoding the identity public key failed");
  return out;
}

result<pkey_ptr> parse_identity_der(std::string_view der) {
  const unsigned char* p = bytes(der);
  pkey_ptr key{d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()))};
  if (!key || p != bytes(der) + der.size())
    return peer_failure(errc::protocol_error,
                        "the peer's identity key is not a DER public key");
  if (!is_p256(key.get()))
    return peer_failure(errc::protocol_error, "the peer's identity key is not a P-256 key");
  // Canonical encoding only, so one key has exactly one fingerprint.
  auto again = public_key_der(key.get());
  if (!again || *again != der)
    return peer_failure(errc::protocol_error,
                        "the peer's identity key is not canonically encoded");
  return key;
}

result<std::string> sign(EVP_PKEY* key, std::string_view message) {
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1
      || EVP_DigestSign(ctx.get(), nullptr, &len, bytes(message), message.size()) != 1)
    return crypto_failure("ECDSA signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     bytes(message), message.size())
      != 1)
    return crypto_failure("ECDSA signing failed");
  sig.resize(len);
  return sig;
}

bool verify(EVP_PKEY* key, std::string_view message, std::string_view signature) {
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1
            && EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message),
                                message.size())
                 == 1;
  if (!ok)
    ERR_clear_error();
  return ok;
}

} // namespace blaze::runtime::detail
