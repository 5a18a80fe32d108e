#include "blaze/actors/topology.hpp"

#include "blaze/runtime/system_config.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

// Where a socket link dialled by this topology connects to: a Unix socket
// path, or a TCP host and port.
struct dial_target {
  std::string local;
  std::string path;
  std::string remote;
  link_access access;
  std::string host;
  std::uint16_t port = 0;
  std::vector<tcp_endpoint> failover; // tried in turn after host:port
  std::size_t current = 0;            // 0: host:port; i: failover[i - 1]
  bool has_unix() const { return !path.empty(); }
  bool has_tcp() const { return !host.empty(); }
  const std::string& current_host() const { return current == 0 ? host : failover[current - 1].host; }
  std::uint16_t current_port() const { return current == 0 ? port : failover[current - 1].port; }
  std::string tcp_where() const {
    return current_host() + ":" + std::to_string(current_port());
  }
  void next_endpoint() { current = (current + 1) % (failover.size() + 1); }
};

struct link_entry {
  link_info info; // `relays` is filled from `directions` when asked
  std::vector<direction_state> directions;
  bool failed = false;
  // Socket links: dialled here (re-dialled when the connection ends), or
  // accepted by a listener (forgotten when it ends: the dialler re-dials).
  std::optional<dial_target> dial;
  bool inbound = false;
  caf::actor connection;
  bool dialing = false; // a TCP connect is under way in a detached helper
  std::uint64_t attempt = 0; // numbers the TCP dials: only the latest one counts
  // Connected over TCP although a Unix socket is configured (it did not
  // answer): the socket is probed now and then, and the link moves back to
  // it when it answers.
  bool on_fallback = false;
  bool switching = false;
  std::chrono::milliseconds backoff{0};
  steady::time_point started{};
};

struct node_entry {
  node_info info;
  bool registered = false; // false while its node id is being asked for
};

struct topology_state {
  topology_options options;
  std::map<std::string, node_entry> nodes;
  std::map<link_id, link_entry> links;
  std::vector<caf::actor> listeners;
  // Where this topology serves: a remote database reached through one of
  // these is in this process, and is linked in process.
  std::set<std::string> served_paths;
  std::set<std::uint16_t> served_ports;
  link_id next_link = 1;
  // "Established" reports of TCP links whose helper has not yet returned
  // the connection (the handshake can finish first on a busy machine), by
  // connection; applied when the connection arrives, dropped when the
  // connection ends first or is not wanted.
  std::map<caf::actor_addr, link_event> early;
  // Dial helpers still running (each ends once its result is handed over).
  std::vector<caf::actor> helpers;
  static inline const char* name = "blaze.topology";

  // Relays, connections and listeners never outlive the supervisor.
  ~topology_state() {
    for (auto& [addr, ev] : early)
      caf::anon_send_exit(ev.link, caf::exit_reason::user_shutdown);
    for (auto& [id, link] : links) {
      for (auto& d : link.directions)
        if (d.info.relay)
          caf::anon_send_exit(d.info.relay, caf::exit_reason::user_shutdown);
      if (link.connection)
        caf::anon_send_exit(link.connection, caf::exit_reason::user_shutdown);
    }
    for (auto& l : listeners)
      caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
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

// Introduces the relays of a bidirectional link to each other, so that
// neither carries back what the other just brought (ops that came from a
// third database through the link's source).
void partner_directions(link_entry& link) {
  if (link.directions.size() != 2)
    return;
  auto& a = link.directions[0].info.relay;
  auto& b = link.directions[1].info.relay;
  if (!a || !b)
    return;
  caf::anon_send(a, partner_atom_v, caf::actor_cast<caf::actor>(b));
  caf::anon_send(b, partner_atom_v, caf::actor_cast<caf::actor>(a));
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

// Whether something accepts connections on a Unix socket path (a probe
// that connects without blocking and hangs up).
bool unix_socket_answers(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The next delay before re-dialling or restarting: doubled per failure,
// back to the first once the previous attempt ran `stable_after`.
std::chrono::milliseconds next_backoff(topology_pointer self, std::chrono::milliseconds& backoff,
                                       steady::time_point started) {
  auto& opts = self->state.options;
  if (backoff.count() == 0 || steady::now() - started >= opts.stable_after)
    backoff = opts.first_backoff;
  auto delay = backoff;
  backoff = std::min(backoff * 2, opts.max_backoff);
  return delay;
}

// A dialled socket link is down (or never came up): every direction waits
// for the re-dial, which the restart message triggers after the backoff.
void schedule_redial(topology_pointer self, link_entry& link, const std::string& why) {
  for (auto& d : link.directions) {
    d.info.relay = nullptr;
    d.info.lag = 0;
    d.info.last_error = why;
    d.info.last_report = caf::make_timestamp();
    d.info.state = link_state::restarting;
  }
  self->delayed_send(self, next_backoff(self, link.backoff, link.started), restart_atom_v,
                     link.info.id);
}

// Whether `remote` names a socket this topology serves itself.
bool served_here(const topology_state& st, const remote_database& remote) {
  if (!remote.socket_path.empty() && st.served_paths.count(remote.socket_path))
    return true;
  bool loopback = remote.host == "127.0.0.1" || remote.host == "::1"
                  || remote.host == "localhost";
  return loopback && st.served_ports.count(remote.port) != 0;
}

socket_link_options dial_options(const link_access& access) {
  socket_link_options opts;
  opts.link_secret = access.link_secret;
  opts.access_secret = access.access_secret;
  opts.collections = access.collections;
  opts.teams = access.teams;
  opts.e2e_only = access.e2e_only;
  return opts;
}

// A dialled connection is up: the peer and the outgoing relay become
// known (each direction turns running once its relay reports; the peer's
// relay, for the incoming direction, through progress frames).
void apply_established(link_entry& link, const link_event& ev) {
  link.info.peer = ev.peer;
  for (auto& d : link.directions)
    if (d.info.from == link.dial->local)
      d.info.relay = ev.relay;
}

// A dialled connection is the link's now. Its "established" report may
// have come already (kept in `early`, and watched since).
void take_connection(topology_pointer self, link_entry& link, caf::actor conn, bool over_tcp) {
  link.connection = std::move(conn);
  link.on_fallback = over_tcp && link.dial->has_unix();
  link.info.transport = over_tcp ? "tcp:" + link.dial->tcp_where() : "unix:" + link.dial->path;
  for (auto& d : link.directions)
    d.info.state = link_state::starting;
  auto& early = self->state.early;
  if (auto e = early.find(link.connection.address()); e != early.end()) {
    apply_established(link, e->second);
    early.erase(e);
  } else {
    self->monitor(link.connection);
  }
  if (link.on_fallback)
    self->delayed_send(self, self->state.options.upgrade_interval, restart_atom_v, link.info.id);
}

// The link (id) still waits for the TCP dial `attempt`: nothing else
// (disconnect, failure, a later attempt, the dial timeout) came first.
link_entry* waiting_for(topology_pointer self, link_id id, std::uint64_t attempt) {
  auto i = self->state.links.find(id);
  if (i == self->state.links.end())
    return nullptr;
  auto& link = i->second;
  if (link.failed || !link.dialing || link.attempt != attempt || link.connection)
    return nullptr;
  return &link;
}

void dial(topology_pointer self, link_entry& link) {
  auto& st = self->state;
  auto node = st.nodes.find(link.dial->local);
  if (node == st.nodes.end() || !node->second.info.up)
    return; // the local database is gone: the link was marked failed
  auto opts = dial_options(link.dial->access);
  opts.relay = st.options.relay;
  opts.report_to = caf::actor_cast<caf::actor>(self);
  link.started = steady::now();
  if (link.dial->has_unix()) {
    // A Unix socket connects at once or fails at once; the preferred
    // transport when both are configured.
    auto conn = start_unix_link(self->system(), node->second.info.db, link.dial->path,
                                link.dial->remote, link.info.mode, opts);
    if (conn) {
      take_connection(self, link, std::move(*conn), false);
      return;
    }
    if (!link.dial->has_tcp()) {
      schedule_redial(self, link, conn.error().to_string());
      return;
    }
    // Fall back to TCP.
  }
  // A TCP connect may take a while: a detached helper makes it, so the
  // supervisor never blocks. The helper hands its result over with a
  // request: if the supervisor is gone by then, the request fails and the
  // helper ends the connection, which nobody would supervise.
  auto id = link.info.id;
  auto attempt = ++link.attempt;
  auto supervisor = topology_actor{self};
  auto helper = self->system().spawn<caf::detached>(
    [target = *link.dial, opts, db = node->second.info.db, mode = link.info.mode, id, attempt,
     supervisor,
     tcp_dial = st.options.tcp_dial ? st.options.tcp_dial
                                    : decltype(st.options.tcp_dial){dial_tcp}](
      caf::event_based_actor* helper) -> caf::behavior {
      // It ends by itself once its result is handed over; an exit taken
      // while it dials would leave the connection it makes to nobody.
      helper->set_exit_handler([](caf::exit_msg&) {});
      return {
        [=](connect_atom) {
          auto conn = tcp_dial(helper->system(), db, target.current_host(), target.current_port(),
                               target.remote, mode, opts);
          if (!conn) {
            helper->send(supervisor, dialled_atom_v, id, attempt,
                         runtime::to_caf_error(conn.error()));
            helper->quit();
            return;
          }
          auto made = *conn;
          helper->request(supervisor, caf::infinite, dialled_atom_v, id, attempt, made)
            .then([helper] { helper->quit(); },
                  [helper, made](caf::error&) {
                    caf::anon_send_exit(made, caf::exit_reason::user_shutdown);
                    helper->quit();
                  });
        },
      };
    });
  st.helpers.push_back(helper);
  self->monitor(helper);
  link.dialing = true;
  caf::anon_send(helper, connect_atom_v);
  auto limit = st.options.dial_timeout.count() > 0
                 ? st.options.dial_timeout
                 : std::chrono::duration_cast<std::chrono::milliseconds>(opts.hello_timeout
                                                                         + db_timeout);
  self->delayed_send(self, limit, dial_expired_atom_v, id, attempt);
}

// A TCP dial came to nothing: the link is re-dialled after its backoff, at
// its next endpoint.
void dial_failed(topology_pointer self, link_entry& link, const std::string& reason) {
  link.dialing = false;
  auto why = reason + " (" + link.dial->tcp_where() + ")";
  link.dial->next_endpoint(); // fail over to the next node, if any
  schedule_redial(self, link, why);
}

// The name a socket link's far end goes by in the graph.
std::string far_end_name(const std::string& database, const std::string& where) {
  return database + "@" + where;
}

void on_established(topology_pointer self, link_event& ev) {
  auto& st = self->state;
  if (ev.dialer) {
    for (auto& [id, link] : st.links) {
      if (link.connection != ev.link)
        continue;
      apply_established(link, ev);
      return;
    }
    // A TCP helper may not have returned this connection yet: keep the
    // report for it (watched, so that it goes if the connection ends first).
    // Otherwise the connection belonged to a link disconnected meanwhile.
    bool dialing = false;
    for (auto& [id, link] : st.links)
      dialing = dialing || link.dialing;
    if (dialing && ev.link) {
      self->monitor(ev.link);
      st.early[ev.link.address()] = std::move(ev);
    }
    return;
  }
  // Accepted: a peer dialled one of this topology's sockets.
  link_entry link;
  link.info.id = st.next_link++;
  link.inbound = true;
  link.connection = ev.link;
  link.info.peer = ev.peer;
  auto peer_name = far_end_name(ev.database, "node " + to_hex(ev.peer));
  link.info.from = peer_name;
  link.info.to = ev.local;
  link.info.mode = ev.accepts_ops && ev.sends_ops ? link_mode::bidirectional
                   : ev.accepts_ops             ? link_mode::read_only
                                                : link_mode::write_only;
  link.info.transport = ev.tcp ? "tcp-accepted" : "unix-accepted";
  if (ev.accepts_ops) {
    direction_state d;
    d.info.from = peer_name;
    d.info.to = ev.local;
    d.info.state = link_state::starting; // running once the peer's relay reports
    link.directions.push_back(std::move(d));
  }
  if (ev.sends_ops) {
    direction_state d;
    d.info.from = ev.local;
    d.info.to = peer_name;
    d.info.relay = ev.relay;
    d.info.state = link_state::starting;
    link.directions.push_back(std::move(d));
  }
  self->monitor(ev.link);
  st.links.emplace(link.info.id, std::move(link));
}

// A socket link's connection ended. Accepted ones are forgotten (the peer
// that dialled re-dials); dialled ones are re-dialled after the backoff.
bool on_connection_down(topology_pointer self, const caf::actor_addr& source,
                        const caf::error& reason) {
  auto& st = self->state;
  // (A connection whose helper had not returned it yet is also watched
  // through its early report; a link may have taken it since.)
  st.early.erase(source);
  for (auto i = st.links.begin(); i != st.links.end(); ++i) {
    auto& link = i->second;
    if (!link.connection || link.connection.address() != source)
      continue;
    link.connection = nullptr;
    if (link.inbound) {
      st.links.erase(i);
      return true;
    }
    auto why = self->system().render(reason);
    if (link.switching && !link.failed) {
      // Moving from the TCP fallback back to the Unix socket: at once.
      link.switching = false;
      dial(self, link);
      return true;
    }
    if (link.failed) {
      for (auto& d : link.directions) {
        d.info.relay = nullptr;
        d.info.state = link_state::failed;
      }
      return true;
    }
    schedule_redial(self, link, why);
    return true;
  }
  return false;
}

void on_database_down(topology_pointer self, node_entry& node, const caf::error& reason) {
  node.info.up = false;
  std::string why =
    "database '" + node.info.name + "' terminated: " + self->system().render(reason);
  for (auto& [id, link] : self->state.links) {
    if (link.info.from != node.info.name && link.info.to != node.info.name)
      continue;
    link.failed = true;
    if (link.connection) {
      self->demonitor(link.connection.address());
      self->send_exit(link.connection, caf::exit_reason::user_shutdown);
      link.connection = nullptr;
    }
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

std::map<std::string, database_actor> served_now(topology_pointer self) {
  std::map<std::string, database_actor> served;
  for (auto& [name, node] : self->state.nodes)
    if (node.registered && node.info.up)
      served.emplace(name, node.info.db);
  return served;
}

// An error when `local` is not a registered node that is up.
caf::error check_local(topology_pointer self, const std::string& local) {
  auto& st = self->state;
  auto node = st.nodes.find(local);
  if (node == st.nodes.end() || !node->second.registered)
    return fail(errc::not_found, "no node named '" + local + "'");
  if (!node->second.info.up)
    return fail(errc::invalid_argument, "node '" + local + "' is down");
  return {};
}

socket_link_options listener_options(topology_pointer self, serve_access access) {
  socket_link_options opts;
  opts.link_secret = std::move(access.link_secret);
  opts.grants = std::move(access.grants);
  opts.served_teams = std::move(access.teams);
  opts.e2e_databases = std::move(access.e2e_only);
  opts.relay = self->state.options.relay;
  opts.report_to = caf::actor_cast<caf::actor>(self);
  return opts;
}

// A link dialled by this topology to another process; connection failures
// are not errors here: the link is kept and re-dialled.
caf::result<link_id> add_socket_link(topology_pointer self, dial_target target, link_mode mode) {
  auto& st = self->state;
  if (target.remote.empty())
    return fail(errc::invalid_argument, "no remote database named");
  auto where = target.has_unix() ? target.path : target.tcp_where();
  for (auto& [id, link] : st.links)
    if (link.dial && link.dial->local == target.local && link.dial->path == target.path
        && link.dial->host == target.host && link.dial->port == target.port
        && link.dial->remote == target.remote)
      return fail(errc::already_exists, "node '" + target.local + "' is already linked to '"
                                          + target.remote + "' at " + where + " (link "
                                          + std::to_string(id) + ")");
  link_entry link;
  link.info.id = st.next_link++;
  link.info.from = target.local;
  link.info.to = far_end_name(target.remote, where);
  link.info.mode = mode;
  link.info.transport = (target.has_unix() ? "unix:" : "tcp:") + where;
  link.dial = std::move(target);
  auto add = [&](const std::string& src, const std::string& dst) {
    direction_state d;
    d.info.from = src;
    d.info.to = dst;
    link.directions.push_back(std::move(d));
  };
  if (mode != link_mode::write_only)
    add(link.info.from, link.info.to);
  if (mode != link_mode::read_only)
    add(link.info.to, link.info.from);
  auto id = link.info.id;
  auto& stored = st.links.emplace(id, std::move(link)).first->second;
  dial(self, stored);
  return id;
}

topology_actor::behavior_type topology_behavior(topology_pointer self, topology_options options) {
  self->state.options = options;
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& helpers = self->state.helpers;
    auto h = std::find_if(helpers.begin(), helpers.end(),
                          [&](const caf::actor& a) { return a.address() == dm.source; });
    if (h != helpers.end()) {
      helpers.erase(h);
      return;
    }
    link_entry* link = nullptr;
    if (auto* d = find_relay(self, dm.source, &link)) {
      on_relay_down(self, *link, *d, dm.reason);
      return;
    }
    if (on_connection_down(self, dm.source, dm.reason))
      return;
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
      self->request<caf::message_priority::high>(db, db_timeout, node_atom_v)
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
            for (auto& l : self->state.listeners)
              caf::anon_send(l, register_atom_v, name, i->second.info.db);
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
      partner_directions(stored);
      return id;
    },
    [self](disconnect_atom, link_id id) -> caf::result<void> {
      auto i = self->state.links.find(id);
      if (i == self->state.links.end())
        return fail(errc::not_found, "no link " + std::to_string(id));
      auto& link = i->second;
      if (link.connection) {
        // The connection's broker ends its relay with it.
        self->demonitor(link.connection.address());
        self->send_exit(link.connection, caf::exit_reason::user_shutdown);
      } else {
        for (auto& d : link.directions)
          if (d.info.relay) {
            self->demonitor(d.info.relay.address());
            self->send_exit(d.info.relay, caf::exit_reason::user_shutdown);
          }
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
        self->request<caf::message_priority::high>((*out)[i].db, db_timeout, version_atom_v)
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
        info.connection = link.connection;
        for (auto& d : link.directions)
          info.relays.push_back(d.info);
        out.push_back(std::move(info));
      }
      return out;
    },
    [self](dialled_atom, link_id id, std::uint64_t attempt, caf::actor& conn) {
      auto* link = waiting_for(self, id, attempt);
      if (link == nullptr) {
        // Disconnected, failed, given up or superseded meanwhile: the
        // connection is not wanted.
        self->state.early.erase(conn.address());
        self->send_exit(conn, caf::exit_reason::user_shutdown);
        return;
      }
      link->dialing = false;
      take_connection(self, *link, std::move(conn), true);
    },
    [self](dialled_atom, link_id id, std::uint64_t attempt, const caf::error& e) {
      if (auto* link = waiting_for(self, id, attempt))
        dial_failed(self, *link, self->system().render(e));
    },
    [self](dial_expired_atom, link_id id, std::uint64_t attempt) {
      if (auto* link = waiting_for(self, id, attempt))
        dial_failed(self, *link, "the TCP dial did not return in time");
    },
    [self](parts_atom) -> std::vector<caf::actor> {
      auto& st = self->state;
      std::vector<caf::actor> out = st.listeners;
      out.insert(out.end(), st.helpers.begin(), st.helpers.end());
      for (auto& [addr, ev] : st.early)
        if (ev.link)
          out.push_back(ev.link);
      for (auto& [id, link] : st.links) {
        for (auto& d : link.directions)
          if (d.info.relay)
            out.push_back(caf::actor_cast<caf::actor>(d.info.relay));
        if (link.connection)
          out.push_back(link.connection);
      }
      return out;
    },
    [self](restart_atom, link_id id) {
      auto i = self->state.links.find(id);
      if (i == self->state.links.end() || i->second.failed)
        return;
      if (i->second.dial) {
        auto& link = i->second;
        if (link.connection && link.on_fallback && !link.switching) {
          // On the TCP fallback: back to the Unix socket once it answers.
          if (unix_socket_answers(link.dial->path)) {
            link.switching = true;
            self->send_exit(link.connection, caf::exit_reason::user_shutdown);
          } else {
            self->delayed_send(self, self->state.options.upgrade_interval, restart_atom_v, id);
          }
          return;
        }
        if (i->second.connection || i->second.dialing)
          return;
        for (auto& d : i->second.directions)
          ++d.info.restarts;
        dial(self, i->second);
        return;
      }
      for (auto& d : i->second.directions)
        if (d.info.state == link_state::restarting && !d.info.relay) {
          spawn_direction(self, d);
          ++d.info.restarts;
        }
      partner_directions(i->second);
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
    [self](established_atom, link_event& ev) { on_established(self, ev); },
    [self](stats_atom, const caf::actor& conn, const relay_stats& stats) {
      for (auto& [id, link] : self->state.links) {
        if (link.connection != conn)
          continue;
        // The incoming direction: the one without a relay of ours.
        for (auto& d : link.directions) {
          bool incoming = d.info.to == (link.dial ? link.dial->local : link.info.to);
          if (!incoming)
            continue;
          d.info.ops_relayed = stats.ops_relayed;
          d.info.lag = stats.lag;
          d.info.last_report = caf::make_timestamp();
          if (d.info.state == link_state::starting)
            d.info.state = link_state::running;
        }
        return;
      }
    },
    [self](connect_atom, const std::string& local, remote_database& remote, link_mode mode,
           link_access& access) -> caf::result<link_id> {
      if (auto err = check_local(self, local))
        return err;
      if (served_here(self->state, remote)) {
        // The same process: no socket, no channel, an in-process link.
        auto target = self->state.nodes.find(remote.database);
        if (target == self->state.nodes.end() || !target->second.registered)
          return fail(errc::not_found, "no database named '" + remote.database
                                         + "' is served here");
        return self->delegate(caf::actor_cast<topology_actor>(self), connect_atom_v, local,
                              remote.database, mode);
      }
      if (remote.host.empty() && remote.socket_path.empty())
        return fail(errc::invalid_argument, "no host and port, nor a socket path, to reach '"
                                              + remote.database + "' at");
      if (!remote.host.empty() && (remote.port == 0 || access.link_secret.empty()))
        return fail(errc::invalid_argument, "a TCP link needs a host, a port and a link secret");
      if (remote.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
        return fail(errc::invalid_argument, "Unix socket path must be 1 to "
                                              + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1)
                                              + " bytes: " + remote.socket_path);
      dial_target target;
      target.local = local;
      target.path = remote.socket_path;
      target.host = remote.host;
      target.port = remote.port;
      target.failover = std::move(remote.failover);
      for (auto& e : target.failover)
        if (e.host.empty() || e.port == 0)
          return fail(errc::invalid_argument, "a failover node needs a host and a port");
      if (auto r = check_access(dial_options(access)); !r)
        return runtime::to_caf_error(r.error());
      target.remote = remote.database;
      target.access = std::move(access);
      return add_socket_link(self, std::move(target), mode);
    },
    [self](serve_atom, const std::string& host, std::uint16_t port,
           serve_access& access) -> caf::result<caf::actor, std::uint16_t> {
      auto& st = self->state;
      auto opts = listener_options(self, std::move(access));
      auto listener = actors::serve_tcp(self->system(), host, port, served_now(self),
                                        std::move(opts));
      if (!listener)
        return runtime::to_caf_error(listener.error());
      st.listeners.push_back(listener->listener);
      st.served_ports.insert(listener->port);
      return {listener->listener, listener->port};
    },
    [self](serve_atom, const std::string& path, serve_access& access) -> caf::result<caf::actor> {
      auto& st = self->state;
      auto served = served_now(self);
      auto opts = listener_options(self, std::move(access));
      auto listener = actors::serve_unix(self->system(), path, std::move(served),
                                         std::move(opts));
      if (!listener)
        return runtime::to_caf_error(listener.error());
      st.listeners.push_back(*listener);
      st.served_paths.insert(path);
      return *listener;
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
  // Exports first: no new importer while the rest goes down.
  for (auto& [node, bridge] : bridges_)
    self->send_exit(bridge, caf::exit_reason::user_shutdown);
  for (auto& [node, bridge] : bridges_)
    self->wait_for(bridge);
  bridges_.clear();
  stop_links(self);
  for (auto& i : imports_) {
    self->send_exit(i.view, caf::exit_reason::user_shutdown);
    self->send_exit(i.replica, caf::exit_reason::user_shutdown);
  }
  for (auto& i : imports_) {
    self->wait_for(i.view);
    self->wait_for(i.replica);
    if (!i.temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(i.temp_dir, ec);
    }
  }
}

void topology::stop_links(caf::scoped_actor& self) {
  std::vector<caf::actor> parts = listeners_;
  self->request(supervisor_, timeout_, parts_atom_v)
    .receive(
      [&](std::vector<caf::actor>& owned) { parts.insert(parts.end(), owned.begin(), owned.end()); },
      [](caf::error&) {});
  self->send_exit(supervisor_, caf::exit_reason::user_shutdown);
  self->wait_for(supervisor_);
  // The supervisor's state sent every relay, connection and listener an
  // exit; wait until they are gone so that nothing of the topology outlives
  // it. (Connections made after the snapshot end with the supervisor too;
  // a dial helper ends the connection it makes once the supervisor is
  // gone, and is waited for here: at most its connect timeout.)
  for (auto& p : parts)
    self->send_exit(p, caf::exit_reason::user_shutdown);
  for (auto& p : parts)
    self->wait_for(p);
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

result<link_id> topology::connect_unix(const std::string& local, const std::string& socket_path,
                                       const std::string& remote, link_mode mode,
                                       std::string link_secret) {
  link_access access;
  access.link_secret = std::move(link_secret);
  return connect_unix(local, socket_path, remote, mode, std::move(access));
}

result<link_id> topology::connect_unix(const std::string& local, const std::string& socket_path,
                                       const std::string& remote, link_mode mode,
                                       link_access access) {
  remote_database where;
  where.database = remote;
  where.socket_path = socket_path;
  return connect_remote(local, std::move(where), mode, std::move(access));
}

result<link_id> topology::connect_remote(const std::string& local, remote_database remote,
                                         link_mode mode, link_access access) {
  caf::scoped_actor self{sys_};
  result<link_id> out{blaze::error{errc::timeout, "topology did not answer"}};
  self->request(supervisor_, timeout_, connect_atom_v, local, std::move(remote), mode,
                std::move(access))
    .receive([&](link_id id) { out = id; },
             [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

result<void> topology::serve_unix(const std::string& socket_path, std::string link_secret) {
  serve_access access;
  access.link_secret = std::move(link_secret);
  return serve_unix(socket_path, std::move(access));
}

result<void> topology::serve_unix(const std::string& socket_path, serve_access access) {
  caf::scoped_actor self{sys_};
  result<void> out{blaze::error{errc::timeout, "topology did not answer"}};
  self->request(supervisor_, timeout_, serve_atom_v, socket_path, std::move(access))
    .receive(
      [&](caf::actor& listener) {
        listeners_.push_back(std::move(listener));
        out = result<void>{};
      },
      [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

result<link_id> topology::connect_tcp(const std::string& local, const std::string& host,
                                      std::uint16_t port, const std::string& remote,
                                      link_mode mode, link_access access) {
  remote_database where;
  where.database = remote;
  where.host = host;
  where.port = port;
  return connect_remote(local, std::move(where), mode, std::move(access));
}

result<std::uint16_t> topology::serve_tcp(const std::string& host, std::uint16_t port,
                                          serve_access access) {
  caf::scoped_actor self{sys_};
  result<std::uint16_t> out{blaze::error{errc::timeout, "topology did not answer"}};
  self->request(supervisor_, timeout_, serve_atom_v, host, port, std::move(access))
    .receive(
      [&](caf::actor& listener, std::uint16_t bound) {
        listeners_.push_back(std::move(listener));
        out = bound;
      },
      [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

result<bridge_actor> topology::enable_cross_app_sync(const std::string& node,
                                                     const app_group& group,
                                                     export_policy policy,
                                                     share_permissions permissions) {
  if (bridges_.count(node))
    return blaze::error{errc::already_exists, "node '" + node + "' is exported already"};
  database_actor db;
  for (auto& n : nodes())
    if (n.name == node && n.up)
      db = n.db;
  if (!db)
    return blaze::error{errc::not_found, "no running node named '" + node + "'"};
  bridge_options options;
  options.served_name = node;
  options.report_to = caf::actor_cast<caf::actor>(supervisor_);
  auto bridge = spawn_bridge(sys_, db, group, std::move(policy), std::move(permissions),
                             std::move(options));
  if (!bridge)
    return bridge.error();
  bridges_.emplace(node, *bridge);
  return *bridge;
}

result<void> topology::unshare(const std::string& node) {
  auto i = bridges_.find(node);
  if (i == bridges_.end())
    return blaze::error{errc::not_found, "node '" + node + "' is not exported"};
  caf::scoped_actor self{sys_};
  self->send_exit(i->second, caf::exit_reason::user_shutdown);
  self->wait_for(i->second);
  bridges_.erase(i);
  return {};
}

result<std::uint64_t> topology::revoke_share(const std::string& node, const std::string& grant) {
  auto i = bridges_.find(node);
  if (i == bridges_.end())
    return blaze::error{errc::not_found, "node '" + node + "' is not exported"};
  caf::scoped_actor self{sys_};
  result<std::uint64_t> out{blaze::error{errc::timeout, "the bridge did not answer"}};
  self->request(i->second, timeout_, revoke_atom_v, grant)
    .receive([&](std::uint64_t cut) { out = cut; },
             [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

namespace {

// A random password for a private replica: 32 bytes from the kernel, hex.
result<std::string> random_password() {
  std::ifstream in{"/dev/urandom", std::ios::binary};
  unsigned char raw[32];
  if (!in.read(reinterpret_cast<char*>(raw), sizeof raw))
    return blaze::error{errc::io_error, "cannot read /dev/urandom"};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

} // namespace

result<topology::shared_db> topology::connect_to_shared_db(const app_group& group,
                                                           const std::string& database,
                                                           link_mode mode,
                                                           import_options options) {
  if (mode == link_mode::read_only)
    return blaze::error{errc::invalid_argument,
                        "an import pulls (write_only) or pulls and writes (bidirectional); "
                        "read_only would only push"};
  auto exports = list_exports(group);
  if (!exports)
    return exports.error();
  auto entry = std::find_if(exports->begin(), exports->end(),
                            [&](auto& e) { return e.database == database; });
  if (entry == exports->end())
    return blaze::error{errc::not_found, "no app in group '" + group.name + "' exports '"
                                           + database + "'"};
  auto description = "shared database '" + database + "' of app group '" + group.name + "'";
  if (entry->policy.read_only && mode != link_mode::write_only)
    return blaze::error{errc::permission_denied,
                        description + " is exported read-only: import it with write_only"};
  import_entry imp;
  auto path = options.path;
  auto password = options.password;
  open_options oo;
  if (path.empty()) {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    std::string pattern = (runtime_dir && *runtime_dir ? std::string{runtime_dir}
                                                        : std::string{"/tmp"})
                          + "/blaze-import-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      return blaze::error{errc::io_error, "cannot create a private store for the import"};
    imp.temp_dir = pattern;
    path = imp.temp_dir / "replica";
    auto pw = random_password();
    if (!pw)
      return pw.error();
    password = *pw;
    oo.kdf_log2_n = 10; // a random 256-bit password needs no stretching
  } else if (password.empty()) {
    return blaze::error{errc::invalid_argument, "an import store at " + path.string()
                                                  + " needs a password of its own"};
  }
  auto cleanup = [&] {
    if (!imp.temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(imp.temp_dir, ec);
    }
  };
  auto replica = open_database(sys_, database, path, password, oo);
  if (!replica) {
    cleanup();
    return replica.error();
  }
  imp.replica = *replica;
  auto stop_replica = [&] {
    caf::scoped_actor self{sys_};
    self->send_exit(imp.replica, caf::exit_reason::user_shutdown);
    self->wait_for(imp.replica);
    cleanup();
  };
  auto node = options.node_name.empty() ? database + "@" + group.name : options.node_name;
  if (auto r = register_db(imp.replica, node); !r) {
    stop_replica();
    return r.error();
  }
  link_access access;
  access.link_secret = group_link_secret(group);
  access.access_secret = options.token;
  auto link = connect_remote(node, remote_database{database, {}, 0, entry->socket.string(), {}},
                             mode, std::move(access));
  if (!link) {
    stop_replica();
    return link.error();
  }
  imp.view = spawn_shared_view(sys_, imp.replica, entry->policy,
                               mode == link_mode::bidirectional, description);
  shared_db out{imp.view, node, *link, *entry};
  imports_.push_back(std::move(imp));
  return out;
}

result<link_id> topology::enable_sync(const std::string& local, remote_database remote,
                                      sync_policy policy) {
  link_access access;
  access.link_secret = std::move(policy.node_secret);
  access.access_secret = std::move(policy.access_secret);
  access.collections = std::move(policy.collections);
  access.teams = std::move(policy.teams);
  access.e2e_only = policy.encryption == encryption_mode::e2e_only;
  return connect_remote(local, std::move(remote), policy.mode, std::move(access));
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
    self->request<caf::message_priority::high>(db, timeout_, version_atom_v)
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
        if (src && !dst && r.relay) {
          // Ours, to a socket link's far end: a report may be up to an
          // interval old, so ask the relay what the peer acknowledged and
          // compare it with what the source holds (the peer's own ops are
          // never sent back).
          version_vector want, acked;
          bool asked = version_of(src->db, want);
          if (asked) {
            asked = false;
            self->request(r.relay, timeout_, stats_atom_v)
              .receive(
                [&](relay_stats& st) {
                  acked = std::move(st.acked);
                  asked = true;
                },
                [](caf::error&) {});
          }
          bool caught_up = asked;
          for (auto& [origin, seq] : want.entries())
            caught_up = caught_up && (origin == link.peer || acked.get(origin) >= seq);
          if (!caught_up) {
            synced = false;
            break;
          }
          continue;
        }
        if (!src || !dst)
          continue; // the far end's relay: its last reported lag of 0 is the evidence
        version_vector have, want;
        if (!version_of(src->db, want) || !version_of(dst->db, have) || !have.dominates(want)) {
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
