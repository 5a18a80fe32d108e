// blaze: the command line over one Blaze store. Parses arguments, runs one
// subcommand, and turns every failure into one line "blaze: <message>".
#include "commands.hpp"
#include "tool_error.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace blaze::cli;

constexpr const char* environment_help = R"(
Environment:
  BLAZE_DB            the store directory when --db is not given
  BLAZE_PASSWORD      the store's password; without it blaze asks on the terminal
                      (passwords are never accepted as arguments)
  BLAZE_NEW_PASSWORD  the new password for `passwd`; without it blaze asks twice
  BLAZE_NODE_SECRET   the node secret for `status` and `sync` when --secret-file is not given
  BLAZE_ACCESS_SECRET the database access secret for `sync` without --access-secret-file
  BLAZE_TEAM_SECRET   the team secret for `team-key` without --secret-file
  BLAZE_KDF_LOG2_N    scrypt cost (N = 2^value, 4..24) for a store made by `init`
                      or a password set by `passwd`; default 15. Low values are
                      for tests and demos only.

Values: FIELD=VALUE takes VALUE as a JSON scalar when it is one (null, true, 42,
1.5, "quoted"), else as plain text. In JSON, bytes are {"$bytes":"<base64>"}.
Exit status: 0 success, 1 failure, 2 bad command line.
)";

void print_error(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r')
      c = ' ';
  std::cerr << "blaze: " << line << std::endl;
}

// A plain message instead of CLI::NonNegativeNumber's range with 300 digits.
const CLI::Validator count_limit{[](std::string& text) -> std::string {
                                   if (text.empty() ||
                                       text.find_first_not_of("0123456789") != std::string::npos)
                                     return "expected a non-negative integer, got '" + text + "'";
                                   return {};
                                 },
                                 "N"};

struct subcommand {
  CLI::App* app;
  std::function<void()> run;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"blaze: command line for Blaze encrypted document stores", "blaze"};
  app.footer(environment_help);
  app.set_version_flag("--version", std::string{"blaze "} + BLAZE_VERSION);
  app.require_subcommand(1);

  store_options store;
  app.add_option("--db", store.db, "Store directory")->envname("BLAZE_DB")->type_name("PATH");
  app.add_option("--name", store.name,
                 "Logical store name (init: default the directory name; "
                 "otherwise checked against the stored name when given)")
      ->type_name("NAME");

  std::vector<subcommand> subcommands;
  auto add = [&](const char* name, const char* help, std::function<void()> run) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->fallthrough(); // --db and --name may follow the subcommand
    subcommands.push_back({sub, std::move(run)});
    return sub;
  };
  std::ostream& out = std::cout;

  add("init", "Create a new store", [&] { init_store(store, out); });

  put_arguments put;
  auto* put_cmd =
      add("put", "Merge fields into a record (creating it)", [&] { put_record(store, put, out); });
  put_cmd->add_option("COLLECTION", put.collection, "Collection")->required();
  put_cmd->add_option("ID", put.id, "Record id")->required();
  put_cmd->add_option("FIELD=VALUE", put.assignments, "Fields to set");
  put_cmd->add_option("--json", put.json, "Fields as a JSON object")->type_name("OBJECT");

  record_arguments get;
  auto* get_cmd = add("get", "Print a record as JSON", [&] { get_record(store, get, out); });
  get_cmd->add_option("COLLECTION", get.collection, "Collection")->required();
  get_cmd->add_option("ID", get.id, "Record id")->required();

  record_arguments del;
  auto* del_cmd = add("delete", "Delete a record", [&] { delete_record(store, del, out); });
  del_cmd->add_option("COLLECTION", del.collection, "Collection")->required();
  del_cmd->add_option("ID", del.id, "Record id")->required();

  unset_arguments unset;
  auto* unset_cmd =
      add("unset", "Remove fields from a record", [&] { unset_fields(store, unset, out); });
  unset_cmd->add_option("COLLECTION", unset.collection, "Collection")->required();
  unset_cmd->add_option("ID", unset.id, "Record id")->required();
  unset_cmd->add_option("FIELD", unset.fields, "Fields to remove")->required();

  query_arguments query;
  auto* query_cmd = add("query", "Find records by conditions, as JSON lines",
                        [&] { query_records(store, query, out); });
  query_cmd->add_option("COLLECTION", query.collection, "Collection")->required();
  query_cmd
      ->add_option("--where,-w", query.where,
                   "Condition FIELD OP VALUE, OP one of == = != < <= > >= (repeatable; "
                   "FIELD may be _id)")
      ->type_name("COND")
      ->allow_extra_args(false);
  query_cmd->add_option("--order", query.order, "Order by this field (or _id)")->type_name("FIELD");
  query_cmd->add_flag("--desc", query.descending, "Descending order");
  query_cmd->add_option("--limit", query.limit, "At most N records (0: all)")->check(count_limit);
  query_cmd->add_flag("--count", query.count_only, "Print only the number of matches");

  list_arguments list;
  auto* list_cmd =
      add("list", "Print a collection as JSON lines", [&] { list_records(store, list, out); });
  list_cmd->add_option("COLLECTION", list.collection, "Collection")->required();
  list_cmd->add_option("--limit", list.limit, "At most N records (0: all)")->check(count_limit);

  add("collections", "List collection names", [&] { print_collections(store, out); });

  export_arguments exp;
  auto* export_cmd = add("export", "Write records as JSON lines {\"_collection\",\"_id\",...}",
                         [&] { export_records(store, exp, out); });
  export_cmd->add_option("COLLECTION", exp.collections, "Collections (default: all)");
  export_cmd->add_option("-o,--output", exp.output, "Output file (default: stdout)")
      ->type_name("FILE");

  import_arguments imp;
  auto* import_cmd = add("import", "Put records from JSON lines (all checked before any write)",
                         [&] { import_records(store, imp, out); });
  import_cmd->add_option("-i,--input", imp.input, "Input file, - for stdin (default)")
      ->type_name("FILE");

  ops_arguments ops;
  auto* ops_cmd = add("ops", "Print the op log as JSON lines", [&] { print_ops(store, ops, out); });
  ops_cmd
      ->add_option("--since-json", ops.since_json,
                   "Only ops a replica with this version vector lacks, e.g. {\"<node hex>\":3}")
      ->type_name("VV");
  ops_cmd->add_option("--limit", ops.limit, "At most N ops (0: all)")->check(count_limit);

  add("info", "Print the store's name, node id, path, version vector and collections",
      [&] { print_info(store, out); });
  add("passwd", "Change the store's password", [&] { change_password(store, out); });

  topology_arguments topo;
  auto* topo_cmd = add("topology",
                       "Link stores in process (a chain), sync them, and print the graph",
                       [&] { show_topology(topo, out); });
  topo_cmd->add_option("STORE", topo.stores, "Store directories, linked in this order")
      ->required();
  topo_cmd->add_option("--mode", topo.mode, "read_only, write_only or bidirectional (default)")
      ->type_name("MODE");
  topo_cmd->add_flag("--dot", topo.dot, "Print the graph in Graphviz DOT");
  topo_cmd->add_flag("--json", topo.json, "Print the graph as JSON");
  topo_cmd->add_option("--png", topo.png, "Draw the graph to FILE with Graphviz 'dot'")
      ->type_name("FILE");
  topo_cmd->add_option("--timeout", topo.timeout_seconds, "Seconds to wait for sync (default 30)")
      ->check(count_limit);

  status_arguments status;
  auto* status_cmd = add("status", "Ask a running blaze-node for its status",
                         [&] { show_node_status(status, out); });
  status_cmd->add_option("--node", status.node, "The node's control endpoint")
      ->required()
      ->type_name("HOST:PORT");
  status_cmd->add_option("--secret-file", status.secret_file, "File holding the node secret")
      ->type_name("FILE");
  status_cmd->add_flag("--json", status.json, "Print the status as JSON");
  status_cmd->add_option("--timeout", status.timeout_seconds, "Seconds to wait (default 10)")
      ->check(count_limit);

  sync_arguments sync;
  auto* sync_cmd = add("sync", "Sync the store with a database on a blaze-node",
                       [&] { sync_with_node(store, sync, out); });
  sync_cmd->add_option("--node", sync.node, "The node's sync endpoint")->type_name("HOST:PORT");
  sync_cmd->add_option("--socket", sync.socket, "The node's Unix socket (preferred when it answers)")
      ->type_name("PATH");
  sync_cmd->add_option("--failover", sync.failover, "Another node to try when --node fails")
      ->type_name("HOST:PORT");
  sync_cmd->add_option("--database", sync.database, "The database's name on the node")
      ->required()
      ->type_name("NAME");
  sync_cmd->add_option("--mode", sync.mode, "push, pull or both (default)")->type_name("MODE");
  sync_cmd->add_option("--collections", sync.collections, "Only these (comma-separated)")
      ->type_name("LIST");
  sync_cmd->add_option("--secret-file", sync.secret_file, "File holding the node secret")
      ->type_name("FILE");
  sync_cmd->add_option("--access-secret-file", sync.access_secret_file,
                       "File holding the database's access secret")
      ->type_name("FILE");
  sync_cmd->add_option("--team", sync.teams,
                       "A team this store belongs to: its collections (default: all) are "
                       "sealed with the team's key before they leave")
      ->type_name("NAME:SECRET_FILE[:LIST]");
  sync_cmd->add_flag("--e2e", sync.e2e_only,
                     "Send only ops sealed with a team key: the node never sees plaintext");
  sync_cmd->add_flag("--follow", sync.follow, "Stay in sync until SIGINT or SIGTERM");
  sync_cmd->add_option("--timeout", sync.timeout_seconds, "Seconds to wait for sync (default 30)")
      ->check(count_limit);

  share_arguments share;
  auto* share_cmd = add("share", "Export the store to an app group until SIGINT or SIGTERM",
                        [&] { share_store(store, share, out); });
  share_cmd->add_option("--group", share.group, "The app group")->required()->type_name("NAME");
  share_cmd->add_option("--group-dir", share.group_dir,
                        "The group's shared directory (default: under $XDG_RUNTIME_DIR or /tmp)")
      ->type_name("DIR");
  share_cmd->add_option("--as", share.as, "The name importers ask for (default: the store's)")
      ->type_name("NAME");
  share_cmd->add_option("--collections", share.collections, "The exported collections")
      ->required()
      ->type_name("LIST");
  share_cmd->add_option("--fields", share.fields, "Only these fields (default: every one)")
      ->type_name("LIST");
  share_cmd->add_flag("--writable", share.writable, "Importers may write (within the policy)");
  share_cmd->add_option("--allow-uid", share.uids, "A local user who may import")
      ->type_name("UID");
  share_cmd->add_option("--token", share.tokens, "A token holder who may import")
      ->type_name("NAME:FILE");

  shared_arguments shared;
  auto* shared_cmd = add("shared",
                         "List an app group's exports, or print an export's records (JSON lines)",
                         [&] { read_shared(shared, out); });
  shared_cmd->add_option("--group", shared.group, "The app group")->required()->type_name("NAME");
  shared_cmd->add_option("--group-dir", shared.group_dir, "The group's shared directory")
      ->type_name("DIR");
  shared_cmd->add_option("--database", shared.database, "The export to read (default: list)")
      ->type_name("NAME");
  shared_cmd->add_option("--token-file", shared.token_file, "File holding an import token")
      ->type_name("FILE");
  shared_cmd->add_option("--collection", shared.collection, "Only this collection")
      ->type_name("NAME");
  shared_cmd->add_flag("--follow", shared.follow, "Print changes as they arrive until Ctrl-C");
  shared_cmd->add_option("--timeout", shared.timeout_seconds, "Seconds to wait for sync (default 30)")
      ->check(count_limit);

  team_key_arguments team_key;
  auto* team_key_cmd = add("team-key",
                           "Print a team's access key, for [[database.team]] in a node's config",
                           [&] { print_team_key(team_key, out); });
  team_key_cmd->add_option("--team", team_key.team, "The team's name")
      ->required()
      ->type_name("NAME");
  team_key_cmd->add_option("--secret-file", team_key.secret_file, "File holding the team secret")
      ->type_name("FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports "blaze bogus" as a missing subcommand; name the word.
    auto extra = app.remaining();
    if (app.get_subcommands().empty() && !extra.empty())
      print_error(
          std::string{extra.front().rfind('-', 0) == 0 ? "unknown option '" : "unknown command '"} +
          extra.front() + "' (see blaze --help)");
    else
      print_error(e.what());
    return exit_usage;
  }

  try {
    for (auto& sub : subcommands)
      if (sub.app->parsed())
        sub.run();
    out.flush();
    if (!out)
      throw tool_error("cannot write to standard output");
    return 0;
  } catch (const tool_error& e) {
    print_error(e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    print_error(e.what());
    return exit_failure;
  }
}
