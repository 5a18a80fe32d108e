// Shared scaffolding for the storage suites: scratch directories, cheap
// stores, result checks and printers so failures show readable values.
#pragma once

#include "blaze/storage/database.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include <unistd.h>

// Printers found by Boost.Test through ADL. They are written here rather than
// using value::to_display() so that a failing report never depends on the
// code under test.
namespace blaze {

inline std::ostream& boost_test_print_type(std::ostream& os, errc code) {
  return os << to_string(code);
}

inline std::ostream& boost_test_print_type(std::ostream& os, op_kind kind) {
  return os << (kind == op_kind::set ? "set" : kind == op_kind::erase ? "erase" : "?");
}

inline std::ostream& boost_test_print_type(std::ostream& os, value_type t) {
  static const char* const names[] = {"null", "bool", "int", "double", "string", "bytes"};
  auto i = static_cast<std::size_t>(t);
  return os << (i < 6 ? names[i] : "?");
}

inline std::ostream& boost_test_print_type(std::ostream& os, const value& v) {
  struct visitor {
    std::ostream& os;
    void operator()(std::monostate) const { os << "null"; }
    void operator()(bool b) const { os << (b ? "true" : "false"); }
    void operator()(std::int64_t i) const { os << i; }
    void operator()(double d) const { os << std::setprecision(17) << d << "d"; }
    void operator()(const std::string& s) const { os << std::quoted(s) << "(" << s.size() << "B)"; }
    void operator()(const bytes& b) const {
      os << "bytes[" << b.size() << "]";
      for (std::size_t i = 0; i < b.size() && i < 16; ++i)
        os << (i == 0 ? ":" : " ") << int(b[i]);
    }
  };
  std::visit(visitor{os}, v.raw());
  return os;
}

inline std::ostream& print_fields(std::ostream& os, const field_map& fields) {
  os << "{";
  bool first = true;
  for (auto& [k, v] : fields) {
    os << (first ? "" : ", ") << k << ": ";
    boost_test_print_type(os, v);
    first = false;
  }
  return os << "}";
}

inline std::ostream& boost_test_print_type(std::ostream& os, const record& r) {
  os << std::quoted(r.id) << " ";
  return print_fields(os, r.fields);
}

inline std::ostream& boost_test_print_type(std::ostream& os, const op& o) {
  os << "op{" << std::hex << o.origin << std::dec << "#" << o.seq << " t=" << o.time << " "
     << o.collection << "/" << o.id << " ";
  boost_test_print_type(os, o.kind);
  os << " ";
  print_fields(os, o.fields);
  os << " -[";
  for (auto& f : o.removed)
    os << f << " ";
  return os << "]}";
}

inline std::ostream& boost_test_print_type(std::ostream& os, const version_vector& v) {
  os << "vv{";
  for (auto& [o, s] : v.entries())
    os << std::hex << o << std::dec << ":" << s << " ";
  return os << "}";
}

} // namespace blaze

namespace blaze::test {

// A fresh directory under the system temp dir, unique per process and per
// instance, removed with everything in it on destruction. The store itself
// lives in a not-yet-existing subdirectory so creation is exercised too.
class temp_dir {
public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    root_ = std::filesystem::temp_directory_path() /
            ("blaze-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path store() const { return root_ / "store"; }

private:
  std::filesystem::path root_;
};

// scrypt at N = 2^10 keeps every open in the millisecond range.
inline open_options cheap_options() {
  open_options o;
  o.kdf_log2_n = 10;
  return o;
}

template <class T> std::string describe(const result<T>& r) {
  return r.ok() ? std::string{"ok"} : r.error().to_string();
}

// Unwraps a result, failing the test case (with the error text and the
// caller's location) when it holds an error.
template <class T> T expect_ok(result<T>&& r, const char* expr, const char* file, int line) {
  BOOST_TEST_REQUIRE(r.ok(), file << ":" << line << ": " << expr << " -> " << describe(r));
  return std::move(r).value();
}

inline void expect_ok(result<void>&& r, const char* expr, const char* file, int line) {
  BOOST_TEST_REQUIRE(r.ok(), file << ":" << line << ": " << expr << " -> " << describe(r));
}

#define BLAZE_OK(expr) ::blaze::test::expect_ok((expr), #expr, __FILE__, __LINE__)

// Checks that `expr` fails with exactly the error code `want`.
#define BLAZE_CHECK_ERRC(expr, want)                                                               \
  do {                                                                                             \
    auto blaze_result_ = (expr);                                                                   \
    BOOST_TEST(!blaze_result_.ok(), #expr << " succeeded, expected " << ::blaze::to_string(want)); \
    if (!blaze_result_.ok())                                                                       \
      BOOST_TEST((blaze_result_.error().code() == (want)),                                         \
                 #expr << ": expected " << ::blaze::to_string(want) << ", got "                    \
                       << blaze_result_.error().to_string());                                      \
  } while (false)

// Renders anything the printers above know, for contexts and messages.
template <class T> std::string show(const T& x) {
  std::ostringstream os;
  boost_test_print_type(os, x);
  return os.str();
}

inline std::unique_ptr<database> open_store(const std::filesystem::path& path,
                                            std::string_view name = "test",
                                            std::string_view password = "correct horse",
                                            const open_options& options = cheap_options()) {
  return BLAZE_OK(database::open(name, path, password, options));
}

// One open store in a scratch directory; reopen() closes and opens it again.
struct store_fixture {
  temp_dir dir;
  std::unique_ptr<database> db = open_store(dir.store());

  void reopen() {
    db.reset();
    db = open_store(dir.store());
  }
};

inline record make_record(std::string id, field_map fields) {
  return record{std::move(id), std::move(fields)};
}

inline std::vector<std::string> ids_of(const std::vector<record>& records) {
  std::vector<std::string> out;
  for (auto& r : records)
    out.push_back(r.id);
  return out;
}

// Ops as a peer would send them, for replaying scenarios exactly.
inline op remote_set(node_id origin, std::uint64_t seq, hlc_time time, std::string collection,
                     std::string id, field_map fields, std::vector<std::string> removed = {}) {
  op o;
  o.origin = origin;
  o.seq = seq;
  o.time = time;
  o.collection = std::move(collection);
  o.id = std::move(id);
  o.kind = op_kind::set;
  o.fields = std::move(fields);
  o.removed = std::move(removed);
  return o;
}

inline op remote_erase(node_id origin, std::uint64_t seq, hlc_time time, std::string collection,
                       std::string id) {
  op o;
  o.origin = origin;
  o.seq = seq;
  o.time = time;
  o.collection = std::move(collection);
  o.id = std::move(id);
  o.kind = op_kind::erase;
  return o;
}

inline std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

} // namespace blaze::test
