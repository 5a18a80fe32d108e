// The CAF actor-system configuration every Blaze process starts from:
// Blaze's message types and error category, and scheduler settings tuned
// for the workload (CAF's default polls with max(cores, 4) workers).
#pragma once

#include "blaze/storage/status.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include <cstddef>

namespace blaze::runtime {

struct scheduler_options {
  // Worker threads; 0 picks the number of cores (at least 2).
  std::size_t threads = 0;
  // true: a worker that runs out of work keeps polling its queue (work
  // stealing, no sleep) for `idle_polls` polls before it sleeps, which
  // trades a core per idle worker for message latency (benchmarks, relays):
  // a message finds a running worker and a running core. false: idle
  // workers block and are woken by the next message (CAF's sharing policy):
  // no CPU while idle, a thread wake-up per hop.
  bool low_latency = false;
  // With low_latency: polls before an idle worker sleeps. A poll takes about
  // 25 ns on the 2-core test machines, so the default keeps a worker
  // spinning for about 50 ms after its last job: through the gaps of a
  // stream of messages, not through a long idle spell.
  std::size_t idle_polls = 2'000'000;
};

class system_config : public caf::actor_system_config {
public:
  explicit system_config(const scheduler_options& options = {});
  const scheduler_options& scheduling() const { return scheduling_; }

private:
  scheduler_options scheduling_;
};

// Storage errors carried as CAF errors (category "blaze") and back.
caf::error to_caf_error(const blaze::error& e);
// A CAF error as a storage error; errors of other categories map to io_error.
blaze::error from_caf_error(const caf::error& e);

} // namespace blaze::runtime
