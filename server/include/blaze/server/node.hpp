// The blaze-node core: the databases one node hosts, the topology linking
// them, and the node actor that keeps them by name and answers status over
// the secure middleman. blaze-node's main() is a thin shell around `node`.
#pragma once

#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/node_status.hpp"
#include "blaze/runtime/type_ids.hpp"
#include "blaze/server/config.hpp"

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace blaze::server {

// What a node serves on its control endpoint.
using node_actor = caf::typed_actor<caf::replies_to<status_atom>::with<node_status>>;

class node {
public:
  // Opens every configured database (stores that exist first, so that a
  // wrong password stops the node before it creates anything), registers
  // them in a topology, connects the configured links and spawns the node
  // actor. Nothing is published yet. On error every database opened so far
  // is closed again; the message names the database.
  static result<std::unique_ptr<node>> start(caf::actor_system& sys, const node_config& cfg);

  ~node(); // stop()
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Publishes the node actor on the configured host and port through the
  // secure middleman; peers must prove the node secret. Returns the bound
  // port (the configured one, or the one picked for port 0).
  // Then serves the databases for sync when [sync] is configured (TCP, and
  // the Unix socket when set): every link must prove the node secret in the
  // secure channel and a grant of its database (see grant_config). Last,
  // links the configured peers, which are re-dialled until they answer.
  result<std::uint16_t> listen();

  // The bound sync port, once listen() served sync over TCP.
  std::optional<std::uint16_t> sync_port() const { return sync_port_; }

  // The status as a remote peer would see it (a blocking request).
  result<node_status> status();

  // Stops accepting, stops the links, closes every database and ends the
  // node actor, waiting for all of them. Idempotent.
  void stop();

  const node_actor& actor() const { return actor_; }
  const std::map<std::string, actors::database_actor>& databases() const { return databases_; }

private:
  node(caf::actor_system& sys, node_config cfg);

  caf::actor_system& sys_;
  node_config cfg_;
  std::map<std::string, actors::database_actor> databases_;
  std::unique_ptr<actors::topology> topology_;
  node_actor actor_;
  std::optional<std::uint16_t> port_;
  std::optional<std::uint16_t> sync_port_;
  bool stopped_ = false;
};

// The node actor on its own, for code that manages databases and a topology
// itself: status replies combine `name`, the uptime and what `topology`
// reports about its nodes and links.
node_actor spawn_node_actor(caf::actor_system& sys, std::string name,
                            std::map<std::string, actors::database_actor> databases,
                            actors::topology_actor topology);

} // namespace blaze::server
