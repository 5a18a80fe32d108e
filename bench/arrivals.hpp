// When one origin's ops arrive at a database, stamped two ways:
// - by a listener actor subscribed to the database (arrival_listener): when
//   a subscriber of the database is told, one message hop after the commit;
// - in the committing thread itself (commit_stamper, a storage observer):
//   the moment the op is committed and visible to readers, with no hop.
// Either way the thread waiting for an op does not add its own wake-up to
// the figure. Shared by the relay and remote benches ("visible on B").
#pragma once

#include "stats.hpp"

#include <blaze/actors/database_actor.hpp>

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace blaze::bench {

// Arrival times of `origin`'s ops, by sequence number.
struct arrivals {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bench_clock::time_point> at; // index: seq of the origin's op
  std::uint64_t highest = 0;               // every seq up to here has arrived
  std::uint64_t awaited = 0;               // the seq wait_for waits for (0: none)
  node_id origin = 0;

  // Stamps the changes of `origin` among `cs` (one commit's changes).
  void seen(const std::vector<change>& cs) {
    auto now = bench_clock::now();
    std::lock_guard<std::mutex> g{mu};
    for (auto& c : cs)
      stamp(c, now);
    advance();
  }
  void seen(const change& c) {
    auto now = bench_clock::now();
    std::lock_guard<std::mutex> g{mu};
    stamp(c, now);
    advance();
  }
  bench_clock::time_point when(std::uint64_t seq) {
    std::lock_guard<std::mutex> g{mu};
    return seq < at.size() ? at[seq] : bench_clock::time_point{};
  }
  bool wait_for(std::uint64_t seq, std::chrono::seconds limit) {
    std::unique_lock<std::mutex> g{mu};
    awaited = seq;
    bool ok = cv.wait_for(g, limit, [&] { return highest >= seq; });
    awaited = 0;
    return ok;
  }

private:
  void stamp(const change& c, bench_clock::time_point now) {
    if (c.origin == origin && c.seq < at.size() && at[c.seq] == bench_clock::time_point{})
      at[c.seq] = now;
  }
  void advance() {
    while (highest + 1 < at.size() && at[highest + 1] != bench_clock::time_point{})
      ++highest;
    // Wake the waiter only when what it waits for is in: a throughput run
    // would otherwise wake it (and take a core from the relay) per op.
    if (awaited != 0 && highest >= awaited)
      cv.notify_all();
  }
};

// The listener's behavior: spawn it with the shared arrivals and subscribe
// it to the database that receives the ops.
inline actors::change_listener::behavior_type arrival_listener(actors::change_listener::pointer,
                                                               std::shared_ptr<arrivals> seen) {
  return {[seen](const std::vector<change>& cs) { seen->seen(cs); }};
}

// A storage observer stamping each change in the thread that commits it:
// subscribe it to the database before handing the database to its actor
// (actors::spawn_database), so it runs before the actor's own observer.
inline observer commit_stamper(std::shared_ptr<arrivals> stamps) {
  return [stamps](const change& c) { stamps->seen(c); };
}

} // namespace blaze::bench
