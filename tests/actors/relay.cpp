// Relays carry ops one way between database actors: everything arrives,
// nothing echoes back to its origin, a slow sink bounds what is in flight,
// and a replacement relay resumes from the sink's version vector.
#include "blaze/actors/relay.hpp"
#include "scratch_path.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unistd.h>

using namespace blaze;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir() {
  return blaze_test::fresh_dir("relay");
}

// What a spy sink saw, read by the test thread.
struct sink_probe {
  std::atomic<std::size_t> in_flight{0};     // ops received, not yet acknowledged
  std::atomic<std::size_t> max_in_flight{0}; // the largest in_flight seen
  std::atomic<std::size_t> batches{0};
  std::atomic<std::size_t> ops{0};
  std::atomic<std::size_t> applied{0};
  std::atomic<std::size_t> duplicates{0};
  std::atomic<std::size_t> echoes{0}; // ops whose origin is the sink itself
};

using release_atom = caf::atom_constant<caf::atom("release")>;

// An op sink in front of a database actor that records what it receives
// and can hold each acknowledgement back for a while (a slow peer).
using spy_sink = actors::op_sink::extend<caf::reacts_to<release_atom, std::uint64_t>>;

struct spy_state {
  actors::database_actor db;
  node_id node = 0;
  std::shared_ptr<sink_probe> probe;
  std::chrono::milliseconds delay{0};
  std::uint64_t next_token = 0;
  struct held_ack {
    caf::typed_response_promise<apply_stats> promise;
    apply_stats stats;
    std::size_t ops;
  };
  std::map<std::uint64_t, held_ack> held;
  static inline const char* name = "test.spy_sink";

  void acknowledge(held_ack& h) {
    probe->in_flight -= h.ops;
    h.promise.deliver(h.stats);
  }
};

spy_sink::behavior_type spy_behavior(spy_sink::stateful_pointer<spy_state> self,
                                     actors::database_actor db, node_id node,
                                     std::shared_ptr<sink_probe> probe,
                                     std::chrono::milliseconds delay) {
  auto& st = self->state;
  st.db = std::move(db);
  st.node = node;
  st.probe = std::move(probe);
  st.delay = delay;
  return {
    [self](apply_atom, std::vector<op>& ops) -> caf::typed_response_promise<apply_stats> {
      auto& st = self->state;
      auto& p = *st.probe;
      auto n = ops.size();
      for (auto& o : ops)
        if (o.origin == st.node)
          ++p.echoes;
      auto now = (p.in_flight += n);
      if (now > p.max_in_flight)
        p.max_in_flight = now;
      ++p.batches;
      p.ops += n;
      auto rp = self->make_response_promise<apply_stats>();
      self->request(st.db, caf::infinite, apply_atom_v, std::move(ops))
        .then(
          [self, rp, n](const apply_stats& s) mutable {
            auto& st = self->state;
            st.probe->applied += s.applied;
            st.probe->duplicates += s.duplicates;
            spy_state::held_ack h{rp, s, n};
            if (st.delay.count() == 0) {
              st.acknowledge(h);
              return;
            }
            auto token = st.next_token++;
            st.held.emplace(token, std::move(h));
            self->delayed_send(self, st.delay, release_atom::value, token);
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [self](version_atom) -> caf::typed_response_promise<version_vector> {
      auto rp = self->make_response_promise<version_vector>();
      self->request(self->state.db, caf::infinite, version_atom_v)
        .then([rp](version_vector& v) mutable { rp.deliver(std::move(v)); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [self](node_atom) -> node_id { return self->state.node; },
    [self](release_atom, std::uint64_t token) {
      auto& held = self->state.held;
      auto i = held.find(token);
      if (i == held.end())
        return;
      self->state.acknowledge(i->second);
      held.erase(i);
    },
  };
}

struct replica {
  actors::database_actor actor;
  node_id id = 0;
};

// When a database's changes were seen: the first and the last
// notification, and how many changes in all.
struct change_clock {
  std::mutex mu;
  std::optional<std::chrono::steady_clock::time_point> first, last;
  std::size_t changes = 0;
};

actors::change_listener::behavior_type clock_listener(actors::change_listener::pointer,
                                                      std::shared_ptr<change_clock> clock) {
  return {[clock](const std::vector<change>& cs) {
    std::lock_guard<std::mutex> g{clock->mu};
    auto now = std::chrono::steady_clock::now();
    if (!clock->first)
      clock->first = now;
    clock->last = now;
    clock->changes += cs.size();
  }};
}

struct relay_fixture {
  ::blaze::runtime::system_config cfg{runtime::scheduler_options{2, false}};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<fs::path> dirs;
  std::vector<actors::database_actor> databases;
  std::vector<actors::relay_actor> relays;
  std::vector<spy_sink> spies;

  ~relay_fixture() {
    // Relays first (they monitor the rest), then the sinks, then the stores.
    for (auto& r : relays)
      self->send_exit(r, caf::exit_reason::user_shutdown);
    for (auto& r : relays)
      self->wait_for(r);
    for (auto& s : spies)
      self->send_exit(s, caf::exit_reason::user_shutdown);
    for (auto& s : spies)
      self->wait_for(s);
    for (auto& d : databases)
      self->send_exit(d, caf::exit_reason::user_shutdown);
    for (auto& d : databases)
      self->wait_for(d);
    for (auto& d : dirs)
      fs::remove_all(d);
  }

  template <class T, class Handle, class... Ts>
  T ask(const Handle& h, Ts&&... xs) {
    T out{};
    self->request(h, 30s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& e) { BOOST_FAIL("unexpected error: " << sys.render(e)); });
    return out;
  }

  replica open(const std::string& name,
               actors::placement where = actors::placement::detached) {
    open_options o;
    o.kdf_log2_n = 10;
    dirs.push_back(fresh_dir());
    auto r = actors::open_database(sys, name, dirs.back(), "pw", o, where);
    BOOST_REQUIRE(r.ok());
    databases.push_back(*r);
    replica out{*r, 0};
    out.id = ask<node_id>(out.actor, node_atom_v);
    return out;
  }

  // A spy in front of `r`; `delay` holds each acknowledgement back.
  actors::op_sink spy(const replica& r, std::shared_ptr<sink_probe> probe,
                      std::chrono::milliseconds delay = 0ms) {
    auto s = sys.spawn(spy_behavior, r.actor, r.id, std::move(probe), delay);
    spies.push_back(s);
    return s;
  }

  actors::relay_actor relay(const replica& from, actors::op_sink to,
                            actors::relay_options options = {}, caf::actor supervisor = {}) {
    auto r = actors::spawn_relay(sys, from.actor, std::move(to), options, std::move(supervisor));
    relays.push_back(r);
    return r;
  }

  // Asynchronous write: many of them queue up in the database's mailbox.
  void put_async(const replica& r, const std::string& coll, const std::string& id,
                 field_map fields) {
    caf::anon_send(r.actor, put_atom_v, coll, id, std::move(fields));
  }
  op put(const replica& r, const std::string& coll, const std::string& id, field_map fields) {
    return ask<op>(r.actor, put_atom_v, coll, id, std::move(fields));
  }
  version_vector version(const replica& r) { return ask<version_vector>(r.actor, version_atom_v); }
  std::vector<record> list(const replica& r, const std::string& coll) {
    return ask<std::vector<record>>(r.actor, list_atom_v, coll, std::uint64_t{0}, std::string{});
  }
  std::uint64_t count(const replica& r, const std::string& coll) {
    return ask<std::uint64_t>(r.actor, count_atom_v, coll);
  }

  // Polls until `pred` holds; false on timeout.
  template <class Pred>
  bool eventually(Pred pred, std::chrono::seconds timeout = 60s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  // Waits until every replica has every op any of them wrote.
  bool converged(const std::vector<replica>& rs, std::chrono::seconds timeout = 60s) {
    return eventually(
      [&] {
        version_vector all;
        std::vector<version_vector> vs;
        for (auto& r : rs) {
          vs.push_back(version(r));
          all.set(r.id, vs.back().get(r.id));
        }
        return std::all_of(vs.begin(), vs.end(), [&](auto& v) { return v == all; });
      },
      timeout);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(relay, relay_fixture)

BOOST_AUTO_TEST_CASE(one_way_relay_carries_source_writes_and_nothing_back) {
  auto a = open("a");
  auto b = open("b");
  for (int i = 0; i < 50; ++i)
    put(a, "notes", "n" + std::to_string(i), field_map{{"i", i}, {"phase", "before"}});
  for (int i = 0; i < 20; ++i)
    put(b, "local", "l" + std::to_string(i), field_map{{"i", i}});
  auto probe = std::make_shared<sink_probe>();
  actors::relay_options options;
  options.report_interval = 50ms;
  auto r = relay(a, spy(b, probe), options, caf::actor{self});
  for (int i = 50; i < 100; ++i)
    put(a, "notes", "n" + std::to_string(i), field_map{{"i", i}, {"phase", "after"}});
  put(b, "local", "l-late", field_map{{"x", 1}});
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == 100u; }));
  BOOST_TEST((list(b, "notes") == list(a, "notes")));
  // One way: B's writes stay on B.
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(version(a).get(b.id) == 0u);
  BOOST_TEST(count(a, "local") == 0u);
  BOOST_TEST(probe->echoes == 0u);
  BOOST_TEST(probe->duplicates == 0u);
  BOOST_TEST(probe->ops == 100u);
  // The relay answers for its progress, and reports it to the supervisor.
  auto stats = ask<relay_stats>(r, stats_atom_v);
  BOOST_TEST(stats.ops_relayed == 100u);
  BOOST_TEST(stats.lag == 0u);
  BOOST_TEST(stats.acked.get(a.id) == 100u);
  bool reported = false;
  for (int i = 0; i < 100 && !reported; ++i)
    self->receive(
      [&](stats_atom, const actors::relay_actor& from, const relay_stats& s) {
        BOOST_TEST((from == r));
        reported = s.acked.get(a.id) == 100u && s.lag == 0u;
      },
      caf::after(5s) >> [&] { i = 100; });
  BOOST_TEST(reported);
}

BOOST_AUTO_TEST_CASE(two_relays_converge_concurrent_writes_without_echo) {
  auto a = open("a");
  auto b = open("b");
  auto probe_a = std::make_shared<sink_probe>();
  auto probe_b = std::make_shared<sink_probe>();
  relay(a, spy(b, probe_b));
  relay(b, spy(a, probe_a));
  // Both sides write the same records at the same time (conflicts), plus
  // records of their own.
  for (int i = 0; i < 500; ++i) {
    auto id = "r" + std::to_string(i % 40);
    put_async(a, "shared", id, field_map{{"by", "a"}, {"i", i}});
    put_async(b, "shared", id, field_map{{"by", "b"}, {"i", i}});
    if (i % 5 == 0) {
      put_async(a, "shared", "a" + std::to_string(i), field_map{{"x", i}});
      put_async(b, "shared", "b" + std::to_string(i), field_map{{"x", i}});
    }
  }
  BOOST_REQUIRE(converged({a, b}));
  BOOST_TEST(version(a).get(a.id) == 600u);
  auto la = list(a, "shared");
  BOOST_TEST(la.size() == 240u);
  BOOST_TEST((la == list(b, "shared")));
  // Each relay filters ops that originated at its sink: neither spy may see
  // its own node's ops, and nothing arrives twice.
  BOOST_TEST(probe_a->echoes == 0u);
  BOOST_TEST(probe_b->echoes == 0u);
  BOOST_TEST(probe_a->duplicates == 0u);
  BOOST_TEST(probe_b->duplicates == 0u);
  BOOST_TEST(probe_a->ops == 600u);
  BOOST_TEST(probe_b->ops == 600u);
}

BOOST_AUTO_TEST_CASE(chain_carries_ops_through_the_middle) {
  auto a = open("a");
  auto b = open("b");
  auto c = open("c");
  relay(a, b.actor);
  relay(b, c.actor);
  for (int i = 0; i < 300; ++i)
    put_async(a, "c", "r" + std::to_string(i), field_map{{"i", i}});
  put(b, "c", "from-b", field_map{{"x", 1}});
  BOOST_REQUIRE(eventually([&] {
    auto v = version(c);
    return v.get(a.id) == 300u && v.get(b.id) == 1u;
  }));
  BOOST_TEST((list(c, "c") == list(b, "c")));
  BOOST_TEST(count(c, "c") == 301u);
  BOOST_TEST(version(a).get(b.id) == 0u);
}

// Run twice: with detached database actors (the default), and with two of
// the three on the scheduler (actors::placement::scheduled), next to a
// detached one.
BOOST_DATA_TEST_CASE_F(relay_fixture, triangle_of_six_relays_converges_random_writes,
                       boost::unit_test::data::make({false, true}), scheduled) {
  auto on_scheduler = scheduled ? actors::placement::scheduled : actors::placement::detached;
  auto a = open("a", on_scheduler);
  auto b = open("b", on_scheduler);
  auto c = open("c");
  std::vector<replica> rs{a, b, c};
  std::vector<std::shared_ptr<sink_probe>> probes;
  actors::relay_options options;
  options.max_batch = 64;
  for (auto& from : rs)
    for (auto& to : rs)
      if (from.id != to.id) {
        probes.push_back(std::make_shared<sink_probe>());
        relay(from, spy(to, probes.back()), options);
      }
  std::mt19937 rng{20240611};
  std::uniform_int_distribution<int> pick_replica{0, 2}, pick_id{0, 99}, pick_kind{0, 9},
    pick_value{0, 1000000};
  for (int i = 0; i < 3000; ++i) {
    auto& r = rs[pick_replica(rng)];
    auto id = "r" + std::to_string(pick_id(rng));
    auto kind = pick_kind(rng);
    if (kind == 0)
      caf::anon_send(r.actor, erase_atom_v, std::string{"t"}, id); // may be not_found: no op
    else if (kind == 1)
      caf::anon_send(r.actor, remove_fields_atom_v, std::string{"t"}, id,
                     std::vector<std::string>{"v"});
    else
      put_async(r, "t", id, field_map{{"v", pick_value(rng)}, {"w", kind}});
  }
  bool ok = converged(rs, 90s);
  if (!ok) { // what each replica has and each relay acknowledged
    for (auto& r : rs) {
      auto v = version(r);
      for (auto& [o, s] : v.entries())
        BOOST_TEST_MESSAGE("replica " << to_hex(r.id) << " has " << to_hex(o) << ":" << s);
    }
    for (auto& rl : relays) {
      auto st = ask<relay_stats>(rl, stats_atom_v);
      BOOST_TEST_MESSAGE("relay relayed " << st.ops_relayed << " lag " << st.lag << " batches "
                                          << st.batches);
      for (auto& [o, s] : st.acked.entries())
        BOOST_TEST_MESSAGE("  acked " << to_hex(o) << ":" << s);
    }
  }
  BOOST_REQUIRE(ok);
  auto la = list(a, "t");
  BOOST_TEST((la == list(b, "t")));
  BOOST_TEST((la == list(c, "t")));
  BOOST_TEST(!la.empty());
  // Ops reach a replica along two paths (duplicates are expected here), but
  // never from the replica itself.
  for (auto& p : probes)
    BOOST_TEST(p->echoes == 0u);
}

BOOST_AUTO_TEST_CASE(slow_sink_never_has_more_than_a_window_in_flight) {
  auto a = open("a");
  auto b = open("b");
  auto probe = std::make_shared<sink_probe>();
  actors::relay_options options;
  options.max_batch = 16;
  options.window = 16; // one full batch in flight at most
  for (int i = 0; i < 300; ++i)
    put_async(a, "c", "r" + std::to_string(i), field_map{{"i", i}});
  auto r = relay(a, spy(b, probe, 5ms), options);
  // Caught up, the relay forwards live writes, which come faster than the
  // sink acknowledges: they queue up to a window, the rest waits in the log.
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == 300u; }));
  for (int i = 300; i < 600; ++i)
    put(a, "c", "r" + std::to_string(i), field_map{{"i", i}});
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == 600u; }));
  BOOST_TEST((list(b, "c") == list(a, "c")));
  BOOST_TEST(probe->max_in_flight <= 16u);
  BOOST_TEST(probe->max_in_flight > 0u);
  BOOST_TEST(probe->batches >= 600u / 16u);
  BOOST_TEST(probe->duplicates == 0u);
  BOOST_REQUIRE(eventually([&] { return ask<relay_stats>(r, stats_atom_v).lag == 0u; }));
}

BOOST_AUTO_TEST_CASE(pipelined_batches_stay_within_the_window) {
  auto a = open("a");
  auto b = open("b");
  auto probe = std::make_shared<sink_probe>();
  actors::relay_options options;
  options.max_batch = 16;
  options.window = 40; // more than one batch, not a whole number of them
  options.max_batches_in_flight = 4;
  for (int i = 0; i < 400; ++i)
    put_async(a, "c", "r" + std::to_string(i), field_map{{"i", i}});
  // A sink slow enough that the next reads come back while a batch is still
  // held there, even on a machine busy with other tests.
  auto r = relay(a, spy(b, probe, 30ms), options);
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == 400u; }));
  // Live writes while batches are still held back by the sink.
  for (int i = 400; i < 700; ++i)
    put_async(a, "c", "r" + std::to_string(i), field_map{{"i", i}});
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == 700u; }));
  BOOST_TEST((list(b, "c") == list(a, "c")));
  // Several batches were in flight at once, never more ops than the window.
  BOOST_TEST(probe->max_in_flight > 16u);
  BOOST_TEST(probe->max_in_flight <= 40u);
  BOOST_TEST(probe->ops == 700u);
  BOOST_TEST(probe->duplicates == 0u);
  BOOST_TEST(probe->echoes == 0u);
  BOOST_REQUIRE(eventually([&] {
    auto s = ask<relay_stats>(r, stats_atom_v);
    return s.lag == 0u && s.ops_relayed == 700u && s.acked.get(a.id) == 700u;
  }));
}

BOOST_AUTO_TEST_CASE(replacement_relay_resumes_from_the_sink_version) {
  auto a = open("a");
  auto b = open("b");
  auto probe = std::make_shared<sink_probe>();
  auto sink = spy(b, probe, 1ms);
  actors::relay_options options;
  options.max_batch = 256;
  constexpr int total = 20000;
  for (int i = 0; i < total / 2; ++i)
    put_async(a, "c", "r" + std::to_string(i % 2000), field_map{{"i", i}});
  auto first = actors::spawn_relay(sys, a.actor, sink, options);
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) >= 2000u; }));
  self->send_exit(first, caf::exit_reason::kill);
  self->wait_for(first);
  auto at_kill = version(b).get(a.id);
  BOOST_TEST_MESSAGE("relay killed with " << at_kill << " of " << total << " ops at the sink");
  BOOST_TEST(at_kill < static_cast<std::uint64_t>(total));
  for (int i = total / 2; i < total; ++i)
    put_async(a, "c", "r" + std::to_string(i % 2000), field_map{{"i", i}});
  relay(a, sink, options);
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == std::uint64_t{total}; }, 90s));
  BOOST_TEST((version(b) == version(a)));
  BOOST_TEST((list(b, "c") == list(a, "c")));
  // The killed relay's last batch was applied before the new relay read
  // the sink's version (same mailbox, earlier): nothing is sent twice.
  BOOST_TEST(probe->duplicates == 0u);
  BOOST_TEST(probe->applied == std::size_t{total});
}

// A relay's reads of the source (its subscription, the op log) do not
// queue behind the writes waiting in the source's mailbox: under a write
// backlog the sink gets ops while the source is still writing, instead of
// after the last write.
BOOST_AUTO_TEST_CASE(a_relay_does_not_wait_behind_the_sources_write_backlog) {
  auto a = open("a");
  auto b = open("b");
  auto on_a = std::make_shared<change_clock>();
  auto on_b = std::make_shared<change_clock>();
  auto la = sys.spawn(clock_listener, on_a);
  auto lb = sys.spawn(clock_listener, on_b);
  ask<std::uint64_t>(a.actor, subscribe_atom_v, la);
  ask<std::uint64_t>(b.actor, subscribe_atom_v, lb);
  constexpr std::size_t total = 30000;
  for (std::size_t i = 0; i < total; ++i)
    put_async(a, "c", "r" + std::to_string(i), field_map{{"i", static_cast<std::int64_t>(i)}});
  relay(a, b.actor);
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == std::uint64_t{total}; }, 120s));
  BOOST_REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g{on_b->mu};
    return on_b->changes == total;
  }));
  std::lock_guard<std::mutex> ga{on_a->mu};
  std::lock_guard<std::mutex> gb{on_b->mu};
  BOOST_REQUIRE(on_a->changes == total);
  using ms = std::chrono::duration<double, std::milli>;
  BOOST_TEST_MESSAGE("A wrote for " << ms(*on_a->last - *on_a->first).count()
                     << " ms; B's first op came " << ms(*on_b->first - *on_a->first).count()
                     << " ms after A's first write");
  BOOST_TEST((*on_b->first < *on_a->last));
  // How many the relay read back depends on how far B falls behind A
  // here: reported, not checked.
  auto stats = ask<relay_stats>(relays.back(), stats_atom_v);
  BOOST_TEST_MESSAGE(stats.ops_from_log << " of " << total << " ops read back from the op log");
  self->send_exit(la, caf::exit_reason::user_shutdown);
  self->send_exit(lb, caf::exit_reason::user_shutdown);
}

// A sink that falls behind for a while (here: every acknowledgement held
// back 20 ms, so the window fills) costs no reads of the source while the
// ops in flight and waiting fit in two windows: the relay queues them.
BOOST_AUTO_TEST_CASE(a_sink_behind_by_less_than_a_window_costs_no_reads_of_the_source) {
  auto a = open("a");
  auto b = open("b");
  auto probe = std::make_shared<sink_probe>();
  actors::relay_options options;
  options.max_batch = 64;
  options.window = 256;
  auto r = relay(a, spy(b, probe, 20ms), options);
  put(a, "c", "first", field_map{{"i", 0}});
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == 1u; }));
  auto before = ask<relay_stats>(r, stats_atom_v).ops_from_log;
  constexpr std::size_t burst = 500; // more than one window, less than two
  for (std::size_t i = 0; i < burst; ++i)
    put_async(a, "c", "r" + std::to_string(i), field_map{{"i", static_cast<std::int64_t>(i)}});
  BOOST_REQUIRE(eventually([&] { return version(b).get(a.id) == burst + 1; }));
  auto stats = ask<relay_stats>(r, stats_atom_v);
  BOOST_TEST(stats.ops_from_log - before == 0u);
  BOOST_TEST(probe->max_in_flight <= std::size_t{256});
  BOOST_TEST(probe->duplicates == 0u);
  BOOST_TEST((list(b, "c") == list(a, "c")));
}

// The source leaves its commits of the sink's own ops out of the relay's
// notifications (the relay would drop them), so the relay never learns of
// them there. A catch-up read must not return them either: the sink has all
// its own ops. Here B wrote 1,000 ops that reached A, then a burst on A
// overflows the relay's queue and makes it read A's op log: only A's ops
// may come back (before, every one of B's ops was read again).
BOOST_AUTO_TEST_CASE(a_catch_up_never_reads_back_the_sinks_own_ops) {
  auto a = open("a");
  auto b = open("b");
  auto probe = std::make_shared<sink_probe>();
  actors::relay_options small;
  small.max_batch = 16;
  small.window = 32;
  auto r = relay(a, spy(b, probe), small);
  relay(b, spy(a, std::make_shared<sink_probe>()));
  put(a, "c", "first", field_map{{"i", 0}});
  BOOST_REQUIRE(converged({a, b}));
  constexpr std::size_t from_b = 1000, burst = 600;
  for (std::size_t i = 0; i < from_b; ++i)
    put_async(b, "c", "b" + std::to_string(i), field_map{{"i", static_cast<std::int64_t>(i)}});
  BOOST_REQUIRE(converged({a, b}));
  auto before = ask<relay_stats>(r, stats_atom_v).ops_from_log;
  for (std::size_t i = 0; i < burst; ++i)
    put_async(a, "c", "a" + std::to_string(i), field_map{{"i", static_cast<std::int64_t>(i)}});
  BOOST_REQUIRE(converged({a, b}));
  auto read = ask<relay_stats>(r, stats_atom_v).ops_from_log - before;
  BOOST_TEST_MESSAGE("ops read back from A's log during the burst: " << read);
  BOOST_TEST(read > 0u); // the burst did overflow the queue
  BOOST_TEST(read <= burst);
  BOOST_TEST(probe->echoes == 0u);
  BOOST_TEST(probe->duplicates == 0u);
  BOOST_TEST((list(b, "c") == list(a, "c")));
}

BOOST_AUTO_TEST_SUITE_END()
