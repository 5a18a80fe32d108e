#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace blaze::bench {

namespace {

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0)
    return 0;
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Machine-wide busy and steal CPU seconds since boot, from /proc/stat.
struct system_cpu {
  double busy = 0;
  double steal = 0;
};

system_cpu read_system_cpu() {
  system_cpu out;
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f)
    return out;
  unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
                      &iowait, &irq, &softirq, &steal);
  std::fclose(f);
  if (n < 4)
    return out;
  double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  out.busy = (user + nice + sys + irq + softirq) / tick;
  out.steal = steal / tick;
  return out;
}

} // namespace

double percentile_sorted(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]);
}

latency_summary latency_recorder::summarize() const {
  latency_summary s;
  if (samples_.empty())
    return s;
  auto sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  s.count = sorted.size();
  s.mean_ns = std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size();
  s.min_ns = static_cast<double>(sorted.front());
  s.p50_ns = percentile_sorted(sorted, 50);
  s.p99_ns = percentile_sorted(sorted, 99);
  s.p999_ns = percentile_sorted(sorted, 99.9);
  s.max_ns = static_cast<double>(sorted.back());
  return s;
}

void phase_timer::restart() {
  wall_ = bench_clock::now();
  thread_cpu_ = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  process_cpu_ = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  auto sys = read_system_cpu();
  system_busy_ = sys.busy;
  system_steal_ = sys.steal;
}

phase_timing phase_timer::elapsed() const {
  phase_timing t;
  t.wall_s = std::chrono::duration<double>(bench_clock::now() - wall_).count();
  t.thread_cpu_s = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - thread_cpu_;
  t.process_cpu_s = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_;
  auto sys = read_system_cpu();
  // /proc/stat counts in clock ticks (10 ms): meaningful for phases of a
  // second or so, noise below that.
  if (t.wall_s > 0) {
    t.foreign_cores = std::max(0.0, (sys.busy - system_busy_ - t.process_cpu_s) / t.wall_s);
    t.steal_cores = std::max(0.0, (sys.steal - system_steal_) / t.wall_s);
  }
  return t;
}

double wait_for_quiet(std::chrono::milliseconds limit) {
  using namespace std::chrono_literals;
  constexpr auto window = 50ms;
  auto start = bench_clock::now();
  double last = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  while (bench_clock::now() - start < limit) {
    std::this_thread::sleep_for(window);
    double now = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    // Quiet: less than 2% of one core busy during the window.
    if (now - last < 0.02 * std::chrono::duration<double>(window).count())
      break;
    last = now;
  }
  return std::chrono::duration<double>(bench_clock::now() - start).count();
}

void to_json(nlohmann::json& j, const latency_summary& s) {
  j = {{"count", s.count},   {"mean_ns", s.mean_ns}, {"min_ns", s.min_ns},
       {"p50_ns", s.p50_ns}, {"p99_ns", s.p99_ns},   {"p99_9_ns", s.p999_ns},
       {"max_ns", s.max_ns}};
}

void to_json(nlohmann::json& j, const phase_timing& t) {
  j = {{"wall_s", t.wall_s},
       {"thread_cpu_s", t.thread_cpu_s},
       {"process_cpu_s", t.process_cpu_s},
       {"foreign_cores", t.foreign_cores},
       {"steal_cores", t.steal_cores}};
}

void to_json(nlohmann::json& j, const measurement& m) {
  j = {{"ops", m.ops},
       {"ops_per_s", m.ops_per_s()},
       {"timing", m.timing},
       {"thread_cpu_ns_per_op", m.thread_cpu_ns_per_op()},
       {"process_cores", m.process_cores()}};
  if (m.latency.count)
    j["latency"] = m.latency;
}

} // namespace blaze::bench
