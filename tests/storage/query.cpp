// Queries: comparisons on fields and on "_id", numeric int/double compare,
// type and missing-field rules, ordering and limits.
#include "fixture.hpp"

#include <algorithm>

using namespace blaze;
using namespace blaze::test;

namespace {

using ids = std::vector<std::string>;

// A small population with mixed types: erin's age is a string, frank has no
// age or city, dave has no score, gus's score is an int among doubles.
struct people_fixture : store_fixture {
  people_fixture() {
    put("alice", {{"age", 30}, {"score", 4.5}, {"city", "Oslo"}});
    put("bob", {{"age", 25}, {"score", 3.0}, {"city", "Bergen"}});
    put("carol", {{"age", 35}, {"score", 5.0}, {"city", "Oslo"}});
    put("dave", {{"age", 40}, {"city", "Tromso"}});
    put("erin", {{"age", "unknown"}, {"score", 2.0}, {"city", "Bergen"}});
    put("frank", {{"score", 1.5}});
    put("gus", {{"age", 18}, {"score", 4}, {"city", "Oslo"}});
    // Noise in another collection that must never show up.
    BLAZE_OK(db->put("pets", "rex", {{"age", 30}, {"city", "Oslo"}}));
  }
  void put(const char* id, field_map f) { BLAZE_OK(db->put("people", id, std::move(f))); }

  // Ids in the order find() returned them.
  ids run(const query& q) { return ids_of(BLAZE_OK(db->find(q))); }
  // Ids sorted, for queries without an order.
  ids run_set(const query& q) {
    auto out = run(q);
    std::sort(out.begin(), out.end());
    return out;
  }
  static query people() { return query{"people"}; }
};

constexpr auto eq = compare_op::eq;
constexpr auto ne = compare_op::ne;
constexpr auto lt = compare_op::lt;
constexpr auto le = compare_op::le;
constexpr auto gt = compare_op::gt;
constexpr auto ge = compare_op::ge;

} // namespace

BOOST_FIXTURE_TEST_SUITE(query, people_fixture)

BOOST_AUTO_TEST_CASE(no_condition_returns_every_record_of_the_collection) {
  BOOST_TEST(run_set(people()) == (ids{"alice", "bob", "carol", "dave", "erin", "frank", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(eq_matches_equal_strings) {
  BOOST_TEST(run_set(people().when("city", eq, "Oslo")) == (ids{"alice", "carol", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(eq_matches_equal_integers) {
  BOOST_TEST(run_set(people().when("age", eq, 25)) == (ids{"bob"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ne_matches_other_values_of_a_present_field) {
  BOOST_TEST(run_set(people().when("city", ne, "Oslo")) == (ids{"bob", "dave", "erin"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lt_matches_smaller_values) {
  BOOST_TEST(run_set(people().when("age", lt, 30)) == (ids{"bob", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(le_includes_the_bound) {
  BOOST_TEST(run_set(people().when("age", le, 30)) == (ids{"alice", "bob", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gt_matches_larger_values) {
  BOOST_TEST(run_set(people().when("age", gt, 30)) == (ids{"carol", "dave"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ge_includes_the_bound) {
  BOOST_TEST(run_set(people().when("age", ge, 35)) == (ids{"carol", "dave"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(string_ranges_compare_lexicographically) {
  BOOST_TEST(run_set(people().when("city", lt, "Oslo")) == (ids{"bob", "erin"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("city", ge, "Oslo")) == (ids{"alice", "carol", "dave", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(int_field_compares_numerically_with_double_condition) {
  BOOST_TEST(run_set(people().when("age", gt, 29.5)) == (ids{"alice", "carol", "dave"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("age", eq, 30.0)) == (ids{"alice"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(double_field_compares_numerically_with_int_condition) {
  // gus's score is the int 4; the rest are doubles.
  BOOST_TEST(run_set(people().when("score", ge, 4)) == (ids{"alice", "carol", "gus"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("score", lt, 4.5)) == (ids{"bob", "erin", "frank", "gus"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("score", eq, 5)) == (ids{"carol"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(range_across_types_never_matches) {
  // Numbers are never below a string, and erin's string age is never below a number.
  BOOST_TEST(run_set(people().when("age", lt, 1000)) ==
                 (ids{"alice", "bob", "carol", "dave", "gus"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("age", gt, "")) == (ids{"erin"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("age", ge, value{})).empty());
  BOOST_TEST(run_set(people().when("age", lt, bytes{0xff})).empty());
  BOOST_TEST(run_set(people().when("age", gt, false)).empty());
}

BOOST_AUTO_TEST_CASE(eq_across_types_never_matches) {
  BOOST_TEST(run_set(people().when("age", eq, "30")).empty());
  BOOST_TEST(run_set(people().when("age", eq, true)).empty());
}

BOOST_AUTO_TEST_CASE(condition_on_missing_field_never_matches) {
  BOOST_TEST(run_set(people().when("nickname", eq, "x")).empty());
  BOOST_TEST(run_set(people().when("nickname", ne, "x")).empty());
  BOOST_TEST(run_set(people().when("nickname", lt, 1)).empty());
  BOOST_TEST(run_set(people().when("nickname", eq, value{})).empty());
  // dave has no score: != excludes him rather than matching him.
  BOOST_TEST(run_set(people().when("score", ne, 3.0)) ==
                 (ids{"alice", "carol", "erin", "frank", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(id_equality_condition) {
  BOOST_TEST(run_set(people().when("_id", eq, "bob")) == (ids{"bob"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("_id", eq, "rex")).empty());
}

BOOST_AUTO_TEST_CASE(id_range_conditions) {
  BOOST_TEST(run_set(people().when("_id", ge, "c").when("_id", lt, "f")) ==
                 (ids{"carol", "dave", "erin"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("_id", gt, "frank")) == (ids{"gus"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("_id", ne, "alice")) ==
                 (ids{"bob", "carol", "dave", "erin", "frank", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(order_by_id_ascending) {
  BOOST_TEST(run(people().order("_id")) ==
                 (ids{"alice", "bob", "carol", "dave", "erin", "frank", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(order_by_id_descending) {
  BOOST_TEST(run(people().order("_id", true)) ==
                 (ids{"gus", "frank", "erin", "dave", "carol", "bob", "alice"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(order_by_field_ascending) {
  BOOST_TEST(run(people().when("age", ge, 0).order("age")) ==
                 (ids{"gus", "bob", "alice", "carol", "dave"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(order_by_field_descending) {
  BOOST_TEST(run(people().when("age", ge, 0).order("age", true)) ==
                 (ids{"dave", "carol", "alice", "bob", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(order_by_field_mixes_ints_and_doubles_numerically) {
  BOOST_TEST(run(people().when("score", ge, 0).order("score")) ==
                 (ids{"frank", "erin", "bob", "gus", "alice", "carol"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(limit_applies_after_ordering) {
  BOOST_TEST(run(people().when("age", ge, 0).order("age").take(2)) == (ids{"gus", "bob"}),
             boost::test_tools::per_element());
  BOOST_TEST(run(people().when("age", ge, 0).order("age", true).take(2)) == (ids{"dave", "carol"}),
             boost::test_tools::per_element());
  BOOST_TEST(run(people().order("_id").take(3)) == (ids{"alice", "bob", "carol"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(limit_without_order_returns_that_many_matches) {
  auto got = BLAZE_OK(db->find(people().when("city", eq, "Oslo").take(2)));
  BOOST_TEST_REQUIRE(got.size() == 2u);
  for (auto& r : got) {
    auto* city = r.field("city");
    BOOST_TEST_REQUIRE(city != nullptr);
    BOOST_TEST(*city == value{"Oslo"});
  }
  BOOST_TEST(got[0].id != got[1].id);
}

BOOST_AUTO_TEST_CASE(limit_larger_than_matches_returns_all_matches) {
  BOOST_TEST(run_set(people().when("city", eq, "Bergen").take(10)) == (ids{"bob", "erin"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(all_conditions_must_hold) {
  BOOST_TEST(run_set(people().when("city", eq, "Oslo").when("age", ge, 20).when("score", gt, 4)) ==
                 (ids{"alice", "carol"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("age", gt, 20).when("age", lt, 35)) == (ids{"alice", "bob"}),
             boost::test_tools::per_element());
  BOOST_TEST(run_set(people().when("age", gt, 30).when("age", lt, 30)).empty());
}

BOOST_AUTO_TEST_CASE(find_returns_whole_current_records) {
  BLAZE_OK(db->put("people", "alice", {{"age", 31}}));
  BOOST_TEST(run_set(people().when("age", eq, 30)).empty());
  auto got = BLAZE_OK(db->find(people().when("age", eq, 31)));
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0] == make_record("alice", {{"age", 31}, {"score", 4.5}, {"city", "Oslo"}}));
}

BOOST_AUTO_TEST_CASE(find_skips_erased_records) {
  BLAZE_OK(db->erase("people", "carol"));
  BOOST_TEST(run_set(people().when("city", eq, "Oslo")) == (ids{"alice", "gus"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(find_in_unknown_collection_is_empty) {
  BOOST_TEST(BLAZE_OK(db->find(blaze::query{"ghosts"}.when("age", eq, 30))).empty());
}

BOOST_AUTO_TEST_CASE(matches_evaluates_one_condition_on_a_record) {
  const record r = make_record("k", {{"n", 5}, {"s", "abc"}});
  BOOST_TEST(matches(r, {"n", compare_op::eq, 5.0}));
  BOOST_TEST(matches(r, {"n", compare_op::lt, 6}));
  BOOST_TEST(!matches(r, {"n", compare_op::lt, "6"}));
  BOOST_TEST(!matches(r, {"missing", compare_op::ne, 1}));
  BOOST_TEST(matches(r, {"_id", compare_op::eq, "k"}));
  BOOST_TEST(matches(r, {"s", compare_op::gt, "abb"}));
}

BOOST_AUTO_TEST_CASE(parse_compare_op_accepts_the_documented_spellings) {
  BOOST_TEST((parse_compare_op("==") == eq));
  BOOST_TEST((parse_compare_op("=") == eq));
  BOOST_TEST((parse_compare_op("!=") == ne));
  BOOST_TEST((parse_compare_op("<") == lt));
  BOOST_TEST((parse_compare_op("<=") == le));
  BOOST_TEST((parse_compare_op(">") == gt));
  BOOST_TEST((parse_compare_op(">=") == ge));
  BOOST_TEST(!parse_compare_op("=>").has_value());
  BOOST_TEST(!parse_compare_op("").has_value());
  BOOST_TEST(!parse_compare_op("<>").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
