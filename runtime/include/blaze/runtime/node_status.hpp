// What a blaze-node reports about itself on its status endpoint. It lives in
// runtime, beside the other message types, so that the type-id block need
// not depend on the server; every field is plain data (no actor handles),
// so that it crosses the network as it is.
#pragma once

#include "blaze/storage/op.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace blaze {

// One hosted database.
struct database_status {
  std::string name;
  node_id id = 0;
  std::uint64_t version_total = 0; // sum of its version vector: ops it holds
  bool up = true;                  // false once its database actor ended
};

// One link of the node's topology, summed over its directions.
struct link_status {
  std::uint64_t id = 0;
  std::string from;
  std::string to;
  std::string mode;      // read_only, write_only, bidirectional
  std::string transport; // in-process, unix, tcp
  std::string state;     // starting, running, restarting, failed, stopped
  std::uint64_t lag = 0;
  std::uint64_t ops_relayed = 0;
  std::uint32_t restarts = 0;
  std::string last_error;
};

struct node_status {
  std::string name;
  std::string version; // of the blaze-node build
  std::uint64_t uptime_ms = 0;
  std::vector<database_status> databases;
  std::vector<link_status> links;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, database_status& x) {
  return f(caf::meta::type_name("blaze.database_status"), x.name, x.id, x.version_total, x.up);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, link_status& x) {
  return f(caf::meta::type_name("blaze.link_status"), x.id, x.from, x.to, x.mode, x.transport,
           x.state, x.lag, x.ops_relayed, x.restarts, x.last_error);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("blaze.node_status"), x.name, x.version, x.uptime_ms, x.databases,
           x.links);
}

} // namespace blaze
