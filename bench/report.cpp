#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <leveldb/db.h>
#include <openssl/crypto.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

// Set by bench/CMakeLists.txt; defaults keep the file compilable alone.
#ifndef BLAZE_BENCH_BUILD_TYPE
#define BLAZE_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef BLAZE_BENCH_CXX_FLAGS
#define BLAZE_BENCH_CXX_FLAGS ""
#endif
#ifndef BLAZE_BENCH_SANITIZE
#define BLAZE_BENCH_SANITIZE 0
#endif

namespace blaze::bench {

namespace {

// Display width of UTF-8 text: code points, not bytes.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(
    std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t width, align a) {
  auto w = display_width(s);
  if (w >= width)
    return s;
  std::string fill(width - w, ' ');
  return a == align::left ? s + fill : fill + s;
}

std::string compiler_description() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    }
  }
  return "unknown";
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

text_table::text_table(std::vector<std::string> headers, std::vector<align> aligns)
    : headers_(std::move(headers)), aligns_(std::move(aligns)) {
  aligns_.resize(headers_.size(), align::left);
}

void text_table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void text_table::add_separator() { rows_.emplace_back(); }

void text_table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = display_width(headers_[c]);
    for (auto& row : rows_)
      if (!row.empty())
        widths[c] = std::max(widths[c], display_width(row[c]));
  }
  auto rule = [&] {
    for (std::size_t c = 0; c < widths.size(); ++c)
      out << (c ? "-+-" : "") << std::string(widths[c], '-');
    out << '\n';
  };
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      // The last column is left ragged: no trailing blanks.
      bool last = c + 1 == cells.size();
      auto a = header ? align::left : aligns_[c];
      text += (c ? " | " : "") + (last && a == align::left ? cells[c] : pad(cells[c], widths[c], a));
    }
    out << text << '\n';
  };
  line(headers_, true);
  rule();
  for (auto& row : rows_) {
    if (row.empty())
      rule();
    else
      line(row, false);
  }
}

std::optional<double> comparison_row::ratio() const {
  if (blaze && raw && *raw > 0)
    return *blaze / *raw;
  return std::nullopt;
}

std::string format_rate(double v) {
  if (!std::isfinite(v))
    return "-";
  if (v < 100) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }
  auto n = static_cast<unsigned long long>(std::llround(v));
  auto digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_value(double v, const std::string& unit) {
  if (unit == "ops/s")
    return format_rate(v) + " ops/s";
  if (v >= 10000)
    return format_rate(v) + " " + unit;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, unit.c_str());
  return buf;
}

std::string format_ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

std::string format_ns_as_us(double ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ns < 10'000 ? "%.2f" : "%.0f", ns / 1000.0);
  return buf;
}

void print(const report& r, std::ostream& out) {
  text_table main({"benchmark", "blaze", "baseline", "blaze/baseline", "notes"},
                  {align::left, align::right, align::right, align::right, align::left});
  for (auto& row : r.rows) {
    auto ratio = row.ratio();
    main.add_row({row.benchmark, row.blaze ? format_value(*row.blaze, row.unit) : "-",
                  row.raw ? format_value(*row.raw, row.unit) : "-",
                  ratio ? format_ratio(*ratio) : "-", row.notes});
  }
  main.print(out);

  if (!r.latencies.empty()) {
    out << '\n';
    text_table lat({"latency (µs)", "count", "mean", "p50", "p99", "p99.9", "max"},
                   {align::left, align::right, align::right, align::right, align::right,
                    align::right, align::right});
    for (auto& l : r.latencies) {
      auto& s = l.latency;
      lat.add_row({l.name, std::to_string(s.count), format_ns_as_us(s.mean_ns),
                   format_ns_as_us(s.p50_ns), format_ns_as_us(s.p99_ns),
                   format_ns_as_us(s.p999_ns), format_ns_as_us(s.max_ns)});
    }
    lat.print(out);
  }
  for (auto& w : r.warnings)
    out << "warning: " << w << '\n';
}

nlohmann::json machine_info() {
  nlohmann::json m;
  m["nproc_online"] = static_cast<long>(sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    m["nproc"] = CPU_COUNT(&set); // what this process may use, as nproc(1) reports
  else
    m["nproc"] = std::thread::hardware_concurrency();
  m["cpu_model"] = cpu_model();
  utsname u{};
  if (uname(&u) == 0) {
    m["kernel"] = std::string(u.sysname) + " " + u.release;
    m["arch"] = u.machine;
    m["hostname"] = u.nodename;
  }
  m["compiler"] = compiler_description();
  m["build_type"] = BLAZE_BENCH_BUILD_TYPE;
  m["cxx_flags"] = BLAZE_BENCH_CXX_FLAGS;
  m["sanitizers"] = static_cast<bool>(BLAZE_BENCH_SANITIZE);
  m["leveldb"] = std::to_string(leveldb::kMajorVersion) + "." + std::to_string(leveldb::kMinorVersion);
  m["openssl"] = OpenSSL_version(OPENSSL_VERSION);
  double load[3];
  if (getloadavg(load, 3) == 3)
    m["loadavg"] = {load[0], load[1], load[2]};
  m["date"] = utc_now_iso8601();
  return m;
}

nlohmann::json to_json(const report& r) {
  nlohmann::json doc;
  doc["tool"] = "blaze-bench";
  doc["suite"] = r.suite;
  doc["machine"] = machine_info();
  doc["parameters"] = r.parameters;
  auto& results = doc["results"] = nlohmann::json::array();
  for (auto& row : r.rows) {
    nlohmann::json j = {{"benchmark", row.benchmark}, {"unit", row.unit}, {"notes", row.notes}};
    j["blaze"] = row.blaze ? nlohmann::json(*row.blaze) : nlohmann::json(nullptr);
    j["raw"] = row.raw ? nlohmann::json(*row.raw) : nlohmann::json(nullptr);
    auto ratio = row.ratio();
    j["ratio"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
    j["details"] = row.details;
    results.push_back(std::move(j));
  }
  auto& lat = doc["latency"] = nlohmann::json::object();
  for (auto& l : r.latencies)
    lat[l.name] = l.latency;
  doc["warnings"] = r.warnings;
  return doc;
}

void write_json(const std::filesystem::path& path, const nlohmann::json& doc) {
  std::ofstream out(path);
  if (!out)
    throw std::runtime_error("cannot open " + path.string() + " for writing");
  out << doc.dump(2) << '\n';
  out.close();
  if (!out)
    throw std::runtime_error("writing " + path.string() + " failed");
}

} // namespace blaze::bench
