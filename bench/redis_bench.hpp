// `blaze-bench redis`: replication against a real peer. Redis (Debian's
// redis-server, a primary and a replica started on loopback by the bench)
// beside Blaze (database A replicating to database B over a TCP link inside
// the secure channel), same logical work: a write on the primary, known to
// be on one replica. Latency per write and sustained throughput.
#pragma once

#include "report.hpp"

#include <cstddef>
#include <filesystem>
#include <ostream>

namespace blaze::bench {

struct redis_bench_options {
  std::size_t latency_samples = 5000;
  std::size_t throughput_ops = 100000;
  std::size_t threads = 1; // Blaze's scheduler threads (see relay_bench_options)
  std::filesystem::path dir;
  std::filesystem::path redis_server; // empty: redis-server on PATH
};

report run_redis_bench(const redis_bench_options& options, std::ostream& log);

} // namespace blaze::bench
