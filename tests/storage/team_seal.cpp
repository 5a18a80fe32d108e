// End-to-end sealing: ops sealed with a team key show a node no plaintext,
// open only with the team's key, catch any change on the way, and still
// merge field by field in a store that cannot read them.
#include "fixture.hpp"

#include "blaze/storage/team_seal.hpp"

#include <algorithm>

using namespace blaze;
using namespace blaze::test;

namespace {

constexpr std::string_view team_secret = "a long random team secret, 32+ bytes of it";

team_key make_key(std::string_view team = "ops", std::string_view secret = team_secret) {
  return BLAZE_OK(team_key::derive(team, secret));
}

// Every byte the node would hold of an op.
std::string wire(const op& o) {
  return encode(o);
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A set op, a field removal and an erase, written through a real store.
std::vector<op> sample_ops(database& db) {
  std::vector<op> out;
  out.push_back(BLAZE_OK(db.put("patients", "alice-smith",
                                {{"diagnosis", value{"confidential-diagnosis"}},
                                 {"age", value{std::int64_t{42}}},
                                 {"scan", value{bytes{1, 2, 3}}}})));
  out.push_back(BLAZE_OK(db.remove_fields("patients", "alice-smith", {"scan"})));
  out.push_back(BLAZE_OK(db.erase("patients", "alice-smith")));
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(team_seal)

BOOST_AUTO_TEST_CASE(sealed_ops_open_to_the_same_ops) {
  store_fixture f;
  auto key = make_key();
  for (auto& o : sample_ops(*f.db)) {
    auto sealed = BLAZE_OK(key.seal(o));
    BOOST_TEST(sealed.origin == o.origin);
    BOOST_TEST(sealed.seq == o.seq);
    BOOST_TEST(sealed.time == o.time);
    BOOST_TEST(sealed.kind == o.kind);
    BOOST_TEST(is_sealed_collection(sealed.collection));
    BOOST_TEST(sealed_collection_team(sealed.collection) == "ops");
    // A member in another process derives the same keys from the secret.
    auto other_member = make_key();
    auto opened = BLAZE_OK(other_member.open(sealed));
    BOOST_TEST(opened == o);
  }
}

BOOST_AUTO_TEST_CASE(a_sealed_op_holds_no_plaintext_name_or_value) {
  store_fixture f;
  auto key = make_key();
  for (auto& o : sample_ops(*f.db)) {
    auto bytes_on_node = wire(BLAZE_OK(key.seal(o)));
    for (auto needle : {"patients", "alice-smith", "diagnosis", "confidential-diagnosis", "scan",
                        "age"})
      BOOST_TEST(!contains(bytes_on_node, needle), needle << " visible in " << show(o));
  }
}

BOOST_AUTO_TEST_CASE(names_seal_deterministically_so_a_node_can_merge) {
  store_fixture f;
  auto a = make_key();
  auto b = make_key();
  auto ops = sample_ops(*f.db);
  auto sa = BLAZE_OK(a.seal(ops[0]));
  auto sb = BLAZE_OK(b.seal(ops[0]));
  BOOST_TEST(sa.collection == sb.collection);
  BOOST_TEST(sa.id == sb.id);
  BOOST_TEST(sa.collection == a.sealed_collection("patients"));
  // Values are sealed with fresh nonces: equal plaintexts do not show.
  BOOST_TEST(!(sa.fields == sb.fields));
  // Another team's names differ, even with the same secret.
  auto other_team = make_key("billing");
  BOOST_TEST(other_team.sealed_collection("patients") != a.sealed_collection("patients"));
}

BOOST_AUTO_TEST_CASE(another_key_cannot_open) {
  store_fixture f;
  auto ops = sample_ops(*f.db);
  auto sealed = BLAZE_OK(make_key().seal(ops[0]));
  auto wrong = make_key("ops", "somebody else's secret, just as long as ours");
  BLAZE_CHECK_ERRC(wrong.open(sealed), errc::auth_failed);
  auto other_team = make_key("billing");
  BLAZE_CHECK_ERRC(other_team.open(sealed), errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(any_change_on_the_way_is_caught) {
  store_fixture f;
  auto key = make_key();
  auto first = BLAZE_OK(f.db->put("patients", "bob", {{"note", value{"first"}}}));
  auto second = BLAZE_OK(f.db->put("patients", "bob", {{"note", value{"second"}}}));
  auto s1 = BLAZE_OK(key.seal(first));
  auto s2 = BLAZE_OK(key.seal(second));
  auto note_tag = std::find_if(s1.fields.begin(), s1.fields.end(), [](auto& kv) {
                    return kv.first != sealed_header_field;
                  })->first;

  auto flipped = s2;
  auto b = *flipped.fields.at(note_tag).as_bytes();
  b[b.size() / 2] ^= 1;
  flipped.fields[note_tag] = value{b};
  BLAZE_CHECK_ERRC(key.open(flipped), errc::auth_failed);

  // The first op's value replayed into the second op.
  auto replayed = s2;
  replayed.fields[note_tag] = s1.fields.at(note_tag);
  BLAZE_CHECK_ERRC(key.open(replayed), errc::auth_failed);

  auto restamped = s2;
  restamped.time += 1;
  BLAZE_CHECK_ERRC(key.open(restamped), errc::auth_failed);

  auto moved = s2;
  moved.id = std::string(32, '0'); // the header names record "bob", not this one
  BLAZE_CHECK_ERRC(key.open(moved), errc::auth_failed);

  auto headless = s2;
  headless.fields.erase(std::string{sealed_header_field});
  BLAZE_CHECK_ERRC(key.open(headless), errc::auth_failed);

  auto dropped = s2;
  dropped.fields.erase(note_tag);
  BLAZE_CHECK_ERRC(key.open(dropped), errc::auth_failed);

  // The untouched op still opens.
  BOOST_TEST(BLAZE_OK(key.open(s2)) == second);
}

BOOST_AUTO_TEST_CASE(a_store_merges_sealed_ops_it_cannot_read) {
  temp_dir da, db_, dn;
  auto a = open_store(da.store(), "shared");
  auto b = open_store(db_.store(), "shared");
  auto node = open_store(dn.store(), "shared");
  auto ka = make_key();
  auto kb = make_key();
  // Concurrent edits of one record on two members, then an erase elsewhere.
  auto a1 = BLAZE_OK(a->put("tasks", "t1", {{"title", value{"from a"}}, {"done", value{false}}}));
  auto b1 = BLAZE_OK(b->put("tasks", "t1", {{"title", value{"from b"}}}));
  auto b2 = BLAZE_OK(b->put("tasks", "t2", {{"title", value{"doomed"}}}));
  auto b3 = BLAZE_OK(b->erase("tasks", "t2"));
  // The node receives B's ops first, then A's: it stores only sealed ops.
  std::vector<op> from_b{BLAZE_OK(kb.seal(b1)), BLAZE_OK(kb.seal(b2)), BLAZE_OK(kb.seal(b3))};
  BLAZE_OK(node->apply(from_b));
  BLAZE_OK(node->apply({BLAZE_OK(ka.seal(a1))}));
  auto stored = BLAZE_OK(node->ops_since({}));
  BOOST_TEST(stored.size() == 4u);
  for (auto& o : stored) {
    BOOST_TEST(is_sealed_collection(o.collection));
    BOOST_TEST(!contains(wire(o), "from a"));
    BOOST_TEST(!contains(wire(o), "tasks"));
  }
  // The node's merged view is ciphertext too, and the erase took effect.
  auto sealed_tasks = ka.sealed_collection("tasks");
  BOOST_TEST(BLAZE_OK(node->count(sealed_tasks)) == 1u);
  // Each member opens what the node forwards and converges.
  for (auto* member : {a.get(), b.get()}) {
    auto key = make_key();
    std::vector<op> opened;
    for (auto& o : stored)
      opened.push_back(BLAZE_OK(key.open(o)));
    BLAZE_OK(member->apply(opened));
  }
  auto ra = BLAZE_OK(a->get("tasks", "t1"));
  auto rb = BLAZE_OK(b->get("tasks", "t1"));
  BOOST_TEST_REQUIRE(ra.has_value());
  BOOST_TEST_REQUIRE(rb.has_value());
  BOOST_TEST(*ra == *rb);
  BOOST_TEST(ra->fields.count("done") == 1u);
  BOOST_TEST(!BLAZE_OK(a->get("tasks", "t2")).has_value());
  BOOST_TEST(!BLAZE_OK(b->get("tasks", "t2")).has_value());
}

BOOST_AUTO_TEST_CASE(the_sealed_prefix_is_reserved_and_erases_carry_only_a_header) {
  store_fixture f;
  BLAZE_CHECK_ERRC(f.db->put("_e2e.ops.abc", "x", {{"a", value{std::int64_t{1}}}}),
                   errc::invalid_argument);
  BLAZE_CHECK_ERRC(f.db->erase("_e2e.ops.abc", "x"), errc::invalid_argument);
  // A plaintext erase that carries fields is malformed, as before.
  BLAZE_OK(f.db->put("c", "x", {{"a", value{std::int64_t{1}}}}));
  auto e = BLAZE_OK(f.db->erase("c", "x"));
  e.origin = 0x77;
  e.fields.emplace(std::string{sealed_header_field}, value{bytes{1}});
  BLAZE_CHECK_ERRC(f.db->apply({e}), errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(team_names_and_secrets_are_checked) {
  BLAZE_CHECK_ERRC(team_key::derive("", team_secret), errc::invalid_argument);
  BLAZE_CHECK_ERRC(team_key::derive("with.dot", team_secret), errc::invalid_argument);
  BLAZE_CHECK_ERRC(team_key::derive(std::string(33, 'a'), team_secret), errc::invalid_argument);
  BLAZE_CHECK_ERRC(team_key::derive("ops", ""), errc::invalid_argument);
  auto access = BLAZE_OK(team_access_key("ops", team_secret));
  BOOST_TEST(access.size() == 32u);
  BOOST_TEST(access == make_key().access_key());
  BOOST_TEST(access != BLAZE_OK(team_access_key("billing", team_secret)));
}

BOOST_AUTO_TEST_SUITE_END()
