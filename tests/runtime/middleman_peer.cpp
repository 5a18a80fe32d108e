// Helper process for the secure_middleman suite: publishes an echo_actor
// over the secure middleman on an ephemeral port of 127.0.0.1, prints
// "PORT <n>" on stdout and serves until its stdin closes.
//
//   blaze_middleman_peer <link secret> [handshake timeout in ms]
#include "middleman_peer.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

blaze_test::echo_actor::behavior_type echo_impl() {
  return {
    [](blaze_test::echo_atom, std::string& text) { return std::move(text); },
    [](blaze_test::pid_atom) { return static_cast<std::int32_t>(::getpid()); },
  };
}

struct peer_config : blaze::runtime::system_config {
  peer_config() {
    add_message_types<caf::id_block::blaze_mm_test>();
    blaze::runtime::enable_secure_middleman(*this);
  }
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s <link secret> [handshake timeout in ms]\n", argv[0]);
    return 2;
  }
  blaze::runtime::channel_options options;
  options.link_secret = argv[1];
  if (argc == 3)
    options.handshake_timeout = std::chrono::milliseconds(std::atoi(argv[2]));
  peer_config cfg;
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(echo_impl);
  auto port = blaze::runtime::secure_publish(sys, echo, 0, options);
  if (!port) {
    std::fprintf(stderr, "middleman_peer: %s\n", port.error().to_string().c_str());
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::printf("PORT %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  // Serve until the test closes our stdin (or dies, which closes it too).
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  // The BASP broker keeps published actors in the registry: stop ours, or
  // the actor system would wait for it forever.
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return 0;
}
