#include "key_schedule.hpp"

namespace blaze::runtime::detail {

namespace {

constexpr std::string_view psk_salt = "blaze-channel v1 link secret";
constexpr std::string_view i2r_label = "blaze-channel v1 i2r traffic";
constexpr std::string_view r2i_label = "blaze-channel v1 r2i traffic";
constexpr std::string_view finish_i_label = "blaze-channel v1 initiator finish key";
constexpr std::string_view finish_r_label = "blaze-channel v1 responder finish key";
constexpr std::string_view finish_mac_label = "blaze-channel v1 finish";
constexpr std::string_view identity_label = "blaze-channel v1 identity";

std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts)
    out.append(p);
  return out;
}

} // namespace

session_keys::~session_keys() {
  wipe(i2r);
  wipe(r2i);
  wipe(finish_i);
  wipe(finish_r);
}

result<void> derive_psk(std::string_view link_secret, bytes32& psk) {
  return hkdf_extract(psk_salt, link_secret, psk);
}

result<void> transcript_hash(std::string_view hello_i, std::string_view hello_r, bytes32& th) {
  return sha256(concat({hello_i, hello_r}), th);
}

result<void> derive_session_keys(const bytes32& psk, const bytes32& shared, const bytes32& th,
                                 session_keys& keys) {
  bytes32 prk;
  if (auto r = hkdf_extract(as_view(psk), as_view(shared), prk); !r)
    return r;
  auto expand = [&](std::string_view label, bytes32& key) {
    return hkdf_expand(prk, concat({label, as_view(th)}), key.data(), key.size());
  };
  result<void> r = expand(i2r_label, keys.i2r);
  if (r)
    r = expand(r2i_label, keys.r2i);
  if (r)
    r = expand(finish_i_label, keys.finish_i);
  if (r)
    r = expand(finish_r_label, keys.finish_r);
  wipe(prk);
  return r;
}

std::string_view role_label(channel_role role) {
  return role == channel_role::initiator ? "initiator" : "responder";
}

std::string finish_mac_input(channel_role sender, const bytes32& th, std::string_view content) {
  return concat({finish_mac_label, role_label(sender), as_view(th), content});
}

std::string identity_signature_input(channel_role signer, const bytes32& th) {
  return concat({identity_label, role_label(signer), as_view(th)});
}

} // namespace blaze::runtime::detail
