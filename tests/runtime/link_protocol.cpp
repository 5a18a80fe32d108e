// Relay link frames: every frame survives a round trip byte for byte, and
// every malformed, oversized or foreign input is a clear, final error.
#include "blaze/runtime/link_protocol.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace blaze;
using namespace blaze::runtime;

namespace {

op sample_op(node_id origin, std::uint64_t seq) {
  op o;
  o.origin = origin;
  o.seq = seq;
  o.time = make_hlc(1'700'000'000'000ull + seq, 0);
  o.collection = "notes";
  o.id = "n" + std::to_string(seq);
  o.kind = op_kind::set;
  o.fields = {{"title", "hello"}, {"n", static_cast<std::int64_t>(seq)}};
  return o;
}

link_hello sample_hello() {
  link_hello h;
  h.sends_ops = true;
  h.accepts_ops = false;
  h.database = "notes";
  h.node = 0xabcdef;
  h.have.set(0xabcdef, 7);
  h.have.set(0x1234, 3);
  return h;
}

std::vector<link_frame> read_all(std::string_view bytes, std::size_t chunk = 0) {
  frame_reader r;
  std::vector<link_frame> out;
  if (chunk == 0) {
    auto ok = r.feed(bytes, out);
    BOOST_TEST_REQUIRE(ok.ok(), (ok ? "" : ok.error().to_string()));
  } else {
    for (std::size_t i = 0; i < bytes.size(); i += chunk) {
      auto ok = r.feed(bytes.substr(i, chunk), out);
      BOOST_TEST_REQUIRE(ok.ok(), (ok ? "" : ok.error().to_string()));
    }
  }
  BOOST_TEST(r.buffered() == 0u);
  return out;
}

errc feed_error(std::string_view bytes) {
  frame_reader r{1 << 20};
  std::vector<link_frame> out;
  auto res = r.feed(bytes, out);
  BOOST_TEST_REQUIRE(!res.ok(), "expected an error");
  BOOST_TEST(out.empty());
  return res.error().code();
}

} // namespace

BOOST_AUTO_TEST_SUITE(link_protocol)

BOOST_AUTO_TEST_CASE(every_frame_kind_round_trips_even_one_byte_at_a_time) {
  std::string wire;
  encode_frame(sample_hello(), wire);
  encode_frame(link_ops{42, {sample_op(0xabcdef, 1), sample_op(0xabcdef, 2)}}, wire);
  version_vector have;
  have.set(0xabcdef, 2);
  encode_frame(link_ack{42, 2, 0, have}, wire);
  encode_frame(link_error{errc::auth_failed, "no rights on notes"}, wire);
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    BOOST_TEST_CONTEXT("chunk " << chunk) {
      auto frames = read_all(wire, chunk);
      BOOST_TEST_REQUIRE(frames.size() == 4u);
      BOOST_TEST((std::get<link_hello>(frames[0]) == sample_hello()));
      auto& ops = std::get<link_ops>(frames[1]);
      BOOST_TEST(ops.batch == 42u);
      BOOST_TEST_REQUIRE(ops.ops.size() == 2u);
      BOOST_TEST((ops.ops[1] == sample_op(0xabcdef, 2)));
      auto& ack = std::get<link_ack>(frames[2]);
      BOOST_TEST(ack.batch == 42u);
      BOOST_TEST(ack.applied == 2u);
      BOOST_TEST((ack.have == have));
      auto& err = std::get<link_error>(frames[3]);
      BOOST_TEST((err.code == errc::auth_failed));
      BOOST_TEST(err.message == "no rights on notes");
    }
  }
}

BOOST_AUTO_TEST_CASE(partial_frame_waits_for_the_rest) {
  std::string wire;
  encode_frame(link_ops{1, {sample_op(9, 1)}}, wire);
  frame_reader r;
  std::vector<link_frame> out;
  BOOST_TEST(r.feed(std::string_view{wire}.substr(0, wire.size() - 1), out).ok());
  BOOST_TEST(out.empty());
  BOOST_TEST(r.buffered() == wire.size() - 1);
  BOOST_TEST(r.feed(std::string_view{wire}.substr(wire.size() - 1), out).ok());
  BOOST_TEST(out.size() == 1u);
}

BOOST_AUTO_TEST_CASE(oversized_length_is_refused_before_buffering) {
  std::string wire("\x7f\xff\xff\xff\x02", 5);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
}

BOOST_AUTO_TEST_CASE(foreign_bytes_are_refused) {
  BOOST_TEST((feed_error("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == errc::protocol_error));
  BOOST_TEST((feed_error(std::string("\0\0\0\0", 4)) == errc::protocol_error));
  BOOST_TEST((feed_error(std::string("\0\0\0\x01\x09", 5)) == errc::protocol_error));
}

BOOST_AUTO_TEST_CASE(hello_of_another_version_names_both_versions) {
  std::string wire;
  encode_frame(sample_hello(), wire);
  wire[4 + 1 + 4] = 9; // length, type, magic, then the version byte
  frame_reader r;
  std::vector<link_frame> out;
  auto res = r.feed(wire, out);
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST((res.error().code() == errc::unsupported_version));
  BOOST_TEST(res.error().message().find("version 9") != std::string::npos);
  BOOST_TEST(res.error().message().find("version " + std::to_string(link_hello::current_version))
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_round_trips_and_a_short_one_is_refused) {
  std::string wire;
  encode_frame(link_progress{123456789, 42}, wire);
  auto frames = read_all(wire, 1);
  BOOST_TEST_REQUIRE(frames.size() == 1u);
  auto* p = std::get_if<link_progress>(&frames[0]);
  BOOST_TEST_REQUIRE(p != nullptr);
  BOOST_TEST(p->ops_relayed == 123456789u);
  BOOST_TEST(p->lag == 42u);
  // Length 9: type + one u64, the lag missing.
  std::string short_one("\0\0\0\x09\x05", 5);
  short_one.append(8, '\0');
  BOOST_TEST((feed_error(short_one) == errc::protocol_error));
}

BOOST_AUTO_TEST_CASE(hello_access_fields_round_trip) {
  auto h = sample_hello();
  h.proof = link_proof("secret", std::string(32, 'b'), true, "notes");
  h.collections = {"notes", "tags"};
  h.sealed_only = true;
  h.teams = {{"ops", team_proof("access key", std::string(32, 'b'), "notes", "ops")},
             {"billing", team_proof("other key", std::string(32, 'b'), "notes", "billing")}};
  std::string wire;
  encode_frame(h, wire);
  auto frames = read_all(wire, 3);
  BOOST_TEST_REQUIRE(frames.size() == 1u);
  auto* back = std::get_if<link_hello>(&frames[0]);
  BOOST_TEST_REQUIRE(back != nullptr);
  BOOST_TEST((*back == h));
}

BOOST_AUTO_TEST_CASE(hello_with_a_malformed_proof_or_collection_is_refused) {
  auto h = sample_hello();
  h.proof = "too short";
  std::string wire;
  encode_frame(h, wire);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
  h.proof.clear();
  h.collections = {"notes", ""};
  wire.clear();
  encode_frame(h, wire);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
  h.collections.assign(max_hello_collections + 1, "c");
  wire.clear();
  encode_frame(h, wire);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
  h.collections.clear();
  auto good_proof = team_proof("key", std::string(32, 'b'), "notes", "ops");
  for (auto bad : {link_team{"", good_proof}, link_team{"ops", "short"},
                   link_team{std::string(max_team_name + 1, 't'), good_proof}}) {
    h.teams = {bad};
    wire.clear();
    encode_frame(h, wire);
    BOOST_TEST((feed_error(wire) == errc::protocol_error), "team '" << bad.name << "'");
  }
  h.teams.assign(max_hello_teams + 1, link_team{"ops", good_proof});
  wire.clear();
  encode_frame(h, wire);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
}

BOOST_AUTO_TEST_CASE(a_team_proof_depends_on_key_database_and_team) {
  std::string binding(32, 'x');
  auto p = team_proof("key", binding, "notes", "ops");
  BOOST_TEST(p.size() == link_proof_size);
  BOOST_TEST(proofs_equal(p, team_proof("key", binding, "notes", "ops")));
  BOOST_TEST(!proofs_equal(p, team_proof("kex", binding, "notes", "ops")));
  BOOST_TEST(!proofs_equal(p, team_proof("key", binding, "notez", "ops")));
  BOOST_TEST(!proofs_equal(p, team_proof("key", binding, "notes", "opz")));
  BOOST_TEST(!proofs_equal(p, link_proof("key", binding, true, "notes")));
}

BOOST_AUTO_TEST_CASE(a_link_proof_depends_on_secret_binding_role_and_database) {
  std::string binding(32, 'x');
  auto p = link_proof("secret", binding, true, "notes");
  BOOST_TEST(p.size() == link_proof_size);
  BOOST_TEST(proofs_equal(p, link_proof("secret", binding, true, "notes")));
  BOOST_TEST(!proofs_equal(p, link_proof("Secret", binding, true, "notes")));
  BOOST_TEST(!proofs_equal(p, link_proof("secret", std::string(32, 'y'), true, "notes")));
  BOOST_TEST(!proofs_equal(p, link_proof("secret", binding, false, "notes")));
  BOOST_TEST(!proofs_equal(p, link_proof("secret", binding, true, "notez")));
  BOOST_TEST(!proofs_equal(p, p.substr(1)));
}

BOOST_AUTO_TEST_CASE(every_truncation_and_bit_flip_of_an_op_batch_is_caught_or_harmless) {
  std::string body;
  encode_frame(link_ops{5, {sample_op(3, 1), sample_op(3, 2)}}, body);
  // Truncated body with a consistent length prefix: always an error.
  for (std::size_t cut = 5; cut < body.size(); ++cut) {
    std::string t = body.substr(0, cut);
    auto n = static_cast<std::uint32_t>(cut - 4);
    for (int i = 0; i < 4; ++i)
      t[i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
    frame_reader r;
    std::vector<link_frame> out;
    BOOST_TEST(!r.feed(t, out).ok(), "truncated at " << cut << " was accepted");
  }
  // Flipped bits in the body: an error, or a frame that still decodes to
  // valid ops (the codec validates every field); never a crash.
  for (std::size_t i = 4; i < body.size(); ++i) {
    std::string t = body;
    t[i] ^= 0x20;
    frame_reader r;
    std::vector<link_frame> out;
    auto res = r.feed(t, out);
    if (res.ok())
      BOOST_TEST(out.size() <= 1u);
  }
}

BOOST_AUTO_TEST_CASE(errors_are_final) {
  frame_reader r;
  std::vector<link_frame> out;
  BOOST_TEST(!r.feed("garbage!", out).ok());
  std::string good;
  encode_frame(sample_hello(), good);
  BOOST_TEST(!r.feed(good, out).ok());
  BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(hello_needs_a_database_name_and_node) {
  auto h = sample_hello();
  h.database.clear();
  std::string wire;
  encode_frame(h, wire);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
  h = sample_hello();
  h.node = 0;
  wire.clear();
  encode_frame(h, wire);
  BOOST_TEST((feed_error(wire) == errc::protocol_error));
}

BOOST_AUTO_TEST_SUITE_END()
