// The topology: which databases exist and how they are linked. A supervisor
// actor spawns one relay per direction of every link, restarts failed relays
// with backoff and keeps per-link state; `topology` wraps it for embedding
// applications, and graph_json/graph_dot export the graph.
#pragma once

#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/relay.hpp"
#include "blaze/actors/bridge.hpp"
#include "blaze/actors/socket_link.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace blaze::actors {

using link_id = std::uint64_t;

enum class link_state : std::uint8_t {
  starting,   // relays spawned, no report yet
  running,    // every relay reported
  restarting, // a relay failed; a new one is due after the backoff
  failed,     // a database of the link went down; nothing restarts
  stopped,    // the relays ended normally on their own
};

const char* to_string(link_state s);

struct node_info {
  std::string name;
  node_id id = 0;
  std::uint64_t version_total = 0; // sum of the node's version vector
  bool up = true;                  // false once its database actor terminated
  database_actor db;
};

// One direction of a link: the relay carrying ops `from` -> `to`.
struct relay_info {
  std::string from;
  std::string to;
  link_state state = link_state::starting;
  relay_actor relay; // null while restarting, failed or stopped
  std::uint64_t ops_relayed = 0;
  std::uint64_t lag = 0;
  std::uint32_t restarts = 0;
  std::string last_error;
  caf::timestamp last_report{}; // epoch: never
};

struct link_info {
  link_id id = 0;
  std::string from; // as given to connect(from, to, mode)
  std::string to;
  link_mode mode = link_mode::bidirectional;
  // "in-process", "unix:<socket path>" or "tcp:<host>:<port>" (dialled by
  // this topology), "unix-accepted" or "tcp-accepted" (a peer dialled one of
  // this topology's listeners).
  std::string transport = "in-process";
  link_state state = link_state::starting;
  std::vector<relay_info> relays; // one per direction that carries ops
  node_id peer = 0;               // socket links: the other end's node, once known
  caf::actor connection;          // socket links: the connection's broker, while up

  // Sums over the directions; the most recent error of any direction.
  std::uint64_t lag() const;
  std::uint64_t ops_relayed() const;
  std::uint32_t restarts() const;
  std::string last_error() const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("blaze.node_info"), x.name, x.id, x.version_total, x.up, x.db);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_info& x) {
  auto state = static_cast<std::uint8_t>(x.state);
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.relay_info"), x.from, x.to, state, x.relay,
             x.ops_relayed, x.lag, x.restarts, x.last_error, x.last_report);
  } else {
    auto e = f(x.from, x.to, state, x.relay, x.ops_relayed, x.lag, x.restarts, x.last_error,
               x.last_report);
    x.state = static_cast<link_state>(state);
    return e;
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_info& x) {
  auto mode = static_cast<std::uint8_t>(x.mode);
  auto state = static_cast<std::uint8_t>(x.state);
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.link_info"), x.id, x.from, x.to, mode, x.transport,
             state, x.relays, x.peer, x.connection);
  } else {
    auto e = f(x.id, x.from, x.to, mode, x.transport, state, x.relays, x.peer, x.connection);
    x.mode = static_cast<link_mode>(mode);
    x.state = static_cast<link_state>(state);
    return e;
  }
}

// Where a database lives in another process (a blaze-node, or any process
// serving its topology), and how to reach it: over TCP, over a Unix socket,
// or both — then the socket is preferred, TCP is the fallback, and a link on
// the fallback moves back to the socket once it answers again.
struct tcp_endpoint {
  std::string host;
  std::uint16_t port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tcp_endpoint& x) {
  return f(caf::meta::type_name("blaze.tcp_endpoint"), x.host, x.port);
}

struct remote_database {
  std::string database;
  std::string host;        // TCP (empty: none)
  std::uint16_t port = 0;
  std::string socket_path; // Unix socket (empty: none)
  // Other nodes holding the same database: when a TCP dial fails, the next
  // one is tried (in turn, with the backoff), and the link stays on the one
  // that answered.
  std::vector<tcp_endpoint> failover;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_database& x) {
  return f(caf::meta::type_name("blaze.remote_database"), x.database, x.host, x.port,
           x.socket_path, x.failover);
}

// transport: ops cross in the secure channel and the node can read them
// (except a team's, which are sealed anyway). e2e_only: only ops sealed with
// a team key leave this process; the node stores and forwards ciphertext.
enum class encryption_mode : std::uint8_t { transport, e2e_only };

// What to sync with a remote database, and the credentials for it.
struct sync_policy {
  link_mode mode = link_mode::bidirectional; // seen from (local, remote)
  std::vector<std::string> collections;      // empty: every collection granted
  std::string node_secret;                   // the link secret of the node's listener
  std::string access_secret;                 // the database's access secret (empty: none)
  // The teams this side belongs to: each team's collections are sealed with
  // its key, and only the teams joined here are received.
  std::vector<team_membership> teams;
  encryption_mode encryption = encryption_mode::transport;
};

// Supervisor-internal message tags (TCP dials, shutdown).
using dialled_atom = caf::atom_constant<caf::atom("dialled")>;
constexpr dialled_atom dialled_atom_v{};
using dial_expired_atom = caf::atom_constant<caf::atom("dialexpire")>;
constexpr dial_expired_atom dial_expired_atom_v{};
using parts_atom = caf::atom_constant<caf::atom("parts")>;
constexpr parts_atom parts_atom_v{};

// The supervisor's interface. Errors come back as CAF errors of category
// "blaze" (runtime::from_caf_error): not_found for an unknown node or link,
// invalid_argument for a link from a node to itself, already_exists for a
// taken name or an already linked pair of nodes.
using topology_actor = caf::typed_actor<
  // Registers a database under a unique name; replies with its node id.
  caf::replies_to<register_atom, std::string, database_actor>::with<node_id>,
  // Links two registered databases (from, to, mode); replies with the link id.
  caf::replies_to<connect_atom, std::string, std::string, link_mode>::with<link_id>,
  // Links a registered database (local) to a database served by another
  // process, by whichever transport answers (see remote_database): (local,
  // remote, mode, access); replies with the link id. The connection is made
  // without blocking; when it fails or ends it is re-dialled with backoff,
  // and the new relay resumes from the peer's version vector.
  caf::replies_to<connect_atom, std::string, remote_database, link_mode,
                  link_access>::with<link_id>,
  // Serves every registered database, now and later, at a Unix socket path
  // (socket path, access); replies with the listener. Accepted connections
  // appear among the links.
  caf::replies_to<serve_atom, std::string, serve_access>::with<caf::actor>,
  // The same over TCP, always inside the secure channel: (host, port,
  // access), replying with the listener and the bound port.
  caf::replies_to<serve_atom, std::string, std::uint16_t, serve_access>::with<caf::actor,
                                                                             std::uint16_t>,
  // Stops a link's relays (or connection) and forgets the link.
  caf::replies_to<disconnect_atom, link_id>::with<void>,
  caf::replies_to<nodes_atom>::with<std::vector<node_info>>,
  caf::replies_to<links_atom>::with<std::vector<link_info>>,
  // Respawns the link's failed relays now (the backoff timer sends this).
  caf::reacts_to<restart_atom, link_id>,
  // A relay's periodic report.
  caf::reacts_to<stats_atom, relay_actor, relay_stats>,
  // A socket link's report of the peer's relay (its incoming direction).
  caf::reacts_to<stats_atom, caf::actor, relay_stats>,
  // A socket link's connection came up (sent by its broker).
  caf::reacts_to<established_atom, link_event>,
  // A TCP dial's helper returns the connection of (link, attempt); the
  // supervisor takes it or ends it. The helper ends it itself if the
  // supervisor is gone (the request fails), so none outlives both.
  caf::replies_to<dialled_atom, link_id, std::uint64_t, caf::actor>::with<void>,
  // ... or the reason it has none.
  caf::reacts_to<dialled_atom, link_id, std::uint64_t, caf::error>,
  // The dial of (link, attempt) took longer than topology_options::
  // dial_timeout: re-dialled; what that attempt returns later is ended.
  caf::reacts_to<dial_expired_atom, link_id, std::uint64_t>,
  // Every actor the supervisor owns and that may still run: relays,
  // connections (those not yet taken by a link too), listeners, dial
  // helpers; the facade waits for them when it stops.
  caf::replies_to<parts_atom>::with<std::vector<caf::actor>>>;

struct topology_options {
  relay_options relay;
  // Restart backoff: the first delay, doubled per failure up to the maximum,
  // back to the first after a relay has run `stable_after`.
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds stable_after{10000};
  // How often a link on its TCP fallback probes its Unix socket.
  std::chrono::milliseconds upgrade_interval{2000};
  // How TCP links are dialled, in a detached helper thread; empty: dial_tcp.
  // (A dialer that wraps dial_tcp can add its own socket setup, logging, or,
  // in tests, a delay before the connection is returned.)
  std::function<result<caf::actor>(caf::actor_system&, database_actor, const std::string& host,
                                   std::uint16_t port, const std::string& remote, link_mode,
                                   socket_link_options)>
    tcp_dial;
  // A TCP dial that has not returned within this is given up and the link
  // re-dialled after its backoff (a connection it returns later is ended);
  // 0: the link's hello timeout plus 10 s.
  std::chrono::milliseconds dial_timeout{0};
};

topology_actor spawn_topology(caf::actor_system& sys, topology_options options = {});

// The graph as JSON: {"nodes":[{name,node_id,version_total,up}],
// "links":[{id,from,to,mode,transport,state,lag,ops_relayed,restarts,last_error}]}.
std::string graph_json(const std::vector<node_info>& nodes, const std::vector<link_info>& links);

// The graph in Graphviz DOT: arrows point the way ops flow (dir=both for
// bidirectional links), labelled with mode, state and lag; failed links red.
std::string graph_dot(const std::vector<node_info>& nodes, const std::vector<link_info>& links);

struct node_handle {
  std::string name;
  node_id id = 0;
  database_actor db;
};

// The supervisor for code outside actors: every call is a blocking request
// with a timeout. Destroy it before the actor system; it does not own the
// databases, which keep running.
class topology {
public:
  explicit topology(caf::actor_system& sys, topology_options options = {});
  ~topology();
  topology(const topology&) = delete;
  topology& operator=(const topology&) = delete;

  result<node_handle> register_db(database_actor db, std::string name);
  result<link_id> connect_local(const std::string& from, const std::string& to, link_mode mode);
  // Links `local` to `remote` served by another process at `socket_path`.
  // An invalid path or unknown node is an error; a peer that is not there
  // (yet) is not: the link is kept and re-dialled with backoff, its
  // last_error saying why it is not up.
  result<link_id> connect_unix(const std::string& local, const std::string& socket_path,
                               const std::string& remote, link_mode mode,
                               std::string link_secret = {});
  result<link_id> connect_unix(const std::string& local, const std::string& socket_path,
                               const std::string& remote, link_mode mode, link_access access);
  // Serves every registered database at `socket_path` until this topology
  // is destroyed. Errors: busy (another process serves there), io_error.
  result<void> serve_unix(const std::string& socket_path, std::string link_secret = {});
  result<void> serve_unix(const std::string& socket_path, serve_access access);
  // The same over TCP; the link secret is required. serve_tcp returns the
  // bound port (port 0 picks a free one).
  result<link_id> connect_tcp(const std::string& local, const std::string& host,
                              std::uint16_t port, const std::string& remote, link_mode mode,
                              link_access access);
  result<std::uint16_t> serve_tcp(const std::string& host, std::uint16_t port,
                                  serve_access access);

  // Keeps `local` in sync with a database on a node: pushes and pulls as
  // the policy's mode says, live, resuming from version vectors after any
  // disconnect (writes made offline go out on reconnect). The node enforces
  // the collections its grant allows; asking for more is refused.
  result<link_id> enable_sync(const std::string& local, remote_database remote,
                              sync_policy policy);
  result<void> disconnect(link_id id);
  std::vector<node_info> nodes();
  std::vector<link_info> links();
  std::string graph_json();
  std::string graph_dot();

  // Waits until every link is running with lag 0 and every relay's sink has
  // all of its source's ops (by version vector; for a socket link's far end,
  // which this process cannot read, by the relay's acknowledged lag). False
  // on timeout.
  bool wait_until_synced(std::chrono::milliseconds timeout);

  const topology_actor& supervisor() const { return supervisor_; }

  // Cross-app sharing (blaze/actors/bridge.hpp). Exports a registered
  // database to an app group: a bridge actor serves it to the importers the
  // permissions admit, under the policy; its accepted links show among the
  // links. The export ends with the topology (or unshare).
  result<bridge_actor> enable_cross_app_sync(const std::string& node, const app_group& group,
                                             export_policy policy,
                                             share_permissions permissions = {});
  result<void> unshare(const std::string& node);
  // Revokes a grant of a node's export ("uid:<n>" or a token's name) and cuts
  // its live links; returns how many were cut.
  result<std::uint64_t> revoke_share(const std::string& node, const std::string& grant);

  // Imports an export of an app group: a replica in a store of this side's
  // own (`options.path`, or a private temporary store removed with the
  // topology), registered as a node (`options.node_name`, default
  // "<database>@<group>") and linked to the exporter's socket, re-dialled
  // whenever the exporter restarts. `mode`: write_only (pull: the default)
  // or bidirectional (a writable export). The view reads the replica and
  // refuses writes the export does not allow (errc::permission_denied).
  struct import_options {
    std::filesystem::path path;
    std::string password;
    std::string token; // when the exporter admits token holders, not this uid
    std::string node_name;
  };
  struct shared_db {
    database_actor view;
    std::string node;
    link_id link = 0;
    export_entry source;
  };
  result<shared_db> connect_to_shared_db(const app_group& group, const std::string& database,
                                         link_mode mode = link_mode::write_only,
                                         import_options options = {});

private:
  void stop_links(caf::scoped_actor& self);
  result<link_id> connect_remote(const std::string& local, remote_database remote,
                                 link_mode mode, link_access access);

  caf::actor_system& sys_;
  topology_actor supervisor_;
  std::vector<caf::actor> listeners_;
  std::map<std::string, bridge_actor> bridges_;
  struct import_entry {
    database_actor replica;
    database_actor view;
    std::filesystem::path temp_dir; // removed with the topology (empty: the user's store)
  };
  std::vector<import_entry> imports_;
  std::chrono::milliseconds timeout_{10000};
};

} // namespace blaze::actors
