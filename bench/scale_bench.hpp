// `blaze-bench scale`: Blaze at size. A hundred databases in one topology
// (memory per database and per relay, fan-out latency and throughput), a
// thousand live subscribers on one blaze-node (memory per subscriber on the
// node, fan-out latency to all of them), and a million-record database
// caught up by a cold replica.
#pragma once

#include "report.hpp"

#include <cstddef>
#include <filesystem>
#include <ostream>

namespace blaze::bench {

struct scale_bench_options {
  std::size_t databases = 100;
  std::size_t subscribers = 1000;
  std::size_t records = 1'000'000;
  std::size_t samples = 200;      // writes timed one at a time in each fan-out
  std::size_t fanout_ops = 2000;  // writes in each fan-out throughput run
  std::size_t threads = 2;        // scheduler threads of this process
  std::filesystem::path dir;
  std::filesystem::path node_binary; // empty: $BLAZE_NODE, else the one built with this
};

report run_scale_bench(const scale_bench_options& options, std::ostream& log);

} // namespace blaze::bench
