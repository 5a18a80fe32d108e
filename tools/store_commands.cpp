// init, collections, info, passwd.
#include "commands.hpp"

#include "json_codec.hpp"
#include "password_source.hpp"
#include "tool_error.hpp"

namespace blaze::cli {

void init_store(const store_options& store, std::ostream& out) {
  auto db = create_store(store);
  out << "created store '" << db->name() << "' at " << db->path().string() << " (node "
      << to_hex(db->id()) << ")\n";
}

void print_collections(const store_options& store, std::ostream& out) {
  auto db = open_store(store);
  for (auto& c : unwrap(db->collections()))
    out << c << '\n';
}

void print_info(const store_options& store, std::ostream& out) {
  auto db = open_store(store);
  json collections = json::object();
  for (auto& c : unwrap(db->collections()))
    collections[c] = unwrap(db->count(c));
  json info{{"name", db->name()},
            {"node", to_hex(db->id())},
            {"path", db->path().string()},
            {"version", version_to_json(db->version())},
            {"collections", std::move(collections)}};
  out << info.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

void change_password(const store_options& store, std::ostream& out) {
  auto path = store_path(store);
  if (!std::filesystem::exists(path))
    throw tool_error("no store at " + path.string());
  int cost = kdf_cost_from_env();
  std::string old_password = read_password("BLAZE_PASSWORD", "Current password: ");
  std::string new_password =
      read_password("BLAZE_NEW_PASSWORD", "New password: ", confirmation::twice);
  unwrap(database::change_password(path, old_password, new_password, cost));
  out << "password changed for " << path.string() << '\n';
}

} // namespace blaze::cli
