// `blaze-bench storage`: the encrypted Blaze store against raw LevelDB on
// the same records (put, get, query, apply of remote ops), beside the raw
// AES-256-GCM limit and the cost of opening a store.
#pragma once

#include "report.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>

namespace blaze::bench {

struct storage_bench_options {
  std::size_t records = 200000;
  std::size_t value_bytes = 100; // length of each record's "name" string
  std::size_t query_iterations = 5;
  std::size_t apply_batch = 1000;
  std::uint64_t seed = 42;
  std::filesystem::path dir; // parent of the scratch directory; empty: system temp
};

// Runs every storage benchmark; progress lines go to `log`.
report run_storage_bench(const storage_bench_options& options, std::ostream& log);

} // namespace blaze::bench
