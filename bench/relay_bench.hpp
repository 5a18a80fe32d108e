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
  // Idle scheduler workers keep polling (work stealing: lower latency,
  // busy cores) or block until woken (sharing), for the runs with detached
  // and with scheduled databases. Measured on a 2-core VM (2026-11-29,
  // alternating runs): with detached databases, blocking workers gave
  // p50 169-183 µs in process against 230-297 µs polling, and 95-107k ops/s
  // against 63-80k (a polling worker takes a core from the database
  // threads); with scheduled databases polling is faster in process
  // (p50 60-63 µs against 81-101 µs).
  bool low_latency = false;
  bool scheduled_low_latency = true;
  // Which placements to run: "detached", "scheduled" or "both".
  std::string placements = "both";
  std::filesystem::path dir; // parent of the scratch stores; empty: system temp
};

report run_relay_bench(const relay_bench_options& options, std::ostream& log);

} // namespace blaze::bench
