// Opening rules and encryption at rest: passwords, names, open modes, foreign
// directories, no plaintext on disk, and tampered or moved sealed values.
#include "fixture.hpp"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <fstream>
#include <iterator>
#include <map>

using namespace blaze;
using namespace blaze::test;

namespace {

constexpr std::string_view right_password = "right password";
constexpr std::string_view wrong_password = "wrong password";

using raw_map = std::map<std::string, std::string>;

// Every key/value of the LevelDB store under `path`, read without Blaze.
raw_map raw_read_all(const std::filesystem::path& path) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  auto s = leveldb::DB::Open(options, path.string(), &raw);
  BOOST_TEST_REQUIRE(s.ok(), "raw LevelDB open failed: " << s.ToString());
  std::unique_ptr<leveldb::DB> guard{raw};
  raw_map out;
  std::unique_ptr<leveldb::Iterator> it{raw->NewIterator(leveldb::ReadOptions{})};
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out.emplace(it->key().ToString(), it->value().ToString());
  BOOST_TEST_REQUIRE(it->status().ok(), it->status().ToString());
  return out;
}

void raw_write(const std::filesystem::path& path, const raw_map& entries) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  auto s = leveldb::DB::Open(options, path.string(), &raw);
  BOOST_TEST_REQUIRE(s.ok(), "raw LevelDB open failed: " << s.ToString());
  std::unique_ptr<leveldb::DB> guard{raw};
  leveldb::WriteBatch batch;
  for (auto& [k, v] : entries)
    batch.Put(k, v);
  leveldb::WriteOptions wo;
  wo.sync = true;
  s = raw->Write(wo, &batch);
  BOOST_TEST_REQUIRE(s.ok(), s.ToString());
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Keys that hold `id` of `collection` in readable form (DESIGN: ids and
// collection names stay readable on disk). Nothing else about the layout
// is assumed.
std::vector<std::string> keys_of_record(const raw_map& all, std::string_view collection,
                                        std::string_view id) {
  std::vector<std::string> out;
  for (auto& [k, v] : all)
    if (contains(k, collection) && contains(k, id))
      out.push_back(k);
  return out;
}

struct file_scan {
  std::size_t files = 0;
  std::uintmax_t bytes = 0;
  std::vector<std::string> hits;
};

file_scan scan_files(const std::filesystem::path& dir, std::string_view needle) {
  file_scan scan;
  for (auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ++scan.files;
    scan.bytes += content.size();
    if (contains(content, needle))
      scan.hits.push_back(entry.path().filename().string());
  }
  return scan;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

struct secured_store {
  temp_dir dir;
  const std::filesystem::path path = dir.store();

  secured_store() {
    auto db = open_store(path, "vault-db", right_password);
    BLAZE_OK(db->put("vault", "doc", {{"text", "hello"}, {"n", 42}}));
  }
  std::unique_ptr<database> open_right(std::string_view name = "vault-db") {
    return open_store(path, name, right_password);
  }
  void check_data_intact(database& db) {
    auto got = BLAZE_OK(db.get("vault", "doc"));
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(*got == make_record("doc", {{"text", "hello"}, {"n", 42}}));
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(security, secured_store)

BOOST_AUTO_TEST_CASE(wrong_password_is_rejected_and_store_still_opens) {
  BLAZE_CHECK_ERRC(database::open("vault-db", path, wrong_password, cheap_options()),
                   errc::wrong_password);
  auto db = open_right();
  check_data_intact(*db);
}

BOOST_AUTO_TEST_CASE(change_password_makes_old_fail_and_new_work) {
  BLAZE_OK(database::change_password(path, right_password, "new password", 10));
  BLAZE_CHECK_ERRC(database::open("vault-db", path, right_password, cheap_options()),
                   errc::wrong_password);
  auto db = open_store(path, "vault-db", "new password");
  check_data_intact(*db);
}

BOOST_AUTO_TEST_CASE(change_password_with_wrong_old_password_changes_nothing) {
  BLAZE_CHECK_ERRC(database::change_password(path, wrong_password, "new password", 10),
                   errc::wrong_password);
  BLAZE_CHECK_ERRC(database::open("vault-db", path, "new password", cheap_options()),
                   errc::wrong_password);
  auto db = open_right();
  check_data_intact(*db);
}

BOOST_AUTO_TEST_CASE(change_password_does_not_rewrite_records) {
  auto before = raw_read_all(path);
  auto record_keys = keys_of_record(before, "vault", "doc");
  BOOST_TEST_REQUIRE(!record_keys.empty(), "no key holds the collection and id readably");
  BLAZE_OK(database::change_password(path, right_password, "new password", 10));
  auto after = raw_read_all(path);
  for (auto& k : record_keys) {
    BOOST_TEST_REQUIRE(after.count(k) == 1u);
    BOOST_TEST((after.at(k) == before.at(k)), "record value rewritten by change_password");
  }
}

BOOST_AUTO_TEST_CASE(other_name_is_name_mismatch) {
  BLAZE_CHECK_ERRC(database::open("another-db", path, right_password, cheap_options()),
                   errc::name_mismatch);
  auto db = open_right();
  BOOST_TEST(db->name() == "vault-db");
}

BOOST_AUTO_TEST_CASE(empty_name_opens_store_under_its_recorded_name) {
  auto db = open_right("");
  BOOST_TEST(db->name() == "vault-db");
  check_data_intact(*db);
}

BOOST_AUTO_TEST_CASE(opening_a_store_already_open_fails_without_crashing) {
  auto first = open_right();
  auto second = database::open("vault-db", path, right_password, cheap_options());
  BOOST_TEST(!second.ok(), "second open of the same store succeeded");
  if (!second.ok())
    BOOST_TEST_MESSAGE("second open: " << second.error().to_string());
  // The first handle is unaffected.
  BLAZE_OK(first->put("vault", "doc2", {{"x", 1}}));
  check_data_intact(*first);
}

BOOST_AUTO_TEST_CASE(missing_directory_without_create_is_not_found) {
  auto missing = dir.root() / "does-not-exist";
  open_options o = cheap_options();
  o.create_if_missing = false;
  BLAZE_CHECK_ERRC(database::open("x", missing, right_password, o), errc::not_found);
  BOOST_TEST(!std::filesystem::exists(missing));
}

BOOST_AUTO_TEST_CASE(error_if_exists_on_existing_store_is_already_exists) {
  open_options o = cheap_options();
  o.error_if_exists = true;
  BLAZE_CHECK_ERRC(database::open("vault-db", path, right_password, o), errc::already_exists);
  auto db = open_right();
  check_data_intact(*db);
}

BOOST_AUTO_TEST_CASE(plain_leveldb_directory_is_not_a_database) {
  auto foreign = dir.root() / "plain-leveldb";
  {
    leveldb::DB* raw = nullptr;
    leveldb::Options options;
    options.create_if_missing = true;
    auto s = leveldb::DB::Open(options, foreign.string(), &raw);
    BOOST_TEST_REQUIRE(s.ok(), s.ToString());
    std::unique_ptr<leveldb::DB> guard{raw};
    BOOST_TEST_REQUIRE(raw->Put({}, "hello", "world").ok());
    BOOST_TEST_REQUIRE(raw->Put({}, "some/key", std::string(100, 'v')).ok());
  }
  BLAZE_CHECK_ERRC(database::open("x", foreign, right_password, cheap_options()),
                   errc::not_a_database);
  // The foreign data is left alone.
  auto after = raw_read_all(foreign);
  BOOST_TEST((after == raw_map{{"hello", "world"}, {"some/key", std::string(100, 'v')}}));
}

BOOST_AUTO_TEST_CASE(directory_with_foreign_files_is_not_a_database) {
  auto foreign = dir.root() / "documents";
  std::filesystem::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "not a store";
  BLAZE_CHECK_ERRC(database::open("x", foreign, right_password, cheap_options()),
                   errc::not_a_database);
  BOOST_TEST(std::filesystem::exists(foreign / "notes.txt"));
  BOOST_TEST(!std::filesystem::exists(foreign / "CURRENT"), "a LevelDB store was created there");
}

BOOST_AUTO_TEST_CASE(plain_file_is_not_a_database) {
  auto file = dir.root() / "file";
  std::ofstream(file) << "hello";
  BLAZE_CHECK_ERRC(database::open("x", file, right_password, cheap_options()),
                   errc::not_a_database);
}

BOOST_AUTO_TEST_CASE(default_kdf_cost_creates_and_reopens) {
  temp_dir own;
  {
    auto db = BLAZE_OK(database::open("slow", own.store(), right_password));
    BLAZE_OK(db->put("c", "r", {{"v", 1}}));
  }
  {
    auto db = BLAZE_OK(database::open("slow", own.store(), right_password));
    auto got = BLAZE_OK(db->get("c", "r"));
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(*got == make_record("r", {{"v", 1}}));
  }
  BLAZE_CHECK_ERRC(database::open("slow", own.store(), wrong_password), errc::wrong_password);
}

BOOST_AUTO_TEST_CASE(existing_store_keeps_its_recorded_kdf_cost) {
  // Created with 2^10; asking for 2^18 when reopening must not change the
  // derivation (it would derive another key, or need 256 MiB).
  open_options o = cheap_options();
  o.kdf_log2_n = 18;
  auto start = std::chrono::steady_clock::now();
  auto db = BLAZE_OK(database::open("vault-db", path, right_password, o));
  auto took = std::chrono::steady_clock::now() - start;
  check_data_intact(*db);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 500);
}

BOOST_AUTO_TEST_CASE(field_values_never_reach_disk_in_plaintext) {
  const std::string marker = "SECRET-MARKER-7731";
  {
    auto db = open_right();
    BLAZE_OK(db->put(
        "vault", "secret",
        {{"s", "prefix " + marker + " suffix"}, {"b", bytes(marker.begin(), marker.end())}}));
    BLAZE_OK(db->put("vault", "secret", {{"again", marker}}));
    BLAZE_OK(db->put("vault", "gone", {{"s", marker}}));
    BLAZE_OK(db->erase("vault", "gone"));
    BLAZE_OK(db->remove_field("vault", "secret", "again"));
  }
  // Freshly closed: the writes sit in LevelDB's write-ahead log.
  auto scan = scan_files(path, marker);
  BOOST_TEST_REQUIRE(scan.files > 0u);
  BOOST_TEST(scan.hits.empty(), "marker found in: " << join(scan.hits));
  // Reopening turns the log into a sorted table; check that form too.
  {
    auto db = open_right();
    auto got = BLAZE_OK(db->get("vault", "secret"));
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(*got->field("s") == value{"prefix " + marker + " suffix"});
  }
  scan = scan_files(path, marker);
  BOOST_TEST(scan.hits.empty(), "marker found after reopen in: " << join(scan.hits));
}

BOOST_AUTO_TEST_CASE(tampered_record_value_reads_as_corruption) {
  {
    auto db = open_right();
    BLAZE_OK(db->put("vault", "victim-record-42", {{"secret", "original"}, {"n", 7}}));
    BLAZE_OK(db->put("vault", "bystander", {{"x", 1}}));
  }
  auto all = raw_read_all(path);
  auto keys = keys_of_record(all, "vault", "victim-record-42");
  BOOST_TEST_REQUIRE(!keys.empty(), "no key holds the collection and id readably");
  raw_map tampered;
  for (auto& k : keys) {
    std::string v = all.at(k);
    BOOST_TEST_REQUIRE(!v.empty());
    v[v.size() / 2] ^= 0x01;
    tampered[k] = v;
  }
  raw_write(path, tampered);

  auto db = open_right();
  BLAZE_CHECK_ERRC(db->get("vault", "victim-record-42"), errc::corruption);
  auto other = BLAZE_OK(db->get("vault", "bystander"));
  BOOST_TEST_REQUIRE(other.has_value());
  BOOST_TEST(*other == make_record("bystander", {{"x", 1}}));
}

BOOST_AUTO_TEST_CASE(list_over_tampered_record_is_corruption) {
  {
    auto db = open_right();
    BLAZE_OK(db->put("vault", "victim-record-42", {{"secret", "original"}}));
  }
  auto all = raw_read_all(path);
  auto keys = keys_of_record(all, "vault", "victim-record-42");
  BOOST_TEST_REQUIRE(!keys.empty());
  raw_map tampered;
  for (auto& k : keys) {
    std::string v = all.at(k);
    v[v.size() / 2] ^= 0x80;
    tampered[k] = v;
  }
  raw_write(path, tampered);
  auto db = open_right();
  BLAZE_CHECK_ERRC(db->list("vault"), errc::corruption);
}

BOOST_AUTO_TEST_CASE(sealed_value_moved_to_another_key_is_corruption) {
  // Same-length ids so each key of one record has a twin for the other.
  {
    auto db = open_right();
    BLAZE_OK(db->put("vault", "record-A", {{"owner", "alice"}}));
    BLAZE_OK(db->put("vault", "record-B", {{"owner", "bob"}}));
  }
  auto all = raw_read_all(path);
  raw_map moved;
  for (auto& k : keys_of_record(all, "vault", "record-B")) {
    std::string twin = k;
    twin.replace(twin.find("record-B"), 8, "record-A");
    if (all.count(twin) && all.at(twin) != all.at(k))
      moved[k] = all.at(twin);
  }
  BOOST_TEST_REQUIRE(!moved.empty(), "found no pair of record keys to swap values between");
  raw_write(path, moved);

  auto db = open_right();
  BLAZE_CHECK_ERRC(db->get("vault", "record-B"), errc::corruption);
  auto a = BLAZE_OK(db->get("vault", "record-A"));
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST(*a == make_record("record-A", {{"owner", "alice"}}));
}

BOOST_AUTO_TEST_CASE(any_altered_byte_of_a_live_or_deleted_record_is_corruption) {
  // Covers the plaintext live/deleted flag too: flipping it must neither
  // hide a live record nor resurrect a deleted one.
  for (bool deleted : {false, true}) {
    for (int where : {0, 1, -1}) {
      BOOST_TEST_CONTEXT("deleted=" << deleted << " byte=" << where) {
        std::filesystem::remove_all(path);
        {
          auto db = open_right();
          BLAZE_OK(db->put("vault", "target-record-99", {{"secret", "original"}}));
          if (deleted)
            BLAZE_OK(db->erase("vault", "target-record-99"));
        }
        auto all = raw_read_all(path);
        auto keys = keys_of_record(all, "vault", "target-record-99");
        BOOST_TEST_REQUIRE(!keys.empty());
        raw_map tampered;
        for (auto& k : keys) {
          std::string v = all.at(k);
          std::size_t pos = where >= 0 ? std::size_t(where) : v.size() - 1;
          v[pos] ^= 0x01;
          tampered[k] = v;
        }
        raw_write(path, tampered);
        auto db = open_right();
        BLAZE_CHECK_ERRC(db->get("vault", "target-record-99"), errc::corruption);
        BLAZE_CHECK_ERRC(db->list("vault"), errc::corruption);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
