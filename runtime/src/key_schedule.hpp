// The secure channel's key schedule (HKDF-SHA256) and the inputs of its
// finish MAC and identity signature. Kept apart from the state machine so
// both ends, tests and fuzzers derive exactly the same values.
//
//   psk = Extract(salt = "blaze-channel v1 link secret", ikm = link_secret)
//   prk = Extract(salt = psk, ikm = ECDH shared secret)
//   th  = SHA-256(hello_i | hello_r)
//   i2r, r2i traffic secrets, initiator/responder finish keys
//       = Expand(prk, label | th)
//   finish mac = HMAC(finish key of the sender, label | role | th | finish content)
//   signature  = ECDSA-SHA256(identity key, label | role | th)
#pragma once

#include "blaze/runtime/secure_channel.hpp"
#include "channel_crypto.hpp"

namespace blaze::runtime::detail {

struct session_keys {
  bytes32 i2r{}; // initiator -> responder traffic secret
  bytes32 r2i{};
  bytes32 finish_i{}; // keys the initiator's finish MAC
  bytes32 finish_r{};

  session_keys() = default;
  session_keys(const session_keys&) = delete;
  session_keys& operator=(const session_keys&) = delete;
  ~session_keys();
};

result<void> derive_psk(std::string_view link_secret, bytes32& psk);
result<void> transcript_hash(std::string_view hello_i, std::string_view hello_r, bytes32& th);
result<void> derive_session_keys(const bytes32& psk, const bytes32& shared, const bytes32& th,
                                 session_keys& keys);

std::string_view role_label(channel_role role);
// What the finish MAC of `sender` covers.
std::string finish_mac_input(channel_role sender, const bytes32& th, std::string_view content);
// What the identity signature of `signer` covers.
std::string identity_signature_input(channel_role signer, const bytes32& th);

} // namespace blaze::runtime::detail
