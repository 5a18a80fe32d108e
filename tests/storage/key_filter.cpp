// The in-memory record-key filter that lets writes to new records skip the
// merge read: it must never miss a key it was given.
#include "key_filter.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using blaze::detail::key_filter;

BOOST_AUTO_TEST_SUITE(key_filter_suite)

BOOST_AUTO_TEST_CASE(never_misses_an_added_key_while_growing) {
  key_filter f{64}; // tiny first stage: forces many growth steps
  for (int i = 0; i < 200000; ++i)
    f.add(std::string("rcoll\0id-", 9) + std::to_string(i));
  BOOST_TEST(f.size() == 200000u);
  int missed = 0;
  for (int i = 0; i < 200000; ++i)
    missed += !f.may_contain(std::string("rcoll\0id-", 9) + std::to_string(i));
  BOOST_TEST(missed == 0);
}

BOOST_AUTO_TEST_CASE(rejects_most_keys_never_added) {
  key_filter f{1024};
  for (int i = 0; i < 100000; ++i)
    f.add("present-" + std::to_string(i));
  int false_positives = 0;
  for (int i = 0; i < 100000; ++i)
    false_positives += f.may_contain("absent-" + std::to_string(i));
  // ~1% per stage, summed over the stages the filter grew through.
  BOOST_TEST(false_positives < 100000 / 10);
  BOOST_TEST(f.memory_bytes() < 100000u * 4);
}

BOOST_AUTO_TEST_CASE(empty_filter_contains_nothing) {
  key_filter f;
  BOOST_TEST(!f.may_contain(""));
  BOOST_TEST(!f.may_contain("r"));
}

BOOST_AUTO_TEST_SUITE_END()
