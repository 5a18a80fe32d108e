// Message types and atoms that Blaze actors exchange, registered with CAF
// as one type-id block (call blaze::runtime::system_config to load them).
#pragma once

#include "blaze/runtime/inspect.hpp"
#include "blaze/runtime/node_status.hpp"
#include "blaze/runtime/relay_stats.hpp"

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <vector>

CAF_BEGIN_TYPE_ID_BLOCK(blaze, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(blaze, (blaze::value))
  CAF_ADD_TYPE_ID(blaze, (blaze::field_map))
  CAF_ADD_TYPE_ID(blaze, (blaze::record))
  CAF_ADD_TYPE_ID(blaze, (std::vector<blaze::record>))
  CAF_ADD_TYPE_ID(blaze, (blaze::op))
  CAF_ADD_TYPE_ID(blaze, (std::vector<blaze::op>))
  CAF_ADD_TYPE_ID(blaze, (blaze::version_vector))
  CAF_ADD_TYPE_ID(blaze, (blaze::condition))
  CAF_ADD_TYPE_ID(blaze, (blaze::query))
  CAF_ADD_TYPE_ID(blaze, (blaze::apply_stats))
  CAF_ADD_TYPE_ID(blaze, (blaze::change))
  CAF_ADD_TYPE_ID(blaze, (std::vector<blaze::change>))
  CAF_ADD_TYPE_ID(blaze, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(blaze, (blaze::relay_stats))
  CAF_ADD_TYPE_ID(blaze, (blaze::node_status))

  // Message tags of the database actor, named for what they ask.
  CAF_ADD_ATOM(blaze, blaze, put_atom, "put")
  CAF_ADD_ATOM(blaze, blaze, remove_fields_atom, "rmfields")
  CAF_ADD_ATOM(blaze, blaze, erase_atom, "erase")
  CAF_ADD_ATOM(blaze, blaze, get_atom, "get")
  CAF_ADD_ATOM(blaze, blaze, list_atom, "list")
  CAF_ADD_ATOM(blaze, blaze, count_atom, "count")
  CAF_ADD_ATOM(blaze, blaze, find_atom, "find")
  CAF_ADD_ATOM(blaze, blaze, apply_atom, "apply")
  CAF_ADD_ATOM(blaze, blaze, ops_since_atom, "opssince")
  CAF_ADD_ATOM(blaze, blaze, version_atom, "version")
  CAF_ADD_ATOM(blaze, blaze, subscribe_atom, "subscribe")
  CAF_ADD_ATOM(blaze, blaze, unsubscribe_atom, "unsub")
  // Asks a database (or an op sink) for its node id.
  CAF_ADD_ATOM(blaze, blaze, node_atom, "node")
  // Asks a relay for its relay_stats; also tags its reports to the supervisor.
  CAF_ADD_ATOM(blaze, blaze, stats_atom, "stats")
  // Tells a relay that its sink holds some ops already (it sent them).
  CAF_ADD_ATOM(blaze, blaze, peer_holds_atom, "peerholds")
  // Gives a relay the relay of the opposite direction (in-process links).
  CAF_ADD_ATOM(blaze, blaze, partner_atom, "partner")
  // Message tags of the topology supervisor.
  CAF_ADD_ATOM(blaze, blaze, register_atom, "register")
  CAF_ADD_ATOM(blaze, blaze, connect_atom, "connect")
  CAF_ADD_ATOM(blaze, blaze, disconnect_atom, "disconnect")
  CAF_ADD_ATOM(blaze, blaze, nodes_atom, "nodes")
  CAF_ADD_ATOM(blaze, blaze, links_atom, "links")
  CAF_ADD_ATOM(blaze, blaze, restart_atom, "restart")
  // Asks a blaze-node for its node_status.
  CAF_ADD_ATOM(blaze, blaze, status_atom, "status")
  // Serving databases on a socket; a link broker reporting it is established.
  CAF_ADD_ATOM(blaze, blaze, serve_atom, "serve")
  CAF_ADD_ATOM(blaze, blaze, established_atom, "linkup")
  // Cross-app sharing: a listener's grants replaced, a link's grant revoked.
  CAF_ADD_ATOM(blaze, blaze, grant_atom, "grant")
  CAF_ADD_ATOM(blaze, blaze, revoke_atom, "revoke")

CAF_END_TYPE_ID_BLOCK(blaze)
