#include "blaze/actors/topology.hpp"

#include "blaze/runtime/system_config.hpp"

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <thread>

namespace blaze::actors {

namespace {

using steady = std::chrono::steady_clock;

// Replies to the CAF requests of the supervisor time out after this.
constexpr auto db_timeout = std::chrono::seconds(10);

struct direction_state {
  relay_info info;
  database_actor source;
  database_actor sink;
  std::chrono::milliseconds backoff{0};
  steady::time_point started{};
};

struct link_entry {
  link_info info; // `relays` is filled from `directions` when asked
  std::vector<direction_state> directions;
  bool failed = false;
};

struct node_entry {
  node_info info;
  bool registered = false; // false while its node id is being asked for
};

struct topology_state {
  topology_options options;
  std::map<std::string, node_entry> nodes;
  std::map<link_id, link_entry> links;
  link_id next_link = 1;
  static inline const char* name = "blaze.topology";

  // Relays never outlive the supervisor.
  ~topology_state() {
    for (auto& [id, link] : links)
      for (auto& d : link.directions)
        if (d.info.relay)
          caf::anon_send_exit(d.info.relay, caf::exit_reason::user_shutdown);
  }
};

using topology_pointer = topology_actor::stateful_pointer<topology_state>;

caf::error fail(errc code, std::string message) {
  return runtime::to_caf_error(blaze::error{code, std::move(message)});
}

// The link's state from its directions': the worst one wins.
link_state summarize(const link_entry& link) {
  if (link.failed)
    return link_state::failed;
  bool any_restarting = false, any_starting = false, all_stopped = true;
  for (auto& d : link.directions) {
    any_restarting |= d.info.state == link_state::restarting;
    any_starting |= d.info.state == link_state::starting;
    all_stopped &= d.info.state == link_state::stopped;
  }
  if (any_restarting)
    return link_state::restarting;
  if (any_starting)
    return link_state::starting;
  if (all_stopped)
    return link_state::stopped;
  return link_state::running;
}

void spawn_direction(topology_pointer self, direction_state& d) {
  auto& opts = self->state.options;
  d.info.relay = spawn_relay(self->system(), d.source, op_sink{d.sink}, opts.relay,
                             caf::actor_cast<caf::actor>(self));
  d.info.state = link_state::starting;
  d.started = steady::now();
  self->monitor(d.info.relay);
}

// Finds the direction whose relay has this address.
direction_state* find_relay(topology_pointer self, const caf::actor_addr& addr,
                            link_entry** owner = nullptr) {
  for (auto& [id, link] : self->state.links)
    for (auto& d : link.directions)
      if (d.info.relay && d.info.relay.address() == addr) {
        if (owner)
          *owner = &link;
        return &d;
      }
  return nullptr;
}

void on_relay_down(topology_pointer self, link_entry& link, direction_state& d,
                   const caf::error& reason) {
  d.info.relay = nullptr;
  d.info.lag = 0;
  if (link.failed) {
    d.info.state = link_state::failed;
    return;
  }
  if (!reason || reason == caf::exit_reason::normal) {
    d.info.state = link_state::stopped;
    return;
  }
  d.info.last_error = self->system().render(reason);
  d.info.state = link_state::restarting;
  auto& opts = self->state.options;
  if (d.backoff.count() == 0 || steady::now() - d.started >= opts.stable_after)
    d.backoff = opts.first_backoff;
  self->delayed_send(self, d.backoff, restart_atom_v, link.info.id);
  d.backoff = std::min(d.backoff * 2, opts.max_backoff);
}

void on_database_down(topology_pointer self, node_entry& node, const caf::error& reason) {
  node.info.up = false;
  std::string why =
    "database '" + node.info.name + "' terminated: " + self->system().render(reason);
  for (auto& [id, link] : self->state.links) {
    if (link.info.from != node.info.name && link.info.to != node.info.name)
      continue;
    link.failed = true;
    for (auto& d : link.directions) {
      d.info.last_error = why;
      d.info.state = link_state::failed;
      if (d.info.relay) {
        self->demonitor(d.info.relay.address());
        self->send_exit(d.info.relay, caf::exit_reason::user_shutdown);
        d.info.relay = nullptr;
      }
    }
  }
}

topology_actor::behavior_type topology_behavior(topology_pointer self, topology_options options) {
  self->state.options = options;
  self->set_down_handler([self](const caf::down_msg& dm) {
    link_entry* link = nullptr;
    if (auto* d = find_relay(self, dm.source, &link)) {
      on_relay_down(self, *link, *d, dm.reason);
      return;
    }
    for (auto& [name, node] : self->state.nodes)
      if (node.info.db && node.info.db.address() == dm.source && node.info.up)
        on_database_down(self, node, dm.reason);
  });
  return {
    [self](register_atom, std::string& name, database_actor& db) -> caf::result<node_id> {
      auto& nodes = self->state.nodes;
      if (name.empty())
        return fail(errc::invalid_argument, "a node needs a name");
      if (!db)
        return fail(errc::invalid_argument, "no database for node '" + name + "'");
      if (nodes.count(name) != 0)
        return fail(errc::already_exists, "a node named '" + name + "' is already registered");
      for (auto& [other, node] : nodes)
        if (node.info.db == db)
          return fail(errc::already_exists,
                      "this database is already registered as '" + other + "'");
      node_entry entry;
      entry.info.name = name;
      entry.info.db = db;
      nodes.emplace(name, std::move(entry));
      auto rp = self->make_response_promise<node_id>();
      self->request(db, db_timeout, node_atom_v)
        .then(
          [self, rp, name](node_id id) mutable {
            auto i = self->state.nodes.find(name);
            if (i == self->state.nodes.end()) {
              rp.deliver(fail(errc::not_found, "node '" + name + "' went away"));
              return;
            }
            i->second.info.id = id;
            i->second.registered = true;
            self->monitor(i->second.info.db);
            rp.deliver(id);
          },
          [self, rp, name](caf::error& e) mutable {
            self->state.nodes.erase(name);
            rp.deliver(std::move(e));
          });
      return rp;
    },
    [self](connect_atom, const std::string& from, const std::string& to,
           link_mode mode) -> caf::result<link_id> {
      auto& st = self->state;
      for (auto* name : {&from, &to}) {
        auto i = st.nodes.find(*name);
        if (i == st.nodes.end() || !i->second.registered)
          return fail(errc::not_found, "no node named '" + *name + "'");
        if (!i->second.info.up)
          return fail(errc::invalid_argument, "node '" + *name + "' is down");
      }
      if (from == to)
        return fail(errc::invalid_argument, "cannot link node '" + from + "' to itself");
      for (auto& [id, link] : st.links)
        if ((link.info.from == from && link.info.to == to)
            || (link.info.from == to && link.info.to == from))
          return fail(errc::already_exists, "nodes '" + from + "' and '" + to
                                              + "' are already linked (link "
                                              + std::to_string(id) + ")");
      auto id = st.next_link++;
      link_entry link;
      link.info.id = id;
      link.info.from = from;
      link.info.to = to;
      link.info.mode = mode;
      auto add = [&](const std::string& src, const std::string& dst) {
        direction_state d;
        d.info.from = src;
        d.info.to = dst;
        d.source = st.nodes[src].info.db;
        d.sink = st.nodes[dst].info.db;
        link.directions.push_back(std::move(d));
      };
      if (mode != link_mode::write_only)
        add(from, to);
      if (mode != link_mode::read_only)
        add(to, from);
      auto& stored = st.links.emplace(id, std::move(link)).first->second;
      for (auto& d : stored.directions)
        spawn_direction(self, d);
      return id;
    },
    [self](disconnect_atom, link_id id) -> caf::result<void> {
      auto i = self->state.links.find(id);
      if (i == self->state.links.end())
        return fail(errc::not_found, "no link " + std::to_string(id));
      for (auto& d : i->second.directions)
        if (d.info.relay) {
          self->demonitor(d.info.relay.address());
          self->send_exit(d.info.relay, caf::exit_reason::user_shutdown);
        }
      self->state.links.erase(i);
      return caf::unit;
    },
    [self](nodes_atom) -> caf::result<std::vector<node_info>> {
      auto out = std::make_shared<std::vector<node_info>>();
      for (auto& [name, node] : self->state.nodes)
        if (node.registered)
          out->push_back(node.info);
      auto rp = self->make_response_promise<std::vector<node_info>>();
      auto pending = std::make_shared<std::size_t>(out->size());
      if (*pending == 0)
        return *out;
      // Version totals are asked for now; a node that does not answer keeps 0.
      for (std::size_t i = 0; i < out->size(); ++i) {
        auto done = [rp, out, pending]() mutable {
          if (--*pending == 0)
            rp.deliver(std::move(*out));
        };
        if (!(*out)[i].up) {
          done();
          continue;
        }
        self->request((*out)[i].db, db_timeout, version_atom_v)
          .then(
            [out, i, done](const version_vector& v) mutable {
              (*out)[i].version_total = v.total();
              done();
            },
            [done](caf::error&) mutable { done(); });
      }
      return rp;
    },
    [self](links_atom) -> caf::result<std::vector<link_info>> {
      std::vector<link_info> out;
      for (auto& [id, link] : self->state.links) {
        link_info info = link.info;
        info.state = summarize(link);
        for (auto& d : link.directions)
          info.relays.push_back(d.info);
        out.push_back(std::move(info));
      }
      return out;
    },
    [self](restart_atom, link_id id) {
      auto i = self->state.links.find(id);
      if (i == self->state.links.end() || i->second.failed)
        return;
      for (auto& d : i->second.directions)
        if (d.info.state == link_state::restarting && !d.info.relay) {
          spawn_direction(self, d);
          ++d.info.restarts;
        }
    },
    [self](stats_atom, const relay_actor& relay, const relay_stats& stats) {
      auto* d = find_relay(self, relay.address());
      if (d == nullptr)
        return; // a late report of a relay already gone
      d->info.ops_relayed = stats.ops_relayed;
      d->info.lag = stats.lag;
      d->info.last_report = caf::make_timestamp();
      if (d->info.state == link_state::starting)
        d->info.state = link_state::running;
    },
  };
}

} // namespace

topology_actor spawn_topology(caf::actor_system& sys, topology_options options) {
  return sys.spawn(topology_behavior, std::move(options));
}

// -- facade -------------------------------------------------------------------

topology::topology(caf::actor_system& sys, topology_options options)
    : sys_(sys), supervisor_(spawn_topology(sys, std::move(options))) {
}

topology::~topology() {
  caf::scoped_actor self{sys_};
  std::vector<relay_actor> relays;
  self->request(supervisor_, timeout_, links_atom_v)
    .receive(
      [&](std::vector<link_info>& links) {
        for (auto& l : links)
          for (auto& r : l.relays)
            if (r.relay)
              relays.push_back(r.relay);
      },
      [](caf::error&) {});
  self->send_exit(supervisor_, caf::exit_reason::user_shutdown);
  self->wait_for(supervisor_);
  // The supervisor's state sent every relay an exit; wait until they are gone
  // so that nothing of the topology outlives it.
  for (auto& r : relays)
    self->send_exit(r, caf::exit_reason::user_shutdown);
  for (auto& r : relays)
    self->wait_for(r);
}

result<node_handle> topology::register_db(database_actor db, std::string name) {
  caf::scoped_actor self{sys_};
  result<node_handle> out{blaze::error{errc::timeout, "topology did not answer"}};
  self->request(supervisor_, timeout_, register_atom_v, name, db)
    .receive([&](node_id id) { out = node_handle{std::move(name), id, std::move(db)}; },
             [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

result<link_id> topology::connect_local(const std::string& from, const std::string& to,
                                        link_mode mode) {
  caf::scoped_actor self{sys_};
  result<link_id> out{blaze::error{errc::timeout, "topology did not answer"}};
  self->request(supervisor_, timeout_, connect_atom_v, from, to, mode)
    .receive([&](link_id id) { out = id; },
             [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

result<void> topology::disconnect(link_id id) {
  caf::scoped_actor self{sys_};
  result<void> out;
  self->request(supervisor_, timeout_, disconnect_atom_v, id)
    .receive([] {}, [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

std::vector<node_info> topology::nodes() {
  caf::scoped_actor self{sys_};
  std::vector<node_info> out;
  self->request(supervisor_, timeout_, nodes_atom_v)
    .receive([&](std::vector<node_info>& xs) { out = std::move(xs); }, [](caf::error&) {});
  return out;
}

std::vector<link_info> topology::links() {
  caf::scoped_actor self{sys_};
  std::vector<link_info> out;
  self->request(supervisor_, timeout_, links_atom_v)
    .receive([&](std::vector<link_info>& xs) { out = std::move(xs); }, [](caf::error&) {});
  return out;
}

std::string topology::graph_json() {
  auto ns = nodes();
  return actors::graph_json(ns, links());
}

std::string topology::graph_dot() {
  auto ns = nodes();
  return actors::graph_dot(ns, links());
}

bool topology::wait_until_synced(std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  caf::scoped_actor self{sys_};
  auto version_of = [&](const database_actor& db, version_vector& out) {
    bool ok = false;
    self->request(db, timeout_, version_atom_v)
      .receive(
        [&](version_vector& v) {
          out = std::move(v);
          ok = true;
        },
        [](caf::error&) {});
    return ok;
  };
  for (;;) {
    bool synced = true;
    auto ns = nodes();
    auto find_db = [&](const std::string& name) -> const node_info* {
      for (auto& n : ns)
        if (n.name == name)
          return &n;
      return nullptr;
    };
    for (auto& link : links()) {
      if (link.state != link_state::running || link.lag() != 0) {
        synced = false;
        break;
      }
      for (auto& r : link.relays) {
        auto* src = find_db(r.from);
        auto* dst = find_db(r.to);
        version_vector have, want;
        if (!src || !dst || !version_of(src->db, want) || !version_of(dst->db, have)
            || !have.dominates(want)) {
          synced = false;
          break;
        }
      }
      if (!synced)
        break;
    }
    if (synced)
      return true;
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

} // namespace blaze::actors
