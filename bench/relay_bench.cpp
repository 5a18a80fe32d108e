#include "relay_bench.hpp"

#include "arrivals.hpp"
#include "database_pair.hpp"
#include "scratch_dir.hpp"
#include "ping_pong.hpp"
#include "stats.hpp"

#include <blaze/actors/database_actor.hpp>
#include <blaze/actors/relay.hpp>
#include <blaze/actors/socket_link.hpp>
#include <blaze/runtime/system_config.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace blaze::bench {

namespace {

constexpr double unix_p50_goal_us = 100;
constexpr double unix_p99_goal_us = 500;
constexpr double in_process_p50_goal_us = 20;
constexpr double throughput_goal = 100'000;

// --- raw Unix-socket ping-pong: the floor under a cross-process relay --------

measurement unix_ping_pong(std::size_t n, std::size_t bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  return ping_pong(fds[0], fds[1], n, bytes, "Unix-socket");
}

std::string us(double ns) {
  return format_ns_as_us(ns) + " µs";
}

// "Unix socket relay (scheduled databases)"
std::string label(transport how, actors::placement where) {
  return std::string(to_string(how)) + " relay (" + actors::to_string(where) + " databases)";
}

} // namespace

report run_relay_bench(const relay_bench_options& o, std::ostream& log) {
  if (o.latency_samples == 0 || o.throughput_ops == 0 || o.threads == 0
      || o.scheduled_threads == 0)
    throw std::invalid_argument("counts and threads must be positive");
  if (o.placements != "both" && o.placements != "detached" && o.placements != "scheduled")
    throw std::invalid_argument("placements: detached, scheduled or both");
  report r;
  r.suite = "relay";
  r.parameters = {{"latency_samples", o.latency_samples},
                  {"throughput_ops", o.throughput_ops},
                  {"scheduler_threads", o.threads},
                  {"scheduled_placement_threads", o.scheduled_threads},
                  {"placements", o.placements},
                  {"low_latency", o.low_latency},
                  {"scheduled_low_latency", o.scheduled_low_latency}};
  scratch_dir dir{o.dir};

  log << "raw Unix-socket ping-pong\n";
  auto raw = unix_ping_pong(o.latency_samples * 4, 64);
  log << "  p50 " << us(raw.latency.p50_ns) << "\n";

  struct result_of {
    transport how;
    actors::placement where;
    pair_latency latency;
    measurement throughput;
    std::uint64_t from_log = 0; // in process: ops the relay read back from A's op log
  };
  std::vector<result_of> results;
  for (auto where : {actors::placement::detached, actors::placement::scheduled}) {
    if (o.placements != "both" && o.placements != actors::to_string(where))
      continue;
    runtime::scheduler_options sched;
    sched.threads = where == actors::placement::detached ? o.threads : o.scheduled_threads;
    sched.low_latency =
      where == actors::placement::detached ? o.low_latency : o.scheduled_low_latency;
    runtime::system_config cfg{sched};
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.enable-automatic-connections", false);
    caf::actor_system sys{cfg};
    for (auto how : {transport::in_process, transport::unix_socket}) {
      auto name = label(how, where);
      log << name << ": commit on A -> visible on B\n";
      auto lat = relay_latency(sys, dir, o.latency_samples, how, where);
      log << "  p50 " << us(lat.commit_to_visible.p50_ns) << ", p99 "
          << us(lat.commit_to_visible.p99_ns) << "; put on A -> B's subscriber told: p50 "
          << us(lat.end_to_end.latency.p50_ns) << ", p99 " << us(lat.end_to_end.latency.p99_ns)
          << "\n";
      log << name << ": throughput\n";
      std::uint64_t from_log = 0;
      auto tput = relay_throughput(sys, dir, o.throughput_ops, how, where, &from_log);
      log << "  " << format_rate(tput.ops_per_s()) << " ops/s, "
          << format_rate(tput.timing.process_cpu_s * 1e6 / tput.ops) << " µs cpu/op (process)";
      if (how == transport::in_process)
        log << ", " << format_rate(from_log) << " ops read back from A's op log";
      log << "\n";
      results.push_back({how, where, lat, tput, from_log});
    }
  }

  for (auto& res : results) {
    bool mem = res.how == transport::in_process;
    auto& lat = res.latency.commit_to_visible;
    auto& e2e = res.latency.end_to_end.latency;
    comparison_row row;
    row.benchmark = label(res.how, res.where) + ", commit -> visible";
    row.unit = "µs";
    row.blaze = lat.p50_ns / 1000;
    row.raw = raw.latency.p50_ns / 1000;
    bool met = mem ? lat.p50_ns / 1000 <= in_process_p50_goal_us
                   : lat.p50_ns / 1000 <= unix_p50_goal_us && lat.p99_ns / 1000 <= unix_p99_goal_us;
    row.notes = "p50 from A's commit to B's (both stamped in the committing thread); p99 "
                + us(lat.p99_ns) + "; goal "
                + (mem ? "p50 ≤ " + format_rate(in_process_p50_goal_us) + " µs"
                       : "p50 ≤ " + format_rate(unix_p50_goal_us) + " µs, p99 ≤ "
                           + format_rate(unix_p99_goal_us) + " µs")
                + ": " + (met ? "met" : "MISSED") + ". With the put on A and the message to B's "
                + "subscriber: p50 " + us(e2e.p50_ns) + ", p99 " + us(e2e.p99_ns)
                + ". Baseline: raw Unix-socket round trip";
    row.details["commit_to_visible"] = lat;
    row.details["put_to_subscriber"] = res.latency.end_to_end;
    row.details["raw_unix"] = raw;
    r.rows.push_back(std::move(row));
  }
  for (auto& res : results) {
    comparison_row row;
    row.benchmark = label(res.how, res.where) + ", throughput";
    row.blaze = res.throughput.ops_per_s();
    bool met = res.throughput.ops_per_s() >= throughput_goal;
    row.notes = "puts on A until B has them all; goal ≥ " + format_rate(throughput_goal)
                + " ops/s: " + (met ? "met" : "MISSED");
    if (res.how == transport::in_process) {
      row.notes += "; " + format_rate(res.from_log) + " ops read back from A's op log";
      row.details["ops_read_back_from_log"] = res.from_log;
    }
    row.details["measurement"] = res.throughput;
    r.rows.push_back(std::move(row));
  }
  r.latencies.push_back({"raw Unix-socket round trip", raw.latency});
  for (auto& res : results) {
    r.latencies.push_back(
      {label(res.how, res.where) + " commit -> visible", res.latency.commit_to_visible});
    r.latencies.push_back({label(res.how, res.where) + " put -> B's subscriber",
                           res.latency.end_to_end.latency});
  }
  return r;
}

} // namespace blaze::bench
