// export, import, ops: data in and out of a store as JSON lines.
#include "commands.hpp"

#include "json_codec.hpp"
#include "tool_error.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace blaze::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t export_page = 1000;

std::string count_of_records(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " record" : " records");
}

std::size_t write_collection(const database& db, const std::string& collection, std::ostream& out) {
  std::size_t written = 0;
  std::string after;
  for (;;) {
    auto page = unwrap(db.list(collection, export_page, after));
    for (auto& r : page)
      out << to_line(record_to_json(r, collection)) << '\n';
    written += page.size();
    if (page.size() < export_page)
      return written;
    after = page.back().id;
  }
}

std::size_t write_export(const database& db, const std::vector<std::string>& collections,
                         std::ostream& out) {
  std::size_t written = 0;
  for (auto& c : collections)
    written += write_collection(db, c, out);
  return written;
}

} // namespace

void export_records(const store_options& store, const export_arguments& args, std::ostream& out) {
  for (auto& c : args.collections)
    unwrap(validate_collection(c));
  auto db = open_store(store);
  auto collections = args.collections.empty() ? unwrap(db->collections()) : args.collections;

  if (args.output == "-") {
    write_export(*db, collections, out);
    return;
  }
  // Write beside the target and rename, so a failed export never leaves a
  // truncated file under the requested name.
  fs::path target{args.output};
  fs::path partial = target;
  partial += ".partial-" + std::to_string(::getpid());
  std::size_t written = 0;
  try {
    std::ofstream file{partial, std::ios::binary | std::ios::trunc};
    if (!file)
      throw tool_error("cannot create " + partial.string());
    written = write_export(*db, collections, file);
    file.close();
    if (!file)
      throw tool_error("cannot write " + partial.string());
    fs::rename(partial, target);
  } catch (...) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    throw;
  }
  out << "exported " << count_of_records(written) << " to " << target.string() << '\n';
}

void import_records(const store_options& store, const import_arguments& args, std::ostream& out) {
  std::vector<numbered_document> docs;
  if (args.input == "-") {
    docs = read_documents(std::cin, "stdin");
  } else {
    std::ifstream file{args.input, std::ios::binary};
    if (!file)
      throw tool_error("cannot open " + args.input);
    docs = read_documents(file, args.input);
  }

  auto db = open_store(store);
  std::size_t imported = 0;
  for (auto& [line, doc] : docs) {
    auto r = db->put(doc.collection, doc.content.id, std::move(doc.content.fields));
    if (!r)
      throw tool_error("line " + std::to_string(line) + ": " + r.error().to_string() + " (" +
                       std::to_string(imported) + " records imported before it)");
    ++imported;
  }
  out << "imported " << count_of_records(imported) << '\n';
}

void print_ops(const store_options& store, const ops_arguments& args, std::ostream& out) {
  version_vector since;
  if (args.since_json) {
    json parsed = json::parse(*args.since_json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded())
      throw tool_error("--since-json is not valid JSON", exit_usage);
    since = version_from_json(parsed);
  }
  auto db = open_store(store);
  for (auto& o : unwrap(db->ops_since(since, args.limit)))
    out << to_line(op_to_json(o)) << '\n';
}

} // namespace blaze::cli
