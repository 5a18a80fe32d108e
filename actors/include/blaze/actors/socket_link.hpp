// Links between processes: databases served on a Unix domain socket (one
// machine) or on TCP (any machine, always inside the secure channel), and
// links dialled to them. Each end of a connection is a broker
// that speaks the link protocol (runtime/link_protocol.hpp), inside the
// secure channel when a link secret is set. Ops travel only the way the
// link's mode allows; the receiving side refuses anything else.
#pragma once

#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/relay.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace blaze::actors {

// Who may link to a served database, and to what: a dialler proves the
// grant's secret (bound to the secure channel, never sent), and the link
// then carries only the granted collections, only the granted way.
// On a Unix socket a grant may instead name local users: a dialler whose
// uid (SO_PEERCRED) is listed is admitted without a secret.
struct access_grant {
  std::string name;                     // who holds it, for errors and the graph
  std::string secret;                   // the database's access secret for this holder
  std::vector<std::string> collections; // empty: every collection
  bool read_only = false;               // the holder may pull, never push
  std::vector<std::string> fields;      // empty: every field; else only these cross
  std::vector<std::uint32_t> uids;      // Unix socket peers admitted by their uid
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, access_grant& x) {
  return f(caf::meta::type_name("blaze.access_grant"), x.name, x.secret, x.collections,
           x.read_only, x.fields, x.uids);
}

// A team a dialler joins (end-to-end sealing, blaze/storage/team_seal.hpp).
// Members hold the team's secret: their ops of the team's collections are
// sealed before they leave the process, and the team's sealed ops are
// opened on arrival. A node that relays the team's ops to other nodes holds
// only its access key: sealed ops pass through it as they are.
struct team_membership {
  std::string name;
  std::string secret;                   // members (empty: a relaying node)
  std::string access_key;               // relaying nodes: blaze::team_access_key
  std::vector<std::string> collections; // members: what is sealed for the team (empty: all)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_membership& x) {
  return f(caf::meta::type_name("blaze.team_membership"), x.name, x.secret, x.access_key,
           x.collections);
}

// What a listener knows of a team: the key that checks a member's proof,
// nothing that opens the team's ops.
struct team_access {
  std::string name;
  std::string access_key; // blaze::team_access_key(name, team secret)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_access& x) {
  return f(caf::meta::type_name("blaze.team_access"), x.name, x.access_key);
}

// How a dialled link proves itself: the secure channel's link secret and,
// for a database with grants, its access secret and the collections wanted;
// the teams it joins, and whether only sealed ops may cross (e2e_only).
struct link_access {
  std::string link_secret;
  std::string access_secret;
  std::vector<std::string> collections;
  std::vector<team_membership> teams;
  bool e2e_only = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_access& x) {
  return f(caf::meta::type_name("blaze.link_access"), x.link_secret, x.access_secret,
           x.collections, x.teams, x.e2e_only);
}

// What a listener admits: the link secret, grants and teams per database,
// and the databases that take only sealed ops.
struct serve_access {
  std::string link_secret;
  std::map<std::string, std::vector<access_grant>> grants;
  std::map<std::string, std::vector<team_access>> teams;
  std::vector<std::string> e2e_only;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, serve_access& x) {
  return f(caf::meta::type_name("blaze.serve_access"), x.link_secret, x.grants, x.teams,
           x.e2e_only);
}

struct socket_link_options {
  // Empty: plain frames (the socket file's permissions guard it). Otherwise
  // both ends must prove this secret in the secure channel's handshake.
  std::string link_secret;
  relay_options relay;
  // When set, receives the link's reports: (established_atom, link_event)
  // once a connection is up, and the outgoing relay's (stats_atom,
  // relay_actor, relay_stats). The topology supervisor sets itself here.
  caf::actor report_to;
  // Dialler: the access secret of the remote database to prove (empty: the
  // database has none), and the collections to sync (empty: every one the
  // grant allows). A node that cannot prove the same secret is refused.
  std::string access_secret;
  std::vector<std::string> collections;
  // Listener: grants per served database name. A database with grants
  // admits only diallers that prove one of them (errc::auth_failed), and
  // refuses one that asks for more than its grant (errc::permission_denied).
  // Grants need the secure channel: a link secret must be set.
  std::map<std::string, std::vector<access_grant>> grants;
  // Dialler: the teams it joins (each proven to the listener). With
  // e2e_only, only sealed ops cross the link: local ops of collections no
  // team covers stay local, and the listener sends only sealed ops.
  std::vector<team_membership> teams;
  bool e2e_only = false;
  // Listener: teams per served database (a dialler that names a team must
  // prove it: errc::auth_failed), and the databases that take and give only
  // sealed ops (a plaintext op is refused: errc::permission_denied).
  std::map<std::string, std::vector<team_access>> served_teams;
  std::vector<std::string> e2e_databases;
  // Both ends: a connection whose peer has not completed the handshake and
  // sent its hello within this time is cut (errc::timeout).
  std::chrono::milliseconds hello_timeout{10000};
};

// A connection that just came up, as one of its ends sees it.
struct link_event {
  caf::actor link;           // the broker; it terminates when the connection ends
  bool dialer = false;       // false: accepted by a listener
  bool tcp = false;          // false: a Unix socket
  std::string database;      // the database asked for (served by the listener)
  std::string local;         // accepted side: the served database's name
  node_id peer = 0;          // the other end's node
  bool sends_ops = false;    // this end sends ops to the peer
  bool accepts_ops = false;  // this end applies the peer's ops
  relay_actor relay;         // the outgoing relay, when this end sends ops
  std::string grant;         // accepted side: the grant that admitted the dialler
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_event& x) {
  return f(caf::meta::type_name("blaze.link_event"), x.link, x.dialer, x.tcp, x.database, x.local,
           x.peer, x.sends_ops, x.accepts_ops, x.relay, x.grant);
}

// Checks the access options (secrets, grants, teams) for consistency:
// what serve_* and dial_* check before they start.
result<void> check_access(const socket_link_options& options);

// Serves `databases` (by name) at `socket_path`, replacing a stale socket
// file. Returns the listener; send it an exit to stop serving (the socket
// file is removed). Connections already made stay up until their peer or
// their database goes away. Sending the listener (register_atom, name,
// database_actor) serves one more database; (grant_atom, name,
// std::vector<access_grant>) replaces a database's grants for connections
// accepted from then on. A link sent (revoke_atom, reason) ends with
// errc::permission_denied, telling its peer the reason. Never blocks for long (the
// stale-socket probe does not wait), so actors may call it.
result<caf::actor> serve_unix(caf::actor_system& sys, const std::string& socket_path,
                              std::map<std::string, database_actor> databases,
                              socket_link_options options = {});

// Connects `local` to the database named `remote` served at `socket_path`.
// `mode` is seen from (local, remote): read_only carries local -> remote,
// write_only remote -> local. Returns the link's broker once both hellos are
// exchanged; it terminates with an error when the connection fails (the
// topology restarts it), and its relays with it.
result<caf::actor> dial_unix(caf::actor_system& sys, database_actor local,
                             const std::string& socket_path, const std::string& remote,
                             link_mode mode, socket_link_options options = {});

// Serving and dialling over TCP: the same link protocol, always inside the
// secure channel (an empty link secret is refused). Port 0 picks a free
// port; the listener reports the port it bound.
struct tcp_listener {
  caf::actor listener;
  std::uint16_t port = 0;
};

result<tcp_listener> serve_tcp(caf::actor_system& sys, const std::string& host,
                               std::uint16_t port, std::map<std::string, database_actor> databases,
                               socket_link_options options);

// Connects (blocking the calling thread up to options.hello_timeout; actors use
// it only from a detached helper) and returns the link's broker at once,
// like start_unix_link.
result<caf::actor> dial_tcp(caf::actor_system& sys, database_actor local, const std::string& host,
                            std::uint16_t port, const std::string& remote, link_mode mode,
                            socket_link_options options);

// Waits (blocking) until a started link exchanged both hellos, at most
// `limit` plus a second (the link's own hello deadline ends it sooner); on
// failure stops it and returns why. dial_unix = start_unix_link + this,
// with the options' hello_timeout.
result<caf::actor> await_established(caf::actor_system& sys, const caf::actor& link,
                                     std::chrono::milliseconds limit = std::chrono::seconds{10});

// dial_unix without the wait: connects (without blocking) and returns the
// link's broker at once; the hellos follow. Failures after this point end
// the broker with an error, reported to options.report_to (a monitor sees
// it too). For actors, which must not block.
result<caf::actor> start_unix_link(caf::actor_system& sys, database_actor local,
                                   const std::string& socket_path, const std::string& remote,
                                   link_mode mode, socket_link_options options = {});

} // namespace blaze::actors
