#include "blaze/storage/team_seal.hpp"

#include "codec.hpp"
#include "crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <cstring>

namespace blaze {

using detail::key256;

namespace {

constexpr std::string_view kdf_salt = "blaze team v1";
constexpr std::size_t tag_bytes = 16; // shown as 32 hex digits

error crypto_failure(const char* what) {
  return error{errc::crypto_error, what};
}

struct kdf_ctx_deleter {
  void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
};

result<key256> hkdf(std::string_view secret, std::string_view purpose, std::string_view team) {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (!kdf)
    return crypto_failure("HKDF is not available");
  std::unique_ptr<EVP_KDF_CTX, kdf_ctx_deleter> ctx{EVP_KDF_CTX_new(kdf)};
  if (!ctx)
    return crypto_failure("HKDF context unavailable");
  std::string info{purpose};
  info.push_back('\0');
  info.append(team);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()),
                                      secret.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kdf_salt.data()),
                                      kdf_salt.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
    OSSL_PARAM_construct_end()};
  key256 out;
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1)
    return crypto_failure("HKDF-SHA256 failed");
  return out;
}

std::string hex(const std::uint8_t* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

result<void> check_secret(std::string_view team, std::string_view secret) {
  if (auto r = validate_team_name(team); !r)
    return r;
  if (secret.empty())
    return error{errc::invalid_argument, "team '" + std::string{team} + "' has an empty secret"};
  return {};
}

} // namespace

bool is_sealed_collection(std::string_view collection) {
  return collection.substr(0, sealed_collection_prefix.size()) == sealed_collection_prefix;
}

std::string_view sealed_collection_team(std::string_view collection) {
  if (!is_sealed_collection(collection))
    return {};
  auto rest = collection.substr(sealed_collection_prefix.size());
  auto dot = rest.find('.');
  return dot == std::string_view::npos ? std::string_view{} : rest.substr(0, dot);
}

result<void> validate_team_name(std::string_view team) {
  if (team.empty() || team.size() > 32)
    return error{errc::invalid_argument, "a team name has 1 to 32 characters"};
  for (char c : team) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-';
    if (!ok)
      return error{errc::invalid_argument,
                   "team name '" + std::string{team} + "' may hold only A-Z a-z 0-9 _ -"};
  }
  return {};
}

result<std::string> team_access_key(std::string_view team, std::string_view secret) {
  if (auto r = check_secret(team, secret); !r)
    return r.error();
  auto k = hkdf(secret, "access", team);
  if (!k)
    return k.error();
  return std::string{reinterpret_cast<const char*>(k->data()), k->size()};
}

struct team_key::impl {
  std::string team;
  std::string access;
  key256 tag_key{};
  detail::sealer sealer;
  impl(std::string t, std::string a, const key256& tag, const key256& seal)
    : team(std::move(t)), access(std::move(a)), tag_key(tag), sealer(seal) {}
  ~impl() { detail::wipe(tag_key.data(), tag_key.size()); }

  // A keyed hash of `kind` and the parts, as 32 hex digits.
  std::string tag(char kind, std::string_view a, std::string_view b = {}) const {
    std::string msg;
    msg.reserve(2 + a.size() + b.size());
    msg.push_back(kind);
    detail::put_string(msg, a);
    detail::put_string(msg, b);
    std::array<std::uint8_t, 32> mac{};
    std::size_t len = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, tag_key.data(), tag_key.size(),
                   reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac.data(),
                   mac.size(), &len))
      return {}; // an empty tag never validates as a name: the seal fails
    return hex(mac.data(), tag_bytes);
  }

  std::string collection(std::string_view c) const {
    auto t = tag('c', c);
    if (t.empty())
      return {};
    std::string out{sealed_collection_prefix};
    out += team;
    out.push_back('.');
    out += t;
    return out;
  }

  // What binds a sealed part to its op: origin, seq, clock, kind and the
  // sealed names.
  static std::string op_binding(const op& o) {
    std::string aad;
    detail::put_fixed64(aad, o.origin);
    detail::put_varint(aad, o.seq);
    detail::put_fixed64(aad, o.time);
    aad.push_back(static_cast<char>(o.kind));
    detail::put_string(aad, o.collection);
    detail::put_string(aad, o.id);
    return aad;
  }
};

result<team_key> team_key::derive(std::string_view team, std::string_view secret) {
  if (auto r = check_secret(team, secret); !r)
    return r.error();
  auto tag = hkdf(secret, "tag", team);
  auto seal = hkdf(secret, "seal", team);
  auto access = team_access_key(team, secret);
  if (!tag || !seal || !access)
    return crypto_failure("cannot derive the team keys");
  auto i = std::make_shared<impl>(std::string{team}, std::move(*access), *tag, *seal);
  detail::wipe(seal->data(), seal->size());
  if (!i->sealer.valid())
    return crypto_failure("AES-256-GCM is not available");
  return team_key{std::move(i)};
}

const std::string& team_key::team() const {
  return impl_->team;
}

const std::string& team_key::access_key() const {
  return impl_->access;
}

std::string team_key::sealed_collection(std::string_view collection) const {
  return impl_->collection(collection);
}

// Sealed form: collection "_e2e.<team>.<tag>", id and field names keyed
// hashes; each value sealed with the op's binding and its field's tag; the
// header field holds the real collection, id and names (set, then removed).
result<op> team_key::seal(const op& plain) {
  auto& k = *impl_;
  if (is_sealed_collection(plain.collection))
    return error{errc::invalid_argument, "op is sealed already"};
  op s;
  s.origin = plain.origin;
  s.seq = plain.seq;
  s.time = plain.time;
  s.kind = plain.kind;
  s.collection = k.collection(plain.collection);
  s.id = k.tag('i', plain.collection, plain.id);
  if (s.collection.empty() || s.id.empty())
    return crypto_failure("HMAC-SHA256 failed");
  auto binding = impl::op_binding(s);
  std::string header;
  detail::put_string(header, plain.collection);
  detail::put_string(header, plain.id);
  detail::put_varint(header, plain.fields.size());
  std::string encoded, sealed;
  for (auto& [name, v] : plain.fields) {
    detail::put_string(header, name);
    auto t = k.tag('f', plain.collection, name);
    if (t.empty())
      return crypto_failure("HMAC-SHA256 failed");
    encoded.clear();
    detail::put_value(encoded, v);
    sealed.clear();
    if (auto r = k.sealer.seal(encoded, binding, sealed, t); !r)
      return r.error();
    s.fields.emplace(std::move(t), value{bytes(sealed.begin(), sealed.end())});
  }
  detail::put_varint(header, plain.removed.size());
  for (auto& name : plain.removed) {
    detail::put_string(header, name);
    auto t = k.tag('f', plain.collection, name);
    if (t.empty())
      return crypto_failure("HMAC-SHA256 failed");
    s.removed.push_back(std::move(t));
  }
  sealed.clear();
  if (auto r = k.sealer.seal(header, binding, sealed, sealed_header_field); !r)
    return r.error();
  s.fields.emplace(std::string{sealed_header_field}, value{bytes(sealed.begin(), sealed.end())});
  return s;
}

result<op> team_key::open(const op& s) {
  auto& k = *impl_;
  auto who = "sealed op " + to_hex(s.origin) + ":" + std::to_string(s.seq);
  auto forged = [&](const std::string& why) {
    return error{errc::auth_failed, who + " of team '" + k.team + "': " + why};
  };
  if (sealed_collection_team(s.collection) != k.team)
    return error{errc::invalid_argument, who + " is not sealed for team '" + k.team + "'"};
  auto h = s.fields.find(std::string{sealed_header_field});
  if (h == s.fields.end() || !h->second.as_bytes())
    return forged("it carries no sealed header");
  auto binding = impl::op_binding(s);
  auto& hb = *h->second.as_bytes();
  std::string header;
  if (!k.sealer.open({reinterpret_cast<const char*>(hb.data()), hb.size()}, binding, header,
                     sealed_header_field))
    return forged("its header does not open with this team's key (another key, or changed)");
  op p;
  p.origin = s.origin;
  p.seq = s.seq;
  p.time = s.time;
  p.kind = s.kind;
  detail::reader in{header};
  std::uint64_t nfields = 0, nremoved = 0;
  if (!in.string(p.collection) || !in.string(p.id) || !in.varint(nfields)
      || nfields + 1 != s.fields.size())
    return forged("its header is malformed");
  // The names must hash to what the op carries: otherwise the header was
  // moved here from another op.
  if (k.collection(p.collection) != s.collection || k.tag('i', p.collection, p.id) != s.id)
    return forged("its header names another record");
  std::string plain;
  for (std::uint64_t i = 0; i < nfields; ++i) {
    std::string name;
    if (!in.string(name))
      return forged("its header is malformed");
    auto t = k.tag('f', p.collection, name);
    auto f = s.fields.find(t);
    if (f == s.fields.end() || !f->second.as_bytes())
      return forged("field '" + name + "' is missing");
    auto& vb = *f->second.as_bytes();
    if (!k.sealer.open({reinterpret_cast<const char*>(vb.data()), vb.size()}, binding, plain, t))
      return forged("the value of field '" + name + "' does not open");
    detail::reader vr{plain};
    value v;
    if (!vr.value(v) || !vr.at_end())
      return forged("the value of field '" + name + "' is malformed");
    p.fields.emplace(std::move(name), std::move(v));
  }
  if (!in.varint(nremoved) || nremoved != s.removed.size())
    return forged("its removed fields do not match its header");
  for (std::uint64_t i = 0; i < nremoved; ++i) {
    std::string name;
    if (!in.string(name) || k.tag('f', p.collection, name) != s.removed[i])
      return forged("its removed fields do not match its header");
    p.removed.push_back(std::move(name));
  }
  if (!in.at_end())
    return forged("its header is malformed");
  if (auto r = detail::validate_op(p); !r)
    return forged(r.error().message());
  return p;
}

} // namespace blaze
