// `blaze-bench remote`: a real blaze-node process on loopback between two
// clients of this process. How long a change committed on one client takes
// to be visible on the other through the node (beside a raw TCP loopback
// round trip measured in the same run), and how fast a cold client catches
// up with a database the node already holds.
#pragma once

#include "report.hpp"

#include <cstddef>
#include <filesystem>
#include <ostream>

namespace blaze::bench {

struct remote_bench_options {
  std::size_t latency_samples = 5000; // one write at a time, waiting for each
  std::size_t catch_up_ops = 100000;  // ops the node holds before the cold client syncs
  // Scheduler threads of the clients' actor system. One, as for the relay
  // bench: the databases run on threads of their own (detached), and on a
  // 2-core machine a second polling worker only takes CPU from them and
  // from the node.
  std::size_t threads = 1;
  // Idle workers of the clients keep polling, or block until woken (as
  // blaze-node's do by default). Three processes share the cores here: on
  // a 2-core VM (2026-11-29, alternating runs) blocking clients gave p50
  // 612-619 µs, polling clients 685-741 µs.
  bool low_latency = false;
  // The node's scheduler ([node] threads and low_latency in its config).
  std::size_t node_threads = 2;
  bool node_low_latency = false;
  // Where the database actors run, in the clients and on the node
  // (actors::placement, [node] database_placement): "detached" or "scheduled".
  std::string placement = "detached";
  std::string node_placement = "detached";
  std::filesystem::path dir; // parent of the scratch dir; empty: system temp
  // The blaze-node binary; empty: $BLAZE_NODE, else the one built with this.
  std::filesystem::path node_binary;
};

report run_remote_bench(const remote_bench_options& options, std::ostream& log);

} // namespace blaze::bench
