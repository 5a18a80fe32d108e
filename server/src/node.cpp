#include "blaze/server/node.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/event_log.hpp"

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <filesystem>
#include <system_error>
#include <vector>

namespace blaze::server {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

// How long the node actor waits for the topology while composing a status.
constexpr std::chrono::seconds topology_timeout{5};

struct node_state {
  std::string node_name;
  steady::time_point started;
  std::map<std::string, actors::database_actor> databases;
  actors::topology_actor topology;
  static inline const char* name = "blaze.node";
};

using node_pointer = node_actor::stateful_pointer<node_state>;

database_status to_status(const actors::node_info& n) {
  return database_status{n.name, n.id, n.version_total, n.up};
}

link_status to_status(const actors::link_info& l) {
  link_status s;
  s.id = l.id;
  s.from = l.from;
  s.to = l.to;
  s.mode = actors::to_string(l.mode);
  s.transport = l.transport;
  s.state = actors::to_string(l.state);
  s.lag = l.lag();
  s.ops_relayed = l.ops_relayed();
  s.restarts = l.restarts();
  s.last_error = l.last_error();
  return s;
}

node_actor::behavior_type node_behavior(node_pointer self, std::string node_name,
                                        std::map<std::string, actors::database_actor> databases,
                                        actors::topology_actor topology) {
  auto& st = self->state;
  st.node_name = std::move(node_name);
  st.started = steady::now();
  st.databases = std::move(databases);
  st.topology = std::move(topology);
  // A database that ends while the node runs is worth a line in the log;
  // the topology marks it down in the status.
  for (auto& [name, db] : st.databases)
    self->monitor(db);
  self->set_down_handler([self](const caf::down_msg& dm) {
    for (auto& [name, db] : self->state.databases)
      if (db.address() == dm.source)
        log_event(log_level::error, "database_down",
                  {{"database", name}, {"reason", caf::to_string(dm.reason)}});
  });
  return {
      [self](status_atom) -> caf::result<node_status> {
        auto rp = self->make_response_promise<node_status>();
        auto out = std::make_shared<node_status>();
        out->name = self->state.node_name;
        out->version = BLAZE_VERSION;
        out->uptime_ms =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           steady::now() - self->state.started)
                                           .count());
        auto topology = self->state.topology;
        self->request(topology, topology_timeout, nodes_atom_v)
            .then(
                [self, rp, out, topology](std::vector<actors::node_info>& nodes) mutable {
                  for (auto& n : nodes)
                    out->databases.push_back(to_status(n));
                  self->request(topology, topology_timeout, links_atom_v)
                      .then(
                          [rp, out](std::vector<actors::link_info>& links) mutable {
                            for (auto& l : links)
                              out->links.push_back(to_status(l));
                            rp.deliver(std::move(*out));
                          },
                          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
  };
}

bool store_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec) && !fs::is_empty(path, ec);
}

result<actors::link_mode> parse_mode(const std::string& mode) {
  if (mode == "read_only")
    return actors::link_mode::read_only;
  if (mode == "write_only")
    return actors::link_mode::write_only;
  if (mode == "bidirectional")
    return actors::link_mode::bidirectional;
  return blaze::error{errc::invalid_argument, "unknown link mode '" + mode + "'"};
}

} // namespace

node_actor spawn_node_actor(caf::actor_system& sys, std::string name,
                            std::map<std::string, actors::database_actor> databases,
                            actors::topology_actor topology) {
  return sys.spawn(node_behavior, std::move(name), std::move(databases), std::move(topology));
}

node::node(caf::actor_system& sys, node_config cfg) : sys_(sys), cfg_(std::move(cfg)) {}

node::~node() {
  stop();
}

result<std::unique_ptr<node>> node::start(caf::actor_system& sys, const node_config& cfg) {
  std::unique_ptr<node> n{new node(sys, cfg)};
  // On any error below, ~node closes what was opened.
  auto fail = [&](const database_config& db, const blaze::error& e) {
    return blaze::error{e.code(),
                        "database '" + db.name + "' (" + db.path.string() + "): " + e.to_string()};
  };

  // Existing stores first: a wrong password, or any other reason a store
  // does not open, stops the node before it creates a new store.
  std::vector<const database_config*> existing, missing;
  for (auto& db : n->cfg_.databases)
    (store_exists(db.path) ? existing : missing).push_back(&db);
  for (auto* db : missing)
    if (!db->create)
      return fail(*db, blaze::error{errc::not_found, "no store there, and create = false"});

  std::vector<const database_config*> order = existing;
  order.insert(order.end(), missing.begin(), missing.end());
  std::map<std::string, bool> created;
  for (auto* db : order) {
    bool is_new = !store_exists(db->path);
    if (is_new) {
      std::error_code ec;
      fs::create_directories(db->path.parent_path(), ec);
      if (ec)
        return fail(*db, blaze::error{errc::io_error, "cannot create '" +
                                                          db->path.parent_path().string() +
                                                          "': " + ec.message()});
    }
    open_options options;
    options.create_if_missing = db->create;
    actors::placement where = actors::placement::detached;
    actors::from_string(n->cfg_.database_placement, where); // validated by the config reader
    auto opened = actors::open_database(sys, db->name, db->path, db->password, options, where);
    if (!opened)
      return fail(*db, opened.error());
    n->databases_.emplace(db->name, std::move(*opened));
    created[db->name] = is_new;
  }

  n->topology_ = std::make_unique<actors::topology>(sys);
  for (auto& db : n->cfg_.databases) {
    auto handle = n->topology_->register_db(n->databases_.at(db.name), db.name);
    if (!handle)
      return fail(db, handle.error());
    log_event(log_level::info, "database_open",
              {{"database", db.name},
               {"node_id", to_hex(handle->id)},
               {"path", db.path.string()},
               {"created", created[db.name]}});
  }
  for (auto& link : n->cfg_.links) {
    auto mode = parse_mode(link.mode);
    if (!mode)
      return mode.error();
    auto id = n->topology_->connect_local(link.from, link.to, *mode);
    if (!id)
      return blaze::error{id.error().code(),
                          "link " + link.from + " -> " + link.to + ": " + id.error().message()};
    log_event(log_level::info, "link_up",
              {{"link", *id}, {"from", link.from}, {"to", link.to}, {"mode", link.mode}});
  }
  n->actor_ = spawn_node_actor(sys, n->cfg_.name, n->databases_, n->topology_->supervisor());
  return n;
}

result<std::uint16_t> node::listen() {
  runtime::channel_options options;
  options.link_secret = cfg_.secret;
  options.node_name = cfg_.name;
  auto port =
      runtime::secure_publish(sys_, actor_, cfg_.listen_port, options, cfg_.listen_host.c_str());
  if (!port)
    return blaze::error{port.error().code(), "cannot listen on " + cfg_.listen_host + ":" +
                                                 std::to_string(cfg_.listen_port) + ": " +
                                                 port.error().message()};
  port_ = *port;
  if (cfg_.sync_enabled) {
    actors::serve_access access;
    access.link_secret = cfg_.secret;
    for (auto& db : cfg_.databases) {
      auto& grants = access.grants[db.name];
      grants.push_back(actors::access_grant{"sync", db.sync_secret, {}, false});
      for (auto& g : db.grants)
        grants.push_back(
          actors::access_grant{g.name, g.secret, g.collections, g.read_only, g.fields, {}});
      for (auto& t : db.teams)
        access.teams[db.name].push_back(actors::team_access{t.name, t.access_key});
      if (db.e2e_only)
        access.e2e_only.push_back(db.name);
    }
    auto sync = topology_->serve_tcp(cfg_.sync_host, cfg_.sync_port, access);
    if (!sync)
      return blaze::error{sync.error().code(), "cannot serve sync on " + cfg_.sync_host + ":"
                                                 + std::to_string(cfg_.sync_port) + ": "
                                                 + sync.error().message()};
    sync_port_ = *sync;
    log_event(log_level::info, "sync_listening",
              {{"host", cfg_.sync_host}, {"port", static_cast<std::uint64_t>(*sync)}});
    if (!cfg_.sync_socket.empty()) {
      if (auto r = topology_->serve_unix(cfg_.sync_socket.string(), access); !r)
        return blaze::error{r.error().code(), "cannot serve sync on "
                                                + cfg_.sync_socket.string() + ": "
                                                + r.error().message()};
      log_event(log_level::info, "sync_listening", {{"socket", cfg_.sync_socket.string()}});
    }
  }
  for (auto& peer : cfg_.peers) {
    auto mode = parse_mode(peer.mode);
    if (!mode)
      return mode.error();
    actors::remote_database remote{peer.remote, peer.host, peer.port, peer.socket, {}};
    for (auto& [host, port] : peer.failover)
      remote.failover.push_back({host, port});
    actors::sync_policy policy;
    policy.mode = *mode;
    policy.node_secret = peer.secret;
    policy.access_secret = peer.access_secret;
    // Another node holds the team's sealed ops too: they pass between the
    // nodes as they are, proven with the teams' access keys.
    for (auto& db : cfg_.databases)
      if (db.name == peer.database)
        for (auto& t : db.teams)
          policy.teams.push_back(actors::team_membership{t.name, {}, t.access_key, {}});
    auto id = topology_->enable_sync(peer.database, remote, policy);
    auto where = peer.host.empty() ? peer.socket : peer.host + ":" + std::to_string(peer.port);
    if (!id)
      return blaze::error{id.error().code(), "peer " + peer.database + " -> " + peer.remote + "@"
                                               + where + ": " + id.error().message()};
    log_event(log_level::info, "peer_linked",
              {{"link", *id}, {"database", peer.database}, {"remote", peer.remote},
               {"at", where}, {"mode", peer.mode}});
  }
  return *port;
}

result<node_status> node::status() {
  caf::scoped_actor self{sys_};
  result<node_status> out{blaze::error{errc::timeout, "the node actor did not answer"}};
  self->request(actor_, std::chrono::seconds(10), status_atom_v)
      .receive([&](node_status& s) { out = std::move(s); },
               [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

void node::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  if (port_) {
    if (auto r = runtime::secure_unpublish(sys_, actor_, *port_); !r)
      log_event(log_level::warn, "unpublish_failed", {{"error", r.error().to_string()}});
    port_.reset();
  }
  caf::scoped_actor self{sys_};
  if (actor_) {
    self->send_exit(actor_, caf::exit_reason::user_shutdown);
    self->wait_for(actor_);
  }
  // Stops the relays and the supervisor, and waits for them.
  topology_.reset();
  for (auto& [name, db] : databases_)
    self->send_exit(db, caf::exit_reason::user_shutdown);
  for (auto& [name, db] : databases_) {
    self->wait_for(db);
    log_event(log_level::info, "database_closed", {{"database", name}});
  }
  databases_.clear();
}

} // namespace blaze::server
