// Helper process for the socket_link suite: opens a database, serves it on a
// Unix socket and answers line commands on stdin:
//   put <id> <n>   writes record <id> with field n = <n> in collection "c"
//   count          prints "COUNT <records in c>"
//   quit           stops serving and exits
// It prints "READY" once it serves.
//
//   blaze_link_peer <database path> <socket path> [link secret]
#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/socket_link.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  using namespace blaze;
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s <database path> <socket path> [link secret]\n", argv[0]);
    return 2;
  }
  runtime::system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  caf::actor_system sys{cfg};
  open_options o;
  o.kdf_log2_n = 10;
  auto db = actors::open_database(sys, "peer", argv[1], "pw", o);
  if (!db) {
    std::fprintf(stderr, "link_peer: %s\n", db.error().to_string().c_str());
    return 1;
  }
  actors::socket_link_options options;
  if (argc == 4)
    options.link_secret = argv[3];
  auto listener = actors::serve_unix(sys, argv[2], {{"peer", *db}}, options);
  if (!listener) {
    std::fprintf(stderr, "link_peer: %s\n", listener.error().to_string().c_str());
    caf::anon_send_exit(*db, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::cout << "READY" << std::endl;
  caf::scoped_actor self{sys};
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in{line};
    std::string cmd;
    in >> cmd;
    if (cmd == "put") {
      std::string id;
      std::int64_t n = 0;
      in >> id >> n;
      self->request(*db, std::chrono::seconds(10), put_atom_v, std::string{"c"}, id,
                    field_map{{"n", n}})
        .receive([](op&) {}, [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
      std::cout << "OK" << std::endl;
    } else if (cmd == "count") {
      std::uint64_t n = 0;
      self->request(*db, std::chrono::seconds(10), count_atom_v, std::string{"c"})
        .receive([&](std::uint64_t x) { n = x; },
                 [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
      std::cout << "COUNT " << n << std::endl;
    } else if (cmd == "quit") {
      break;
    }
  }
  self->send_exit(*listener, caf::exit_reason::user_shutdown);
  self->wait_for(*listener);
  self->send_exit(*db, caf::exit_reason::user_shutdown);
  self->wait_for(*db);
  return 0;
}
