#include "storage_bench.hpp"

#include "scratch_dir.hpp"
#include "ping_pong.hpp"
#include "stats.hpp"

#include <blaze/storage/database.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <openssl/evp.h>

namespace blaze::bench {

namespace {

constexpr std::string_view collection = "bench";
constexpr std::string_view password = "blaze-bench password";
// Stores are created cheaply: the KDF is not what these figures measure
// (the "open" row measures it on its own, at the default cost).
constexpr int cheap_kdf_log2_n = 10;
constexpr std::size_t query_span = 1000; // records matched by each query
constexpr double put_goal_ratio = 0.60;
constexpr double apply_goal_ops = 200'000;

// Failures end the run with a message; exceptions stay inside the tool.
using bench::must; // for results; this overload is for LevelDB's statuses
void must(const leveldb::Status& s, const char* what) {
  if (!s.ok())
    throw std::runtime_error(std::string(what) + ": " + s.ToString());
}

// Takes a literal: it runs inside timed loops, where building a message
// string per call would be billed to the side being measured.
void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string("sanity check failed: ") + what);
}

std::string format_fixed(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// ---------------------------------------------------------------------------
// The records, identical for both stores.

struct dataset {
  std::vector<std::string> ids;   // "r%08d", inserted in this (sorted) order
  std::vector<std::string> names; // value_bytes random alphanumerics (snappy cannot shrink them)
  std::vector<double> scores;

  dataset(std::size_t n, std::size_t value_bytes, std::mt19937_64& rng) {
    static constexpr char alphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::uniform_int_distribution<int> letter(0, sizeof alphabet - 2);
    std::uniform_real_distribution<double> score(0, 1000);
    ids.reserve(n);
    names.reserve(n);
    scores.reserve(n);
    char id[32];
    for (std::size_t i = 0; i < n; ++i) {
      std::snprintf(id, sizeof id, "r%08zu", i);
      ids.emplace_back(id);
      std::string name(value_bytes, ' ');
      for (auto& c : name)
        c = alphabet[letter(rng)];
      names.push_back(std::move(name));
      scores.push_back(score(rng));
    }
  }

  std::size_t size() const { return ids.size(); }

  field_map fields(std::size_t i) const {
    return {{"n", value(static_cast<std::int64_t>(i))},
            {"name", value(names[i])},
            {"score", value(scores[i])}};
  }
};

// ---------------------------------------------------------------------------
// Raw LevelDB: the same logical record, serialized simply (tag + payload per
// field, varint lengths), under key "<collection>\0<id>". No encryption, no
// per-field stamps, no op log.

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    v |= std::uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

bool get_string(std::string_view& in, std::string& s) {
  std::uint64_t len;
  if (!get_varint(in, len) || len > in.size())
    return false;
  s.assign(in.data(), len);
  in.remove_prefix(len);
  return true;
}

void encode_fields(const field_map& fields, std::string& out) {
  put_varint(out, fields.size());
  for (auto& [name, v] : fields) {
    put_varint(out, name.size());
    out += name;
    out.push_back(static_cast<char>(v.type()));
    switch (v.type()) {
    case value_type::null:
      break;
    case value_type::boolean:
      out.push_back(*v.as_bool() ? 1 : 0);
      break;
    case value_type::integer: {
      std::int64_t i = *v.as_int();
      out.append(reinterpret_cast<const char*>(&i), sizeof i);
      break;
    }
    case value_type::real: {
      double d = *v.as_double();
      out.append(reinterpret_cast<const char*>(&d), sizeof d);
      break;
    }
    case value_type::string:
      put_varint(out, v.as_string()->size());
      out += *v.as_string();
      break;
    case value_type::bytes:
      put_varint(out, v.as_bytes()->size());
      out.append(reinterpret_cast<const char*>(v.as_bytes()->data()), v.as_bytes()->size());
      break;
    }
  }
}

bool decode_fields(std::string_view in, field_map& fields) {
  std::uint64_t count;
  if (!get_varint(in, count))
    return false;
  for (std::uint64_t k = 0; k < count; ++k) {
    std::string name;
    if (!get_string(in, name) || in.empty())
      return false;
    auto type = static_cast<value_type>(in.front());
    in.remove_prefix(1);
    value v;
    switch (type) {
    case value_type::null:
      break;
    case value_type::boolean:
      if (in.empty())
        return false;
      v = value(in.front() != 0);
      in.remove_prefix(1);
      break;
    case value_type::integer:
    case value_type::real: {
      if (in.size() < 8)
        return false;
      if (type == value_type::integer) {
        std::int64_t i;
        std::memcpy(&i, in.data(), 8);
        v = value(i);
      } else {
        double d;
        std::memcpy(&d, in.data(), 8);
        v = value(d);
      }
      in.remove_prefix(8);
      break;
    }
    case value_type::string: {
      std::string s;
      if (!get_string(in, s))
        return false;
      v = value(std::move(s));
      break;
    }
    case value_type::bytes: {
      std::string s;
      if (!get_string(in, s))
        return false;
      v = value(blaze::bytes(s.begin(), s.end()));
      break;
    }
    default:
      return false;
    }
    fields.insert_or_assign(std::move(name), std::move(v));
  }
  return in.empty();
}

std::string raw_key(std::string_view coll, std::string_view id) {
  std::string key;
  key.reserve(coll.size() + 1 + id.size());
  key.append(coll).push_back('\0');
  key.append(id);
  return key;
}

// LevelDB with the options Blaze's store gets as far as they apply: no
// sync, default write buffer, a block cache of the same size.
struct raw_store {
  std::unique_ptr<leveldb::Cache> cache; // declared first: outlives db
  std::unique_ptr<leveldb::DB> db;

  explicit raw_store(const std::filesystem::path& path, std::size_t cache_bytes) {
    cache.reset(leveldb::NewLRUCache(cache_bytes));
    leveldb::Options options;
    options.create_if_missing = true;
    options.error_if_exists = true;
    options.block_cache = cache.get();
    leveldb::DB* raw = nullptr;
    must(leveldb::DB::Open(options, path.string(), &raw), "open raw LevelDB");
    db.reset(raw);
  }
};

// ---------------------------------------------------------------------------
// Blaze stores.

std::unique_ptr<database> open_blaze(const std::filesystem::path& path, std::string_view name,
                                     int kdf_log2_n = cheap_kdf_log2_n) {
  open_options options;
  options.kdf_log2_n = kdf_log2_n;
  options.error_if_exists = true;
  return must(database::open(name, path, password, options), "open Blaze store");
}

double elapsed_ms(bench_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(bench_clock::now() - start).count();
}

// ---------------------------------------------------------------------------
// AES-256-GCM raw limit: the key scheduled once, a counter nonce, 16 bytes of
// associated data (about a LevelDB key) and a 16-byte tag per value.

struct gcm_figures {
  measurement seal;
  measurement open;
  measurement seal_fresh_context; // a new EVP context + key schedule per seal
};

class gcm_context {
public:
  gcm_context() : ctx_(EVP_CIPHER_CTX_new()) {
    if (!ctx_)
      throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  }
  ~gcm_context() { EVP_CIPHER_CTX_free(ctx_); }
  gcm_context(const gcm_context&) = delete;
  gcm_context& operator=(const gcm_context&) = delete;
  EVP_CIPHER_CTX* get() const { return ctx_; }

private:
  EVP_CIPHER_CTX* ctx_;
};

void gcm_ok(int rc, const char* what) {
  if (rc != 1)
    throw std::runtime_error(std::string("OpenSSL ") + what + " failed");
}

void seal_one(EVP_CIPHER_CTX* ctx, const unsigned char* key, const unsigned char* iv,
              const unsigned char* aad, const std::string& plain, unsigned char* out,
              unsigned char* tag) {
  int len = 0;
  gcm_ok(EVP_EncryptInit_ex(ctx, key ? EVP_aes_256_gcm() : nullptr, nullptr, key, iv),
         "EncryptInit");
  gcm_ok(EVP_EncryptUpdate(ctx, nullptr, &len, aad, 16), "EncryptUpdate(aad)");
  gcm_ok(EVP_EncryptUpdate(ctx, out, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                           static_cast<int>(plain.size())),
         "EncryptUpdate");
  int tail = 0;
  gcm_ok(EVP_EncryptFinal_ex(ctx, out + len, &tail), "EncryptFinal");
  gcm_ok(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag), "GET_TAG");
}

gcm_figures measure_gcm(std::size_t value_bytes, std::size_t iterations, std::mt19937_64& rng) {
  unsigned char key[32], aad[16], iv[12] = {}, tag[16];
  for (auto& b : key)
    b = static_cast<unsigned char>(rng());
  for (auto& b : aad)
    b = static_cast<unsigned char>(rng());
  std::string plain(value_bytes, 'x');
  std::vector<unsigned char> out(value_bytes + 16);
  gcm_figures f;

  {
    gcm_context ctx;
    gcm_ok(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, nullptr), "init");
    phase_timer timer;
    for (std::size_t i = 0; i < iterations; ++i) {
      std::uint64_t counter = i;
      std::memcpy(iv + 4, &counter, sizeof counter);
      seal_one(ctx.get(), nullptr, iv, aad, plain, out.data(), tag);
    }
    f.seal.timing = timer.elapsed();
    f.seal.ops = iterations;
  }
  {
    // Open the last sealed value repeatedly (same nonce, ciphertext, tag).
    gcm_context ctx;
    gcm_ok(EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, nullptr), "init");
    std::vector<unsigned char> back(value_bytes + 16);
    phase_timer timer;
    for (std::size_t i = 0; i < iterations; ++i) {
      int len = 0, tail = 0;
      gcm_ok(EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, iv), "DecryptInit");
      gcm_ok(EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad, 16), "DecryptUpdate(aad)");
      gcm_ok(EVP_DecryptUpdate(ctx.get(), back.data(), &len, out.data(),
                               static_cast<int>(value_bytes)),
             "DecryptUpdate");
      gcm_ok(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag), "SET_TAG");
      gcm_ok(EVP_DecryptFinal_ex(ctx.get(), back.data() + len, &tail), "tag check");
    }
    f.open.timing = timer.elapsed();
    f.open.ops = iterations;
  }
  {
    std::size_t n = std::max<std::size_t>(iterations / 4, 1);
    phase_timer timer;
    for (std::size_t i = 0; i < n; ++i) {
      gcm_context ctx;
      std::uint64_t counter = i;
      std::memcpy(iv + 4, &counter, sizeof counter);
      seal_one(ctx.get(), key, iv, aad, plain, out.data(), tag);
    }
    f.seal_fresh_context.timing = timer.elapsed();
    f.seal_fresh_context.ops = n;
  }
  return f;
}

nlohmann::json pair_details(const measurement& blaze_m, const measurement& raw_m) {
  return {{"blaze", blaze_m}, {"raw", raw_m}};
}

std::string cpu_note(const measurement& m) {
  return format_fixed("%.2f", m.thread_cpu_ns_per_op() / 1000.0) + " µs cpu/op, "
         + format_fixed("%.2f", m.process_cores()) + " cores";
}

// The calling thread's CPU per op, and the rate one core could reach if the
// thread never waited (on LevelDB write stalls, or for the CPU).
std::string single_core_note(const measurement& m) {
  double ns = m.thread_cpu_ns_per_op();
  return "1 thread: " + format_fixed("%.2f", ns / 1000.0) + " µs cpu/op (one core ≤ "
         + format_rate(ns > 0 ? 1e9 / ns : 0) + " ops/s), process "
         + format_fixed("%.2f", m.process_cores()) + " cores";
}

class storage_run {
public:
  storage_run(const storage_bench_options& options, std::ostream& log)
      : opt_(options), log_(log), rng_(options.seed), scratch_(options.dir),
        data_(options.records, options.value_bytes, rng_) {}

  report run() {
    report_.suite = "storage";
    report_.parameters = {{"records", opt_.records},
                          {"value_bytes", opt_.value_bytes},
                          {"query_iterations", opt_.query_iterations},
                          {"query_span", query_span},
                          {"apply_batch", opt_.apply_batch},
                          {"seed", opt_.seed},
                          {"kdf_log2_n", cheap_kdf_log2_n},
                          {"scratch_dir", scratch_.path().string()}};
    log_ << "storage: " << opt_.records << " records, name " << opt_.value_bytes
         << " bytes, scratch " << scratch_.path().string() << '\n';

    bench_open();
    // Declared here so they close before the scratch directory goes away.
    auto blaze_db = open_blaze(scratch_ / "blaze", "bench-a");
    raw_store raw(scratch_ / "raw", open_options{}.cache_bytes);
    bench_put(*blaze_db, raw);
    bench_get(*blaze_db, raw);
    bench_query(*blaze_db, raw);
    bench_apply(*blaze_db);
    bench_crypto();
    add_build_warnings();
    add_disturbance_warning();
    report_.parameters["settle_wait_s"] = quiet_s_;
    return std::move(report_);
  }

private:
  // Lets the previous phase's background LevelDB work finish first.
  void quiet() { quiet_s_ += wait_for_quiet(); }

  void progress(const std::string& what, const measurement& m) {
    log_ << "  " << what << ": " << format_rate(m.ops_per_s()) << " ops/s ("
         << format_fixed("%.2f", m.timing.wall_s) << " s";
    auto disturbed = m.timing.foreign_cores + m.timing.steal_cores;
    if (disturbed >= 0.01)
      log_ << ", other load " << format_fixed("%.2f", disturbed) << " cores";
    log_ << ")\n";
    // /proc/stat ticks are 10 ms: judge only phases long enough to measure.
    if (m.timing.wall_s >= 0.2 && disturbed > 0.25)
      disturbed_.emplace_back(what, disturbed);
  }

  void add_disturbance_warning() {
    if (disturbed_.empty())
      return;
    double worst = 0;
    std::string phases;
    for (auto& [what, cores] : disturbed_) {
      worst = std::max(worst, cores);
      phases += (phases.empty() ? "" : ", ") + what;
    }
    report_.warnings.push_back("other processes (or the hypervisor) used up to "
                               + format_fixed("%.2f", worst) + " cores during " + phases
                               + ": figures are disturbed, re-run on a quiet machine");
  }

  void bench_open() {
    auto path = scratch_ / "open-default";
    auto start = bench_clock::now();
    {
      open_options options; // default KDF cost
      options.error_if_exists = true;
      auto db = must(database::open("bench-open", path, password, options), "create store");
    }
    double create_ms = elapsed_ms(start);
    start = bench_clock::now();
    {
      auto db = must(database::open("bench-open", path, password), "reopen store");
    }
    double reopen_ms = elapsed_ms(start);
    start = bench_clock::now();
    open_blaze(scratch_ / "open-cheap", "bench-open");
    double cheap_ms = elapsed_ms(start);

    comparison_row row;
    row.benchmark = "open (scrypt N=2^15)";
    row.unit = "ms";
    row.blaze = create_ms;
    row.notes = "create; reopen " + format_fixed("%.1f", reopen_ms) + " ms; N=2^"
                + std::to_string(cheap_kdf_log2_n) + " create "
                + format_fixed("%.1f", cheap_ms) + " ms (used below)";
    row.details = {{"create_ms", create_ms},
                   {"reopen_ms", reopen_ms},
                   {"create_cheap_kdf_ms", cheap_ms},
                   {"kdf_log2_n", open_options{}.kdf_log2_n}};
    log_ << "  open: create " << format_fixed("%.1f", create_ms) << " ms, reopen "
         << format_fixed("%.1f", reopen_ms) << " ms\n";
    report_.rows.push_back(std::move(row));
  }

  void bench_put(database& db, raw_store& raw) {
    auto n = data_.size();
    // Raw first: LevelDB compaction still running after a phase slows the
    // next one a little, and Blaze (writing more) should not be the one
    // that benefits from it.
    measurement raw_m;
    {
      latency_recorder lat;
      lat.reserve(n);
      leveldb::WriteOptions wo; // sync = false
      std::string value;
      quiet();
      phase_timer timer;
      for (std::size_t i = 0; i < n; ++i) {
        auto t0 = bench_clock::now();
        auto fields = data_.fields(i);
        value.clear();
        encode_fields(fields, value);
        must(raw.db->Put(wo, raw_key(collection, data_.ids[i]), value), "raw put");
        lat.add(t0, bench_clock::now());
      }
      raw_m.timing = timer.elapsed();
      raw_m.ops = n;
      raw_m.latency = lat.summarize();
    }
    progress("put raw", raw_m);

    // The same raw LevelDB doing what the design asks of every change: the
    // record and its op-log entry in one atomic batch (no merge read, no
    // encryption). The gap between this row and Blaze is Blaze's own cost.
    measurement raw_log_m;
    {
      raw_store raw_log(scratch_ / "raw-oplog", open_options{}.cache_bytes);
      latency_recorder lat;
      lat.reserve(n);
      leveldb::WriteOptions wo;
      std::string value, log_key;
      leveldb::WriteBatch wb;
      blaze::op o;
      o.origin = 1;
      o.collection = collection;
      quiet();
      phase_timer timer;
      for (std::size_t i = 0; i < n; ++i) {
        auto t0 = bench_clock::now();
        auto fields = data_.fields(i);
        value.clear();
        encode_fields(fields, value);
        o.seq = i + 1;
        o.id = data_.ids[i];
        o.fields = std::move(fields);
        log_key.assign("o");
        log_key.append(reinterpret_cast<const char*>(&o.seq), sizeof o.seq);
        wb.Clear();
        wb.Put(raw_key(collection, data_.ids[i]), value);
        wb.Put(log_key, blaze::encode(o));
        must(raw_log.db->Write(wo, &wb), "raw put with op log");
        lat.add(t0, bench_clock::now());
      }
      raw_log_m.timing = timer.elapsed();
      raw_log_m.ops = n;
      raw_log_m.latency = lat.summarize();
    }
    progress("put raw + op log", raw_log_m);

    measurement blaze_m;
    {
      latency_recorder lat;
      lat.reserve(n);
      quiet();
      phase_timer timer;
      for (std::size_t i = 0; i < n; ++i) {
        auto t0 = bench_clock::now();
        must(db.put(collection, data_.ids[i], data_.fields(i)), "blaze put");
        lat.add(t0, bench_clock::now());
      }
      blaze_m.timing = timer.elapsed();
      blaze_m.ops = n;
      blaze_m.latency = lat.summarize();
    }
    progress("put blaze", blaze_m);
    put_blaze_ = blaze_m;

    check(must(db.count(collection), "count") == n, "Blaze holds every record put");

    comparison_row row;
    row.benchmark = "put";
    row.blaze = blaze_m.ops_per_s();
    row.raw = raw_m.ops_per_s();
    bool met = *row.ratio() >= put_goal_ratio;
    row.notes = std::string("goal: put ≥ 60% of raw: ") + (met ? "met" : "MISSED")
                + "; cpu/op blaze " + format_fixed("%.2f", blaze_m.thread_cpu_ns_per_op() / 1000)
                + " µs, raw " + format_fixed("%.2f", raw_m.thread_cpu_ns_per_op() / 1000) + " µs";
    row.details = pair_details(blaze_m, raw_m);
    row.details["goal_ratio"] = put_goal_ratio;
    row.details["goal_met"] = met;
    row.details["disk_bytes_after_put"] = {{"blaze", directory_bytes(scratch_ / "blaze")},
                                           {"raw", directory_bytes(scratch_ / "raw")}};
    report_.rows.push_back(std::move(row));

    comparison_row log_row;
    log_row.benchmark = "put vs raw record+op log";
    log_row.blaze = blaze_m.ops_per_s();
    log_row.raw = raw_log_m.ops_per_s();
    log_row.notes = "raw writes record + op-log entry per put in one batch (what every Blaze "
                    "change must do), unencrypted, no merge read; cpu/op raw "
                    + format_fixed("%.2f", raw_log_m.thread_cpu_ns_per_op() / 1000) + " µs";
    log_row.details = pair_details(blaze_m, raw_log_m);
    report_.rows.push_back(std::move(log_row));
    report_.latencies.push_back({"put blaze", blaze_m.latency});
    report_.latencies.push_back({"put raw", raw_m.latency});
    report_.latencies.push_back({"put raw + op log", raw_log_m.latency});
  }

  void bench_get(database& db, raw_store& raw) {
    auto n = data_.size();
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    std::vector<std::uint32_t> order(n);
    for (auto& k : order)
      k = static_cast<std::uint32_t>(pick(rng_));

    measurement raw_m;
    {
      latency_recorder lat;
      lat.reserve(n);
      leveldb::ReadOptions ro;
      std::string value;
      std::size_t found = 0;
      quiet();
      phase_timer timer;
      for (auto k : order) {
        auto t0 = bench_clock::now();
        must(raw.db->Get(ro, raw_key(collection, data_.ids[k]), &value), "raw get");
        record r{data_.ids[k], {}};
        found += decode_fields(value, r.fields) && r.fields.size() == 3;
        lat.add(t0, bench_clock::now());
      }
      raw_m.timing = timer.elapsed();
      raw_m.ops = n;
      raw_m.latency = lat.summarize();
      check(found == n, "raw get decodes every record");
    }
    progress("get raw", raw_m);

    measurement blaze_m;
    {
      latency_recorder lat;
      lat.reserve(n);
      std::size_t found = 0;
      quiet();
      phase_timer timer;
      for (auto k : order) {
        auto t0 = bench_clock::now();
        auto r = must(db.get(collection, data_.ids[k]), "blaze get");
        found += r && r->fields.size() == 3;
        lat.add(t0, bench_clock::now());
      }
      blaze_m.timing = timer.elapsed();
      blaze_m.ops = n;
      blaze_m.latency = lat.summarize();
      check(found == n, "Blaze get finds every record");
    }
    progress("get blaze", blaze_m);
    get_blaze_ = blaze_m;

    comparison_row row;
    row.benchmark = "get (random)";
    row.blaze = blaze_m.ops_per_s();
    row.raw = raw_m.ops_per_s();
    row.notes = "Blaze " + cpu_note(blaze_m);
    row.details = pair_details(blaze_m, raw_m);
    report_.rows.push_back(std::move(row));
    report_.latencies.push_back({"get blaze", blaze_m.latency});
    report_.latencies.push_back({"get raw", raw_m.latency});
  }

  void bench_query(database& db, raw_store& raw) {
    auto n = data_.size();
    auto span = static_cast<std::int64_t>(query_span);
    std::uniform_int_distribution<std::int64_t> pick(
      0, std::max<std::int64_t>(0, static_cast<std::int64_t>(n) - span));
    std::vector<std::int64_t> starts(opt_.query_iterations);
    for (auto& x : starts)
      x = pick(rng_);
    auto make_query = [&](std::int64_t x) {
      return query(std::string(collection))
        .when("n", compare_op::ge, value(x))
        .when("n", compare_op::lt, value(x + span));
    };
    auto expected = [&](std::int64_t x) {
      return static_cast<std::size_t>(std::min<std::int64_t>(span, n - x));
    };

    // Raw: scan the collection, decode every record, evaluate the same
    // conditions with Blaze's own predicate, keep the matches.
    measurement raw_m;
    {
      latency_recorder lat;
      leveldb::ReadOptions ro;
      auto prefix = raw_key(collection, "");
      quiet();
      phase_timer timer;
      for (auto x : starts) {
        auto t0 = bench_clock::now();
        auto q = make_query(x);
        std::vector<record> out;
        std::unique_ptr<leveldb::Iterator> it(raw.db->NewIterator(ro));
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
          auto key = it->key();
          record r{std::string(key.data() + prefix.size(), key.size() - prefix.size()), {}};
          check(decode_fields(std::string_view(it->value().data(), it->value().size()),
                              r.fields),
                "raw record decodes");
          bool hit = std::all_of(q.where.begin(), q.where.end(),
                                 [&](const condition& c) { return matches(r, c); });
          if (hit)
            out.push_back(std::move(r));
        }
        must(it->status(), "raw scan");
        lat.add(t0, bench_clock::now());
        check(out.size() == expected(x), "raw query finds the range");
      }
      raw_m.timing = timer.elapsed();
      raw_m.ops = starts.size();
      raw_m.latency = lat.summarize();
    }
    progress("query raw", raw_m);

    measurement blaze_m;
    {
      latency_recorder lat;
      quiet();
      phase_timer timer;
      for (auto x : starts) {
        auto t0 = bench_clock::now();
        auto out = must(db.find(make_query(x)), "blaze find");
        lat.add(t0, bench_clock::now());
        check(out.size() == expected(x), "Blaze find returns the range");
      }
      blaze_m.timing = timer.elapsed();
      blaze_m.ops = starts.size();
      blaze_m.latency = lat.summarize();
    }
    progress("query blaze", blaze_m);

    // Neither side has an index on "n": each query reads the collection.
    double blaze_scan = blaze_m.ops_per_s() * n;
    double raw_scan = raw_m.ops_per_s() * n;
    comparison_row row;
    row.benchmark = "query (n in range of " + std::to_string(query_span) + ")";
    row.blaze = blaze_m.ops_per_s();
    row.raw = raw_m.ops_per_s();
    row.notes = "full scan: blaze " + format_rate(blaze_scan) + " rec/s, raw "
                + format_rate(raw_scan) + " rec/s";
    row.details = pair_details(blaze_m, raw_m);
    row.details["records_scanned_per_query"] = n;
    row.details["records_scanned_per_s"] = {{"blaze", blaze_scan}, {"raw", raw_scan}};
    report_.rows.push_back(std::move(row));
    report_.latencies.push_back({"query blaze", blaze_m.latency});
    report_.latencies.push_back({"query raw", raw_m.latency});
  }

  void bench_apply(database& source) {
    auto n = data_.size();
    // The put phase made n ops with origin A = `source`.
    measurement since_m;
    std::vector<op> ops;
    {
      quiet();
      phase_timer timer;
      ops = must(source.ops_since(version_vector{}), "ops_since");
      since_m.timing = timer.elapsed();
      since_m.ops = ops.size();
    }
    progress("ops_since", since_m);
    check(ops.size() == n, "ops_since returns every op put");
    check(std::all_of(ops.begin(), ops.end(), [&](const op& o) { return o.origin == source.id(); }),
          "every op has origin A");

    std::vector<std::vector<op>> batches;
    for (std::size_t i = 0; i < ops.size(); i += opt_.apply_batch) {
      auto end = std::min(ops.size(), i + opt_.apply_batch);
      batches.emplace_back(std::make_move_iterator(ops.begin() + i),
                           std::make_move_iterator(ops.begin() + end));
    }
    ops.clear();
    ops.shrink_to_fit();

    comparison_row since_row;
    since_row.benchmark = "ops_since (all, from A)";
    since_row.blaze = since_m.ops_per_s();
    since_row.notes = "feeds apply; " + cpu_note(since_m);
    since_row.details = {{"blaze", since_m}};
    report_.rows.push_back(std::move(since_row));

    // Raw counterpart: the same records written in LevelDB batches of the
    // same size (no op log, no merge, no encryption).
    measurement raw_m;
    {
      raw_store raw(scratch_ / "raw-apply", open_options{}.cache_bytes);
      latency_recorder lat;
      leveldb::WriteOptions wo;
      std::string value;
      quiet();
      phase_timer timer;
      for (auto& batch : batches) {
        auto t0 = bench_clock::now();
        leveldb::WriteBatch wb;
        for (auto& o : batch) {
          value.clear();
          encode_fields(o.fields, value);
          wb.Put(raw_key(o.collection, o.id), value);
        }
        must(raw.db->Write(wo, &wb), "raw batch write");
        lat.add(t0, bench_clock::now());
      }
      raw_m.timing = timer.elapsed();
      raw_m.ops = n;
      raw_m.latency = lat.summarize();
    }
    progress("apply raw", raw_m);

    auto replica = open_blaze(scratch_ / "blaze-apply", "bench-b");
    measurement blaze_m;
    std::size_t applied = 0;
    {
      latency_recorder lat;
      quiet();
      phase_timer timer;
      for (auto& batch : batches) {
        auto t0 = bench_clock::now();
        auto stats = must(replica->apply(batch), "blaze apply");
        lat.add(t0, bench_clock::now());
        applied += stats.applied;
      }
      blaze_m.timing = timer.elapsed();
      blaze_m.ops = n;
      blaze_m.latency = lat.summarize();
    }
    progress("apply blaze", blaze_m);
    check(applied == n, "apply stores every op once");
    check(must(replica->count(collection), "count") == n, "the replica holds every record");
    check(replica->version().get(source.id()) == n, "the replica's version vector reaches A's");

    // Sync resends what a peer may already have: the same batches again.
    measurement dup_m;
    std::size_t duplicates = 0;
    {
      latency_recorder lat;
      quiet();
      phase_timer timer;
      for (auto& batch : batches) {
        auto t0 = bench_clock::now();
        auto stats = must(replica->apply(batch), "blaze apply (duplicates)");
        lat.add(t0, bench_clock::now());
        duplicates += stats.duplicates;
      }
      dup_m.timing = timer.elapsed();
      dup_m.ops = n;
      dup_m.latency = lat.summarize();
    }
    progress("apply duplicates", dup_m);
    check(duplicates == n, "re-applied ops count as duplicates");

    comparison_row row;
    row.benchmark = "apply (batches of " + std::to_string(opt_.apply_batch) + ")";
    row.blaze = blaze_m.ops_per_s();
    row.raw = raw_m.ops_per_s();
    bool met = blaze_m.ops_per_s() >= apply_goal_ops;
    row.notes = std::string("goal: apply ≥ 200k ops/s: ") + (met ? "met" : "MISSED") + "; "
                + single_core_note(blaze_m);
    row.details = pair_details(blaze_m, raw_m);
    row.details["goal_ops_per_s"] = apply_goal_ops;
    row.details["goal_met"] = met;
    row.details["threads"] = 1;
    report_.rows.push_back(std::move(row));

    comparison_row dup_row;
    dup_row.benchmark = "apply duplicates";
    dup_row.blaze = dup_m.ops_per_s();
    dup_row.notes = "every op already present; " + cpu_note(dup_m);
    dup_row.details = {{"blaze", dup_m}};
    report_.rows.push_back(std::move(dup_row));

    report_.latencies.push_back({"apply blaze (per batch)", blaze_m.latency});
    report_.latencies.push_back({"apply raw (per batch)", raw_m.latency});
    report_.latencies.push_back({"apply dup (per batch)", dup_m.latency});
  }

  void bench_crypto() {
    auto iterations = std::max<std::size_t>(data_.size(), 200000);
    auto f = measure_gcm(opt_.value_bytes, iterations, rng_);
    log_ << "  aes-256-gcm: seal " << format_rate(f.seal.ops_per_s()) << "/s, open "
         << format_rate(f.open.ops_per_s()) << "/s\n";
    auto mb_s = [&](const measurement& m) {
      return format_fixed("%.0f", m.ops_per_s() * opt_.value_bytes / 1e6) + " MB/s";
    };
    // How much of one Blaze operation a single seal/open would be.
    auto share = [](const measurement& crypto, const measurement& op) {
      if (op.ops_per_s() <= 0 || crypto.ops_per_s() <= 0)
        return std::string("-");
      return format_fixed("%.1f%%", 100.0 * op.ops_per_s() / crypto.ops_per_s());
    };
    auto bytes = std::to_string(opt_.value_bytes);

    comparison_row seal;
    seal.benchmark = "aes-256-gcm seal (" + bytes + " B)";
    seal.raw = f.seal.ops_per_s();
    seal.notes = "raw limit, " + mb_s(f.seal) + "; 1 seal = " + share(f.seal, put_blaze_)
                 + " of a blaze put; fresh EVP ctx: " + format_rate(f.seal_fresh_context.ops_per_s())
                 + "/s";
    seal.details = {{"raw", f.seal}, {"raw_fresh_context", f.seal_fresh_context}};
    report_.rows.push_back(std::move(seal));

    comparison_row open;
    open.benchmark = "aes-256-gcm open (" + bytes + " B)";
    open.raw = f.open.ops_per_s();
    open.notes = "raw limit, " + mb_s(f.open) + "; 1 open = " + share(f.open, get_blaze_)
                 + " of a blaze get";
    open.details = {{"raw", f.open}};
    report_.rows.push_back(std::move(open));
  }

  void add_build_warnings() {
    auto m = machine_info();
    auto type = m["build_type"].get<std::string>();
    if (type != "Release" && type != "RelWithDebInfo")
      report_.warnings.push_back("build type '" + type
                                 + "': figures are not representative, build Release");
    if (m["sanitizers"].get<bool>())
      report_.warnings.push_back("sanitizers are on: figures are not representative");
  }

  const storage_bench_options& opt_;
  std::ostream& log_;
  std::mt19937_64 rng_;
  scratch_dir scratch_; // removed last: every store above lives inside it
  dataset data_;
  report report_;
  measurement put_blaze_;
  measurement get_blaze_;
  double quiet_s_ = 0; // total time spent waiting for background work to end
  std::vector<std::pair<std::string, double>> disturbed_; // phase, foreign cores
};

} // namespace

report run_storage_bench(const storage_bench_options& options, std::ostream& log) {
  if (options.records == 0 || options.value_bytes == 0 || options.apply_batch == 0)
    throw std::invalid_argument("records, value bytes and batch size must be positive");
  storage_run run(options, log);
  return run.run();
}

} // namespace blaze::bench
