// The op log: one op per local change with origin, sequence and HLC stamp;
// version vectors and ops_since; the op codec; observers of changes.
#include "fixture.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <random>
#include <set>
#include <thread>

using namespace blaze;
using namespace blaze::test;

namespace {

constexpr node_id peer_x = 0x1111'0000'0000'0001ull;
constexpr node_id peer_y = 0x2222'0000'0000'0002ull;

// A minute in the past: remote stamps any sane clock accepts.
hlc_time past(std::uint32_t step) {
  static const std::uint64_t base_ms = now_ms() - 60'000;
  return make_hlc(base_ms, step);
}

std::vector<op> all_ops(const database& db) {
  return BLAZE_OK(db.ops_since({}));
}

std::vector<op> ops_from(const std::vector<op>& ops, node_id origin) {
  std::vector<op> out;
  for (auto& o : ops)
    if (o.origin == origin)
      out.push_back(o);
  return out;
}

// Orders ops by (origin, seq) so sets of ops compare regardless of the
// order in which origins were interleaved.
std::vector<op> canonical(std::vector<op> ops) {
  std::sort(ops.begin(), ops.end(), [](const op& a, const op& b) {
    return a.origin != b.origin ? a.origin < b.origin : a.seq < b.seq;
  });
  return ops;
}

op sample_op() {
  bytes raw;
  for (int i = 0; i < 40; ++i)
    raw.push_back(static_cast<std::uint8_t>(i * 7));
  return remote_set(peer_x, 12345, make_hlc(1'700'000'000'000ull, 513), "coll.name-1", "rec/id 1",
                    {{"null", value{}},
                     {"bool", true},
                     {"int", std::numeric_limits<std::int64_t>::min()},
                     {"real", -1.25e-7},
                     {"str", std::string("s\0t\xC3\xA9", 5)},
                     {"bytes", raw},
                     {"empty", bytes{}}},
                    {"gone", "also gone"});
}

struct recorder {
  std::vector<change> seen;
  observer fn() {
    return [this](const change& c) { seen.push_back(c); };
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(oplog, store_fixture)

// ---- the op log of local changes ----

BOOST_AUTO_TEST_CASE(put_appends_exactly_one_op) {
  BOOST_TEST(all_ops(*db).empty());
  auto o = BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  auto ops = all_ops(*db);
  BOOST_TEST_REQUIRE(ops.size() == 1u);
  BOOST_TEST(ops[0] == o);
  BOOST_TEST(o.origin == db->id());
  BOOST_TEST(o.seq == 1u);
  BOOST_TEST(o.kind == op_kind::set);
  BOOST_TEST((o.fields == field_map{{"a", 1}}));
  BOOST_TEST(o.removed.empty());
}

BOOST_AUTO_TEST_CASE(each_change_appends_one_op_in_sequence) {
  std::vector<op> returned;
  returned.push_back(BLAZE_OK(db->put("c", "r", {{"a", 1}, {"b", 2}})));
  returned.push_back(BLAZE_OK(db->remove_field("c", "r", "a")));
  returned.push_back(BLAZE_OK(db->erase("c", "r")));
  returned.push_back(BLAZE_OK(db->put("c", "s", {{"z", "zz"}})));
  auto ops = all_ops(*db);
  BOOST_TEST_REQUIRE(ops.size() == 4u);
  BOOST_TEST(ops == returned, boost::test_tools::per_element());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    BOOST_TEST(ops[i].origin == db->id());
    BOOST_TEST(ops[i].seq == i + 1);
    if (i > 0)
      BOOST_TEST(ops[i].time > ops[i - 1].time);
  }
  BOOST_TEST(ops[1].kind == op_kind::set);
  BOOST_TEST(ops[1].removed == std::vector<std::string>{"a"}, boost::test_tools::per_element());
  BOOST_TEST(ops[2].kind == op_kind::erase);
  BOOST_TEST(ops[2].id == "r");
}

BOOST_AUTO_TEST_CASE(hlc_strictly_increases_and_tracks_wall_clock) {
  const auto before = now_ms();
  std::vector<hlc_time> times;
  for (int i = 0; i < 300; ++i)
    times.push_back(BLAZE_OK(db->put("c", "r" + std::to_string(i % 10), {{"i", i}})).time);
  const auto after = now_ms();
  for (std::size_t i = 1; i < times.size(); ++i)
    BOOST_TEST_REQUIRE(times[i] > times[i - 1], "at op " << i);
  BOOST_TEST(hlc_physical_ms(times.front()) + 1000 >= before);
  BOOST_TEST(hlc_physical_ms(times.back()) <= after + 1000);
}

BOOST_AUTO_TEST_CASE(version_reflects_own_sequence) {
  BOOST_TEST(db->version().empty());
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BLAZE_OK(db->put("c", "r", {{"a", 2}}));
  BLAZE_OK(db->remove_field("c", "r", "a"));
  auto v = db->version();
  BOOST_TEST(v.get(db->id()) == 3u);
  BOOST_TEST(v.entries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(failed_change_appends_no_op) {
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BLAZE_CHECK_ERRC(db->erase("c", "missing"), errc::not_found);
  BOOST_TEST(all_ops(*db).size() == 1u);
  BOOST_TEST(db->version().get(db->id()) == 1u);
  BOOST_TEST(BLAZE_OK(db->put("c", "r", {{"a", 2}})).seq == 2u);
}

BOOST_AUTO_TEST_CASE(sequence_and_clock_continue_after_reopen) {
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BLAZE_OK(db->put("c", "r", {{"a", 2}}));
  auto last = BLAZE_OK(db->erase("c", "r"));
  const auto ops_before = all_ops(*db);
  reopen();
  BOOST_TEST(all_ops(*db) == ops_before, boost::test_tools::per_element());
  BOOST_TEST(db->version().get(db->id()) == 3u);
  auto next = BLAZE_OK(db->put("c", "r", {{"a", 3}}));
  BOOST_TEST(next.seq == 4u);
  BOOST_TEST(next.origin == last.origin);
  BOOST_TEST(next.time > last.time);
}

BOOST_AUTO_TEST_CASE(concurrent_writers_get_distinct_sequence_numbers) {
  constexpr int threads = 4, per_thread = 100;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        if (!db->put("c", "t" + std::to_string(t) + "-" + std::to_string(i), {{"i", i}}))
          ++failures;
    });
  for (auto& w : writers)
    w.join();
  BOOST_TEST(failures.load() == 0);
  auto ops = all_ops(*db);
  BOOST_TEST_REQUIRE(ops.size() == std::size_t{threads * per_thread});
  for (std::size_t i = 0; i < ops.size(); ++i) {
    BOOST_TEST_REQUIRE(ops[i].seq == i + 1);
    if (i > 0)
      BOOST_TEST_REQUIRE(ops[i].time > ops[i - 1].time, "HLC not increasing with seq at " << i);
  }
  BOOST_TEST(db->version().get(db->id()) == std::uint64_t{threads * per_thread});
  BOOST_TEST(BLAZE_OK(db->count("c")) == std::uint64_t{threads * per_thread});
}

// ---- version vectors and ops_since ----

BOOST_AUTO_TEST_CASE(ops_since_returns_exactly_what_the_vector_lacks) {
  std::vector<op> own;
  for (int i = 0; i < 5; ++i)
    own.push_back(BLAZE_OK(db->put("c", "own" + std::to_string(i), {{"i", i}})));
  std::vector<op> remote;
  for (std::uint64_t s = 1; s <= 4; ++s)
    remote.push_back(remote_set(peer_x, s, past(s), "c", "x" + std::to_string(s), {{"s", 1}}));
  for (std::uint64_t s = 1; s <= 3; ++s)
    remote.push_back(remote_set(peer_y, s, past(10 + s), "c", "y" + std::to_string(s), {{"s", 2}}));
  BLAZE_OK(db->apply(remote));

  version_vector have;
  have.set(db->id(), 2);
  have.set(peer_x, 4);
  have.set(0x9999, 7); // an origin this replica has never heard of

  auto got = BLAZE_OK(db->ops_since(have));
  std::vector<op> expected{own[2], own[3], own[4], remote[4], remote[5], remote[6]};
  BOOST_TEST(canonical(got) == canonical(expected), boost::test_tools::per_element());
  // Within each origin, sequence order.
  for (node_id origin : {db->id(), peer_y}) {
    auto mine = ops_from(got, origin);
    for (std::size_t i = 1; i < mine.size(); ++i)
      BOOST_TEST(mine[i].seq == mine[i - 1].seq + 1);
  }
}

BOOST_AUTO_TEST_CASE(ops_since_everything_known_is_empty) {
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BLAZE_OK(db->apply({remote_set(peer_x, 1, past(1), "c", "x", {{"a", 1}})}));
  BOOST_TEST(BLAZE_OK(db->ops_since(db->version())).empty());
  auto ahead = db->version();
  ahead.set(peer_x, 100);
  BOOST_TEST(BLAZE_OK(db->ops_since(ahead)).empty());
}

BOOST_AUTO_TEST_CASE(ops_since_respects_limit) {
  for (int i = 0; i < 6; ++i)
    BLAZE_OK(db->put("c", "r", {{"i", i}}));
  std::vector<op> remote;
  for (std::uint64_t s = 1; s <= 6; ++s)
    remote.push_back(remote_set(peer_x, s, past(s), "c", "x", {{"s", 1}}));
  BLAZE_OK(db->apply(remote));

  version_vector have;
  have.set(db->id(), 1);
  have.set(peer_x, 2);
  auto got = BLAZE_OK(db->ops_since(have, 3));
  BOOST_TEST_REQUIRE(got.size() == 3u);
  // Whatever it picked, each origin's part continues right after `have`.
  for (node_id origin : {db->id(), peer_x}) {
    auto part = ops_from(got, origin);
    for (std::size_t i = 0; i < part.size(); ++i)
      BOOST_TEST(part[i].seq == have.get(origin) + 1 + i);
  }
}

BOOST_AUTO_TEST_CASE(ops_since_with_limit_pages_through_everything) {
  for (int i = 0; i < 10; ++i)
    BLAZE_OK(db->put("c", "r" + std::to_string(i % 3), {{"i", i}}));
  std::vector<op> remote;
  for (std::uint64_t s = 1; s <= 7; ++s)
    remote.push_back(remote_set(peer_y, s, past(s), "d", "y", {{"s", int(s)}}));
  BLAZE_OK(db->apply(remote));
  const auto everything = all_ops(*db);
  BOOST_TEST_REQUIRE(everything.size() == 17u);

  version_vector have;
  std::vector<op> collected;
  for (int round = 0; round < 20; ++round) {
    auto page = BLAZE_OK(db->ops_since(have, 4));
    if (page.empty())
      break;
    BOOST_TEST_REQUIRE(page.size() <= 4u);
    for (auto& o : page) {
      BOOST_TEST_REQUIRE(o.seq == have.get(o.origin) + 1, "gap or repeat at " << show(o));
      have.set(o.origin, o.seq);
      collected.push_back(o);
    }
  }
  BOOST_TEST(canonical(collected) == canonical(everything), boost::test_tools::per_element());
  BOOST_TEST(have == db->version());
}

// ---- the op codec ----

BOOST_AUTO_TEST_CASE(op_round_trips_through_codec) {
  const op set_op = sample_op();
  BOOST_TEST(BLAZE_OK(decode_op(encode(set_op))) == set_op);
  const op erase_op =
      remote_erase(~0ull, ~0ull, ~0ull, std::string(128, 'c'), std::string(512, 'i'));
  BOOST_TEST(BLAZE_OK(decode_op(encode(erase_op))) == erase_op);
}

BOOST_AUTO_TEST_CASE(encode_append_appends_the_encoding) {
  const op o = sample_op();
  std::string out = "prefix";
  encode_append(o, out);
  BOOST_TEST(out == "prefix" + encode(o));
}

BOOST_AUTO_TEST_CASE(batch_round_trips_through_codec) {
  std::vector<op> ops;
  BOOST_TEST(BLAZE_OK(decode_batch(encode_batch(ops))).empty());
  ops.push_back(sample_op());
  ops.push_back(remote_erase(peer_y, 2, past(2), "c", "r"));
  ops.push_back(remote_set(peer_x, 3, past(3), "c", "r", {}, {"x"}));
  BOOST_TEST(BLAZE_OK(decode_batch(encode_batch(ops))) == ops, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(version_vector_round_trips_through_codec) {
  version_vector v;
  BOOST_TEST(BLAZE_OK(decode_version_vector(encode(v))) == v);
  v.set(1, 1);
  v.set(peer_x, 1'000'000'007ull);
  v.set(~0ull, ~0ull);
  BOOST_TEST(BLAZE_OK(decode_version_vector(encode(v))) == v);
}

BOOST_AUTO_TEST_CASE(truncated_op_is_corruption) {
  const std::string bytes = encode(sample_op());
  BOOST_TEST_REQUIRE(bytes.size() > 10u);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    BOOST_TEST_CONTEXT("truncated to " << len << " of " << bytes.size() << " bytes")
    BLAZE_CHECK_ERRC(decode_op(std::string_view(bytes).substr(0, len)), errc::corruption);
  }
}

BOOST_AUTO_TEST_CASE(op_with_trailing_bytes_is_corruption) {
  BLAZE_CHECK_ERRC(decode_op(encode(sample_op()) + "x"), errc::corruption);
}

BOOST_AUTO_TEST_CASE(truncated_batch_never_yields_a_partial_op) {
  const std::vector<op> ops{sample_op(), remote_erase(peer_y, 2, past(2), "c", "r"),
                            remote_set(peer_x, 3, past(3), "c", "r", {{"k", "v"}})};
  const std::string bytes = encode_batch(ops);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    BOOST_TEST_CONTEXT("truncated to " << len << " of " << bytes.size() << " bytes") {
      auto r = decode_batch(std::string_view(bytes).substr(0, len));
      if (!r.ok()) {
        BOOST_TEST(r.error().code() == errc::corruption);
      } else {
        // Only acceptable if the format can end here: whole leading ops.
        BOOST_TEST_REQUIRE(r->size() < ops.size());
        BOOST_TEST(std::equal(r->begin(), r->end(), ops.begin()));
      }
    }
  }
  BLAZE_CHECK_ERRC(decode_batch(bytes.substr(0, bytes.size() - 1)), errc::corruption);
}

BOOST_AUTO_TEST_CASE(truncated_version_vector_is_corruption) {
  version_vector v;
  v.set(peer_x, 5);
  v.set(peer_y, 300);
  const std::string bytes = encode(v);
  BOOST_TEST_REQUIRE(!bytes.empty());
  BLAZE_CHECK_ERRC(decode_version_vector(bytes.substr(0, bytes.size() - 1)), errc::corruption);
}

BOOST_AUTO_TEST_CASE(random_garbage_is_corruption) {
  for (std::uint64_t seed : {1ull, 2ull, 3ull}) {
    std::mt19937_64 rng(seed);
    for (std::size_t len = 1; len <= 200; ++len) {
      std::string junk(len, '\0');
      for (auto& ch : junk)
        ch = static_cast<char>(rng());
      BOOST_TEST_CONTEXT("seed " << seed << ", " << len << " random bytes") {
        BLAZE_CHECK_ERRC(decode_op(junk), errc::corruption);
        auto b = decode_batch(junk);
        if (!b.ok())
          BOOST_TEST(b.error().code() == errc::corruption);
        auto v = decode_version_vector(junk);
        if (!v.ok())
          BOOST_TEST(v.error().code() == errc::corruption);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(flipped_bits_never_crash_the_decoder) {
  const std::string good = encode(sample_op());
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit : {0, 7}) {
      std::string bad = good;
      bad[i] ^= static_cast<char>(1 << bit);
      BOOST_TEST_CONTEXT("byte " << i << " bit " << bit) {
        auto r = decode_op(bad);
        if (!r.ok()) {
          BOOST_TEST(r.error().code() == errc::corruption);
        } else {
          // Whatever decoded must be a stable op, not a half-filled one.
          BOOST_TEST(BLAZE_OK(decode_op(encode(*r))) == *r);
        }
      }
    }
  }
}

// ---- observers ----

BOOST_AUTO_TEST_CASE(observer_sees_local_put) {
  recorder rec;
  db->subscribe(rec.fn());
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BLAZE_OK(db->put("c", "r", {{"b", 2}}));
  BOOST_TEST_REQUIRE(rec.seen.size() == 2u);
  const change& c = rec.seen[1];
  BOOST_TEST(c.collection == "c");
  BOOST_TEST(c.id == "r");
  BOOST_TEST(!c.deleted);
  BOOST_TEST(c.local);
  BOOST_TEST(c.origin == db->id());
  BOOST_TEST(c.seq == 2u);
  BOOST_TEST_REQUIRE(c.current.has_value());
  BOOST_TEST(*c.current == make_record("r", {{"a", 1}, {"b", 2}}));
}

BOOST_AUTO_TEST_CASE(observer_sees_remove_field) {
  BLAZE_OK(db->put("c", "r", {{"a", 1}, {"b", 2}}));
  recorder rec;
  db->subscribe(rec.fn());
  BLAZE_OK(db->remove_field("c", "r", "a"));
  BOOST_TEST_REQUIRE(rec.seen.size() == 1u);
  BOOST_TEST(!rec.seen[0].deleted);
  BOOST_TEST(rec.seen[0].local);
  BOOST_TEST_REQUIRE(rec.seen[0].current.has_value());
  BOOST_TEST(*rec.seen[0].current == make_record("r", {{"b", 2}}));
}

BOOST_AUTO_TEST_CASE(observer_sees_erase_as_deleted) {
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  recorder rec;
  db->subscribe(rec.fn());
  auto o = BLAZE_OK(db->erase("c", "r"));
  BOOST_TEST_REQUIRE(rec.seen.size() == 1u);
  BOOST_TEST(rec.seen[0].deleted);
  BOOST_TEST(!rec.seen[0].current.has_value());
  BOOST_TEST(rec.seen[0].local);
  BOOST_TEST(rec.seen[0].seq == o.seq);
}

BOOST_AUTO_TEST_CASE(observer_sees_applied_remote_ops_as_not_local) {
  auto mine = BLAZE_OK(db->put("c", "doomed", {{"a", 1}}));
  recorder rec;
  db->subscribe(rec.fn());
  auto st = BLAZE_OK(db->apply({remote_set(peer_x, 1, past(1), "c", "r1", {{"v", 1}}),
                                remote_set(peer_x, 2, past(2), "c", "r2", {{"v", 2}}),
                                remote_erase(peer_x, 3, mine.time + 1, "c", "doomed")}));
  BOOST_TEST(st.applied == 3u);
  BOOST_TEST_REQUIRE(rec.seen.size() == 3u);
  std::sort(rec.seen.begin(), rec.seen.end(),
            [](const change& a, const change& b) { return a.seq < b.seq; });
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(!rec.seen[i].local);
    BOOST_TEST(rec.seen[i].origin == peer_x);
    BOOST_TEST(rec.seen[i].seq == i + 1);
  }
  BOOST_TEST(rec.seen[0].id == "r1");
  BOOST_TEST(!rec.seen[0].deleted);
  BOOST_TEST_REQUIRE(rec.seen[0].current.has_value());
  BOOST_TEST(*rec.seen[0].current == make_record("r1", {{"v", 1}}));
  BOOST_TEST(rec.seen[2].id == "doomed");
  BOOST_TEST(rec.seen[2].deleted);
  BOOST_TEST(!rec.seen[2].current.has_value());
}

BOOST_AUTO_TEST_CASE(duplicate_ops_notify_nobody) {
  const std::vector<op> batch{remote_set(peer_x, 1, past(1), "c", "r1", {{"v", 1}})};
  BLAZE_OK(db->apply(batch));
  auto own = BLAZE_OK(db->put("c", "mine", {{"v", 1}}));
  recorder rec;
  db->subscribe(rec.fn());
  auto st = BLAZE_OK(db->apply({batch[0], own}));
  BOOST_TEST(st.duplicates == 2u);
  BOOST_TEST(rec.seen.empty());
}

BOOST_AUTO_TEST_CASE(failed_change_notifies_nobody) {
  recorder rec;
  db->subscribe(rec.fn());
  BLAZE_CHECK_ERRC(db->erase("c", "missing"), errc::not_found);
  BLAZE_CHECK_ERRC(db->put("c", "r", {{"_bad", 1}}), errc::invalid_argument);
  BOOST_TEST(rec.seen.empty());
}

BOOST_AUTO_TEST_CASE(unsubscribe_stops_notifications) {
  recorder kept, dropped;
  db->subscribe(kept.fn());
  auto id = db->subscribe(dropped.fn());
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  db->unsubscribe(id);
  BLAZE_OK(db->put("c", "r", {{"a", 2}}));
  BLAZE_OK(db->apply({remote_set(peer_x, 1, past(1), "c", "x", {{"v", 1}})}));
  BLAZE_OK(db->erase("c", "r"));
  BOOST_TEST(dropped.seen.size() == 1u);
  BOOST_TEST(kept.seen.size() == 4u);
}

BOOST_AUTO_TEST_CASE(observer_runs_on_the_thread_that_made_the_change) {
  std::vector<std::thread::id> seen;
  db->subscribe([&](const change&) { seen.push_back(std::this_thread::get_id()); });
  std::thread::id writer_id;
  bool put_ok = false; // Boost.Test assertions stay on the main thread
  std::thread writer([&] {
    writer_id = std::this_thread::get_id();
    put_ok = db->put("c", "r", {{"a", 1}}).ok();
  });
  writer.join();
  BOOST_TEST_REQUIRE(put_ok);
  BOOST_TEST_REQUIRE(seen.size() == 1u);
  BOOST_TEST((seen[0] == writer_id));
}

BOOST_AUTO_TEST_CASE(observer_may_read_the_database) {
  std::vector<std::optional<record>> reads;
  db->subscribe([&](const change& c) {
    // No REQUIRE here: an abort must not unwind through the database.
    auto r = db->get(c.collection, c.id);
    BOOST_TEST(r.ok(), describe(r));
    if (r.ok())
      reads.push_back(*r);
  });
  BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BLAZE_OK(db->erase("c", "r"));
  BOOST_TEST_REQUIRE(reads.size() == 2u);
  BOOST_TEST_REQUIRE(reads[0].has_value());
  BOOST_TEST(*reads[0] == make_record("r", {{"a", 1}}));
  BOOST_TEST(!reads[1].has_value());
}

BOOST_AUTO_TEST_CASE(observer_exception_does_not_undo_or_fail_the_change) {
  int later_observer_calls = 0;
  db->subscribe([](const change&) { throw std::runtime_error("observer bug"); });
  db->subscribe([&](const change&) { ++later_observer_calls; });
  auto o = BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BOOST_TEST(o.seq == 1u);
  BOOST_TEST(later_observer_calls == 1);
  auto got = BLAZE_OK(db->get("c", "r"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("r", {{"a", 1}}));
}

BOOST_AUTO_TEST_CASE(commit_observers_take_each_commit_whole_after_the_change_observers) {
  std::vector<std::string> calls;
  std::vector<std::vector<change>> first, last;
  db->subscribe([&](const change& c) { calls.push_back("change " + c.id); });
  db->subscribe_commits([&](std::vector<change>&& cs) {
    calls.push_back("first commit observer");
    first.push_back(std::move(cs));
  });
  db->subscribe_commits([&](std::vector<change>&& cs) {
    calls.push_back("last commit observer");
    last.push_back(std::move(cs));
  });
  write_batch b;
  b.put("c", "r1", {{"a", 1}});
  b.put("c", "r2", {{"a", 2}});
  b.erase("c", "r1");
  BLAZE_OK(db->write(std::move(b)));
  BLAZE_OK(db->apply({remote_set(peer_x, 1, past(1), "c", "x", {{"v", 1}})}));
  BLAZE_CHECK_ERRC(db->erase("c", "missing"), errc::not_found); // no commit, no call
  BOOST_TEST(calls == (std::vector<std::string>{"change r1", "change r2", "change r1",
                                                "first commit observer", "last commit observer",
                                                "change x", "first commit observer",
                                                "last commit observer"}),
             boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(first.size() == 2u);
  BOOST_TEST_REQUIRE(last.size() == 2u);
  for (auto* got : {&first, &last}) {
    auto& commit = (*got)[0];
    BOOST_TEST_REQUIRE(commit.size() == 3u);
    BOOST_TEST(commit[0].id == "r1");
    BOOST_TEST(commit[1].id == "r2");
    BOOST_TEST(commit[2].id == "r1");
    BOOST_TEST(commit[2].deleted);
    BOOST_TEST(commit[1].seq == 2u);
    BOOST_TEST_REQUIRE(commit[1].current.has_value());
    BOOST_TEST(*commit[1].current == make_record("r2", {{"a", 2}}));
    BOOST_TEST_REQUIRE((*got)[1].size() == 1u);
    BOOST_TEST((*got)[1][0].origin == peer_x);
    BOOST_TEST(!(*got)[1][0].local);
  }
}

BOOST_AUTO_TEST_CASE(commit_observer_unsubscribes_and_its_exception_is_dropped) {
  int calls = 0;
  auto thrower = db->subscribe_commits([](std::vector<change>&&) {
    throw std::runtime_error("observer bug");
  });
  auto counter = db->subscribe_commits([&](std::vector<change>&& cs) { calls += cs.size(); });
  auto o = BLAZE_OK(db->put("c", "r", {{"a", 1}}));
  BOOST_TEST(o.seq == 1u);
  BOOST_TEST(calls == 1);
  db->unsubscribe(counter);
  db->unsubscribe(thrower);
  BLAZE_OK(db->put("c", "r", {{"a", 2}}));
  BOOST_TEST(calls == 1);
  auto got = BLAZE_OK(db->get("c", "r"));
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(*got == make_record("r", {{"a", 2}}));
}

BOOST_AUTO_TEST_CASE(op_stamped_over_a_year_ahead_is_refused_and_nothing_is_stored) {
  using namespace std::chrono;
  auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  auto two_years = std::uint64_t{2} * 366 * 24 * 60 * 60 * 1000;
  auto far = remote_set(0xfeed, 1, make_hlc(now_ms + two_years, 0), "c", "r", {{"a", 1}});
  auto fine = remote_set(0xbeef, 1, make_hlc(now_ms + 1000, 0), "c", "q", {{"a", 2}});
  BLAZE_CHECK_ERRC(db->apply({fine, far}), errc::invalid_argument);
  BOOST_TEST(BLAZE_OK(db->count("c")) == 0u);
  BOOST_TEST(BLAZE_OK(db->ops_since({})).empty());
  BOOST_TEST(db->version().empty());
  // A clock a second ahead is ordinary skew: accepted, and local writes
  // made afterwards still win over it.
  BLAZE_OK(db->apply({fine}));
  auto local = BLAZE_OK(db->put("c", "q", {{"a", 3}}));
  BOOST_TEST(local.time > fine.time);
  BOOST_TEST(*BLAZE_OK(db->get("c", "q"))->field("a") == value{3});
}

BOOST_AUTO_TEST_SUITE_END()
