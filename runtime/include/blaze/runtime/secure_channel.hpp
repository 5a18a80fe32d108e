// The secure channel: a handshake (ephemeral P-256 ECDH, HKDF-SHA256 over the
// transcript, challenge-response on a pre-shared link secret) and a record
// layer (length-prefixed AES-256-GCM). Plain code over bytes: no sockets, no
// actors, so transports, CAF's middleman and fuzzers all drive the same object.
#pragma once

#include "blaze/storage/status.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::runtime {

enum class channel_role : std::uint8_t { initiator, responder };

struct channel_options {
  // The pre-shared secret of this link (node, database or team secret). Both
  // sides prove they hold it; it never crosses the wire. Must not be empty.
  std::string link_secret;
  // Largest plaintext carried by one record (1 .. 2^30); a peer announcing a
  // longer one is a protocol error. Larger payloads passed to send() are
  // split (to the smaller of both sides' limits: each announces its own).
  std::size_t max_record_size = 1 << 20;
  // Keys and IVs are ratcheted (HKDF) after this many records per direction
  // (1 .. 2^32). Each side announces the interval of its sending direction,
  // so the two ends need not be configured alike.
  std::uint64_t rekey_after_records = std::uint64_t{1} << 24;
  // A handshake not finished within this time fails with errc::timeout.
  std::chrono::milliseconds handshake_timeout{5000};
  // Optional long-term node identity (P-256, PEM private key). When set, the
  // finish message carries a signature over the transcript.
  std::string identity_private_key_pem;
  // Optional file of pinned peer identities ("<peer name> <hex SHA-256 of the
  // DER public key>" per line). When set, a signing peer is pinned on first
  // use and must present the same key afterwards (errc::identity_mismatch).
  std::string known_nodes_path;
  // Name under which this side's peer is pinned (e.g. "host:port"). When
  // empty, the name the peer announces (its node_name) is used instead.
  std::string peer_name;
  // Optional name this side announces in its (authenticated) finish message,
  // so a responder that cannot know who is connecting can still pin by name.
  // Printable ASCII without spaces, at most 64 bytes.
  std::string node_name;
  // When true, a peer that does not sign with an identity key is refused.
  bool require_peer_identity = false;
};

// One end of a connection. Feed it what the socket read; send what
// take_output() returns. Any error is final: the connection must be closed.
// After an error take_output() may still hold a last message for the peer
// (a version refusal or a handshake alert, so it fails with a clear error
// too); flushing it before closing is courteous but optional.
//
// Stream semantics: application bytes passed to send() come out of the
// peer's feed() in order, but record boundaries are not preserved.
class secure_channel {
public:
  static constexpr std::uint8_t protocol_version = 1;

  // Invalid options (e.g. an empty link secret, an unreadable identity key)
  // leave the channel failed: every call reports errc::invalid_argument.
  secure_channel(channel_role role, channel_options options);
  ~secure_channel();
  secure_channel(secure_channel&&) noexcept;
  secure_channel& operator=(secure_channel&&) noexcept;

  // Bytes ready for the peer (handshake messages and sealed records), handed
  // over and cleared. The initiator's hello is ready right after construction.
  std::string take_output();
  bool has_output() const;

  // Bytes received from the peer. Decrypted application bytes are appended to
  // `plaintext`. Partial records are buffered until complete.
  result<void> feed(std::string_view received, std::string& plaintext);

  // Application bytes for the peer. Before the handshake finishes they are
  // queued and sealed once it does (never sent in the clear).
  result<void> send(std::string_view payload);

  bool established() const;
  // errc::timeout once the handshake deadline (construction time plus
  // handshake_timeout) has passed unfinished; the timeout is then final like
  // any error. A channel that already failed reports its error.
  result<void> check_deadline(std::chrono::steady_clock::time_point now) const;

  // Hex SHA-256 of the peer's identity key, when it signed; empty otherwise.
  std::string peer_identity() const;
  // The node_name the peer announced; empty before establishment or if none.
  std::string peer_node_name() const;

  // 32 bytes that both ends of this channel, and only this channel, share
  // once it is established (the hash of both hellos, with both ephemeral
  // keys): a proof computed over it cannot be replayed on another
  // connection, and a man in the middle who relays hellos cannot read the
  // channel. Empty before establishment.
  std::string channel_binding() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_; // null only in a moved-from channel
};

// A fresh P-256 identity key as unencrypted PKCS#8 PEM, ready for
// channel_options::identity_private_key_pem.
result<std::string> generate_identity_key_pem();
// What peers pin for that key and what their peer_identity() returns: the
// hex SHA-256 of its DER public key. Lets known_nodes files be pre-filled.
result<std::string> identity_fingerprint(std::string_view private_key_pem);

} // namespace blaze::runtime
