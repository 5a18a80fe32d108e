// `blaze-bench all`: every suite in one run, written as one JSON document,
// one text file of tables, and one PNG plot (latency percentiles of every
// timed path, Blaze's throughput beside each baseline), with the machine
// they were measured on.
#pragma once

#include "report.hpp"

#include <filesystem>
#include <ostream>

namespace blaze::bench {

struct all_bench_options {
  std::filesystem::path out = "bench-results"; // bench.json, .txt, .md, .png
  bool quick = false;                          // smaller counts: minutes, not tens of them
  std::filesystem::path dir;                   // parent of the scratch stores
};

// Runs the suites one after another; a suite that fails is reported (and
// makes the result non-zero) without stopping the others.
int run_all_bench(const all_bench_options& options, std::ostream& out, std::ostream& log);

} // namespace blaze::bench
