// The secure middleman: CAF's remote messaging (BASP) carried inside the
// secure channel instead of plain TCP, plugged into CAF's I/O layer the way
// libcaf_openssl plugs in TLS. Remote typed actors, monitoring and down_msg
// across nodes work as with caf::io::publish/remote_actor; every byte on the
// wire is a handshake message or a sealed record.
//
//   blaze::runtime::system_config cfg;
//   blaze::runtime::enable_secure_middleman(cfg);
//   caf::actor_system sys{cfg};
//   auto port = secure_publish(sys, my_actor, 0, "link secret");
//   auto peer = secure_remote_actor<my_actor_type>(sys, "10.0.0.2", 4242, "link secret");
#pragma once

#include "blaze/runtime/secure_channel.hpp"
#include "blaze/storage/status.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <utility>

namespace blaze::runtime {

// Loads CAF's I/O middleman and the secure middleman into `cfg` (do not load
// caf::io::middleman separately). The secure middleman takes CAF's slot for
// a transport-security module, so it cannot be combined with caf::openssl.
// Automatic BASP side connections stay off: they would be plain TCP.
void enable_secure_middleman(caf::actor_system_config& cfg);

namespace detail {

result<std::uint16_t> secure_publish(caf::actor_system& sys, caf::strong_actor_ptr whom,
                                     std::set<std::string> interface, std::uint16_t port,
                                     channel_options options, const char* addr);

result<caf::strong_actor_ptr> secure_remote_actor(caf::actor_system& sys, std::string host,
                                                  std::uint16_t port, channel_options options,
                                                  std::set<std::string> interface);

result<void> secure_unpublish(caf::actor_system& sys, caf::actor_addr whom, std::uint16_t port);

} // namespace detail

// Makes `whom` reachable over the secure channel at addr:port (port 0 picks
// a free port). Returns the bound port. Every connection accepted there must
// prove `options.link_secret`. Blocks the calling thread; do not call it from
// inside an actor's handler.
template <class Handle>
result<std::uint16_t> secure_publish(caf::actor_system& sys, const Handle& whom,
                                     std::uint16_t port, channel_options options,
                                     const char* addr = "127.0.0.1") {
  return detail::secure_publish(sys, caf::actor_cast<caf::strong_actor_ptr>(whom),
                                sys.message_types<Handle>(), port, std::move(options), addr);
}

template <class Handle>
result<std::uint16_t> secure_publish(caf::actor_system& sys, const Handle& whom,
                                     std::uint16_t port, std::string secret,
                                     const char* addr = "127.0.0.1") {
  channel_options options;
  options.link_secret = std::move(secret);
  return secure_publish(sys, whom, port, std::move(options), addr);
}

// Closes `port` (0: every port) that `whom` was published at.
template <class Handle>
result<void> secure_unpublish(caf::actor_system& sys, const Handle& whom, std::uint16_t port = 0) {
  return detail::secure_unpublish(sys, whom.address(), port);
}

// Connects to the actor published at host:port over the secure channel and
// returns a handle to it. Errors: auth_failed (the link secrets differ),
// closed (the peer hung up during the handshake), timeout (no handshake
// within options.handshake_timeout), not_found (nothing published there),
// invalid_argument (the remote actor has another interface), io_error
// (connection refused and other network errors). Blocks the calling thread;
// do not call it from inside an actor's handler.
template <class Handle>
result<Handle> secure_remote_actor(caf::actor_system& sys, std::string host, std::uint16_t port,
                                   channel_options options) {
  auto ptr = detail::secure_remote_actor(sys, std::move(host), port, std::move(options),
                                         sys.message_types<Handle>());
  if (!ptr)
    return ptr.error();
  return caf::actor_cast<Handle>(std::move(*ptr));
}

template <class Handle>
result<Handle> secure_remote_actor(caf::actor_system& sys, std::string host, std::uint16_t port,
                                   std::string secret) {
  channel_options options;
  options.link_secret = std::move(secret);
  return secure_remote_actor<Handle>(sys, std::move(host), port, std::move(options));
}

} // namespace blaze::runtime
