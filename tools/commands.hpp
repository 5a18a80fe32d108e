// The blaze subcommands. Each takes the shared store options and its own
// parsed arguments, writes its result to `out`, and reports failure by
// throwing tool_error. Arguments are checked before the store is opened,
// so a typo never costs a password prompt or a write.
#pragma once

#include "store_session.hpp"

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace blaze::cli {

// Records.
struct put_arguments {
  std::string collection;
  std::string id;
  std::vector<std::string> assignments; // FIELD=VALUE
  std::optional<std::string> json;      // a JSON object of fields
};
struct record_arguments {
  std::string collection;
  std::string id;
};
struct unset_arguments {
  std::string collection;
  std::string id;
  std::vector<std::string> fields;
};
struct query_arguments {
  std::string collection;
  std::vector<std::string> where;
  std::optional<std::string> order;
  bool descending = false;
  std::size_t limit = 0;
  bool count_only = false;
};
struct list_arguments {
  std::string collection;
  std::size_t limit = 0;
};

void put_record(const store_options& store, const put_arguments& args, std::ostream& out);
void get_record(const store_options& store, const record_arguments& args, std::ostream& out);
void delete_record(const store_options& store, const record_arguments& args, std::ostream& out);
void unset_fields(const store_options& store, const unset_arguments& args, std::ostream& out);
void query_records(const store_options& store, const query_arguments& args, std::ostream& out);
void list_records(const store_options& store, const list_arguments& args, std::ostream& out);

// Moving data in and out as JSON lines.
struct export_arguments {
  std::vector<std::string> collections; // empty: all
  std::string output = "-";
};
struct import_arguments {
  std::string input = "-";
};
struct ops_arguments {
  std::optional<std::string> since_json; // a version vector
  std::size_t limit = 0;
};

void export_records(const store_options& store, const export_arguments& args, std::ostream& out);
void import_records(const store_options& store, const import_arguments& args, std::ostream& out);
void print_ops(const store_options& store, const ops_arguments& args, std::ostream& out);

// The store itself.
void init_store(const store_options& store, std::ostream& out);
void print_collections(const store_options& store, std::ostream& out);
void print_info(const store_options& store, std::ostream& out);
void change_password(const store_options& store, std::ostream& out);

// Linking stores in process.
struct topology_arguments {
  std::vector<std::string> stores; // store directories, linked in a chain
  std::string mode = "bidirectional";
  bool dot = false;
  bool json = false;
  std::string png; // file to draw with Graphviz
  unsigned timeout_seconds = 30;
};

void show_topology(const topology_arguments& args, std::ostream& out);

// Asking a running blaze-node (status_command.cpp).
struct status_arguments {
  std::string node;        // HOST:PORT of its control endpoint
  std::string secret_file; // empty: BLAZE_NODE_SECRET or the terminal
  bool json = false;
  unsigned timeout_seconds = 10;
};

void show_node_status(const status_arguments& args, std::ostream& out);

// Syncing the store with a database on a blaze-node.
struct sync_arguments {
  std::string node;               // HOST:PORT of its sync endpoint
  std::string socket;             // its Unix socket (preferred when it answers)
  std::vector<std::string> failover; // HOST:PORT of other nodes holding the database
  std::string database;           // the database's name on the node
  std::string mode = "both";      // push, pull or both
  std::string collections;        // comma-separated; empty: all the grant allows
  std::string secret_file;        // node secret; empty: BLAZE_NODE_SECRET or the terminal
  std::string access_secret_file; // empty: BLAZE_ACCESS_SECRET or the terminal
  // NAME:SECRET_FILE[:COLLECTION,...]: a team this store belongs to; its
  // collections (default: all) are sealed with the team's key.
  std::vector<std::string> teams;
  bool e2e_only = false;          // only sealed ops leave (needs a team)
  bool follow = false;
  unsigned timeout_seconds = 30;
};

void sync_with_node(const store_options& store, const sync_arguments& args, std::ostream& out);

// The access key a node needs for a team ([[database.team]] access_key):
// derived from the team secret, it checks membership and opens nothing.
struct team_key_arguments {
  std::string team;
  std::string secret_file; // empty: BLAZE_TEAM_SECRET or the terminal
};

void print_team_key(const team_key_arguments& args, std::ostream& out);

// Cross-app sharing: exporting the store to an app group, and reading what
// a group exports.
struct share_arguments {
  std::string group;
  std::string group_dir;             // empty: the default for the group's name
  std::string as;                    // the exported name (default: the store's name)
  std::string collections;           // comma-separated, required
  std::string fields;                // comma-separated; empty: every field
  bool writable = false;
  std::vector<std::uint32_t> uids;   // --allow-uid
  std::vector<std::string> tokens;   // --token NAME:FILE
};

// Exports until SIGINT or SIGTERM.
void share_store(const store_options& store, const share_arguments& args, std::ostream& out);

struct shared_arguments {
  std::string group;
  std::string group_dir;
  std::string database;   // empty: list the group's exports
  std::string token_file; // when the exporter admits token holders, not this uid
  std::string collection; // empty: every exported collection
  bool follow = false;    // keep printing changes until SIGINT or SIGTERM
  unsigned timeout_seconds = 30;
};

void read_shared(const shared_arguments& args, std::ostream& out);

} // namespace blaze::cli
