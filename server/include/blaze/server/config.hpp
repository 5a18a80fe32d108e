// The configuration of a blaze-node: a TOML file, with command-line
// overrides applied on top, checked as a whole before anything is opened.
// Secrets (the node secret, each database's password and sync secret) may
// be written inline but are better kept in files of their own (mode 0600),
// named relative to the config file.
#pragma once

#include "blaze/storage/status.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace blaze::server {

enum class log_format { text, json }; // text: key=value per line

// Who may sync a database, and what: a client proves `secret` (bound to the
// secure channel, never sent) and may then sync only `collections` (empty:
// all), and only pull when read_only.
struct grant_config {
  std::string name;
  std::string secret;
  std::vector<std::string> collections;
  bool read_only = false;
  std::vector<std::string> fields; // empty: every field; else only these cross
};

// A team of a database (end-to-end sealing): its members seal their ops
// with the team's key; the node holds only the access key, which checks that
// a client belongs to the team and opens nothing (`blaze team-key` prints it).
struct team_config {
  std::string name;
  std::string access_key; // 32 bytes (hex in the config)
};

struct database_config {
  std::string name;
  std::filesystem::path path; // default: <data_dir>/<name>
  std::string password;
  // Proves this database's sync links: the grant "sync" (every collection,
  // both ways), and what this node proves to its peers for it.
  std::string sync_secret;
  std::vector<grant_config> grants; // [[database.grant]], besides "sync"
  std::vector<team_config> teams;   // [[database.team]]
  // Only sealed ops are taken and given: the node never holds plaintext.
  bool e2e_only = false;
  bool create = true;               // create the store when it does not exist yet
};

// Cluster: a hosted database kept in sync with a database on another node
// (as topology::enable_sync), re-dialled with backoff when that node is down.
struct peer_config {
  std::string database;           // the hosted database
  std::string remote;             // its name on the other node (default: the same)
  std::string host;               // the other node's sync endpoint
  std::uint16_t port = 0;
  std::string socket;             // or / and its Unix socket (preferred when it answers)
  // Other nodes holding the database, tried in turn when host:port fails.
  std::vector<std::pair<std::string, std::uint16_t>> failover;
  std::string mode = "bidirectional";
  std::string secret;             // the other node's secret (default: this node's)
  std::string access_secret;      // default: the database's sync secret
};

// An in-process link between two hosted databases, as topology::connect_local.
struct link_config {
  std::string from;
  std::string to;
  std::string mode = "bidirectional"; // read_only, write_only or bidirectional
};

struct node_config {
  std::filesystem::path source; // the file it came from
  std::string name;
  std::filesystem::path data_dir;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 7420; // 0: any free port
  std::string secret;               // clients of the status endpoint must prove it
  // Scheduler: worker threads (0: one per core, at least 2), and whether
  // idle workers keep polling (lower latency, a busy core) or block until
  // a message wakes them.
  std::size_t threads = 2;
  bool low_latency = false;
  // Where database actors run: "detached" (a thread each, the default) or
  // "scheduled" (on the scheduler: lower sync latency, but a blocking
  // LevelDB call holds a scheduler thread). See actors::placement.
  std::string database_placement = "detached";
  std::string log_level = "info";   // trace, debug, info, warn, error, critical, off
  log_format format = log_format::text;
  // Sync endpoint ([sync]): TCP, and optionally a Unix socket for clients
  // on this machine. Off when the file has no [sync] table.
  bool sync_enabled = false;
  std::string sync_host = "127.0.0.1";
  std::uint16_t sync_port = 7421; // 0: any free port
  std::filesystem::path sync_socket;
  std::vector<database_config> databases;
  std::vector<link_config> links;
  std::vector<peer_config> peers;
  // Things worth a warning that do not stop the node (inline secrets, secret
  // files others can read).
  std::vector<std::string> warnings;
};

// Command-line values that replace those of the file.
struct config_overrides {
  std::optional<std::string> name;
  std::optional<std::filesystem::path> data_dir;
  std::optional<std::string> listen_host;
  std::optional<std::uint16_t> listen_port;
  std::optional<std::filesystem::path> secret_file;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<std::uint16_t> sync_port; // also turns the sync endpoint on
};

// Reads, overrides and checks the config. Errors are invalid_argument (or
// not_found for a missing config file) with a message that names the file,
// the line when known, and the key: "node.toml:7: database[1].password_file:
// cannot read 'x.pw': No such file or directory".
result<node_config> load_config(const std::filesystem::path& file,
                                const config_overrides& overrides = {});

// As load_config, over TOML text; `source` names it in errors and its
// directory anchors relative paths.
result<node_config> parse_config(std::string_view toml_text, const std::filesystem::path& source,
                                 const config_overrides& overrides = {});

// A secret kept in a file of its own; one trailing line break (echo secret
// > file) is not part of it. Errors: io_error (unreadable; the message says
// why), invalid_argument (empty, or larger than max_secret_file_size).
inline constexpr std::size_t max_secret_file_size = 64 * 1024;
result<std::string> read_secret_file(const std::filesystem::path& file);

// "host:port" -> host and port ("[::1]:7420" for IPv6).
result<std::pair<std::string, std::uint16_t>> parse_endpoint(std::string_view text);

} // namespace blaze::server
