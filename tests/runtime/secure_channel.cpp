// The secure channel as plain code over bytes: handshake, authentication,
// identities, record layer integrity, rekeying and deadlines.
#include "blaze/runtime/secure_channel.hpp"

// Private parts, to forge handshake messages a real channel would not send.
#include "channel_crypto.hpp"
#include "handshake_codec.hpp"
#include "key_schedule.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace blaze;
using namespace blaze::runtime;
namespace fs = std::filesystem;

namespace {

// Wire layout of a hello (see runtime/src/handshake_codec.hpp).
constexpr std::size_t hello_size = 103;
constexpr std::size_t version_offset = 4;
constexpr std::size_t nonce_offset = 5;
constexpr std::size_t point_offset = 37;
constexpr std::size_t header_size = 4;
constexpr std::size_t tag_size = 16;

const std::string secret = "correct horse battery staple";

channel_options options_with(std::string link_secret = secret) {
  channel_options o;
  o.link_secret = std::move(link_secret);
  return o;
}

// One side of a test connection: the channel, what it decrypted and the
// first error it reported.
struct endpoint {
  secure_channel channel;
  std::string received;
  std::optional<error> failure;

  endpoint(channel_role role, channel_options o) : channel(role, std::move(o)) {}

  void deliver(std::string_view bytes) {
    if (failure || bytes.empty())
      return;
    if (auto r = channel.feed(bytes, received); !r)
      failure = r.error();
  }
  void send(std::string_view bytes) { BOOST_REQUIRE(channel.send(bytes)); }
};

// Carries bytes both ways until neither side has anything left to say.
void pump(endpoint& a, endpoint& b) {
  for (int round = 0; round < 64 && (a.channel.has_output() || b.channel.has_output()); ++round) {
    b.deliver(a.channel.take_output());
    a.deliver(b.channel.take_output());
  }
}

struct connected_pair {
  endpoint initiator;
  endpoint responder;

  explicit connected_pair(channel_options i = options_with(), channel_options r = options_with())
    : initiator(channel_role::initiator, std::move(i)),
      responder(channel_role::responder, std::move(r)) {
    pump(initiator, responder);
    BOOST_REQUIRE(!initiator.failure);
    BOOST_REQUIRE(!responder.failure);
    BOOST_REQUIRE(initiator.channel.established());
    BOOST_REQUIRE(responder.channel.established());
  }

  // The sealed bytes of one send() from the initiator.
  std::string seal_from_initiator(std::string_view plain) {
    initiator.send(plain);
    return initiator.channel.take_output();
  }
};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen{seed};
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(gen());
  return out;
}

// A private directory for known-nodes files, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path()
           / ("blaze-channel-test-" + std::to_string(::getpid()) + "-"
              + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string new_identity() {
  auto pem = generate_identity_key_pem();
  BOOST_REQUIRE(pem);
  return *pem;
}

channel_options identity_options(const std::string& pem, const fs::path& known_nodes,
                                 const std::string& peer_name) {
  auto o = options_with();
  o.identity_private_key_pem = pem;
  o.known_nodes_path = known_nodes.string();
  o.peer_name = peer_name;
  return o;
}

// A man in the middle: `to_initiator` plays responder to the real initiator,
// `to_responder` plays initiator to the real responder.
struct relay {
  endpoint to_initiator;
  endpoint to_responder;
  relay(channel_options a, channel_options b)
    : to_initiator(channel_role::responder, std::move(a)),
      to_responder(channel_role::initiator, std::move(b)) {}
};

void pump_through(endpoint& initiator, relay& m, endpoint& responder) {
  for (int round = 0; round < 64; ++round) {
    bool any = initiator.channel.has_output() || responder.channel.has_output()
               || m.to_initiator.channel.has_output() || m.to_responder.channel.has_output();
    if (!any)
      break;
    m.to_initiator.deliver(initiator.channel.take_output());
    initiator.deliver(m.to_initiator.channel.take_output());
    responder.deliver(m.to_responder.channel.take_output());
    m.to_responder.deliver(responder.channel.take_output());
  }
}

void check_code(const std::optional<error>& e, errc expected) {
  BOOST_REQUIRE_MESSAGE(e, "expected an error");
  BOOST_TEST_MESSAGE(e->to_string());
  BOOST_CHECK_MESSAGE(e->code() == expected, "got " << e->to_string());
}

} // namespace

BOOST_AUTO_TEST_SUITE(secure_channel)

// --- handshake and data -------------------------------------------------------

BOOST_AUTO_TEST_CASE(both_sides_agree_and_exchange_data_both_ways) {
  connected_pair p;
  p.initiator.send("ping from the initiator");
  p.responder.send("pong from the responder");
  pump(p.initiator, p.responder);
  BOOST_TEST(p.responder.received == "ping from the initiator");
  BOOST_TEST(p.initiator.received == "pong from the responder");
  BOOST_TEST(p.initiator.channel.peer_identity().empty());
  BOOST_TEST(!p.initiator.failure);
  BOOST_TEST(!p.responder.failure);
}

BOOST_AUTO_TEST_CASE(both_ends_share_a_channel_binding_that_no_other_channel_has) {
  runtime::secure_channel fresh{channel_role::initiator, options_with()};
  BOOST_TEST(fresh.channel_binding().empty()); // nothing to bind to yet
  connected_pair p;
  connected_pair q;
  auto b = p.initiator.channel.channel_binding();
  BOOST_TEST(b.size() == 32u);
  BOOST_TEST(b == p.responder.channel.channel_binding());
  BOOST_TEST(b != q.initiator.channel.channel_binding());
}

BOOST_AUTO_TEST_CASE(large_payload_is_split_into_records_and_reassembled) {
  connected_pair p;
  auto payload = random_bytes(8 << 20, 1);
  p.initiator.send(payload);
  auto wire = p.initiator.channel.take_output();
  // 8 records of at most 1 MiB each, every one with its own header and tag.
  BOOST_TEST(wire.size() == payload.size() + 8 * (header_size + tag_size));
  BOOST_TEST(wire.find(payload.substr(0, 64)) == std::string::npos);
  // Delivered in odd-sized pieces, as a socket would.
  std::mt19937 gen{2};
  for (std::size_t pos = 0; pos < wire.size();) {
    auto n = std::min<std::size_t>(wire.size() - pos, 1 + gen() % 200000);
    p.responder.deliver(std::string_view{wire}.substr(pos, n));
    pos += n;
  }
  BOOST_TEST(!p.responder.failure);
  BOOST_TEST((p.responder.received == payload));
}

BOOST_AUTO_TEST_CASE(app_data_queued_before_establishment_is_sealed_and_delivered) {
  endpoint i{channel_role::initiator, options_with()};
  endpoint r{channel_role::responder, options_with()};
  i.send("early from the initiator");
  r.send("early from the responder");
  BOOST_TEST(!i.channel.established());
  auto hello = i.channel.take_output();
  BOOST_TEST(hello.size() == hello_size); // nothing but the hello, no plaintext
  r.deliver(hello);
  // The responder answers with hello and finish only: its queued data waits
  // until it has verified the initiator's finish.
  auto reply = r.channel.take_output();
  BOOST_TEST(reply.find("early") == std::string::npos);
  BOOST_REQUIRE(reply.size() > hello_size + 3);
  auto finish_len = (static_cast<std::size_t>(static_cast<std::uint8_t>(reply[hello_size + 1])) << 8)
                    | static_cast<std::uint8_t>(reply[hello_size + 2]);
  BOOST_TEST(reply.size() == hello_size + 3 + finish_len);
  i.deliver(reply);
  BOOST_TEST(i.channel.established());
  // finish_i and the sealed early data arrive in one buffer.
  auto finish_and_records = i.channel.take_output();
  BOOST_TEST(finish_and_records.find("early") == std::string::npos);
  r.deliver(finish_and_records);
  BOOST_TEST(r.channel.established());
  BOOST_TEST(r.received == "early from the initiator");
  i.deliver(r.channel.take_output());
  BOOST_TEST(i.received == "early from the responder");
  BOOST_TEST(!i.failure);
  BOOST_TEST(!r.failure);
}

BOOST_AUTO_TEST_CASE(handshake_and_records_survive_one_byte_feeds) {
  endpoint i{channel_role::initiator, options_with()};
  endpoint r{channel_role::responder, options_with()};
  i.send("byte by byte");
  for (int round = 0; round < 8; ++round) {
    for (char c : i.channel.take_output())
      r.deliver(std::string_view{&c, 1});
    for (char c : r.channel.take_output())
      i.deliver(std::string_view{&c, 1});
  }
  BOOST_TEST(!i.failure);
  BOOST_TEST(!r.failure);
  BOOST_TEST(r.received == "byte by byte");
}

BOOST_AUTO_TEST_CASE(peers_with_different_limits_interoperate) {
  auto a = options_with();
  a.rekey_after_records = 2;
  a.max_record_size = 100;
  auto b = options_with();
  b.rekey_after_records = 5;
  connected_pair p{a, b};
  auto big = random_bytes(1000, 3);
  for (int k = 0; k < 7; ++k) {
    p.initiator.send(big);
    p.responder.send(big);
  }
  pump(p.initiator, p.responder);
  BOOST_TEST(!p.initiator.failure);
  BOOST_TEST(!p.responder.failure);
  BOOST_TEST(p.initiator.received.size() == 7000u);
  BOOST_TEST(p.responder.received.size() == 7000u);
}

// --- authentication -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(wrong_secret_fails_auth_on_both_sides_without_plaintext) {
  endpoint i{channel_role::initiator, options_with("secret one")};
  endpoint r{channel_role::responder, options_with("secret two")};
  i.send("must not arrive");
  r.send("must not arrive either");
  pump(i, r);
  check_code(i.failure, errc::auth_failed);
  check_code(r.failure, errc::auth_failed);
  BOOST_TEST(i.received.empty());
  BOOST_TEST(r.received.empty());
  BOOST_TEST(!i.channel.established());
  BOOST_TEST(!r.channel.established());
}

BOOST_AUTO_TEST_CASE(flipped_version_byte_is_refused_naming_both_versions) {
  endpoint i{channel_role::initiator, options_with()};
  endpoint r{channel_role::responder, options_with()};
  auto hello = i.channel.take_output();
  hello[version_offset] ^= 0x03; // version 1 -> 2
  r.deliver(hello);
  check_code(r.failure, errc::unsupported_version);
  BOOST_TEST(r.failure->message().find("version 2") != std::string::npos);
  BOOST_TEST(r.failure->message().find("version 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(initiator_refused_by_another_version_reports_unsupported_version) {
  endpoint i{channel_role::initiator, options_with()};
  i.channel.take_output();
  i.deliver(std::string{"BLZC"} + char{7}); // a version-7 responder's refusal
  check_code(i.failure, errc::unsupported_version);
  BOOST_TEST(i.failure->message().find("version 7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flipped_key_byte_is_protocol_error) {
  endpoint i{channel_role::initiator, options_with()};
  endpoint r{channel_role::responder, options_with()};
  auto hello = i.channel.take_output();
  hello[point_offset + 20] ^= 0x01; // the point leaves the curve
  r.deliver(hello);
  check_code(r.failure, errc::protocol_error);
  BOOST_TEST(r.channel.take_output().empty());
}

BOOST_AUTO_TEST_CASE(compressed_point_is_protocol_error) {
  endpoint i{channel_role::initiator, options_with()};
  endpoint r{channel_role::responder, options_with()};
  auto hello = i.channel.take_output();
  hello[point_offset] = 0x02;
  r.deliver(hello);
  check_code(r.failure, errc::protocol_error);
}

BOOST_AUTO_TEST_CASE(flipped_nonce_byte_fails_auth_on_both_sides) {
  endpoint i{channel_role::initiator, options_with()};
  endpoint r{channel_role::responder, options_with()};
  auto hello = i.channel.take_output();
  hello[nonce_offset + 7] ^= 0x80; // transcripts now differ
  r.deliver(hello);
  pump(i, r);
  check_code(i.failure, errc::auth_failed);
  check_code(r.failure, errc::auth_failed);
}

BOOST_AUTO_TEST_CASE(bad_magic_and_unknown_flags_are_protocol_errors) {
  {
    endpoint i{channel_role::initiator, options_with()};
    endpoint r{channel_role::responder, options_with()};
    auto hello = i.channel.take_output();
    hello[0] = 'X';
    r.deliver(hello.substr(0, 1)); // refused at the first wrong byte
    check_code(r.failure, errc::protocol_error);
  }
  {
    endpoint i{channel_role::initiator, options_with()};
    endpoint r{channel_role::responder, options_with()};
    auto hello = i.channel.take_output();
    hello[hello_size - 1] |= 0x80;
    r.deliver(hello);
    check_code(r.failure, errc::protocol_error);
  }
}

BOOST_AUTO_TEST_CASE(mitm_substituting_ephemeral_keys_without_secret_fails_auth) {
  endpoint a{channel_role::initiator, options_with()};
  endpoint b{channel_role::responder, options_with()};
  // The attacker's own ephemeral points, taken from channels it made.
  runtime::secure_channel attacker{channel_role::initiator, options_with("attacker")};
  auto attacker_point = attacker.take_output().substr(point_offset, 65);
  a.send("for b only");
  b.send("for a only");
  auto swap_key = [&](std::string bytes) {
    if (bytes.size() >= hello_size && bytes.compare(0, 4, "BLZC") == 0)
      bytes.replace(point_offset, 65, attacker_point);
    return bytes;
  };
  for (int round = 0; round < 8; ++round) {
    b.deliver(swap_key(a.channel.take_output()));
    a.deliver(swap_key(b.channel.take_output()));
  }
  check_code(a.failure, errc::auth_failed);
  check_code(b.failure, errc::auth_failed);
  BOOST_TEST(a.received.empty());
  BOOST_TEST(b.received.empty());
}

BOOST_AUTO_TEST_CASE(mitm_answering_as_responder_without_secret_fails_auth) {
  endpoint a{channel_role::initiator, options_with()};
  relay m{options_with("guess"), options_with("guess")};
  endpoint b{channel_role::responder, options_with()};
  a.send("for b only");
  pump_through(a, m, b);
  check_code(a.failure, errc::auth_failed);
  check_code(b.failure, errc::auth_failed);
  BOOST_TEST(m.to_initiator.received.empty());
  BOOST_TEST(b.received.empty());
}

// --- identities ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(identities_are_pinned_on_first_use_and_accepted_again) {
  temp_dir dir;
  auto key_a = new_identity();
  auto key_b = new_identity();
  auto fp_a = identity_fingerprint(key_a);
  auto fp_b = identity_fingerprint(key_b);
  BOOST_REQUIRE(fp_a);
  BOOST_REQUIRE(fp_b);
  for (int session = 0; session < 2; ++session) {
    connected_pair p{identity_options(key_a, dir.path / "a_known", "node-b"),
                     identity_options(key_b, dir.path / "b_known", "node-a")};
    BOOST_TEST(p.initiator.channel.peer_identity() == *fp_b);
    BOOST_TEST(p.responder.channel.peer_identity() == *fp_a);
  }
  BOOST_TEST(read_file(dir.path / "a_known") == "node-b " + *fp_b + "\n");
  BOOST_TEST(read_file(dir.path / "b_known") == "node-a " + *fp_a + "\n");
}

BOOST_AUTO_TEST_CASE(responder_pins_under_the_announced_node_name) {
  temp_dir dir;
  auto key_a = new_identity();
  auto a = identity_options(key_a, dir.path / "a_known", "node-b");
  a.node_name = "node-a";
  auto b = identity_options(new_identity(), dir.path / "b_known", "");
  connected_pair p{a, b};
  BOOST_TEST(p.responder.channel.peer_node_name() == "node-a");
  BOOST_TEST(read_file(dir.path / "b_known") == "node-a " + *identity_fingerprint(key_a) + "\n");
}

BOOST_AUTO_TEST_CASE(mitm_knowing_secret_but_not_identity_key_is_identity_mismatch) {
  temp_dir dir;
  auto key_a = new_identity();
  auto key_b = new_identity();
  auto a_opts = identity_options(key_a, dir.path / "a_known", "node-b");
  auto b_opts = identity_options(key_b, dir.path / "b_known", "node-a");
  { connected_pair first_contact{a_opts, b_opts}; }

  // The attacker holds the link secret and signs with its own identity key.
  auto key_m = new_identity();
  auto m_opts = options_with();
  m_opts.identity_private_key_pem = key_m;
  endpoint a{channel_role::initiator, a_opts};
  relay m{m_opts, m_opts};
  endpoint b{channel_role::responder, b_opts};
  a.send("for b only");
  b.send("for a only");
  pump_through(a, m, b);
  check_code(a.failure, errc::identity_mismatch);
  check_code(b.failure, errc::identity_mismatch);
  BOOST_TEST(a.failure->message().find("node-b") != std::string::npos);
  BOOST_TEST(m.to_initiator.received.empty());
  BOOST_TEST(m.to_responder.received.empty());
  BOOST_TEST(a.received.empty());
  BOOST_TEST(b.received.empty());
}

// A responder that holds the link secret answers `hello_i` presenting
// `presented_pem`'s public key but signing with `signing_pem`'s key.
std::string forged_reply(std::string_view hello_i, const std::string& presented_pem,
                         const std::string& signing_pem) {
  namespace d = blaze::runtime::detail;
  auto eph = d::generate_p256_key();
  BOOST_REQUIRE(eph);
  d::hello h;
  h.version = runtime::secure_channel::protocol_version;
  h.point = *d::public_point(eph->get());
  h.flags = d::hello_flag_identity;
  auto hello_r = d::encode_hello(h);
  auto peer = d::parse_hello(hello_i);
  BOOST_REQUIRE(peer);
  auto peer_point = d::parse_public_point(peer->point);
  BOOST_REQUIRE(peer_point);
  d::bytes32 th, shared, psk;
  BOOST_REQUIRE(d::transcript_hash(hello_i, hello_r, th));
  BOOST_REQUIRE(d::ecdh(eph->get(), peer_point->get(), shared));
  BOOST_REQUIRE(d::derive_psk(secret, psk));
  d::session_keys keys;
  BOOST_REQUIRE(d::derive_session_keys(psk, shared, th, keys));
  d::finish f;
  f.max_record_size = 1 << 20;
  f.rekey_after_records = 1 << 24;
  f.identity_der = *d::public_key_der(d::load_identity_key(presented_pem)->get());
  f.signature = *d::sign(d::load_identity_key(signing_pem)->get(),
                         d::identity_signature_input(channel_role::responder, th));
  d::bytes32 mac;
  BOOST_REQUIRE(d::hmac_sha256(
    keys.finish_r,
    d::finish_mac_input(channel_role::responder, th, d::encode_finish_content(f)), mac));
  std::copy(mac.begin(), mac.end(), f.mac.begin());
  return hello_r + d::encode_frame(d::frame_type::finish, d::encode_finish(f));
}

BOOST_AUTO_TEST_CASE(identity_key_not_owned_by_the_signer_fails_auth) {
  temp_dir dir;
  auto key_b = new_identity();
  auto key_m = new_identity();
  auto a_opts = identity_options(new_identity(), dir.path / "a_known", "node-b");
  { // Control: the forging code is right, signed with the right key it passes.
    endpoint a{channel_role::initiator, a_opts};
    a.deliver(forged_reply(a.channel.take_output(), key_b, key_b));
    BOOST_REQUIRE(!a.failure);
    BOOST_TEST(a.channel.established());
    BOOST_TEST(a.channel.peer_identity() == *identity_fingerprint(key_b));
  }
  // Attack: B's pinned public key, a signature by the attacker's key.
  endpoint a{channel_role::initiator, a_opts};
  a.deliver(forged_reply(a.channel.take_output(), key_b, key_m));
  check_code(a.failure, errc::auth_failed);
  BOOST_TEST(a.failure->message().find("signature") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(pinned_peer_presenting_no_identity_is_identity_mismatch) {
  temp_dir dir;
  auto a_opts = identity_options(new_identity(), dir.path / "a_known", "node-b");
  auto b_opts = identity_options(new_identity(), dir.path / "b_known", "node-a");
  { connected_pair first_contact{a_opts, b_opts}; }
  endpoint a{channel_role::initiator, a_opts};
  endpoint impostor{channel_role::responder, options_with()}; // has the secret, no key
  pump(a, impostor);
  check_code(a.failure, errc::identity_mismatch);
}

BOOST_AUTO_TEST_CASE(require_peer_identity_refuses_an_unsigned_peer) {
  auto a = options_with();
  a.require_peer_identity = true;
  endpoint i{channel_role::initiator, a};
  endpoint r{channel_role::responder, options_with()};
  pump(i, r);
  check_code(i.failure, errc::auth_failed);
  check_code(r.failure, errc::auth_failed);
}

BOOST_AUTO_TEST_CASE(invalid_options_fail_every_call) {
  auto bad_key = options_with();
  bad_key.identity_private_key_pem = "not a key";
  for (auto o : {options_with(""), bad_key}) {
    endpoint i{channel_role::initiator, o};
    BOOST_TEST(i.channel.take_output().empty());
    auto r = i.channel.send("x");
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code() == errc::invalid_argument));
    i.deliver("BLZC");
    check_code(i.failure, errc::invalid_argument);
  }
}

// --- record layer -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(replayed_record_is_protocol_error) {
  connected_pair p;
  auto record = p.seal_from_initiator("once");
  p.responder.deliver(record);
  BOOST_TEST(p.responder.received == "once");
  p.responder.deliver(record);
  check_code(p.responder.failure, errc::protocol_error);
  BOOST_TEST(p.responder.received == "once");
}

BOOST_AUTO_TEST_CASE(reordered_records_are_protocol_error) {
  connected_pair p;
  auto first = p.seal_from_initiator("first");
  auto second = p.seal_from_initiator("second");
  p.responder.deliver(second + first);
  check_code(p.responder.failure, errc::protocol_error);
  BOOST_TEST(p.responder.received.empty());
}

BOOST_AUTO_TEST_CASE(truncated_record_delivers_nothing) {
  connected_pair p;
  auto record = p.seal_from_initiator("cut short");
  p.responder.deliver(record.substr(0, record.size() - 1));
  BOOST_TEST(!p.responder.failure);
  BOOST_TEST(p.responder.received.empty());
  p.responder.deliver(""); // and then nothing more arrives
  BOOST_TEST(p.responder.received.empty());
}

BOOST_AUTO_TEST_CASE(flipped_ciphertext_byte_is_protocol_error) {
  connected_pair p;
  auto record = p.seal_from_initiator("payload");
  record[header_size + 2] ^= 0x01;
  p.responder.deliver(record);
  check_code(p.responder.failure, errc::protocol_error);
  BOOST_TEST(p.responder.received.empty());
}

BOOST_AUTO_TEST_CASE(flipped_tag_byte_is_protocol_error) {
  connected_pair p;
  auto record = p.seal_from_initiator("payload");
  record[record.size() - 1] ^= 0x40;
  p.responder.deliver(record);
  check_code(p.responder.failure, errc::protocol_error);
  BOOST_TEST(p.responder.received.empty());
}

BOOST_AUTO_TEST_CASE(altered_length_field_is_protocol_error) {
  connected_pair p;
  auto record = p.seal_from_initiator("payload");
  record[3] = static_cast<char>(record[3] - 1); // one byte shorter: the tag no longer fits
  p.responder.deliver(record);
  check_code(p.responder.failure, errc::protocol_error);
  BOOST_TEST(p.responder.received.empty());
}

BOOST_AUTO_TEST_CASE(oversized_length_is_refused_before_buffering) {
  auto o = options_with();
  o.max_record_size = 1000;
  connected_pair p{options_with(), o};
  std::uint32_t len = 1000 + tag_size + 1;
  std::string header{static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                     static_cast<char>(len >> 8), static_cast<char>(len)};
  p.responder.deliver(header); // the header alone is enough to refuse
  check_code(p.responder.failure, errc::protocol_error);
}

BOOST_AUTO_TEST_CASE(random_garbage_is_protocol_error) {
  {
    endpoint r{channel_role::responder, options_with()};
    r.deliver(random_bytes(4096, 11)); // as a hello
    check_code(r.failure, errc::protocol_error);
  }
  {
    endpoint i{channel_role::initiator, options_with()};
    i.channel.take_output();
    i.deliver(random_bytes(4096, 12)); // as a reply
    check_code(i.failure, errc::protocol_error);
  }
  {
    connected_pair p;
    p.responder.deliver(random_bytes(4096, 13)); // as records
    check_code(p.responder.failure, errc::protocol_error);
    BOOST_TEST(p.responder.received.empty());
  }
}

BOOST_AUTO_TEST_CASE(errors_are_final) {
  connected_pair p;
  auto good = p.seal_from_initiator("good");
  auto bad = good;
  bad[header_size] ^= 1;
  p.responder.deliver(bad);
  check_code(p.responder.failure, errc::protocol_error);
  std::string plain;
  auto again = p.responder.channel.feed(good, plain);
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().message() == p.responder.failure->message());
  auto send = p.responder.channel.send("after the error");
  BOOST_REQUIRE(!send);
  BOOST_TEST((send.error().code() == errc::protocol_error));
  BOOST_TEST(!p.responder.channel.has_output());
  BOOST_TEST(plain.empty());
}

BOOST_AUTO_TEST_CASE(rekeying_keeps_records_flowing_and_changes_keys) {
  auto o = options_with();
  o.rekey_after_records = 3;
  connected_pair p{o, o};
  std::vector<std::string> sealed;
  std::string expected;
  for (int k = 0; k < 20; ++k) {
    auto record = p.seal_from_initiator("same plaintext");
    sealed.push_back(record);
    p.responder.deliver(record);
    p.responder.send("reply " + std::to_string(k));
    p.initiator.deliver(p.responder.channel.take_output());
    expected += "reply " + std::to_string(k);
  }
  BOOST_TEST(!p.initiator.failure);
  BOOST_TEST(!p.responder.failure);
  BOOST_TEST(p.responder.received.size() == 20 * std::string{"same plaintext"}.size());
  BOOST_TEST(p.initiator.received == expected);
  // Records 0, 3, 6, ... all use counter 0, each under its own key: were the
  // counter reset without a new key, these would repeat byte for byte.
  for (std::size_t k = 3; k < sealed.size(); k += 3)
    BOOST_TEST(sealed[k] != sealed[0]);
}

BOOST_AUTO_TEST_CASE(handshake_deadline_times_out) {
  auto o = options_with();
  o.handshake_timeout = std::chrono::milliseconds{100};
  endpoint i{channel_role::initiator, o};
  auto now = std::chrono::steady_clock::now();
  BOOST_TEST(bool(i.channel.check_deadline(now)));
  auto late = i.channel.check_deadline(now + std::chrono::seconds{1});
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().code() == errc::timeout));
  i.deliver("BLZC"); // dropped: the timeout is final
  check_code(i.failure, errc::timeout);
}

BOOST_AUTO_TEST_CASE(established_channel_has_no_deadline) {
  auto o = options_with();
  o.handshake_timeout = std::chrono::milliseconds{1};
  connected_pair p{o, o};
  BOOST_TEST(bool(p.initiator.channel.check_deadline(std::chrono::steady_clock::now()
                                                     + std::chrono::hours{1})));
}

BOOST_AUTO_TEST_CASE(sessions_with_the_same_secret_use_fresh_keys) {
  connected_pair one;
  connected_pair two;
  auto a = one.seal_from_initiator("identical plaintext");
  auto b = two.seal_from_initiator("identical plaintext");
  BOOST_TEST(a.size() == b.size());
  BOOST_TEST(a != b);
  // And one session's records mean nothing to the other.
  two.responder.deliver(a);
  check_code(two.responder.failure, errc::protocol_error);
}

BOOST_AUTO_TEST_CASE(moved_channel_keeps_its_session) {
  connected_pair p;
  runtime::secure_channel moved{std::move(p.initiator.channel)};
  BOOST_REQUIRE(moved.send("after the move"));
  p.responder.deliver(moved.take_output());
  BOOST_TEST(p.responder.received == "after the move");
}

BOOST_AUTO_TEST_SUITE_END()
