// Input validation: bad collection names, record ids, field names and values
// are rejected with errc::invalid_argument, and a rejected call stores nothing.
#include "fixture.hpp"

#include <cmath>
#include <limits>

using namespace blaze;
using namespace blaze::test;

namespace {

const std::string nul_name = std::string("a\0b", 3);
const double not_a_number = std::numeric_limits<double>::quiet_NaN();

// A store with one record in it; `unchanged()` checks that nothing was
// written since construction (records, op log, version, collections).
struct seeded_store : store_fixture {
  std::uint64_t count_before;
  std::size_t ops_before;
  version_vector version_before;
  std::optional<record> record_before;

  seeded_store() {
    BLAZE_OK(db->put("items", "r1", {{"a", 1}}));
    count_before = BLAZE_OK(db->count("items"));
    ops_before = BLAZE_OK(db->ops_since({})).size();
    version_before = db->version();
    record_before = BLAZE_OK(db->get("items", "r1"));
  }

  void check_unchanged() {
    BOOST_TEST(BLAZE_OK(db->count("items")) == count_before);
    BOOST_TEST(BLAZE_OK(db->ops_since({})).size() == ops_before);
    BOOST_TEST(db->version() == version_before);
    auto now = BLAZE_OK(db->get("items", "r1"));
    BOOST_TEST_REQUIRE(now.has_value());
    BOOST_TEST(*now == *record_before);
    BOOST_TEST(BLAZE_OK(db->collections()) == std::vector<std::string>{"items"},
               boost::test_tools::per_element());
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(validation, seeded_store)

BOOST_AUTO_TEST_CASE(validate_collection_rejects_bad_names) {
  for (const std::string& bad :
       {std::string{}, std::string(129, 'c'), std::string{"a/b"}, nul_name, std::string{"a b"},
        std::string{"caf\xC3\xA9"}, std::string{"a:b"}}) {
    BOOST_TEST_CONTEXT("name '" << bad << "' (" << bad.size() << " bytes)")
    BLAZE_CHECK_ERRC(validate_collection(bad), errc::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(validate_collection_accepts_good_names) {
  for (const std::string& good :
       {std::string{"a"}, std::string(128, 'c'), std::string{"Az09_.-"}}) {
    BOOST_TEST_CONTEXT("name '" << good << "'")
    BOOST_TEST(validate_collection(good).ok());
  }
}

BOOST_AUTO_TEST_CASE(validate_record_id_rejects_bad_ids) {
  for (const std::string& bad : {std::string{}, nul_name, std::string(513, 'i')}) {
    BOOST_TEST_CONTEXT("id of " << bad.size() << " bytes")
    BLAZE_CHECK_ERRC(validate_record_id(bad), errc::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(validate_record_id_accepts_any_bytes_but_nul_up_to_512) {
  for (const std::string& good :
       {std::string{"x"}, std::string(512, 'i'), std::string{"a/b c:d"},
        std::string{"\xE6\x97\xA5\xE6\x9C\xAC"}, std::string{"\x01\xff"}}) {
    BOOST_TEST_CONTEXT("id of " << good.size() << " bytes")
    BOOST_TEST(validate_record_id(good).ok());
  }
}

BOOST_AUTO_TEST_CASE(validate_field_name_rejects_bad_names) {
  for (const std::string& bad :
       {std::string{}, std::string{"_x"}, std::string{"_id"}, nul_name, std::string(257, 'f')}) {
    BOOST_TEST_CONTEXT("field '" << bad << "' (" << bad.size() << " bytes)")
    BLAZE_CHECK_ERRC(validate_field_name(bad), errc::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(validate_field_name_accepts_good_names) {
  for (const std::string& good :
       {std::string{"f"}, std::string{"a_"}, std::string{"with space"}, std::string(256, 'f')}) {
    BOOST_TEST_CONTEXT("field '" << good << "'")
    BOOST_TEST(validate_field_name(good).ok());
  }
}

BOOST_AUTO_TEST_CASE(put_with_bad_collection_is_rejected_and_stores_nothing) {
  for (const std::string& bad :
       {std::string{}, std::string(129, 'c'), std::string{"a/b"}, nul_name, std::string{"a b"}}) {
    BOOST_TEST_CONTEXT("collection '" << bad << "'")
    BLAZE_CHECK_ERRC(db->put(bad, "r2", {{"a", 1}}), errc::invalid_argument);
  }
  check_unchanged();
}

BOOST_AUTO_TEST_CASE(put_with_bad_id_is_rejected_and_stores_nothing) {
  for (const std::string& bad : {std::string{}, nul_name, std::string(513, 'i')}) {
    BOOST_TEST_CONTEXT("id of " << bad.size() << " bytes")
    BLAZE_CHECK_ERRC(db->put("items", bad, {{"a", 1}}), errc::invalid_argument);
  }
  check_unchanged();
}

BOOST_AUTO_TEST_CASE(put_with_bad_field_name_is_rejected_and_stores_nothing) {
  for (const std::string& bad : {std::string{}, std::string{"_x"}, std::string{"_id"}, nul_name}) {
    BOOST_TEST_CONTEXT("field '" << bad << "'") {
      // A good field next to the bad one must not slip through either.
      BLAZE_CHECK_ERRC(db->put("items", "r1", {{"ok", 2}, {bad, 1}}), errc::invalid_argument);
      BLAZE_CHECK_ERRC(db->put("items", "r2", {{bad, 1}}), errc::invalid_argument);
    }
  }
  check_unchanged();
  BOOST_TEST(!BLAZE_OK(db->get("items", "r2")).has_value());
}

BOOST_AUTO_TEST_CASE(put_with_nan_is_rejected_and_stores_nothing) {
  BLAZE_CHECK_ERRC(db->put("items", "r1", {{"a", 7}, {"x", not_a_number}}), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->put("items", "r2", {{"x", -not_a_number}}), errc::invalid_argument);
  check_unchanged();
  BOOST_TEST(!BLAZE_OK(db->get("items", "r2")).has_value());
}

BOOST_AUTO_TEST_CASE(remove_fields_with_bad_names_is_rejected_and_stores_nothing) {
  BLAZE_CHECK_ERRC(db->remove_fields("items", "r1", {"a", "_id"}), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->remove_field("items", "r1", ""), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->remove_field("items", nul_name, "a"), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->remove_field("bad name", "r1", "a"), errc::invalid_argument);
  check_unchanged();
}

BOOST_AUTO_TEST_CASE(erase_with_bad_names_is_invalid_argument_not_not_found) {
  BLAZE_CHECK_ERRC(db->erase("items", ""), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->erase("items", nul_name), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->erase("a/b", "r1"), errc::invalid_argument);
  check_unchanged();
}

BOOST_AUTO_TEST_CASE(reads_with_bad_collection_are_invalid_argument) {
  BLAZE_CHECK_ERRC(db->get("a b", "r1"), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->get("items", nul_name), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->list("a/b"), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->count(""), errc::invalid_argument);
  BLAZE_CHECK_ERRC(db->find(blaze::query{nul_name}), errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(apply_rejects_remote_op_with_invalid_content) {
  // A peer must not be able to store what the local API refuses.
  const auto t = make_hlc(now_ms() - 1000, 0);
  const std::vector<op> bad_ops{remote_set(0x5eed, 1, t, "a/b", "x", {{"a", 1}}),
                                remote_set(0x5eed, 1, t, "items", nul_name, {{"a", 1}}),
                                remote_set(0x5eed, 1, t, "items", "x", {{"_id", 1}}),
                                remote_set(0x5eed, 1, t, "items", "x", {{"f", not_a_number}})};
  for (const op& bad : bad_ops) {
    BOOST_TEST_CONTEXT(show(bad)) {
      auto r = db->apply({bad});
      BOOST_TEST(!r.ok(), "remote op accepted");
    }
  }
  check_unchanged();
  BOOST_TEST(db->version().get(0x5eed) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
