// Asking a running blaze-node for its status, and printing the answer: the
// library call behind `blaze status --node HOST:PORT`.
#pragma once

#include "blaze/runtime/node_status.hpp"
#include "blaze/storage/status.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace blaze::server {

// Connects to the node's control endpoint through the secure middleman
// (`sys` must be set up with runtime::enable_secure_middleman) and asks for
// its status. Errors: auth_failed (wrong node secret), io_error (nothing
// listening), timeout, and the other secure_remote_actor errors.
result<node_status> fetch_status(caf::actor_system& sys, const std::string& host,
                                 std::uint16_t port, const std::string& secret,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// {"name":..,"version":..,"uptime_ms":..,"databases":[{name,node_id,version_total,up}],
//  "links":[{id,from,to,mode,transport,state,lag,ops_relayed,restarts,last_error}]}
std::string status_json(const node_status& s);

// A few lines for people: the node, then one line per database and link.
std::string status_text(const node_status& s);

} // namespace blaze::server
