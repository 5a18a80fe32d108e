// Replication: replicas that exchange ops in any order, with duplicates and
// gaps, end in the same state; conflicts resolve by (HLC, origin).
#include "codec.hpp"
#include "fixture.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include <leveldb/db.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>

using namespace blaze;
using namespace blaze::test;

namespace {

constexpr node_id low_origin = 0x10;  // loses ties
constexpr node_id high_origin = 0x20; // wins ties

hlc_time at(std::uint32_t offset_ms) {
  static const std::uint64_t base_ms = now_ms() - 60'000;
  return make_hlc(base_ms + offset_ms, 0);
}

struct replica {
  temp_dir dir;
  std::unique_ptr<database> db = open_store(dir.store(), "shared");
};

std::vector<op> own_ops(const database& db) {
  std::vector<op> out;
  for (auto& o : BLAZE_OK(db.ops_since({})))
    if (o.origin == db.id())
      out.push_back(o);
  return out;
}

// The state a replica ends with when `ops` arrive one at a time in `order`.
std::optional<record> replay(const std::vector<op>& ops, const std::vector<std::size_t>& order,
                             std::string_view collection, std::string_view id) {
  replica r;
  for (auto i : order)
    BLAZE_OK(r.db->apply({ops[i]}));
  return BLAZE_OK(r.db->get(collection, id));
}

// Applies `ops` to fresh replicas in every order, one op per apply, and
// checks that each ends with `expected`.
void check_every_order(const std::vector<op>& ops, const std::optional<record>& expected) {
  std::vector<std::size_t> order(ops.size());
  std::iota(order.begin(), order.end(), 0);
  do {
    std::string text;
    for (auto i : order)
      text += std::to_string(i) + " ";
    BOOST_TEST_CONTEXT("apply order " << text) {
      auto got = replay(ops, order, ops[0].collection, ops[0].id);
      BOOST_TEST_REQUIRE(got.has_value() == expected.has_value(),
                         (got ? "record exists: " + show(*got) : std::string{"record absent"}));
      if (expected)
        BOOST_TEST(*got == *expected);
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

// ---- the randomized scenario ----

const std::vector<std::string> collections{"c1", "c2"};
const std::vector<std::string> record_ids{"a", "b", "c", "d", "e"};
const std::vector<std::string> field_names{"f", "g", "h"};

struct random_history {
  std::mt19937_64 rng;
  std::vector<std::unique_ptr<replica>> replicas;

  explicit random_history(std::uint64_t seed, std::size_t n) : rng(seed) {
    for (std::size_t i = 0; i < n; ++i)
      replicas.push_back(std::make_unique<replica>());
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }

  value random_value() {
    switch (pick(4)) {
    case 0:
      return value{static_cast<std::int64_t>(pick(10))};
    case 1:
      return value{"s" + std::to_string(pick(10))};
    case 2:
      return value{pick(10) * 0.5};
    default:
      return value{};
    }
  }

  field_map random_fields() {
    field_map f;
    for (std::size_t k = 0, n = 1 + pick(2); k < n; ++k)
      f[field_names[pick(field_names.size())]] = random_value();
    return f;
  }

  void local_change(database& db) {
    const auto& coll = collections[pick(collections.size())];
    const auto& id = record_ids[pick(record_ids.size())];
    const bool exists = BLAZE_OK(db.get(coll, id)).has_value();
    const auto roll = pick(10);
    if (exists && roll < 2) {
      BLAZE_OK(db.erase(coll, id));
    } else if (exists && roll < 4) {
      std::vector<std::string> gone{field_names[pick(field_names.size())]};
      if (chance(0.5))
        gone.push_back(field_names[pick(field_names.size())]);
      BLAZE_OK(db.remove_fields(coll, id, gone));
    } else {
      BLAZE_OK(db.put(coll, id, random_fields()));
    }
  }

  // Sends `to` a random part of what `from` has that `to` lacks: may leave
  // gaps and reorders.
  void partial_sync(database& from, database& to) {
    auto ops = BLAZE_OK(from.ops_since(to.version()));
    std::vector<op> part;
    for (auto& o : ops)
      if (chance(0.6))
        part.push_back(o);
    std::shuffle(part.begin(), part.end(), rng);
    BLAZE_OK(to.apply(part));
  }

  // Everything to everyone: shuffled, with duplicates, in random batches.
  void deliver_all(database& to, const std::vector<op>& all) {
    std::vector<op> stream = all;
    for (auto& o : all)
      if (chance(0.3))
        stream.push_back(o);
    std::shuffle(stream.begin(), stream.end(), rng);
    std::size_t pos = 0;
    while (pos < stream.size()) {
      std::size_t n = std::min(stream.size() - pos, 1 + pick(8));
      std::vector<op> batch(stream.begin() + pos, stream.begin() + pos + n);
      auto st = BLAZE_OK(to.apply(batch));
      BOOST_TEST(st.applied + st.duplicates == n);
      pos += n;
    }
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(convergence)

BOOST_DATA_TEST_CASE(random_histories_converge,
                     boost::unit_test::data::make({11u, 22u, 33u, 44u, 55u, 66u, 77u, 88u, 99u,
                                                   111u, 222u, 333u, 444u, 555u, 666u, 777u}),
                     seed) {
  const std::size_t n = 3 + seed % 3;
  BOOST_TEST_MESSAGE("convergence seed " << seed << ", " << n << " replicas");
  BOOST_TEST_CONTEXT("seed " << seed << ", " << n << " replicas") {
    random_history h(seed, n);
    for (int round = 0; round < 4; ++round) {
      for (auto& r : h.replicas)
        for (std::size_t k = 0, m = 3 + h.pick(6); k < m; ++k)
          h.local_change(*r->db);
      for (std::size_t s = 0, m = h.pick(4); s < m; ++s) {
        auto from = h.pick(n), to = h.pick(n);
        if (from != to)
          h.partial_sync(*h.replicas[from]->db, *h.replicas[to]->db);
      }
    }

    std::vector<op> all;
    version_vector expected_version;
    for (auto& r : h.replicas) {
      auto mine = own_ops(*r->db);
      BOOST_TEST_REQUIRE(mine.size() == r->db->version().get(r->db->id()));
      expected_version.set(r->db->id(), mine.size());
      all.insert(all.end(), mine.begin(), mine.end());
    }
    // A replica that joins late and gets everything in one batch.
    h.replicas.push_back(std::make_unique<replica>());
    BLAZE_OK(h.replicas.back()->db->apply(all));
    for (std::size_t i = 0; i + 1 < h.replicas.size(); ++i)
      h.deliver_all(*h.replicas[i]->db, all);

    auto& reference = *h.replicas.front()->db;
    std::size_t total_records = 0;
    for (auto& coll : collections)
      total_records += BLAZE_OK(reference.list(coll)).size();
    BOOST_TEST(total_records > 0u, "degenerate history: nothing survived");
    for (std::size_t i = 0; i < h.replicas.size(); ++i) {
      auto& db = *h.replicas[i]->db;
      BOOST_TEST_CONTEXT("replica " << i) {
        BOOST_TEST(db.version() == expected_version);
        for (auto& coll : collections) {
          BOOST_TEST_CONTEXT("collection " << coll) {
            auto mine = BLAZE_OK(db.list(coll));
            BOOST_TEST(mine == BLAZE_OK(reference.list(coll)), boost::test_tools::per_element());
            BOOST_TEST(BLAZE_OK(db.count(coll)) == mine.size());
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(same_batch_twice_is_all_duplicates) {
  replica a, b;
  for (int i = 0; i < 5; ++i)
    BLAZE_OK(a.db->put("c", "r" + std::to_string(i % 2), {{"i", i}}));
  auto ops = BLAZE_OK(a.db->ops_since({}));
  BOOST_TEST_REQUIRE(ops.size() == 5u);
  auto first = BLAZE_OK(b.db->apply(ops));
  BOOST_TEST(first.applied == 5u);
  BOOST_TEST(first.duplicates == 0u);
  const auto state = BLAZE_OK(b.db->list("c"));
  auto second = BLAZE_OK(b.db->apply(ops));
  BOOST_TEST(second.applied == 0u);
  BOOST_TEST(second.duplicates == 5u);
  BOOST_TEST(BLAZE_OK(b.db->list("c")) == state, boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(b.db->ops_since({})).size() == 5u);
}

// A relay asks for what its sink lacks with the sink's own origin marked
// complete (the largest seq): none of that origin's ops, the others' as
// usual. (The largest seq + 1 wraps to 0: read naively, it would return
// the origin's whole log.)
BOOST_AUTO_TEST_CASE(ops_since_skips_an_origin_marked_complete) {
  replica a, b, c;
  for (int i = 0; i < 3; ++i) {
    BLAZE_OK(a.db->put("c", "a" + std::to_string(i), {{"i", i}}));
    BLAZE_OK(b.db->put("c", "b" + std::to_string(i), {{"i", i}}));
  }
  BLAZE_OK(c.db->apply(BLAZE_OK(a.db->ops_since({}))));
  BLAZE_OK(c.db->apply(BLAZE_OK(b.db->ops_since({}))));
  version_vector have;
  have.set(b.db->id(), std::numeric_limits<std::uint64_t>::max());
  have.set(a.db->id(), 1);
  auto ops = BLAZE_OK(c.db->ops_since(have));
  BOOST_TEST_REQUIRE(ops.size() == 2u);
  for (auto& o : ops)
    BOOST_TEST(o.origin == a.db->id());
  BOOST_TEST(ops[0].seq == 2u);
}

BOOST_AUTO_TEST_CASE(overlapping_batches_count_only_new_ops) {
  replica a, b;
  for (int i = 0; i < 5; ++i)
    BLAZE_OK(a.db->put("c", "r", {{"i", i}}));
  auto ops = BLAZE_OK(a.db->ops_since({}));
  BLAZE_OK(b.db->apply({ops.begin(), ops.begin() + 3}));
  auto st = BLAZE_OK(b.db->apply(ops));
  BOOST_TEST(st.applied == 2u);
  BOOST_TEST(st.duplicates == 3u);
}

BOOST_AUTO_TEST_CASE(duplicate_within_one_batch_counts_once) {
  replica a, b;
  auto o1 = BLAZE_OK(a.db->put("c", "r", {{"i", 1}}));
  auto o2 = BLAZE_OK(a.db->put("c", "r", {{"i", 2}}));
  auto st = BLAZE_OK(b.db->apply({o1, o2, o1}));
  BOOST_TEST(st.applied == 2u);
  BOOST_TEST(st.duplicates == 1u);
  BOOST_TEST(b.db->version().get(a.db->id()) == 2u);
}

BOOST_AUTO_TEST_CASE(own_ops_applied_back_are_duplicates) {
  replica a;
  BLAZE_OK(a.db->put("c", "r", {{"i", 1}}));
  BLAZE_OK(a.db->erase("c", "r"));
  auto st = BLAZE_OK(a.db->apply(BLAZE_OK(a.db->ops_since({}))));
  BOOST_TEST(st.applied == 0u);
  BOOST_TEST(st.duplicates == 2u);
  BOOST_TEST(!BLAZE_OK(a.db->get("c", "r")).has_value());
}

BOOST_AUTO_TEST_CASE(gap_converges_and_version_waits_for_it) {
  replica a, b;
  BLAZE_OK(a.db->put("c", "r", {{"x", 1}}));
  BLAZE_OK(a.db->put("c", "r", {{"y", 2}}));
  BLAZE_OK(a.db->put("c", "s", {{"z", 3}}));
  BLAZE_OK(a.db->remove_field("c", "r", "x"));
  auto ops = BLAZE_OK(a.db->ops_since({}));
  BOOST_TEST_REQUIRE(ops.size() == 4u);
  const node_id origin = a.db->id();

  BOOST_TEST(BLAZE_OK(b.db->apply({ops[3], ops[2]})).applied == 2u);
  BOOST_TEST(b.db->version().get(origin) == 0u);
  BOOST_TEST(BLAZE_OK(b.db->apply({ops[0]})).applied == 1u);
  BOOST_TEST(b.db->version().get(origin) == 1u);
  BOOST_TEST(BLAZE_OK(b.db->apply({ops[1]})).applied == 1u);
  BOOST_TEST(b.db->version().get(origin) == 4u);

  BOOST_TEST(BLAZE_OK(b.db->list("c")) == BLAZE_OK(a.db->list("c")),
             boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(b.db->list("c")) ==
                 (std::vector<record>{make_record("r", {{"y", 2}}), make_record("s", {{"z", 3}})}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gap_is_remembered_across_reopen) {
  replica a;
  temp_dir bdir;
  for (int i = 0; i < 4; ++i)
    BLAZE_OK(a.db->put("c", "r" + std::to_string(i), {{"i", i}}));
  auto ops = BLAZE_OK(a.db->ops_since({}));
  const node_id origin = a.db->id();
  {
    auto b = open_store(bdir.store(), "shared");
    BLAZE_OK(b->apply({ops[2], ops[3]}));
    BOOST_TEST(b->version().get(origin) == 0u);
  }
  auto b = open_store(bdir.store(), "shared");
  BOOST_TEST(b->version().get(origin) == 0u);
  auto st = BLAZE_OK(b->apply({ops[0], ops[1], ops[2]}));
  BOOST_TEST(st.applied == 2u);
  BOOST_TEST(st.duplicates == 1u);
  BOOST_TEST(b->version().get(origin) == 4u);
  BOOST_TEST(BLAZE_OK(b->list("c")) == BLAZE_OK(a.db->list("c")), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(applied_ops_and_version_survive_reopen) {
  replica a;
  temp_dir bdir;
  BLAZE_OK(a.db->put("c", "r", {{"x", 1}}));
  BLAZE_OK(a.db->put("c", "s", {{"y", 2}}));
  BLAZE_OK(a.db->erase("c", "r"));
  const auto ops = BLAZE_OK(a.db->ops_since({}));
  {
    auto b = open_store(bdir.store(), "shared");
    BLAZE_OK(b->apply(ops));
  }
  auto b = open_store(bdir.store(), "shared");
  BOOST_TEST(b->version().get(a.db->id()) == 3u);
  BOOST_TEST(BLAZE_OK(b->ops_since({})) == ops, boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(b->list("c")) == BLAZE_OK(a.db->list("c")), boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(b->apply(ops)).duplicates == 3u);
}

// A crash, as the next open sees it: the store's files as they are while
// it is open (nothing a clean close writes).
std::filesystem::path copy_while_open(const std::filesystem::path& store,
                                      const std::filesystem::path& to) {
  std::filesystem::copy(store, to, std::filesystem::copy_options::recursive);
  return to;
}

// The store's version-vector checkpoint of `origin`, read without Blaze
// (sealed: only its presence is checked).
bool has_checkpoint(const std::filesystem::path& path, node_id origin) {
  leveldb::DB* raw = nullptr;
  auto s = leveldb::DB::Open(leveldb::Options{}, path.string(), &raw);
  BOOST_TEST_REQUIRE(s.ok(), "raw LevelDB open failed: " << s.ToString());
  std::unique_ptr<leveldb::DB> guard{raw};
  std::string key{"v"};
  detail::put_fixed64(key, origin);
  std::string value;
  s = raw->Get(leveldb::ReadOptions{}, key, &value);
  BOOST_TEST_REQUIRE((s.ok() || s.IsNotFound()), s.ToString());
  return s.ok();
}

BOOST_AUTO_TEST_CASE(applied_ops_survive_a_crash_before_the_version_checkpoint) {
  // apply() checkpoints an origin's frontier only every so many ops; the
  // op log is the truth, and open() reads on from the checkpoint.
  replica a;
  temp_dir bdir, crashed;
  for (int i = 0; i < 8; ++i)
    BLAZE_OK(a.db->put("c", "r" + std::to_string(i % 3), {{"i", i}}));
  const auto ops = BLAZE_OK(a.db->ops_since({}));
  const node_id origin = a.db->id();
  auto b = open_store(bdir.store(), "shared");
  BLAZE_OK(b->apply({ops[0], ops[1], ops[2]}));
  BLAZE_OK(b->apply({ops[3]}));
  BLAZE_OK(b->apply({ops[6]})); // past a gap: 5 and 6 missing
  BOOST_TEST(b->version().get(origin) == 4u);
  auto copy = copy_while_open(bdir.store(), crashed.root() / "copy");
  BOOST_TEST(!has_checkpoint(copy, origin), "a handful of ops wrote a checkpoint");

  auto after = open_store(copy, "shared");
  BOOST_TEST(after->version().get(origin) == 4u);
  BOOST_TEST(BLAZE_OK(after->ops_since({})).size() == 5u);
  auto st = BLAZE_OK(after->apply(ops));
  BOOST_TEST(st.applied == 3u);
  BOOST_TEST(st.duplicates == 5u);
  BOOST_TEST(after->version().get(origin) == 8u);
  BOOST_TEST(BLAZE_OK(after->list("c")) == BLAZE_OK(a.db->list("c")),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(version_checkpoints_are_written_as_the_frontier_moves_and_on_close) {
  replica a;
  temp_dir bdir, crashed;
  for (int i = 0; i < 1100; ++i)
    BLAZE_OK(a.db->put("c", "r" + std::to_string(i % 50), {{"i", i}}));
  const auto ops = BLAZE_OK(a.db->ops_since({}));
  const node_id origin = a.db->id();
  {
    auto b = open_store(bdir.store(), "shared");
    for (std::size_t i = 0; i < 1000; ++i)
      BLAZE_OK(b->apply({ops[i]}));
    BOOST_TEST(!has_checkpoint(copy_while_open(bdir.store(), crashed.root() / "early"), origin));
    for (std::size_t i = 1000; i < ops.size(); ++i)
      BLAZE_OK(b->apply({ops[i]}));
    // Past the interval: checkpointed without a close.
    auto copy = copy_while_open(bdir.store(), crashed.root() / "late");
    BOOST_TEST(has_checkpoint(copy, origin));
    auto after = open_store(copy, "shared");
    BOOST_TEST(after->version().get(origin) == 1100u);
  }
  // Closed (which checkpoints the rest) and reopened with everything.
  auto b = open_store(bdir.store(), "shared");
  BOOST_TEST(b->version().get(origin) == 1100u);
  BOOST_TEST(BLAZE_OK(b->apply(ops)).duplicates == 1100u);
  BOOST_TEST(BLAZE_OK(b->list("c")) == BLAZE_OK(a.db->list("c")), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(later_erase_beats_earlier_put) {
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", 1}}),
                     remote_set(low_origin, 2, at(5), "c", "r", {{"b", 2}}),
                     remote_erase(high_origin, 1, at(10), "c", "r")},
                    std::nullopt);
}

BOOST_AUTO_TEST_CASE(put_after_erase_revives_record_with_only_newer_fields) {
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", 1}}),
                     remote_erase(high_origin, 1, at(10), "c", "r"),
                     remote_set(low_origin, 2, at(20), "c", "r", {{"b", 2}})},
                    make_record("r", {{"b", 2}}));
}

BOOST_AUTO_TEST_CASE(put_and_erase_at_same_time_resolve_by_origin) {
  // Same HLC: the higher origin wins.
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", 1}}),
                     remote_erase(high_origin, 1, at(0), "c", "r")},
                    std::nullopt);
  check_every_order({remote_set(high_origin, 1, at(0), "c", "r", {{"a", 1}}),
                     remote_erase(low_origin, 1, at(0), "c", "r")},
                    make_record("r", {{"a", 1}}));
}

BOOST_AUTO_TEST_CASE(concurrent_writes_to_one_field_keep_the_later) {
  check_every_order({remote_set(low_origin, 1, at(5), "c", "r", {{"a", "low"}}),
                     remote_set(high_origin, 1, at(3), "c", "r", {{"a", "high"}})},
                    make_record("r", {{"a", "low"}}));
}

BOOST_AUTO_TEST_CASE(concurrent_writes_at_same_time_resolve_by_origin) {
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", "low"}}),
                     remote_set(high_origin, 1, at(0), "c", "r", {{"a", "high"}})},
                    make_record("r", {{"a", "high"}}));
}

BOOST_AUTO_TEST_CASE(concurrent_writes_to_different_fields_merge) {
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", 1}}),
                     remote_set(high_origin, 1, at(1), "c", "r", {{"b", 2}}),
                     remote_set(low_origin, 2, at(2), "c", "r", {{"c", 3}})},
                    make_record("r", {{"a", 1}, {"b", 2}, {"c", 3}}));
}

BOOST_AUTO_TEST_CASE(field_removal_and_write_resolve_by_stamp) {
  // The removal is newer than the concurrent write of the same field.
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", 1}, {"b", 1}}),
                     remote_set(high_origin, 1, at(5), "c", "r", {}, {"a"}),
                     remote_set(low_origin, 2, at(3), "c", "r", {{"a", 2}})},
                    make_record("r", {{"b", 1}}));
  // The write is newer than the removal.
  check_every_order({remote_set(low_origin, 1, at(0), "c", "r", {{"a", 1}, {"b", 1}}),
                     remote_set(high_origin, 1, at(5), "c", "r", {}, {"a"}),
                     remote_set(low_origin, 2, at(7), "c", "r", {{"a", 2}})},
                    make_record("r", {{"a", 2}, {"b", 1}}));
}

BOOST_AUTO_TEST_CASE(local_write_after_remote_write_is_stamped_later) {
  // The remote clock runs 2 s ahead; a local write made after seeing its op
  // must still win (the HLC moves past every time it has seen).
  replica a, b;
  const auto ahead = make_hlc(now_ms() + 2000, 0);
  const op remote = remote_set(high_origin, 1, ahead, "c", "r", {{"a", "remote"}});
  BLAZE_OK(a.db->apply({remote}));
  auto local = BLAZE_OK(a.db->put("c", "r", {{"a", "local"}}));
  BOOST_TEST(local.time > remote.time);
  BLAZE_OK(b.db->apply({local, remote}));
  for (auto* db : {a.db.get(), b.db.get()}) {
    auto got = BLAZE_OK(db->get("c", "r"));
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(*got == make_record("r", {{"a", "local"}}));
  }
}

BOOST_AUTO_TEST_CASE(ops_travel_over_multiple_hops) {
  replica a, b, c;
  BLAZE_OK(a.db->put("c", "from-a", {{"v", 1}}));
  BLAZE_OK(a.db->put("c", "from-a", {{"w", 2}}));
  BLAZE_OK(a.db->put("c", "gone", {{"v", 0}}));
  BLAZE_OK(a.db->erase("c", "gone"));
  BLAZE_OK(b.db->put("c", "from-b", {{"v", 3}}));

  BLAZE_OK(b.db->apply(BLAZE_OK(a.db->ops_since(b.db->version()))));
  BLAZE_OK(c.db->apply(BLAZE_OK(b.db->ops_since(c.db->version()))));

  version_vector expected;
  expected.set(a.db->id(), 4);
  expected.set(b.db->id(), 1);
  BOOST_TEST(c.db->version() == expected);
  // C holds A's ops exactly as A made them.
  std::vector<op> a_ops_at_c;
  for (auto& o : BLAZE_OK(c.db->ops_since({})))
    if (o.origin == a.db->id())
      a_ops_at_c.push_back(o);
  BOOST_TEST(a_ops_at_c == BLAZE_OK(a.db->ops_since({})), boost::test_tools::per_element());
  BOOST_TEST(BLAZE_OK(c.db->list("c")) ==
                 (std::vector<record>{make_record("from-a", {{"v", 1}, {"w", 2}}),
                                      make_record("from-b", {{"v", 3}})}),
             boost::test_tools::per_element());
  // And back: A learns B's op through C.
  BLAZE_OK(a.db->apply(BLAZE_OK(c.db->ops_since(a.db->version()))));
  BOOST_TEST(a.db->version() == expected);
  BOOST_TEST(BLAZE_OK(a.db->list("c")) == BLAZE_OK(c.db->list("c")),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
