#include "all_bench.hpp"

#include "channel_bench.hpp"
#include "redis_bench.hpp"
#include "relay_bench.hpp"
#include "remote_bench.hpp"
#include "scale_bench.hpp"
#include "storage_bench.hpp"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace blaze::bench {

namespace {

namespace fs = std::filesystem;

struct suite {
  std::string name;
  std::function<report(std::ostream&)> run;
};

std::vector<suite> suites(const all_bench_options& o) {
  bool q = o.quick;
  storage_bench_options storage;
  storage.records = q ? 20000 : storage.records;
  storage.dir = o.dir;
  channel_bench_options channel;
  channel.handshakes = q ? 200 : channel.handshakes;
  channel.round_trips = q ? 2000 : channel.round_trips;
  relay_bench_options relay;
  relay.latency_samples = q ? 1000 : relay.latency_samples;
  relay.throughput_ops = q ? 20000 : relay.throughput_ops;
  relay.dir = o.dir;
  remote_bench_options remote;
  remote.latency_samples = q ? 1000 : remote.latency_samples;
  remote.catch_up_ops = q ? 20000 : remote.catch_up_ops;
  remote.dir = o.dir;
  redis_bench_options redis;
  redis.latency_samples = q ? 1000 : redis.latency_samples;
  redis.throughput_ops = q ? 20000 : redis.throughput_ops;
  redis.dir = o.dir;
  scale_bench_options scale;
  if (q) {
    scale.databases = 20;
    scale.subscribers = 100;
    scale.records = 100000;
    scale.samples = 50;
    scale.fanout_ops = 500;
  }
  scale.dir = o.dir;
  return {
    {"storage", [=](std::ostream& log) { return run_storage_bench(storage, log); }},
    {"channel", [=](std::ostream& log) { return run_channel_bench(channel, log); }},
    {"relay", [=](std::ostream& log) { return run_relay_bench(relay, log); }},
    {"remote", [=](std::ostream& log) { return run_remote_bench(remote, log); }},
    {"redis", [=](std::ostream& log) { return run_redis_bench(redis, log); }},
    {"scale", [=](std::ostream& log) { return run_scale_bench(scale, log); }},
  };
}

// gnuplot reads quoted labels; quotes inside them are dropped.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s)
    if (c != '"')
      out.push_back(c);
  return out + "\"";
}

// Writes the data files and the gnuplot script beside the PNG, then runs
// gnuplot. Returns why the plot could not be drawn (empty: drawn).
std::string plot(const std::vector<report>& reports, const fs::path& out) {
  std::ofstream lat(out / "latency.dat");
  for (auto& r : reports)
    for (auto& l : r.latencies)
      lat << quoted(r.suite + ": " + l.name) << ' ' << l.latency.p50_ns / 1000 << ' '
          << l.latency.p99_ns / 1000 << ' ' << l.latency.p999_ns / 1000 << '\n';
  std::ofstream tput(out / "throughput.dat");
  std::size_t bars = 0;
  for (auto& r : reports)
    for (auto& row : r.rows)
      if (row.unit == "ops/s" && row.blaze) {
        tput << quoted(r.suite + ": " + row.benchmark) << ' ' << *row.blaze << ' '
             << (row.raw ? *row.raw : 0.0) << '\n';
        ++bars;
      }
  lat.close();
  tput.close();
  {
    std::ofstream gp(out / "bench.gp");
    gp << "set terminal pngcairo size 1800,1400 font ',9'\n"
          "set output '" << (out / "bench.png").string() << "'\n"
          "set multiplot layout 2,1 title 'blaze-bench all: Blaze beside its baselines'\n"
          "set style data histograms\n"
          "set style histogram clustered gap 1\n"
          "set style fill solid 0.8 border -1\n"
          "set logscale y\n"
          "set grid ytics\n"
          "set xtics rotate by -35 left noenhanced\n"
          "set key top left\n"
          "set bmargin 14\n"
          "set rmargin 16\n"
          "set title 'Latency percentiles of every timed path (µs, log scale)'\n"
          "set ylabel 'µs'\n"
          "plot '" << (out / "latency.dat").string()
       << "' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'\n"
          "set title 'Throughput: Blaze beside the baseline of the same work (ops/s, log "
          "scale; no bar: no baseline)'\n"
          "set ylabel 'ops/s'\n"
          "plot '" << (out / "throughput.dat").string()
       << "' using ($2 > 0 ? $2 : NaN):xtic(1) title 'Blaze', '' using ($3 > 0 ? $3 : NaN) "
          "title 'baseline'\n"
          "unset multiplot\n";
  }
  if (bars == 0)
    return "no throughput figures to plot";
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return "gnuplot is not installed (scripts/install-deps.sh --bench installs it)";
  auto cmd = "gnuplot '" + (out / "bench.gp").string() + "' 2>'" + (out / "gnuplot.log").string()
             + "'";
  if (std::system(cmd.c_str()) != 0)
    return "gnuplot failed, see " + (out / "gnuplot.log").string();
  return {};
}

// The figures as Markdown tables, for the README.
std::string markdown(const std::vector<report>& reports) {
  std::ostringstream md;
  md << "| suite | benchmark | Blaze | baseline | Blaze/baseline |\n|---|---|---|---|---|\n";
  for (auto& r : reports)
    for (auto& row : r.rows) {
      auto ratio = row.ratio();
      md << "| " << r.suite << " | " << row.benchmark << " | "
         << (row.blaze ? format_value(*row.blaze, row.unit) : "-") << " | "
         << (row.raw ? format_value(*row.raw, row.unit) : "-") << " | "
         << (ratio ? format_ratio(*ratio) : "-") << " |\n";
    }
  md << "\n| latency (µs) | p50 | p99 | p99.9 |\n|---|---|---|---|\n";
  for (auto& r : reports)
    for (auto& l : r.latencies)
      md << "| " << r.suite << ": " << l.name << " | " << format_ns_as_us(l.latency.p50_ns)
         << " | " << format_ns_as_us(l.latency.p99_ns) << " | "
         << format_ns_as_us(l.latency.p999_ns) << " |\n";
  return md.str();
}

} // namespace

int run_all_bench(const all_bench_options& o, std::ostream& out, std::ostream& log) {
  fs::create_directories(o.out);
  std::vector<report> reports;
  std::vector<std::string> failures;
  nlohmann::json doc;
  doc["tool"] = "blaze-bench all";
  doc["quick"] = o.quick;
  doc["machine"] = machine_info();
  doc["suites"] = nlohmann::json::array();
  std::ostringstream tables;
  for (auto& s : suites(o)) {
    log << "== " << s.name << "\n";
    try {
      auto r = s.run(log);
      tables << "== " << s.name << "\n\n";
      print(r, tables);
      tables << "\n";
      doc["suites"].push_back(to_json(r));
      reports.push_back(std::move(r));
    } catch (const std::exception& e) {
      failures.push_back(s.name + ": " + e.what());
      log << "blaze-bench all: " << s.name << " failed: " << e.what() << "\n";
    }
    // Written after every suite: a run stopped half-way keeps what it measured.
    doc["failures"] = failures;
    write_json(o.out / "bench.json", doc);
  }
  auto why_no_plot = plot(reports, o.out);
  if (!why_no_plot.empty())
    tables << "warning: no plot: " << why_no_plot << "\n";
  for (auto& f : failures)
    tables << "FAILED: " << f << "\n";
  {
    std::ofstream txt(o.out / "bench.txt");
    txt << tables.str();
    if (!txt)
      throw std::runtime_error("cannot write " + (o.out / "bench.txt").string());
  }
  {
    std::ofstream md(o.out / "bench.md");
    md << markdown(reports);
  }
  out << tables.str();
  log << "wrote " << (o.out / "bench.json").string() << ", " << (o.out / "bench.txt").string()
      << ", " << (o.out / "bench.md").string()
      << (why_no_plot.empty() ? ", " + (o.out / "bench.png").string() : std::string{}) << "\n";
  return failures.empty() ? 0 : 1;
}

} // namespace blaze::bench
