// The database actor answers the storage API by message and pushes changes
// to subscribed listeners; storage errors arrive as readable CAF errors.
#include "blaze/actors/database_actor.hpp"
#include "scratch_path.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <unistd.h>

using namespace blaze;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir() {
  return blaze_test::fresh_dir("actor");
}

struct actor_fixture {
  fs::path dir = fresh_dir();
  ::blaze::runtime::system_config cfg{runtime::scheduler_options{2, false}};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  actors::database_actor db;

  actor_fixture() { open(actors::placement::detached); }

  void open(actors::placement where) {
    open_options o;
    o.kdf_log2_n = 10;
    auto r = actors::open_database(sys, "test", dir, "pw", o, where);
    BOOST_REQUIRE(r.ok());
    db = *r;
  }

  // Closes the database and opens it again with its actor placed `where`.
  void reopen(actors::placement where) {
    self->send_exit(db, caf::exit_reason::user_shutdown);
    self->wait_for(db);
    open(where);
  }
  ~actor_fixture() {
    self->send_exit(db, caf::exit_reason::user_shutdown);
    self->wait_for(db);
    fs::remove_all(dir);
  }

  // Sends a request and returns the reply, or fails the test on an error.
  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    T out{};
    self->request(db, 5s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& e) { BOOST_FAIL("unexpected error: " << sys.render(e)); });
    return out;
  }
  template <class... Ts>
  caf::error ask_error(Ts&&... xs) {
    caf::error out;
    self->request(db, 5s, std::forward<Ts>(xs)...)
      .receive([&](const op&) { BOOST_FAIL("expected an error"); },
               [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(database_actor, actor_fixture)

// The cases run with either placement take `scheduled`: false, detached
// (the default); true, on the scheduler.
const auto both_placements = boost::unit_test::data::make({false, true});

actors::placement placement_of(bool scheduled) {
  return scheduled ? actors::placement::scheduled : actors::placement::detached;
}

BOOST_DATA_TEST_CASE_F(actor_fixture, put_get_count_and_find_by_message, both_placements,
                       scheduled) {
  reopen(placement_of(scheduled));
  auto o = ask<op>(put_atom_v, std::string{"notes"}, std::string{"n1"},
                   field_map{{"title", "hi"}, {"n", 3}});
  BOOST_TEST(o.seq == 1u);
  ask<op>(put_atom_v, std::string{"notes"}, std::string{"n2"}, field_map{{"n", 8}});
  auto got = ask<std::vector<record>>(get_atom_v, std::string{"notes"}, std::string{"n1"});
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST((*got[0].field("title") == value{"hi"}));
  auto missing = ask<std::vector<record>>(get_atom_v, std::string{"notes"}, std::string{"zz"});
  BOOST_TEST(missing.empty());
  BOOST_TEST(ask<std::uint64_t>(count_atom_v, std::string{"notes"}) == 2u);
  auto found = ask<std::vector<record>>(find_atom_v,
                                        query{"notes"}.when("n", compare_op::gt, 5));
  BOOST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].id == "n2");
  auto listed = ask<std::vector<record>>(list_atom_v, std::string{"notes"}, std::uint64_t{1},
                                         std::string{"n1"});
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].id == "n2");
}

BOOST_AUTO_TEST_CASE(remove_fields_and_erase_by_message) {
  ask<op>(put_atom_v, std::string{"c"}, std::string{"r"}, field_map{{"a", 1}, {"b", 2}});
  ask<op>(remove_fields_atom_v, std::string{"c"}, std::string{"r"},
          std::vector<std::string>{"a"});
  auto got = ask<std::vector<record>>(get_atom_v, std::string{"c"}, std::string{"r"});
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].fields.size() == 1u);
  auto e = ask<op>(erase_atom_v, std::string{"c"}, std::string{"r"});
  BOOST_TEST((e.kind == op_kind::erase));
  BOOST_TEST(ask<std::uint64_t>(count_atom_v, std::string{"c"}) == 0u);
}

BOOST_AUTO_TEST_CASE(storage_errors_come_back_as_blaze_errors) {
  auto e = ask_error(put_atom_v, std::string{"bad/name"}, std::string{"x"}, field_map{{"a", 1}});
  BOOST_REQUIRE(static_cast<bool>(e));
  auto back = runtime::from_caf_error(e);
  BOOST_TEST(static_cast<int>(back.code()) == static_cast<int>(errc::invalid_argument));
  auto nf = ask_error(erase_atom_v, std::string{"c"}, std::string{"nope"});
  BOOST_TEST(static_cast<int>(runtime::from_caf_error(nf).code())
             == static_cast<int>(errc::not_found));
  BOOST_TEST(ask<std::uint64_t>(count_atom_v, std::string{"c"}) == 0u);
}

BOOST_AUTO_TEST_CASE(ops_flow_between_two_database_actors) {
  open_options o;
  o.kdf_log2_n = 10;
  auto dir2 = fresh_dir();
  auto other = actors::open_database(sys, "other", dir2, "pw2", o);
  BOOST_REQUIRE(other.ok());
  for (int i = 0; i < 10; ++i)
    ask<op>(put_atom_v, std::string{"c"}, "r" + std::to_string(i), field_map{{"i", i}});
  version_vector have;
  self->request(*other, 5s, version_atom_v).receive([&](version_vector& v) { have = v; },
                                                    [&](caf::error&) { BOOST_FAIL("version"); });
  auto ops = ask<std::vector<op>>(ops_since_atom_v, have, std::uint64_t{0});
  BOOST_TEST(ops.size() == 10u);
  apply_stats stats;
  self->request(*other, 5s, apply_atom_v, ops)
    .receive([&](apply_stats& s) { stats = s; }, [&](caf::error&) { BOOST_FAIL("apply"); });
  BOOST_TEST(stats.applied == 10u);
  std::uint64_t n = 0;
  self->request(*other, 5s, count_atom_v, std::string{"c"})
    .receive([&](std::uint64_t x) { n = x; }, [&](caf::error&) { BOOST_FAIL("count"); });
  BOOST_TEST(n == 10u);
  self->send_exit(*other, caf::exit_reason::user_shutdown);
  self->wait_for(*other);
  fs::remove_all(dir2);
}

BOOST_DATA_TEST_CASE_F(actor_fixture, subscribers_receive_each_committed_change,
                       both_placements, scheduled) {
  reopen(placement_of(scheduled));
  auto listener = sys.spawn(
    [](actors::change_listener::pointer me, caf::actor sink)
      -> actors::change_listener::behavior_type {
      return {[=](const std::vector<change>& cs) {
        for (auto& c : cs)
          caf::anon_send(sink, c);
      }};
    },
    caf::actor{self});
  auto id = ask<std::uint64_t>(subscribe_atom_v, listener);
  BOOST_TEST(id > 0u);
  ask<op>(put_atom_v, std::string{"c"}, std::string{"a"}, field_map{{"x", 1}});
  ask<op>(erase_atom_v, std::string{"c"}, std::string{"a"});
  std::vector<change> seen;
  for (int i = 0; i < 2; ++i)
    self->receive([&](const change& c) { seen.push_back(c); },
                  caf::after(5s) >> [&] { BOOST_FAIL("no change notification"); });
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(!seen[0].deleted);
  BOOST_TEST(seen[0].local);
  BOOST_TEST(seen[1].deleted);
  self->send(db, unsubscribe_atom_v, id);
  ask<op>(put_atom_v, std::string{"c"}, std::string{"b"}, field_map{{"x", 2}});
  bool got_more = false;
  self->receive([&](const change&) { got_more = true; }, caf::after(200ms) >> [] {});
  BOOST_TEST(!got_more);
  self->send_exit(listener, caf::exit_reason::user_shutdown);
}

// A relay toward node X drops X's own ops: the database need not tell it of
// commits made only of them. A subscription told to leave out X hears of
// local writes and of commits that hold anything else, and of X's again
// once the filter is lifted.
BOOST_DATA_TEST_CASE_F(actor_fixture, a_subscription_can_leave_out_commits_of_one_origin,
                       both_placements, scheduled) {
  reopen(placement_of(scheduled));
  auto ops_of = [&](const char* name) {
    open_options o;
    o.kdf_log2_n = 10;
    auto other_dir = fresh_dir();
    auto other = database::open(name, other_dir, "pw", o);
    BOOST_REQUIRE(other.ok());
    for (int i = 0; i < 3; ++i)
      BOOST_REQUIRE((*other)->put("c", std::string{name} + std::to_string(i), {{"x", i}}).ok());
    auto ops = (*other)->ops_since({}, 0);
    BOOST_REQUIRE(ops.ok());
    BOOST_REQUIRE(ops->size() == 3u);
    auto id = (*other)->id();
    other->reset();
    fs::remove_all(other_dir);
    return std::make_pair(id, *ops);
  };
  auto [x, from_x] = ops_of("x");
  auto [y, from_y] = ops_of("y");
  auto listener = sys.spawn(
    [](actors::change_listener::pointer, caf::actor sink) -> actors::change_listener::behavior_type {
      return {[=](const std::vector<change>& cs) {
        std::vector<node_id> origins;
        for (auto& c : cs)
          origins.push_back(c.origin);
        caf::anon_send(sink, origins);
      }};
    },
    caf::actor{self});
  auto id = ask<std::uint64_t>(subscribe_atom_v, listener);
  self->send(db, subscribe_atom_v, id, x);
  auto next_commit = [&] {
    std::vector<node_id> got;
    self->receive([&](const std::vector<node_id>& origins) { got = origins; },
                  caf::after(300ms) >> [] {});
    return got;
  };
  ask<apply_stats>(apply_atom_v, std::vector<op>{from_x[0]});
  BOOST_TEST(next_commit().empty()); // only X's op: left out
  auto mine = ask<op>(put_atom_v, std::string{"c"}, std::string{"mine"}, field_map{{"x", 9}});
  BOOST_TEST(next_commit() == std::vector<node_id>{mine.origin});
  ask<apply_stats>(apply_atom_v, std::vector<op>{from_x[1], from_y[0]});
  BOOST_TEST(next_commit() == (std::vector<node_id>{x, y})); // mixed: told of all of it
  ask<apply_stats>(apply_atom_v, std::vector<op>{from_y[1]});
  BOOST_TEST(next_commit() == std::vector<node_id>{y});
  self->send(db, subscribe_atom_v, id, node_id{0});
  ask<apply_stats>(apply_atom_v, std::vector<op>{from_x[2]});
  BOOST_TEST(next_commit() == std::vector<node_id>{x});
  self->send_exit(listener, caf::exit_reason::user_shutdown);
}

// Writes queued together commit as one group: each still gets its own op
// (or its own error) in the order sent, and a read queued behind them sees
// every one of them.
BOOST_DATA_TEST_CASE_F(actor_fixture, queued_writes_commit_as_a_group_with_their_own_replies,
                       both_placements, scheduled) {
  reopen(placement_of(scheduled));
  constexpr int n = 200;
  using put_handle = decltype(self->request(db, 5s, put_atom_v, std::string{}, std::string{},
                                            field_map{}));
  std::vector<put_handle> puts;
  for (int i = 0; i < n; ++i) {
    // One invalid write in the middle fails alone.
    std::string coll = i == n / 2 ? "bad/name" : "c";
    puts.push_back(self->request(db, 5s, put_atom_v, coll, "r" + std::to_string(i % 50),
                                 field_map{{"i", i}}));
  }
  auto erase_missing = self->request(db, 5s, erase_atom_v, std::string{"c"},
                                     std::string{"missing"});
  auto count = self->request(db, 5s, count_atom_v, std::string{"c"});
  auto last = self->request(db, 5s, get_atom_v, std::string{"c"}, std::string{"r49"});
  std::uint64_t expected_seq = 1;
  for (int i = 0; i < n; ++i) {
    puts[i].receive(
      [&](const op& o) {
        BOOST_TEST(i != n / 2);
        BOOST_TEST(o.seq == expected_seq);
        BOOST_TEST(o.id == "r" + std::to_string(i % 50));
        ++expected_seq;
      },
      [&](caf::error& e) {
        BOOST_TEST(i == n / 2);
        BOOST_TEST(static_cast<int>(runtime::from_caf_error(e).code())
                   == static_cast<int>(errc::invalid_argument));
      });
  }
  BOOST_TEST(expected_seq == std::uint64_t{n});
  erase_missing.receive([&](const op&) { BOOST_FAIL("erased a missing record"); },
                        [&](caf::error& e) {
                          BOOST_TEST(static_cast<int>(runtime::from_caf_error(e).code())
                                     == static_cast<int>(errc::not_found));
                        });
  count.receive([&](std::uint64_t x) { BOOST_TEST(x == 50u); },
                [&](caf::error&) { BOOST_FAIL("count"); });
  last.receive(
    [&](std::vector<record>& got) {
      BOOST_REQUIRE(got.size() == 1u);
      BOOST_TEST((*got[0].field("i") == value{n - 1}));
    },
    [&](caf::error&) { BOOST_FAIL("get"); });
}

BOOST_AUTO_TEST_SUITE_END()
