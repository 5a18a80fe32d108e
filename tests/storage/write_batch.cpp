// Write batches (group commit): several local changes in one atomic write,
// each with its own op or its own error, as if made one call at a time.
#include "fixture.hpp"

using namespace blaze;
using namespace blaze::test;

namespace {

struct recorder {
  std::vector<change> seen;
  observer fn() {
    return [this](const change& c) { seen.push_back(c); };
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(write_batch_suite, store_fixture)

BOOST_AUTO_TEST_CASE(each_change_gets_its_own_op_in_order) {
  BLAZE_OK(db->put("c", "before", {{"a", 1}}));
  write_batch b;
  b.put("c", "x", {{"a", 1}});
  b.put("c", "y", {{"b", 2}});
  b.erase("c", "before");
  auto ops = BLAZE_OK(db->write(std::move(b)));
  BOOST_TEST_REQUIRE(ops.size() == 3u);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    BOOST_TEST_REQUIRE(ops[i].ok());
    BOOST_TEST(ops[i]->origin == db->id());
    BOOST_TEST(ops[i]->seq == i + 2);
    if (i > 0)
      BOOST_TEST(ops[i - 1]->time < ops[i]->time);
  }
  BOOST_TEST(ops[2]->kind == op_kind::erase);
  BOOST_TEST(db->version().get(db->id()) == 4u);
  // The op log holds exactly the returned ops.
  auto log = BLAZE_OK(db->ops_since({}));
  BOOST_TEST_REQUIRE(log.size() == 4u);
  for (std::size_t i = 0; i < ops.size(); ++i)
    BOOST_TEST(log[i + 1] == *ops[i]);
  BOOST_TEST(!BLAZE_OK(db->get("c", "before")).has_value());
}

BOOST_AUTO_TEST_CASE(later_changes_of_a_record_build_on_earlier_ones) {
  write_batch b;
  b.put("c", "r", {{"a", 1}, {"b", 2}});
  b.put("c", "r", {{"b", "two"}, {"c", true}});
  b.remove_fields("c", "r", {"a"});
  auto ops = BLAZE_OK(db->write(std::move(b)));
  BOOST_TEST_REQUIRE(ops.size() == 3u);
  for (auto& o : ops)
    BOOST_TEST(o.ok());
  auto got = BLAZE_OK(db->get("c", "r"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("r", {{"b", "two"}, {"c", true}}));
  // And after a reopen, from what was stored.
  reopen();
  got = BLAZE_OK(db->get("c", "r"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("r", {{"b", "two"}, {"c", true}}));
  BOOST_TEST(db->version().get(db->id()) == 3u);
}

BOOST_AUTO_TEST_CASE(a_rejected_change_does_not_stop_the_others) {
  write_batch b;
  b.put("c", "ok1", {{"a", 1}});
  b.put("bad collection!", "x", {{"a", 1}}); // invalid name
  b.erase("c", "missing");                    // not found
  b.remove_fields("c", "ok1", {});            // nothing to remove
  b.put("c", "ok2", {{"a", 2}});
  auto ops = BLAZE_OK(db->write(std::move(b)));
  BOOST_TEST_REQUIRE(ops.size() == 5u);
  BOOST_TEST_REQUIRE(ops[0].ok());
  BOOST_TEST(ops[0]->seq == 1u);
  BOOST_TEST_REQUIRE(!ops[1].ok());
  BOOST_TEST(ops[1].error().code() == errc::invalid_argument);
  BOOST_TEST_REQUIRE(!ops[2].ok());
  BOOST_TEST(ops[2].error().code() == errc::not_found);
  BOOST_TEST_REQUIRE(!ops[3].ok());
  BOOST_TEST(ops[3].error().code() == errc::invalid_argument);
  BOOST_TEST_REQUIRE(ops[4].ok());
  BOOST_TEST(ops[4]->seq == 2u); // no gap left by the rejected changes
  BOOST_TEST(BLAZE_OK(db->ops_since({})).size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_change_sees_a_record_erased_earlier_in_the_batch) {
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  write_batch b;
  b.erase("c", "r");
  b.remove_fields("c", "r", {"a"}); // the record no longer exists
  b.put("c", "r", {{"b", 2}});      // a fresh record
  auto ops = BLAZE_OK(db->write(std::move(b)));
  BOOST_TEST_REQUIRE(ops.size() == 3u);
  BOOST_TEST(ops[0].ok());
  BOOST_TEST_REQUIRE(!ops[1].ok());
  BOOST_TEST(ops[1].error().code() == errc::not_found);
  BOOST_TEST(ops[2].ok());
  auto got = BLAZE_OK(db->get("c", "r"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("r", {{"b", 2}}));
}

BOOST_AUTO_TEST_CASE(observers_see_every_change_in_order_with_its_record) {
  recorder rec;
  db->subscribe(rec.fn());
  write_batch b;
  b.put("c", "r", {{"a", 1}});
  b.put("c", "r", {{"b", 2}});
  b.erase("c", "r");
  auto ops = BLAZE_OK(db->write(std::move(b)));
  BOOST_TEST_REQUIRE(rec.seen.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(rec.seen[i].local);
    BOOST_TEST(rec.seen[i].seq == i + 1);
    BOOST_TEST(rec.seen[i].cause == *ops[i]);
  }
  // Each change carries the record as that change left it.
  BOOST_TEST_REQUIRE(rec.seen[0].current.has_value());
  BOOST_TEST(*rec.seen[0].current == make_record("r", {{"a", 1}}));
  BOOST_TEST_REQUIRE(rec.seen[1].current.has_value());
  BOOST_TEST(*rec.seen[1].current == make_record("r", {{"a", 1}, {"b", 2}}));
  BOOST_TEST(rec.seen[2].deleted);
}

BOOST_AUTO_TEST_CASE(an_empty_or_wholly_rejected_batch_writes_nothing) {
  recorder rec;
  db->subscribe(rec.fn());
  BOOST_TEST(BLAZE_OK(db->write(write_batch{})).empty());
  write_batch b;
  b.erase("c", "missing");
  auto ops = BLAZE_OK(db->write(std::move(b)));
  BOOST_TEST_REQUIRE(ops.size() == 1u);
  BOOST_TEST(!ops[0].ok());
  BOOST_TEST(rec.seen.empty());
  BOOST_TEST(BLAZE_OK(db->ops_since({})).empty());
  BOOST_TEST(db->version().get(db->id()) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
