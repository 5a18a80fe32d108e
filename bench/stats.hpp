// Latency and throughput figures for benchmarks: per-operation samples
// summarised as percentiles, and wall/CPU time of a measured phase.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace blaze::bench {

using bench_clock = std::chrono::steady_clock;

// Percentiles by nearest rank over every recorded sample (no sampling or
// histogram buckets: at benchmark sizes the sort is cheap and exact).
struct latency_summary {
  std::size_t count = 0;
  double mean_ns = 0;
  double min_ns = 0;
  double p50_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  double max_ns = 0;
};

void to_json(nlohmann::json& j, const latency_summary& s);

class latency_recorder {
public:
  void reserve(std::size_t n) { samples_.reserve(n); }
  void add(std::chrono::nanoseconds d) { samples_.push_back(d.count()); }
  void add(bench_clock::time_point start, bench_clock::time_point end) {
    add(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start));
  }
  std::size_t size() const { return samples_.size(); }
  latency_summary summarize() const;

private:
  std::vector<std::int64_t> samples_;
};

// The value at percentile p (0..100) of `sorted`, nearest-rank method.
double percentile_sorted(const std::vector<std::int64_t>& sorted, double p);

// Wall time and CPU time of a phase. Thread CPU is the measuring thread
// alone; process CPU adds background threads (LevelDB compaction), so
// process/wall above 1 means more than one core was busy.
// Other processes busy on the machine at the same time (from /proc/stat)
// disturb the figures; `foreign_cores` says by how much.
struct phase_timing {
  double wall_s = 0;
  double thread_cpu_s = 0;
  double process_cpu_s = 0;
  double foreign_cores = 0; // CPU used by other processes / wall time
  double steal_cores = 0;   // CPU taken by the hypervisor / wall time
};

void to_json(nlohmann::json& j, const phase_timing& t);

class phase_timer {
public:
  phase_timer() { restart(); }
  void restart();
  phase_timing elapsed() const;

private:
  bench_clock::time_point wall_;
  double thread_cpu_ = 0;
  double process_cpu_ = 0;
  double system_busy_ = 0;
  double system_steal_ = 0;
};

// Waits until the process is idle apart from the calling thread: background
// work left by the previous phase (LevelDB flushing and compacting what was
// just written) would otherwise be billed to whichever phase runs next.
// Returns the seconds waited (at most `limit`).
double wait_for_quiet(std::chrono::milliseconds limit = std::chrono::seconds(10));

// One measured phase: `ops` operations in `timing`, with optional
// per-operation (or per-batch) latencies.
struct measurement {
  std::uint64_t ops = 0;
  phase_timing timing;
  latency_summary latency; // count == 0: not recorded

  double ops_per_s() const { return timing.wall_s > 0 ? ops / timing.wall_s : 0; }
  double thread_cpu_ns_per_op() const {
    return ops ? timing.thread_cpu_s * 1e9 / ops : 0;
  }
  double process_cores() const {
    return timing.wall_s > 0 ? timing.process_cpu_s / timing.wall_s : 0;
  }
};

void to_json(nlohmann::json& j, const measurement& m);

} // namespace blaze::bench
