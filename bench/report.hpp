// Benchmark output shared by every blaze-bench subcommand: an aligned text
// table for people and one JSON document (figures + machine) for tools.
#pragma once

#include "stats.hpp"

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace blaze::bench {

enum class align { left, right };

// Columns sized to their widest cell (UTF-8 aware, so "≥" counts as one).
class text_table {
public:
  explicit text_table(std::vector<std::string> headers, std::vector<align> aligns = {});
  void add_row(std::vector<std::string> cells);
  void add_separator();
  void print(std::ostream& out) const;

private:
  std::vector<std::string> headers_;
  std::vector<align> aligns_;
  std::vector<std::vector<std::string>> rows_; // empty row: separator
};

// One benchmark measured on Blaze and on a baseline doing the same logical
// work without Blaze (raw LevelDB, bare OpenSSL, ...). Either side may be
// absent (a raw limit has no Blaze figure).
struct comparison_row {
  std::string benchmark;
  std::optional<double> blaze; // in `unit`
  std::optional<double> raw;
  std::string unit = "ops/s";
  std::string notes;
  nlohmann::json details = nlohmann::json::object(); // every figure behind the row

  // blaze / raw when both are present.
  std::optional<double> ratio() const;
};

struct latency_row {
  std::string name;
  latency_summary latency;
};

struct report {
  std::string suite; // the subcommand, e.g. "storage"
  nlohmann::json parameters = nlohmann::json::object();
  std::vector<comparison_row> rows;
  std::vector<latency_row> latencies;
  std::vector<std::string> warnings; // printed under the tables, kept in JSON
};

// "1,234,567" for rates; "12.3" style for small values.
std::string format_rate(double v);
std::string format_value(double v, const std::string& unit);
std::string format_ratio(double r);
std::string format_ns_as_us(double ns);

void print(const report& r, std::ostream& out);

// What the figures were measured on: CPU count and model, kernel, compiler,
// build type, library versions, the date (UTC, ISO 8601).
nlohmann::json machine_info();

nlohmann::json to_json(const report& r);

// Writes `doc` (pretty-printed) to `path`; throws std::runtime_error on failure.
void write_json(const std::filesystem::path& path, const nlohmann::json& doc);

} // namespace blaze::bench
