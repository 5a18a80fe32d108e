// Helper process for the socket_link suite: opens a database, serves it on a
// Unix socket and answers line commands on stdin:
//   put <id> <n> [coll]  writes record <id> with field n = <n> in collection
//                  "c" (or coll)
//   count [coll]   prints "COUNT <records in c (or coll)>"
//   links          prints "LINKS <n> <mode> <state> ..." (with --topology)
//   port           prints "PORT <n>": the TCP port it serves on
//   serve <path>   also serves on a Unix socket (topology only), prints OK
//   quit           stops serving and exits
// It prints "READY" once it serves. With --topology it serves through a
// topology supervisor (which also shows the links it accepted) instead of a
// bare listener. A socket path of the form tcp:<port> serves on TCP at
// 127.0.0.1 instead (topology only; a link secret is required). Each
// --grant name:secret:coll1,coll2[:ro] admits holders of that access secret
// to the listed collections (none listed: all), read-only with ":ro".
//
// With --share DIR:COLLS:FIELDS[:rw] it exports the database ("peer") to the
// app group "tests" at DIR instead (a socket path of "-": no other socket),
// admitting --allow-uid N and --token NAME=TOKEN (repeatable); then
//   set <coll> <id> <field> <value>  writes a string field, prints OK
//   revoke <grant>                   prints "CUT <links cut>" or "ERROR ..."
//
//   blaze_link_peer [--topology] [--grant G]... [--share S [--allow-uid N]... [--token T]...]
//                   <database path> <socket path> [link secret]
#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/socket_link.hpp"
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace blaze;
  std::vector<std::string> args{argv + 1, argv + argc};
  bool with_topology = false;
  std::vector<actors::access_grant> grants;
  std::string share;
  actors::share_permissions permissions;
  auto split = [](const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::istringstream in{text};
    for (std::string part; std::getline(in, part, sep);)
      parts.push_back(part);
    return parts;
  };
  while (!args.empty() && args.front().rfind("--", 0) == 0) {
    if (args.front() == "--topology") {
      with_topology = true;
      args.erase(args.begin());
    } else if (args.front() == "--share" && args.size() > 1) {
      share = args[1];
      with_topology = true;
      args.erase(args.begin(), args.begin() + 2);
    } else if (args.front() == "--allow-uid" && args.size() > 1) {
      permissions.uids.push_back(static_cast<std::uint32_t>(std::stoul(args[1])));
      args.erase(args.begin(), args.begin() + 2);
    } else if (args.front() == "--token" && args.size() > 1) {
      auto eq = args[1].find('=');
      permissions.tokens.push_back({args[1].substr(0, eq), args[1].substr(eq + 1)});
      args.erase(args.begin(), args.begin() + 2);
    } else if (args.front() == "--grant" && args.size() > 1) {
      std::vector<std::string> parts;
      std::istringstream in{args[1]};
      for (std::string part; std::getline(in, part, ':');)
        parts.push_back(part);
      actors::access_grant g;
      g.name = parts.size() > 0 ? parts[0] : "";
      g.secret = parts.size() > 1 ? parts[1] : "";
      if (parts.size() > 2) {
        std::istringstream cs{parts[2]};
        for (std::string c; std::getline(cs, c, ',');)
          if (!c.empty())
            g.collections.push_back(c);
      }
      g.read_only = parts.size() > 3 && parts[3] == "ro";
      grants.push_back(std::move(g));
      args.erase(args.begin(), args.begin() + 2);
    } else {
      break;
    }
  }
  if (args.size() != 2 && args.size() != 3) {
    std::fprintf(stderr,
                 "usage: %s [--topology] [--grant G]... <database path> <socket path> "
                 "[link secret]\n",
                 argv[0]);
    return 2;
  }
  runtime::system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  caf::actor_system sys{cfg};
  open_options o;
  o.kdf_log2_n = 10;
  auto db = actors::open_database(sys, "peer", args[0], "pw", o);
  if (!db) {
    std::fprintf(stderr, "link_peer: %s\n", db.error().to_string().c_str());
    return 1;
  }
  actors::socket_link_options options;
  if (args.size() == 3)
    options.link_secret = args[2];
  std::unique_ptr<actors::topology> topo;
  std::uint16_t tcp_port = 0;
  result<caf::actor> listener{caf::actor{}};
  if (with_topology) {
    topo = std::make_unique<actors::topology>(sys);
    auto served = topo->register_db(*db, "peer");
    result<void> r = result<void>{};
    actors::serve_access access;
    access.link_secret = options.link_secret;
    if (!grants.empty())
      access.grants["peer"] = grants;
    if (!served) {
      r = served.error();
    } else if (!share.empty()) {
      auto parts = split(share, ':');
      actors::app_group group{"tests", parts.at(0)};
      actors::export_policy policy;
      policy.collections = split(parts.at(1), ',');
      if (parts.size() > 2)
        policy.fields = split(parts[2], ',');
      policy.read_only = !(parts.size() > 3 && parts[3] == "rw");
      auto bridge = topo->enable_cross_app_sync("peer", group, policy, permissions);
      if (!bridge)
        r = bridge.error();
    } else if (args[1] == "-") {
      // nothing else to serve
    } else if (args[1].rfind("tcp:", 0) == 0) {
      auto port = topo->serve_tcp("127.0.0.1",
                                  static_cast<std::uint16_t>(std::stoi(args[1].substr(4))),
                                  access);
      if (port)
        tcp_port = *port;
      else
        r = port.error();
    } else {
      r = topo->serve_unix(args[1], access);
    }
    if (!r) {
      std::fprintf(stderr, "link_peer: %s\n", r.error().to_string().c_str());
      topo.reset();
      caf::anon_send_exit(*db, caf::exit_reason::user_shutdown);
      return 1;
    }
  } else {
    listener = actors::serve_unix(sys, args[1], {{"peer", *db}}, options);
  }
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
      std::string id, coll = "c";
      std::int64_t n = 0;
      in >> id >> n >> coll;
      self->request(*db, std::chrono::seconds(10), put_atom_v, coll, id, field_map{{"n", n}})
        .receive([](op&) {}, [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
      std::cout << "OK" << std::endl;
    } else if (cmd == "count") {
      std::uint64_t n = 0;
      std::string coll = "c";
      in >> coll;
      self->request(*db, std::chrono::seconds(10), count_atom_v, coll)
        .receive([&](std::uint64_t x) { n = x; },
                 [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
      std::cout << "COUNT " << n << std::endl;
    } else if (cmd == "links" && topo) {
      std::cout << "LINKS";
      auto links = topo->links();
      std::cout << " " << links.size();
      for (auto& l : links)
        std::cout << " " << actors::to_string(l.mode) << " " << actors::to_string(l.state);
      std::cout << std::endl;
    } else if (cmd == "serve" && topo) {
      std::string path;
      in >> path;
      actors::serve_access access;
      access.link_secret = options.link_secret;
      if (!grants.empty())
        access.grants["peer"] = grants;
      auto r = topo->serve_unix(path, access);
      std::cout << (r ? "OK" : "ERROR " + r.error().to_string()) << std::endl;
    } else if (cmd == "set") {
      std::string coll, id, field, v;
      in >> coll >> id >> field >> v;
      self->request(*db, std::chrono::seconds(10), put_atom_v, coll, id, field_map{{field, v}})
        .receive([](op&) {}, [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
      std::cout << "OK" << std::endl;
    } else if (cmd == "revoke" && topo) {
      std::string grant;
      in >> grant;
      auto cut = topo->revoke_share("peer", grant);
      std::cout << (cut ? "CUT " + std::to_string(*cut) : "ERROR " + cut.error().to_string())
                << std::endl;
    } else if (cmd == "port") {
      std::cout << "PORT " << tcp_port << std::endl;
    } else if (cmd == "quit") {
      break;
    }
  }
  topo.reset();
  if (*listener) {
    self->send_exit(*listener, caf::exit_reason::user_shutdown);
    self->wait_for(*listener);
  }
  self->send_exit(*db, caf::exit_reason::user_shutdown);
  self->wait_for(*db);
  return 0;
}
