// Links between processes on one machine: databases served on a Unix domain
// socket, and links dialled to them. Each end of a connection is a broker
// that speaks the link protocol (runtime/link_protocol.hpp), inside the
// secure channel when a link secret is set. Ops travel only the way the
// link's mode allows; the receiving side refuses anything else.
#pragma once

#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/relay.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <map>
#include <string>

namespace blaze::actors {

struct socket_link_options {
  // Empty: plain frames (the socket file's permissions guard it). Otherwise
  // both ends must prove this secret in the secure channel's handshake.
  std::string link_secret;
  relay_options relay;
};

// Serves `databases` (by name) at `socket_path`, replacing a stale socket
// file. Returns the listener; send it an exit to stop serving (the socket
// file is removed). Connections already made stay up until their peer or
// their database goes away.
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

} // namespace blaze::actors
