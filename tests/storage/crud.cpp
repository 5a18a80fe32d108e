// Basic record operations: put/get/remove_field/erase/list/count/collections,
// every value type, and persistence across close and reopen.
#include "fixture.hpp"

#include <algorithm>
#include <limits>

using namespace blaze;
using namespace blaze::test;

BOOST_FIXTURE_TEST_SUITE(crud, store_fixture)

BOOST_AUTO_TEST_CASE(put_creates_record) {
  auto o = BLAZE_OK(db->put("notes", "n1", {{"title", "hello"}, {"stars", 3}}));
  BOOST_TEST(o.kind == op_kind::set);
  BOOST_TEST(o.collection == "notes");
  BOOST_TEST(o.id == "n1");
  auto got = BLAZE_OK(db->get("notes", "n1"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("n1", {{"title", "hello"}, {"stars", 3}}));
}

BOOST_AUTO_TEST_CASE(put_merges_fields_into_existing_record) {
  BLAZE_OK(db->put("notes", "n1", {{"a", 1}, {"b", 2}}));
  BLAZE_OK(db->put("notes", "n1", {{"b", "two"}, {"c", true}}));
  auto got = BLAZE_OK(db->get("notes", "n1"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("n1", {{"a", 1}, {"b", "two"}, {"c", true}}));
}

BOOST_AUTO_TEST_CASE(get_of_missing_record_is_empty) {
  BLAZE_OK(db->put("notes", "present", {{"a", 1}}));
  auto got = BLAZE_OK(db->get("notes", "absent"));
  BOOST_TEST(!got.has_value());
}

BOOST_AUTO_TEST_CASE(get_from_unknown_collection_is_empty) {
  auto got = BLAZE_OK(db->get("never_written", "x"));
  BOOST_TEST(!got.has_value());
}

BOOST_AUTO_TEST_CASE(remove_field_drops_only_that_field) {
  BLAZE_OK(db->put("notes", "n1", {{"a", 1}, {"b", 2}, {"c", 3}}));
  auto o = BLAZE_OK(db->remove_field("notes", "n1", "b"));
  BOOST_TEST(o.kind == op_kind::set);
  BOOST_TEST(o.removed == std::vector<std::string>{"b"});
  auto got = BLAZE_OK(db->get("notes", "n1"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("n1", {{"a", 1}, {"c", 3}}));
}

BOOST_AUTO_TEST_CASE(remove_fields_drops_several_fields) {
  BLAZE_OK(db->put("notes", "n1", {{"a", 1}, {"b", 2}, {"c", 3}}));
  BLAZE_OK(db->remove_fields("notes", "n1", {"a", "c"}));
  auto got = BLAZE_OK(db->get("notes", "n1"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("n1", {{"b", 2}}));
}

BOOST_AUTO_TEST_CASE(erase_then_get_is_empty) {
  BLAZE_OK(db->put("notes", "n1", {{"a", 1}}));
  BLAZE_OK(db->put("notes", "n2", {{"a", 2}}));
  auto o = BLAZE_OK(db->erase("notes", "n1"));
  BOOST_TEST(o.kind == op_kind::erase);
  BOOST_TEST(o.id == "n1");
  BOOST_TEST(!BLAZE_OK(db->get("notes", "n1")).has_value());
  BOOST_TEST(BLAZE_OK(db->get("notes", "n2")).has_value());
}

BOOST_AUTO_TEST_CASE(erase_of_missing_record_is_not_found) {
  BLAZE_OK(db->put("notes", "n1", {{"a", 1}}));
  BLAZE_CHECK_ERRC(db->erase("notes", "nope"), errc::not_found);
}

BOOST_AUTO_TEST_CASE(erase_of_already_erased_record_is_not_found) {
  BLAZE_OK(db->put("notes", "n1", {{"a", 1}}));
  BLAZE_OK(db->erase("notes", "n1"));
  BLAZE_CHECK_ERRC(db->erase("notes", "n1"), errc::not_found);
}

BOOST_AUTO_TEST_CASE(put_after_erase_starts_a_fresh_record) {
  BLAZE_OK(db->put("notes", "n1", {{"old", 1}}));
  BLAZE_OK(db->erase("notes", "n1"));
  BLAZE_OK(db->put("notes", "n1", {{"new", 2}}));
  auto got = BLAZE_OK(db->get("notes", "n1"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("n1", {{"new", 2}}));
}

BOOST_AUTO_TEST_CASE(list_returns_records_in_id_order) {
  // Byte order: upper case before lower, a prefix before its extensions,
  // UTF-8 (high bytes) after ASCII.
  for (auto id : {"b", "ab", "a0", "\xC3\xA9t\xC3\xA9", "c", "a", "B", "a a"})
    BLAZE_OK(db->put("items", id, {{"id", id}}));
  auto all = BLAZE_OK(db->list("items"));
  BOOST_TEST(ids_of(all) == (std::vector<std::string>{"B", "a", "a a", "a0", "ab", "b", "c",
                                                      "\xC3\xA9t\xC3\xA9"}),
             boost::test_tools::per_element());
  for (auto& r : all)
    BOOST_TEST((r.fields == field_map{{"id", r.id}}));
}

BOOST_AUTO_TEST_CASE(list_respects_limit) {
  for (auto id : {"d", "a", "c", "b", "e"})
    BLAZE_OK(db->put("items", id, {{"x", 1}}));
  auto some = BLAZE_OK(db->list("items", 3));
  BOOST_TEST(ids_of(some) == (std::vector<std::string>{"a", "b", "c"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(list_starts_after_given_id) {
  for (auto id : {"d", "a", "c", "b", "e"})
    BLAZE_OK(db->put("items", id, {{"x", 1}}));
  BOOST_TEST(ids_of(BLAZE_OK(db->list("items", 0, "b"))) ==
                 (std::vector<std::string>{"c", "d", "e"}),
             boost::test_tools::per_element());
  // An id that is not stored is a position between records, not an error.
  BOOST_TEST(ids_of(BLAZE_OK(db->list("items", 0, "bb"))) ==
                 (std::vector<std::string>{"c", "d", "e"}),
             boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(db->list("items", 0, "e")).empty());
}

BOOST_AUTO_TEST_CASE(list_pages_with_limit_and_start_after) {
  for (int i = 0; i < 25; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "r%02d", i);
    BLAZE_OK(db->put("items", id, {{"i", i}}));
  }
  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto chunk = BLAZE_OK(db->list("items", 7, after));
    if (chunk.empty())
      break;
    BOOST_TEST(chunk.size() <= 7u);
    for (auto& r : chunk)
      seen.push_back(r.id);
    after = chunk.back().id;
  }
  BOOST_TEST_REQUIRE(seen.size() == 25u);
  for (int i = 0; i < 25; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "r%02d", i);
    BOOST_TEST(seen[i] == id);
  }
}

BOOST_AUTO_TEST_CASE(list_omits_erased_records) {
  for (auto id : {"a", "b", "c"})
    BLAZE_OK(db->put("items", id, {{"x", 1}}));
  BLAZE_OK(db->erase("items", "b"));
  BOOST_TEST(ids_of(BLAZE_OK(db->list("items"))) == (std::vector<std::string>{"a", "c"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(list_does_not_mix_collections_sharing_a_prefix) {
  BLAZE_OK(db->put("a", "1", {{"in", "a"}}));
  BLAZE_OK(db->put("ab", "2", {{"in", "ab"}}));
  BLAZE_OK(db->put("a.b", "3", {{"in", "a.b"}}));
  BLAZE_OK(db->put("b", "4", {{"in", "b"}}));
  BOOST_TEST(ids_of(BLAZE_OK(db->list("a"))) == std::vector<std::string>{"1"},
             boost::test_tools::per_element());
  BOOST_TEST(ids_of(BLAZE_OK(db->list("ab"))) == std::vector<std::string>{"2"},
             boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(db->count("a")) == 1u);
  BOOST_TEST(!BLAZE_OK(db->get("a", "2")).has_value());
}

BOOST_AUTO_TEST_CASE(list_of_unknown_collection_is_empty) {
  BOOST_TEST(BLAZE_OK(db->list("nothing_here")).empty());
}

BOOST_AUTO_TEST_CASE(count_tracks_puts_and_erases) {
  BOOST_TEST(BLAZE_OK(db->count("items")) == 0u);
  BLAZE_OK(db->put("items", "a", {{"x", 1}}));
  BLAZE_OK(db->put("items", "b", {{"x", 1}}));
  BLAZE_OK(db->put("items", "a", {{"y", 2}})); // merge, not a new record
  BLAZE_OK(db->put("other", "a", {{"x", 1}}));
  BOOST_TEST(BLAZE_OK(db->count("items")) == 2u);
  BLAZE_OK(db->erase("items", "a"));
  BOOST_TEST(BLAZE_OK(db->count("items")) == 1u);
  BOOST_TEST(BLAZE_OK(db->count("other")) == 1u);
}

BOOST_AUTO_TEST_CASE(collections_lists_every_written_collection) {
  BOOST_TEST(BLAZE_OK(db->collections()).empty());
  BLAZE_OK(db->put("zeta", "1", {{"x", 1}}));
  BLAZE_OK(db->put("alpha", "1", {{"x", 1}}));
  BLAZE_OK(db->put("alpha", "2", {{"x", 1}}));
  BLAZE_OK(db->put("mid-dle_1.0", "1", {{"x", 1}}));
  auto names = BLAZE_OK(db->collections());
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{"alpha", "mid-dle_1.0", "zeta"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_value_type_round_trips) {
  bytes all_bytes;
  for (int i = 0; i < 256; ++i)
    all_bytes.push_back(static_cast<std::uint8_t>(i));
  const field_map fields{
      {"null", value{}},
      {"null2", value{nullptr}},
      {"t", true},
      {"f", false},
      {"i0", 0},
      {"ineg", -1},
      {"imin", std::numeric_limits<std::int64_t>::min()},
      {"imax", std::numeric_limits<std::int64_t>::max()},
      {"d", 0.1},
      {"dneg", -2.5e-300},
      {"dmax", std::numeric_limits<double>::max()},
      {"dmin", std::numeric_limits<double>::denorm_min()},
      {"dnegzero", -0.0},
      {"s", "plain"},
      {"s_empty", ""},
      {"s_nul", std::string("a\0b\0", 4)},
      {"s_utf8", "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x94\xA5"},
      {"b", all_bytes},
      {"b_empty", bytes{}},
  };
  BLAZE_OK(db->put("types", "all", fields));
  auto check = [&](const char* when) {
    BOOST_TEST_CONTEXT(when) {
      auto got = BLAZE_OK(db->get("types", "all"));
      BOOST_TEST_REQUIRE(got.has_value());
      BOOST_TEST_REQUIRE(got->fields.size() == fields.size());
      for (auto& [name, v] : fields) {
        BOOST_TEST_CONTEXT("field " << name) {
          auto* stored = got->field(name);
          BOOST_TEST_REQUIRE(stored != nullptr);
          BOOST_TEST(stored->type() == v.type());
          BOOST_TEST(*stored == v);
        }
      }
      // -0.0 == 0.0 as doubles; the sign must survive too.
      auto* nz = got->field("dnegzero");
      BOOST_TEST_REQUIRE((nz && nz->as_double()));
      BOOST_TEST(std::signbit(*nz->as_double()));
      auto* nul = got->field("s_nul");
      BOOST_TEST_REQUIRE((nul && nul->as_string()));
      BOOST_TEST(nul->as_string()->size() == 4u);
    }
  };
  check("before reopen");
  reopen();
  check("after reopen");
}

BOOST_AUTO_TEST_CASE(large_values_round_trip) {
  std::string text(1 << 20, '\0');
  bytes blob(3 << 19);
  for (std::size_t i = 0; i < text.size(); ++i)
    text[i] = static_cast<char>('a' + i * 7919 % 26);
  for (std::size_t i = 0; i < blob.size(); ++i)
    blob[i] = static_cast<std::uint8_t>(i * 2654435761u >> 13);
  BLAZE_OK(db->put("big", "one", {{"text", text}, {"blob", blob}}));
  reopen();
  auto got = BLAZE_OK(db->get("big", "one"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST_REQUIRE((got->field("text") && got->field("text")->as_string()));
  BOOST_TEST((*got->field("text")->as_string() == text));
  BOOST_TEST_REQUIRE((got->field("blob") && got->field("blob")->as_bytes()));
  BOOST_TEST((*got->field("blob")->as_bytes() == blob));
}

BOOST_AUTO_TEST_CASE(many_records_list_and_count) {
  for (int i = 999; i >= 0; --i) {
    char id[8];
    std::snprintf(id, sizeof id, "k%04d", i);
    BLAZE_OK(db->put("many", id, {{"i", i}}));
  }
  auto all = BLAZE_OK(db->list("many"));
  BOOST_TEST_REQUIRE(all.size() == 1000u);
  for (int i = 0; i < 1000; ++i) {
    auto* v = all[i].field("i");
    BOOST_TEST_REQUIRE((v && v->as_int() && *v->as_int() == i), "record " << i << " out of place");
  }
  BOOST_TEST(BLAZE_OK(db->count("many")) == 1000u);
}

BOOST_AUTO_TEST_CASE(data_survives_close_and_reopen) {
  BLAZE_OK(db->put("items", "a", {{"x", 1}}));
  BLAZE_OK(db->put("items", "b", {{"x", 2}, {"y", "why"}}));
  BLAZE_OK(db->put("items", "c", {{"x", 3}}));
  BLAZE_OK(db->remove_field("items", "b", "x"));
  BLAZE_OK(db->erase("items", "c"));
  BLAZE_OK(db->put("more", "z", {{"z", bytes{1, 2, 3}}}));
  const auto id = db->id();
  const auto name = db->name();
  const auto before = BLAZE_OK(db->list("items"));
  const auto version = db->version();

  reopen();

  BOOST_TEST(db->id() == id);
  BOOST_TEST(db->name() == name);
  BOOST_TEST(db->version() == version);
  BOOST_TEST(BLAZE_OK(db->list("items")) == before, boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(db->list("items")) == (std::vector<record>{make_record("a", {{"x", 1}}),
                                                                 make_record("b", {{"y", "why"}})}),
             boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(db->count("items")) == 2u);
  BOOST_TEST(!BLAZE_OK(db->get("items", "c")).has_value());
  auto z = BLAZE_OK(db->get("more", "z"));
  BOOST_TEST_REQUIRE(z.has_value());
  BOOST_TEST(*z == make_record("z", {{"z", bytes{1, 2, 3}}}));
}

BOOST_AUTO_TEST_CASE(writes_right_after_reopen_merge_with_every_stored_record) {
  // Reopening starts a background scan of the stored keys; writes made
  // while it runs must still read and merge what is stored.
  constexpr int n = 20000;
  for (int i = 0; i < n; ++i)
    BLAZE_OK(db->put("many", "id-" + std::to_string(i), {{"old", i}}));
  reopen();
  for (int i = 0; i < n; ++i)
    BLAZE_OK(db->put("many", "id-" + std::to_string(i), {{"new", -i}}));
  BLAZE_OK(db->put("many", "fresh", {{"new", 1}}));
  auto all = BLAZE_OK(db->list("many"));
  BOOST_TEST_REQUIRE(all.size() == std::size_t(n) + 1);
  int unmerged = 0;
  for (auto& r : all)
    if (r.id != "fresh")
      unmerged += !(r.field("old") && r.field("new"));
  BOOST_TEST(unmerged == 0);
  BOOST_TEST(*BLAZE_OK(db->get("many", "fresh")) == make_record("fresh", {{"new", 1}}));
}

BOOST_AUTO_TEST_CASE(path_and_name_are_reported) {
  BOOST_TEST(db->name() == "test");
  BOOST_TEST(db->path() == dir.store());
  BOOST_TEST(db->id() != 0u);
}

BOOST_AUTO_TEST_SUITE_END()
