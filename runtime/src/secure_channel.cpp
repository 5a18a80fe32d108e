// The secure channel's state machine. Message flow:
//
//   initiator                         responder
//   hello_i          ───────────▶
//                    ◀───────────     hello_r, finish_r
//   finish_i, records ──────────▶     (verifies finish_i, then may send)
//                    ◀──────────▶     records
//
// A finish is an HMAC under a key derived from the link secret, the ECDH
// secret and the transcript of both hellos (see key_schedule.hpp), so only a
// holder of the link secret who saw exactly these hellos can produce it.
#include "blaze/runtime/secure_channel.hpp"

#include "channel_crypto.hpp"
#include "handshake_codec.hpp"
#include "key_schedule.hpp"
#include "known_nodes.hpp"
#include "record_layer.hpp"

#include <algorithm>
#include <utility>

namespace blaze::runtime {

using namespace detail;

namespace {

// GCM's per-key safety margin caps the ratchet interval; the record size cap
// keeps lengths within the u32 header and OpenSSL's int lengths.
constexpr std::uint64_t max_rekey_after_records = std::uint64_t{1} << 32;
constexpr std::size_t max_record_limit = std::size_t{1} << 30;

channel_role other(channel_role role) {
  return role == channel_role::initiator ? channel_role::responder : channel_role::initiator;
}

error closed_error() {
  return error{errc::closed, "the secure channel was moved from"};
}

} // namespace

struct secure_channel::impl {
  enum class phase { await_hello, await_finish, established, failed };

  channel_role role;
  channel_options options; // link secret and identity PEM wiped once used
  std::chrono::steady_clock::time_point deadline;
  phase state = phase::await_hello;
  std::optional<error> failure;

  bytes32 psk{};
  pkey_ptr identity;
  std::string identity_der;
  pkey_ptr ephemeral; // dropped as soon as the shared secret is derived
  std::string own_hello;
  std::uint8_t peer_flags = 0;
  bytes32 transcript{};
  bytes32 own_finish_key{};
  bytes32 peer_finish_key{};
  bytes32 send_secret{};
  bytes32 recv_secret{};
  record_cipher sender;
  record_cipher receiver;
  std::size_t send_chunk = 0;

  std::string in;      // received bytes not consumed yet
  std::string out;     // bytes ready for the peer
  std::string pending; // application bytes queued before establishment
  std::string peer_fingerprint;
  std::string peer_name;

  impl(channel_role r, channel_options o)
    : role(r), options(std::move(o)),
      deadline(std::chrono::steady_clock::now() + options.handshake_timeout) {}

  ~impl() {
    wipe_handshake_secrets();
    wipe(options.link_secret);
    wipe(options.identity_private_key_pem);
    wipe(pending);
  }

  void wipe_handshake_secrets() {
    wipe(psk);
    wipe(own_finish_key);
    wipe(peer_finish_key);
    wipe(send_secret);
    wipe(recv_secret);
    ephemeral.reset();
  }

  error fail(error e) {
    if (!failure) {
      failure = std::move(e);
      state = phase::failed;
      wipe_handshake_secrets();
      wipe(pending);
    }
    return *failure;
  }

  result<void> start() {
    if (options.link_secret.empty())
      return error{errc::invalid_argument, "the link secret must not be empty"};
    if (options.max_record_size == 0 || options.max_record_size > max_record_limit)
      return error{errc::invalid_argument, "max_record_size must be between 1 and 2^30"};
    if (options.rekey_after_records == 0 || options.rekey_after_records > max_rekey_after_records)
      return error{errc::invalid_argument, "rekey_after_records must be between 1 and 2^32"};
    if (!valid_node_name(options.node_name) || !valid_node_name(options.peer_name))
      return error{errc::invalid_argument,
                   "node and peer names must be printable ASCII without spaces, at most 64 bytes"};
    auto r = derive_psk(options.link_secret, psk);
    wipe(options.link_secret);
    if (!r)
      return r;
    if (!options.identity_private_key_pem.empty()) {
      auto key = load_identity_key(options.identity_private_key_pem);
      wipe(options.identity_private_key_pem);
      if (!key)
        return key.error();
      auto der = public_key_der(key->get());
      if (!der)
        return der.error();
      identity = std::move(*key);
      identity_der = std::move(*der);
    }
    auto key = generate_p256_key();
    if (!key)
      return key.error();
    ephemeral = std::move(*key);
    hello h;
    h.version = protocol_version;
    if (auto rr = random_bytes(h.nonce.data(), h.nonce.size()); !rr)
      return rr;
    auto point = public_point(ephemeral.get());
    if (!point)
      return point.error();
    h.point = std::move(*point);
    h.flags = identity ? hello_flag_identity : 0;
    own_hello = encode_hello(h);
    if (role == channel_role::initiator)
      out = own_hello;
    return {};
  }

  // --- handshake -------------------------------------------------------------

  result<void> on_hello(std::string_view bytes) {
    auto h = parse_hello(bytes);
    if (!h)
      return h.error();
    auto peer_key = parse_public_point(h->point);
    if (!peer_key)
      return peer_key.error();
    peer_flags = h->flags;
    bool initiator = role == channel_role::initiator;
    std::string_view hello_i = initiator ? std::string_view{own_hello} : bytes;
    std::string_view hello_r = initiator ? bytes : std::string_view{own_hello};
    if (auto r = transcript_hash(hello_i, hello_r, transcript); !r)
      return r;
    bytes32 shared;
    auto r = ecdh(ephemeral.get(), peer_key->get(), shared);
    ephemeral.reset(); // forward secrecy: the private half is gone from here on
    if (!r)
      return r;
    session_keys keys;
    r = derive_session_keys(psk, shared, transcript, keys);
    wipe(shared);
    wipe(psk);
    if (!r)
      return r;
    send_secret = initiator ? keys.i2r : keys.r2i;
    recv_secret = initiator ? keys.r2i : keys.i2r;
    own_finish_key = initiator ? keys.finish_i : keys.finish_r;
    peer_finish_key = initiator ? keys.finish_r : keys.finish_i;
    if (!initiator) {
      auto fin = make_finish();
      if (!fin)
        return fin.error();
      out += own_hello;
      out += *fin;
    }
    state = phase::await_finish;
    return {};
  }

  result<std::string> make_finish() {
    finish f;
    f.max_record_size = static_cast<std::uint32_t>(options.max_record_size);
    f.rekey_after_records = options.rekey_after_records;
    f.node_name = options.node_name;
    if (identity) {
      auto sig = sign(identity.get(), identity_signature_input(role, transcript));
      if (!sig)
        return sig.error();
      f.identity_der = identity_der;
      f.signature = std::move(*sig);
    }
    auto content = encode_finish_content(f);
    bytes32 mac;
    if (auto r = hmac_sha256(own_finish_key, finish_mac_input(role, transcript, content), mac); !r)
      return r.error();
    std::copy(mac.begin(), mac.end(), f.mac.begin());
    return encode_frame(frame_type::finish, encode_finish(f));
  }

  result<void> on_finish(std::string_view body) {
    auto f = parse_finish(body);
    if (!f)
      return f.error();
    auto peer_role = other(role);
    // The MAC first: nothing else a peer says counts before it proved the secret.
    bytes32 expected;
    if (auto r = hmac_sha256(peer_finish_key,
                             finish_mac_input(peer_role, transcript, finish_content(body)), expected);
        !r)
      return r;
    bytes32 received;
    std::copy(f->mac.begin(), f->mac.end(), received.begin());
    if (!equal_secret(expected, received))
      return error{errc::auth_failed, "the peer did not prove the link secret (a different "
                                      "secret, or the handshake was altered in transit)"};
    if (((peer_flags & hello_flag_identity) != 0) != !f->identity_der.empty())
      return error{errc::protocol_error, "the peer's finish contradicts its hello's identity flag"};
    if (f->max_record_size == 0 || f->max_record_size > max_record_limit)
      return error{errc::protocol_error, "the peer announced an invalid maximum record size"};
    if (f->rekey_after_records == 0 || f->rekey_after_records > max_rekey_after_records)
      return error{errc::protocol_error, "the peer announced an invalid rekey interval"};
    std::string fingerprint;
    if (!f->identity_der.empty()) {
      auto key = parse_identity_der(f->identity_der);
      if (!key)
        return key.error();
      if (!verify(key->get(), identity_signature_input(peer_role, transcript), f->signature))
        return error{errc::auth_failed,
                     "the peer's identity signature over the handshake does not verify"};
      bytes32 digest;
      if (auto r = sha256(f->identity_der, digest); !r)
        return r;
      fingerprint = to_hex(as_view(digest));
    } else if (options.require_peer_identity) {
      return error{errc::auth_failed,
                   "the peer presented no identity key, but require_peer_identity is set"};
    }
    const std::string& pin_name = options.peer_name.empty() ? f->node_name : options.peer_name;
    if (!options.known_nodes_path.empty() && !pin_name.empty())
      if (auto r = pin_or_verify(options.known_nodes_path, pin_name, fingerprint); !r)
        return r;
    peer_fingerprint = std::move(fingerprint);
    peer_name = f->node_name;
    send_chunk = std::min<std::size_t>(options.max_record_size, f->max_record_size);
    if (role == channel_role::initiator) {
      auto fin = make_finish();
      if (!fin)
        return fin.error();
      out += *fin;
    }
    auto r = sender.start(record_cipher::direction::seal, send_secret,
                          options.rekey_after_records);
    if (r)
      r = receiver.start(record_cipher::direction::open, recv_secret, f->rekey_after_records);
    wipe_handshake_secrets();
    if (!r)
      return r;
    state = phase::established;
    // Queued before establishment: sealed now, never sent in the clear.
    r = seal(pending);
    wipe(pending);
    return r;
  }

  result<void> on_alert(std::string_view body) {
    if (body.size() != 1)
      return error{errc::protocol_error, "malformed handshake alert"};
    auto code = parse_alert(static_cast<std::uint8_t>(body[0]));
    return error{code, std::string{"the peer refused the handshake: "} + to_string(code)};
  }

  result<void> handshake_step(bool& progressed) {
    progressed = false;
    if (state == phase::await_hello) {
      if (auto r = check_hello_prefix(in, protocol_version); !r) {
        // Tell an initiator of another version why, in terms it can parse.
        if (r.error().code() == errc::unsupported_version && role == channel_role::responder)
          out = encode_refusal(protocol_version);
        return r;
      }
      if (in.size() < hello_size)
        return {};
      auto r = on_hello(std::string_view{in}.substr(0, hello_size));
      if (!r)
        return r;
      in.erase(0, hello_size);
      progressed = true;
      return {};
    }
    auto fr = next_frame(in);
    if (!fr)
      return fr.error();
    if (!*fr)
      return {};
    auto msg = **fr;
    auto r = msg.type == frame_type::alert ? on_alert(msg.body) : on_finish(msg.body);
    if (!r) {
      // The initiator is the first to judge the other side; tell the
      // responder, which otherwise would only see the connection drop.
      if (role == channel_role::initiator && msg.type == frame_type::finish)
        out += encode_frame(frame_type::alert, encode_alert(r.error().code()));
      return r;
    }
    in.erase(0, msg.size);
    progressed = true;
    return {};
  }

  // --- records ---------------------------------------------------------------

  result<void> open_records(std::string& plaintext) {
    std::size_t pos = 0;
    result<void> r;
    while (in.size() - pos >= record_header_size) {
      std::string_view rest = std::string_view{in}.substr(pos);
      std::size_t len = record_cipher::length_of(rest);
      if (len < record_tag_size) {
        r = error{errc::protocol_error, "record shorter than its authentication tag"};
        break;
      }
      if (len > options.max_record_size + record_tag_size) {
        r = error{errc::protocol_error, "record of " + std::to_string(len - record_tag_size)
                                          + " bytes exceeds the limit of "
                                          + std::to_string(options.max_record_size)};
        break;
      }
      if (rest.size() < record_header_size + len)
        break;
      if (!receiver.open(rest.substr(0, record_header_size + len), plaintext)) {
        r = error{errc::protocol_error, "record failed authentication (altered, replayed, "
                                        "reordered or from another session)"};
        break;
      }
      pos += record_header_size + len;
    }
    in.erase(0, pos);
    return r;
  }

  result<void> seal(std::string_view payload) {
    while (!payload.empty()) {
      auto n = std::min(payload.size(), send_chunk);
      if (auto r = sender.seal(payload.substr(0, n), out); !r)
        return r;
      payload.remove_prefix(n);
    }
    return {};
  }

  result<void> feed(std::string_view received, std::string& plaintext) {
    if (failure)
      return *failure;
    in.append(received);
    bool progressed = true;
    while (state != phase::established && progressed)
      if (auto r = handshake_step(progressed); !r)
        return fail(r.error());
    if (state == phase::established)
      if (auto r = open_records(plaintext); !r)
        return fail(r.error());
    return {};
  }

  result<void> send(std::string_view payload) {
    if (failure)
      return *failure;
    if (state != phase::established) {
      pending.append(payload);
      return {};
    }
    if (auto r = seal(payload); !r)
      return fail(r.error());
    return {};
  }
};

secure_channel::secure_channel(channel_role role, channel_options options)
  : impl_(std::make_unique<impl>(role, std::move(options))) {
  if (auto r = impl_->start(); !r)
    impl_->fail(r.error());
}

secure_channel::~secure_channel() = default;
secure_channel::secure_channel(secure_channel&&) noexcept = default;
secure_channel& secure_channel::operator=(secure_channel&&) noexcept = default;

std::string secure_channel::take_output() {
  if (!impl_)
    return {};
  return std::exchange(impl_->out, {});
}

bool secure_channel::has_output() const {
  return impl_ && !impl_->out.empty();
}

result<void> secure_channel::feed(std::string_view received, std::string& plaintext) {
  if (!impl_)
    return closed_error();
  return impl_->feed(received, plaintext);
}

result<void> secure_channel::send(std::string_view payload) {
  if (!impl_)
    return closed_error();
  return impl_->send(payload);
}

bool secure_channel::established() const {
  return impl_ && impl_->state == impl::phase::established;
}

result<void> secure_channel::check_deadline(std::chrono::steady_clock::time_point now) const {
  if (!impl_)
    return closed_error();
  if (impl_->failure)
    return *impl_->failure;
  if (impl_->state != impl::phase::established && now >= impl_->deadline)
    return impl_->fail(error{errc::timeout,
                             "the secure channel handshake did not finish within "
                               + std::to_string(impl_->options.handshake_timeout.count()) + " ms"});
  return {};
}

std::string secure_channel::peer_identity() const {
  return impl_ ? impl_->peer_fingerprint : std::string{};
}

std::string secure_channel::peer_node_name() const {
  return impl_ ? impl_->peer_name : std::string{};
}

std::string secure_channel::channel_binding() const {
  if (!established())
    return {};
  return std::string{detail::as_view(impl_->transcript)};
}

result<std::string> generate_identity_key_pem() {
  return generate_identity_pem();
}

result<std::string> identity_fingerprint(std::string_view private_key_pem) {
  auto key = load_identity_key(private_key_pem);
  if (!key)
    return key.error();
  auto der = public_key_der(key->get());
  if (!der)
    return der.error();
  bytes32 digest;
  if (auto r = sha256(*der, digest); !r)
    return r.error();
  return to_hex(as_view(digest));
}

} // namespace blaze::runtime
