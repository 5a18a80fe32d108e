// `blaze-bench relay`: how long a change committed on one database takes to
// be visible on another through a relay, and how many ops per second a relay
// sustains, beside a raw Unix-socket ping-pong measured in the same run.
#pragma once

#include "report.hpp"

#include <cstddef>
#include <filesystem>
#include <ostream>

namespace blaze::bench {

struct relay_bench_options {
  std::size_t latency_samples = 5000; // one write at a time, waiting for each
  std::size_t throughput_ops = 100000;
  // Scheduler threads. One: the databases run on threads of their own
  // (detached), and on a 2-core machine a second polling worker only takes
  // CPU from them (measured: p50 93 µs with one worker, 154 µs with two).
  std::size_t threads = 1;
  // Scheduler threads for the runs with scheduled database actors
  // (actors::placement::scheduled): everything runs on the scheduler, so
  // both cores are its own.
  std::size_t scheduled_threads = 2;
  // Idle scheduler workers keep polling (lower latency, busy cores) or
  // back off and sleep.
  bool low_latency = true;
  // Which placements to run: "detached", "scheduled" or "both".
  std::string placements = "both";
  std::filesystem::path dir; // parent of the scratch stores; empty: system temp
};

report run_relay_bench(const relay_bench_options& options, std::ostream& log);

} // namespace blaze::bench
