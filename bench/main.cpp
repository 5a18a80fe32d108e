// blaze-bench: Blaze measured beside raw baselines in the same run, one
// subcommand per area: storage, channel, relay, remote.
#include "report.hpp"
#include "all_bench.hpp"
#include "channel_bench.hpp"
#include "relay_bench.hpp"
#include "redis_bench.hpp"
#include "scale_bench.hpp"
#include "remote_bench.hpp"
#include "storage_bench.hpp"

#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace {

using namespace blaze::bench;

// Options every subcommand shares.
struct output_options {
  std::filesystem::path json;
};

void add_output_options(CLI::App& cmd, output_options& out) {
  cmd.add_option("--json", out.json, "Also write every figure, with machine info, to FILE")
    ->type_name("FILE");
}

// Runs one suite: progress on stderr, the table on stdout, JSON on request.
int run_suite(const std::string& suite, const output_options& out,
              const std::function<report(std::ostream& log)>& bench) {
  try {
    // Fail before a long run, not after it, when the report cannot be written.
    if (!out.json.empty() && !std::ofstream(out.json, std::ios::app))
      throw std::runtime_error("cannot write " + out.json.string());
    auto r = bench(std::cerr);
    std::cout << '\n';
    print(r, std::cout);
    if (!out.json.empty()) {
      write_json(out.json, to_json(r));
      std::cerr << "wrote " << out.json.string() << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "blaze-bench " << suite << ": " << e.what() << '\n';
    return 1;
  }
}

void add_storage_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<storage_bench_options>();
  auto out = std::make_shared<output_options>();
  auto* cmd = app.add_subcommand(
    "storage", "Encrypted Blaze store vs raw LevelDB: put, get, query, apply; AES-GCM limit");
  cmd->add_option("--records", opts->records, "Records written, read and replicated")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
    ->capture_default_str();
  cmd->add_option("--value-bytes", opts->value_bytes, "Length of each record's string field")
    ->check(CLI::Range(std::size_t{1}, std::size_t{16} << 20))
    ->capture_default_str();
  cmd->add_option("--queries", opts->query_iterations, "Range queries run on each store")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
    ->capture_default_str();
  cmd->add_option("--batch", opts->apply_batch, "Ops per apply batch")
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
    ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed for the data and access order")
    ->capture_default_str();
  cmd->add_option("--dir", opts->dir,
                  "Parent directory for the scratch stores (default: system temp dir)")
    ->type_name("DIR");
  add_output_options(*cmd, *out);
  cmd->callback([opts, out, &exit_code] {
    exit_code = run_suite("storage", *out,
                          [&](std::ostream& log) { return run_storage_bench(*opts, log); });
  });
}

void add_channel_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<channel_bench_options>();
  auto out = std::make_shared<output_options>();
  auto* cmd = app.add_subcommand(
    "channel", "Secure channel: handshake cost; round trip over the secure middleman vs plain "
               "CAF BASP vs raw TCP");
  cmd->add_option("--handshakes", opts->handshakes, "Handshakes in memory (a tenth over TCP)")
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
    ->capture_default_str();
  cmd->add_option("--round-trips", opts->round_trips, "Round trips per transport")
    ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
    ->capture_default_str();
  cmd->add_option("--message-bytes", opts->message_bytes, "Bytes per message")
    ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
    ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Scheduler threads per actor system")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  add_output_options(*cmd, *out);
  cmd->callback([opts, out, &exit_code] {
    exit_code = run_suite("channel", *out,
                          [&](std::ostream& log) { return run_channel_bench(*opts, log); });
  });
}

void add_relay_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<relay_bench_options>();
  auto out = std::make_shared<output_options>();
  auto* cmd = app.add_subcommand(
    "relay", "Relays: commit on A to visible on B (p50/p99/p99.9) and throughput, beside a raw "
             "Unix-socket ping-pong");
  cmd->add_option("--samples", opts->latency_samples, "Writes timed one at a time")
    ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
    ->capture_default_str();
  cmd->add_option("--ops", opts->throughput_ops, "Writes in the throughput run")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
    ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Scheduler threads (runs with detached databases)")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  cmd->add_option("--scheduled-threads", opts->scheduled_threads,
                  "Scheduler threads (runs with scheduled databases)")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  cmd->add_option("--low-latency", opts->low_latency,
                  "Runs with detached databases: idle scheduler workers keep polling "
                  "(false: they block until woken)")
    ->capture_default_str();
  cmd->add_option("--scheduled-low-latency", opts->scheduled_low_latency,
                  "Runs with scheduled databases: idle scheduler workers keep polling "
                  "(false: they block until woken)")
    ->capture_default_str();
  cmd->add_option("--placement", opts->placements,
                  "Where the database actors run: detached, scheduled or both")
    ->check(CLI::IsMember({"detached", "scheduled", "both"}))
    ->capture_default_str();
  cmd->add_option("--dir", opts->dir,
                  "Parent directory for the scratch stores (default: system temp dir)")
    ->type_name("DIR");
  add_output_options(*cmd, *out);
  cmd->callback([opts, out, &exit_code] {
    exit_code = run_suite("relay", *out,
                          [&](std::ostream& log) { return run_relay_bench(*opts, log); });
  });
}

void add_remote_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<remote_bench_options>();
  auto out = std::make_shared<output_options>();
  auto* cmd = app.add_subcommand(
    "remote", "A real blaze-node on loopback: commit on client A to visible on client B "
              "(p50/p99/p99.9) beside a raw TCP ping-pong, and a cold client's catch-up rate");
  cmd->add_option("--samples", opts->latency_samples, "Writes timed one at a time")
    ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
    ->capture_default_str();
  cmd->add_option("--ops", opts->catch_up_ops, "Ops the node holds for the cold client")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
    ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Scheduler threads of the clients")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  cmd->add_option("--low-latency", opts->low_latency,
                  "Idle scheduler workers of the clients keep polling (false: they block until woken)")
    ->capture_default_str();
  cmd->add_option("--node-threads", opts->node_threads, "Scheduler threads of the node")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  cmd->add_option("--node-low-latency", opts->node_low_latency,
                  "Idle scheduler workers of the node keep polling (false: they block until woken)")
    ->capture_default_str();
  cmd->add_option("--placement", opts->placement,
                  "Where the clients' database actors run: detached or scheduled")
    ->check(CLI::IsMember({"detached", "scheduled"}))
    ->capture_default_str();
  cmd->add_option("--node-placement", opts->node_placement,
                  "Where the node's database actors run: detached or scheduled")
    ->check(CLI::IsMember({"detached", "scheduled"}))
    ->capture_default_str();
  cmd->add_option("--node", opts->node_binary,
                  "The blaze-node binary (default: $BLAZE_NODE, else the one built with this)")
    ->type_name("FILE");
  cmd->add_option("--dir", opts->dir,
                  "Parent directory for the scratch stores (default: system temp dir)")
    ->type_name("DIR");
  add_output_options(*cmd, *out);
  cmd->callback([opts, out, &exit_code] {
    exit_code = run_suite("remote", *out,
                          [&](std::ostream& log) { return run_remote_bench(*opts, log); });
  });
}

void add_redis_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<redis_bench_options>();
  auto out = std::make_shared<output_options>();
  auto* cmd = app.add_subcommand(
    "redis", "Replication beside a real peer: Redis primary -> replica (SET + WAIT 1) vs Blaze "
             "A -> B over TCP");
  cmd->add_option("--samples", opts->latency_samples, "Writes timed one at a time")
    ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
    ->capture_default_str();
  cmd->add_option("--ops", opts->throughput_ops, "Writes in the throughput run")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
    ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Blaze's scheduler threads")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  cmd->add_option("--redis-server", opts->redis_server, "The redis-server binary")
    ->type_name("FILE");
  cmd->add_option("--dir", opts->dir, "Parent directory for the scratch stores")
    ->type_name("DIR");
  add_output_options(*cmd, *out);
  cmd->callback([opts, out, &exit_code] {
    exit_code = run_suite("redis", *out,
                          [&](std::ostream& log) { return run_redis_bench(*opts, log); });
  });
}

void add_scale_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<scale_bench_options>();
  auto out = std::make_shared<output_options>();
  auto* cmd = app.add_subcommand(
    "scale", "At size: many databases in one topology, many live subscribers on one node, a "
             "large database caught up; memory per relay and per subscriber");
  cmd->add_option("--databases", opts->databases, "Databases in the topology (a star)")
    ->check(CLI::Range(std::size_t{3}, std::size_t{10'000}))
    ->capture_default_str();
  cmd->add_option("--subscribers", opts->subscribers, "Live subscribers on the node")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
    ->capture_default_str();
  cmd->add_option("--records", opts->records, "Records the cold replica catches up")
    ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
    ->capture_default_str();
  cmd->add_option("--samples", opts->samples, "Writes timed one at a time per fan-out")
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
    ->capture_default_str();
  cmd->add_option("--fanout-ops", opts->fanout_ops, "Writes per fan-out throughput run")
    ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
    ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Scheduler threads")
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
    ->capture_default_str();
  cmd->add_option("--node", opts->node_binary, "The blaze-node binary")->type_name("FILE");
  cmd->add_option("--dir", opts->dir, "Parent directory for the scratch stores")
    ->type_name("DIR");
  add_output_options(*cmd, *out);
  cmd->callback([opts, out, &exit_code] {
    exit_code = run_suite("scale", *out,
                          [&](std::ostream& log) { return run_scale_bench(*opts, log); });
  });
}

void add_all_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<all_bench_options>();
  auto* cmd = app.add_subcommand(
    "all", "Every suite in one run: OUT/bench.json, OUT/bench.txt (the tables) and "
           "OUT/bench.png (latency percentiles, throughput beside the baselines)");
  cmd->add_option("--out", opts->out, "Directory for the results")
    ->type_name("DIR")
    ->capture_default_str();
  cmd->add_flag("--quick", opts->quick, "Smaller counts (a few minutes in all)");
  cmd->add_option("--dir", opts->dir, "Parent directory for the scratch stores")
    ->type_name("DIR");
  cmd->callback([opts, &exit_code] {
    try {
      exit_code = run_all_bench(*opts, std::cout, std::cerr);
    } catch (const std::exception& e) {
      std::cerr << "blaze-bench all: " << e.what() << '\n';
      exit_code = 1;
    }
  });
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"blaze-bench: Blaze benchmarks beside raw baselines, in one run"};
  app.require_subcommand(1);
  int exit_code = 0;
  add_storage_command(app, exit_code);
  add_channel_command(app, exit_code);
  add_relay_command(app, exit_code);
  add_remote_command(app, exit_code);
  add_redis_command(app, exit_code);
  add_scale_command(app, exit_code);
  add_all_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
