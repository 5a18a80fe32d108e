// put, get, delete, unset, query, list.
#include "commands.hpp"

#include "argument_syntax.hpp"
#include "json_codec.hpp"
#include "tool_error.hpp"

#include <algorithm>

namespace blaze::cli {

namespace {

// Page size for listing a collection, so that a large one is never held
// in memory at once.
constexpr std::size_t list_page = 1000;

tool_error not_found(std::string_view collection, std::string_view id) {
  return tool_error("not found: " + std::string{collection} + "/" + std::string{id});
}

void check_names(std::string_view collection, std::string_view id) {
  unwrap(validate_collection(collection));
  unwrap(validate_record_id(id));
}

} // namespace

void put_record(const store_options& store, const put_arguments& args, std::ostream& out) {
  check_names(args.collection, args.id);
  field_map fields;
  if (args.json) {
    json parsed = json::parse(*args.json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object())
      throw tool_error("--json must be a JSON object of fields", exit_usage);
    fields = fields_from_json(parsed);
  }
  for (auto& text : args.assignments) {
    auto [field, v] = parse_assignment(text);
    unwrap(validate_field_name(field));
    fields.insert_or_assign(std::move(field), std::move(v));
  }
  if (fields.empty() && !args.json)
    throw tool_error("nothing to put: give FIELD=VALUE arguments or --json", exit_usage);
  auto db = open_store(store);
  unwrap(db->put(args.collection, args.id, std::move(fields)));
}

void get_record(const store_options& store, const record_arguments& args, std::ostream& out) {
  check_names(args.collection, args.id);
  auto db = open_store(store);
  auto found = unwrap(db->get(args.collection, args.id));
  if (!found)
    throw not_found(args.collection, args.id);
  out << to_line(record_to_json(*found)) << '\n';
}

void delete_record(const store_options& store, const record_arguments& args, std::ostream& out) {
  check_names(args.collection, args.id);
  auto db = open_store(store);
  auto r = db->erase(args.collection, args.id);
  if (!r && r.error().code() == errc::not_found)
    throw not_found(args.collection, args.id);
  unwrap(std::move(r));
}

void unset_fields(const store_options& store, const unset_arguments& args, std::ostream& out) {
  check_names(args.collection, args.id);
  for (auto& field : args.fields)
    unwrap(validate_field_name(field));
  auto db = open_store(store);
  // Checked here too because removing fields from a missing record could
  // otherwise create it empty; the API documents not_found only for erase.
  if (!unwrap(db->get(args.collection, args.id)))
    throw not_found(args.collection, args.id);
  auto r = db->remove_fields(args.collection, args.id, args.fields);
  if (!r && r.error().code() == errc::not_found)
    throw not_found(args.collection, args.id);
  unwrap(std::move(r));
}

void query_records(const store_options& store, const query_arguments& args, std::ostream& out) {
  unwrap(validate_collection(args.collection));
  query q{args.collection};
  for (auto& text : args.where) {
    condition c = parse_condition(text);
    if (c.field != "_id")
      unwrap(validate_field_name(c.field));
    q.where.push_back(std::move(c));
  }
  if (args.order) {
    if (*args.order != "_id")
      unwrap(validate_field_name(*args.order));
    q.order(*args.order, args.descending);
  } else if (args.descending) {
    q.order("_id", true);
  }
  q.take(args.limit);

  auto db = open_store(store);
  if (args.count_only) {
    std::uint64_t n = q.where.empty() && q.limit == 0 ? unwrap(db->count(args.collection))
                                                      : unwrap(db->find(q)).size();
    out << n << '\n';
    return;
  }
  for (auto& r : unwrap(db->find(q)))
    out << to_line(record_to_json(r)) << '\n';
}

void list_records(const store_options& store, const list_arguments& args, std::ostream& out) {
  unwrap(validate_collection(args.collection));
  auto db = open_store(store);
  std::size_t printed = 0;
  std::string after;
  for (;;) {
    std::size_t want = list_page;
    if (args.limit != 0)
      want = std::min(want, args.limit - printed);
    auto page = unwrap(db->list(args.collection, want, after));
    for (auto& r : page)
      out << to_line(record_to_json(r)) << '\n';
    printed += page.size();
    if (page.size() < want || (args.limit != 0 && printed >= args.limit))
      return;
    after = page.back().id;
  }
}

} // namespace blaze::cli
