// Two databases, A and B, with A's ops relayed to B in process, over a Unix
// socket, or over TCP inside the secure channel, and B's arrivals stamped
// (arrivals.hpp): what the relay and redis benches time ("commit on A ->
// visible on B").
#pragma once

#include "arrivals.hpp"
#include "ping_pong.hpp"
#include "scratch_dir.hpp"

#include <blaze/actors/database_actor.hpp>
#include <blaze/actors/relay.hpp>
#include <blaze/actors/socket_link.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace blaze::bench {

enum class transport { in_process, unix_socket, tcp };

inline const char* to_string(transport t) {
  switch (t) {
    case transport::in_process:
      return "in-process";
    case transport::unix_socket:
      return "Unix socket";
    default:
      return "TCP (secure channel)";
  }
}

struct pair_of_databases {
  caf::actor_system& sys;
  actors::database_actor a;
  actors::database_actor b;
  caf::actor relay; // the relay, or the dialled link broker (which owns its relay)
  caf::actor listener_socket;
  actors::change_listener listener;
  // A's ops as B's subscriber is told of them (one message after B's commit)
  std::shared_ptr<arrivals> seen = std::make_shared<arrivals>();
  // ... as A commits them, and as B commits them: stamped in the committing
  // threads (commit_stamper)
  std::shared_ptr<arrivals> committed = std::make_shared<arrivals>();
  std::shared_ptr<arrivals> visible = std::make_shared<arrivals>();

  pair_of_databases(caf::actor_system& s, const scratch_dir& dir, const std::string& tag,
                    std::size_t expected_ops, transport how,
                    actors::placement where = actors::placement::detached)
    : sys(s) {
    open_options o;
    o.kdf_log2_n = 10; // the KDF is not what this measures
    auto store_a = must(database::open("a", dir / ("a-" + tag), "bench", o), "open A");
    auto store_b = must(database::open("b", dir / ("b-" + tag), "bench", o), "open B");
    for (auto& x : {seen, committed, visible}) {
      x->origin = store_a->id();
      x->at.assign(expected_ops + 1, bench_clock::time_point{});
    }
    store_a->subscribe(commit_stamper(committed));
    store_b->subscribe(commit_stamper(visible));
    a = actors::spawn_database(sys, std::move(store_a), where);
    b = actors::spawn_database(sys, std::move(store_b), where);
    caf::scoped_actor self{sys};
    listener = sys.spawn(arrival_listener, seen);
    self->request(b, std::chrono::seconds(10), subscribe_atom_v, listener)
      .receive([](std::uint64_t) {},
               [&](caf::error& e) { throw std::runtime_error("subscribe: " + sys.render(e)); });
    if (how == transport::in_process) {
      relay = caf::actor_cast<caf::actor>(actors::spawn_relay(sys, a, b));
    } else if (how == transport::unix_socket) {
      auto path = (dir / ("link-" + tag + ".sock")).string();
      listener_socket = must(actors::serve_unix(sys, path, {{"b", b}}), "serve B");
      relay = must(actors::dial_unix(sys, a, path, "b", actors::link_mode::read_only),
                   "dial B");
    } else {
      actors::socket_link_options lo;
      lo.link_secret = "bench link secret";
      auto served = must(actors::serve_tcp(sys, "127.0.0.1", 0, {{"b", b}}, lo), "serve B");
      listener_socket = served.listener;
      relay = must(actors::dial_tcp(sys, a, "127.0.0.1", served.port, "b",
                                    actors::link_mode::read_only, lo),
                   "dial B");
      must(actors::await_established(sys, relay), "link A -> B");
    }
  }

  ~pair_of_databases() {
    caf::scoped_actor self{sys};
    for (auto h : {relay, listener_socket, caf::actor_cast<caf::actor>(listener),
                   caf::actor_cast<caf::actor>(a), caf::actor_cast<caf::actor>(b)}) {
      if (!h)
        continue;
      self->send_exit(h, caf::exit_reason::user_shutdown);
      self->wait_for(h);
    }
  }

  void put(std::uint64_t i) {
    caf::anon_send(a, put_atom_v, std::string{"bench"}, "r" + std::to_string(i),
                   field_map{{"n", static_cast<std::int64_t>(i)}, {"text", "hello relay"}});
  }
};

// Commit on A -> visible on B, one write at a time, each awaited; and
// writes sent back to back until B has them all.

inline std::string pair_tag(const char* what, transport how, actors::placement where) {
  return std::string(what) + "-" + std::to_string(static_cast<int>(how)) + "-"
         + actors::to_string(where);
}

// One write at a time, each awaited, timed two ways.
struct pair_latency {
  // The put sent to A until B's subscriber is told: what an application
  // writing on A and watching B sees, with a message hop at each end.
  measurement end_to_end;
  // A's commit until B's commit (both stamped in the committing thread):
  // the relay's share: forwarding the op and B's apply.
  latency_summary commit_to_visible;
};

inline pair_latency relay_latency(caf::actor_system& sys, const scratch_dir& dir, std::size_t n,
                                  transport how,
                                  actors::placement where = actors::placement::detached) {
  pair_of_databases p{sys, dir, pair_tag("latency", how, where), n, how, where};
  latency_recorder lat, relayed;
  lat.reserve(n);
  relayed.reserve(n);
  phase_timer timer;
  for (std::uint64_t i = 1; i <= n; ++i) {
    auto t0 = bench_clock::now();
    p.put(i);
    if (!p.seen->wait_for(i, std::chrono::seconds(30)))
      throw std::runtime_error("op " + std::to_string(i) + " did not reach B within 30 s");
    // B's subscriber is told after both commits: both stamps are in.
    auto on_a = p.committed->when(i);
    auto on_b = p.visible->when(i);
    if (on_a == bench_clock::time_point{} || on_b == bench_clock::time_point{} || on_b < on_a)
      throw std::runtime_error("op " + std::to_string(i)
                               + ": no commit stamp on A or B, or B's before A's");
    relayed.add(on_a, on_b);
    lat.add(t0, p.seen->when(i));
  }
  pair_latency out;
  out.end_to_end.timing = timer.elapsed();
  out.end_to_end.ops = n;
  out.end_to_end.latency = lat.summarize();
  out.commit_to_visible = relayed.summarize();
  return out;
}

// `from_log` (in process only): how many of the ops the relay read back
// from A's op log instead of forwarding them from A's change notifications.
inline measurement relay_throughput(caf::actor_system& sys, const scratch_dir& dir, std::size_t n,
                                    transport how,
                                    actors::placement where = actors::placement::detached,
                                    std::uint64_t* from_log = nullptr) {
  pair_of_databases p{sys, dir, pair_tag("throughput", how, where), n, how, where};
  phase_timer timer;
  for (std::uint64_t i = 1; i <= n; ++i)
    p.put(i);
  if (!p.seen->wait_for(n, std::chrono::seconds(300)))
    throw std::runtime_error("B did not receive every op within 300 s");
  measurement m;
  m.timing = timer.elapsed();
  m.ops = n;
  if (from_log && how == transport::in_process) {
    caf::scoped_actor self{sys};
    self->request(caf::actor_cast<actors::relay_actor>(p.relay), std::chrono::seconds(10),
                  stats_atom_v)
      .receive([&](const relay_stats& s) { *from_log = s.ops_from_log; },
               [&](caf::error& e) { throw std::runtime_error("relay stats: " + sys.render(e)); });
  }
  return m;
}

} // namespace blaze::bench
