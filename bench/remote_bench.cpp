#include "remote_bench.hpp"

#include "arrivals.hpp"
#include "node_process.hpp"
#include "scratch_dir.hpp"
#include "ping_pong.hpp"
#include "stats.hpp"

#include <blaze/actors/database_actor.hpp>
#include <blaze/actors/topology.hpp>
#include <blaze/runtime/system_config.hpp>
#include <blaze/storage/database.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// Set by bench/CMakeLists.txt: the blaze-node built with this bench.
#ifndef BLAZE_BENCH_NODE_PATH
#define BLAZE_BENCH_NODE_PATH ""
#endif

namespace blaze::bench {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr double latency_p50_goal_us = 300;
constexpr double catch_up_goal = 100'000;
const std::string collection = "bench";
const std::string node_secret = "blaze-bench node secret";
const std::string live_db = "live";        // the latency clients sync this one
const std::string catch_up_db = "backlog"; // filled before the node starts
const std::string sync_secret = "blaze-bench sync secret";

std::string us(double ns) {
  return format_ns_as_us(ns) + " µs";
}

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

field_map record_fields(std::uint64_t i) {
  return {{"n", static_cast<std::int64_t>(i)}, {"text", "hello remote"}};
}

// --- the node: a real blaze-node process ---------------------------------------

// The node: a real blaze-node (bench/node_process.hpp) hosting the live
// database (empty) and the backlog (whatever the store at <dir>/data/backlog
// holds), serving sync on a loopback port it picks.
using node::fail_errno;
using node::find_node_binary;
using node::node_process;
using node::process_cpu_seconds;
using node::tail;

// Puts `n` records into a new store that the node will host as the backlog.
// Written directly (no actors, no node yet): the node then starts with the
// ops already in its store. Returns the store's node id (their origin).
node_id fill_backlog(const fs::path& path, std::size_t n, std::size_t& op_bytes) {
  open_options o;
  o.kdf_log2_n = 10; // the node opens it with the cost recorded here
  auto db = must(database::open(catch_up_db, path, "blaze-bench password", o), "create backlog");
  for (std::uint64_t i = 1; i <= n; ++i) {
    auto op = must(db->put(collection, "r" + std::to_string(i), record_fields(i)), "put");
    if (i == 1)
      op_bytes = encode(op).size();
  }
  return db->id();
}

// --- raw TCP ping-pong over loopback: the floor under client -> node -> client

// One round trip is two one-way loopback hops, as A -> node -> B is.
measurement tcp_ping_pong(std::size_t n, std::size_t bytes) {
  int one = 1;
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0)
    fail_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
      || ::listen(listener, 1) != 0
      || ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(listener);
    fail_errno("listen on loopback");
  }
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(listener);
    fail_errno("connect to loopback");
  }
  int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  if (server < 0) {
    ::close(client);
    fail_errno("accept");
  }
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return ping_pong(client, server, n, bytes, "TCP");
}

// --- clients -------------------------------------------------------------------

// An embedding application: its own database and topology, synced with a
// database on the node through enable_sync (bidirectional, over TCP).
struct sync_client {
  caf::actor_system& sys;
  std::string name;
  actors::database_actor db;
  std::unique_ptr<actors::topology> topo;

  // `stamp` (optional): a storage observer of the client's database
  // (commit_stamper), run in the thread that commits.
  sync_client(caf::actor_system& s, const fs::path& dir, std::string n, actors::placement where,
              observer stamp = {})
    : sys(s), name(std::move(n)) {
    open_options o;
    o.kdf_log2_n = 10; // the KDF is not what this measures
    auto store = must(database::open(name, dir / name, "client password", o), "open client");
    if (stamp)
      store->subscribe(std::move(stamp));
    db = actors::spawn_database(sys, std::move(store), where);
    topo = std::make_unique<actors::topology>(sys);
    must(topo->register_db(db, name), "register client");
  }

  ~sync_client() {
    topo.reset(); // stops the link first
    caf::scoped_actor self{sys};
    self->send_exit(db, caf::exit_reason::user_shutdown);
    self->wait_for(db);
  }

  sync_client(const sync_client&) = delete;
  sync_client& operator=(const sync_client&) = delete;

  void sync(std::uint16_t port, const std::string& remote) {
    actors::sync_policy p;
    p.node_secret = node_secret;
    p.access_secret = sync_secret;
    actors::remote_database where;
    where.database = remote;
    where.host = "127.0.0.1";
    where.port = port;
    must(topo->enable_sync(name, where, p), "enable_sync");
  }

  // Why the link is not up, for error messages.
  std::string link_status() {
    auto links = topo->links();
    if (links.empty())
      return "no link";
    return std::string("link ") + actors::to_string(links[0].state) + ", lag "
           + std::to_string(links[0].lag()) + ", last error '" + links[0].last_error() + "'";
  }

  node_id id() {
    node_id out = 0;
    caf::scoped_actor self{sys};
    self->request(db, 10s, node_atom_v)
      .receive([&](node_id x) { out = x; },
               [&](caf::error& e) { throw std::runtime_error("node id: " + sys.render(e)); });
    return out;
  }

  version_vector version() {
    version_vector out;
    caf::scoped_actor self{sys};
    self->request(db, 10s, version_atom_v)
      .receive([&](version_vector& v) { out = std::move(v); },
               [&](caf::error& e) { throw std::runtime_error("version: " + sys.render(e)); });
    return out;
  }

  void put(std::uint64_t i) {
    caf::anon_send(db, put_atom_v, collection, "r" + std::to_string(i), record_fields(i));
  }
};

// --- commit on client A, visible on client B ------------------------------------

// The node's share of a phase. phase_timing counts the node among "other
// processes" (it is one); what is left after it is load from elsewhere.
struct node_load {
  double node_cores = 0;  // the node's CPU / wall time
  double other_cores = 0; // other processes and the hypervisor, without the node

  node_load() = default;
  node_load(const phase_timing& t, double node_cpu_s) {
    if (t.wall_s <= 0)
      return;
    node_cores = node_cpu_s / t.wall_s;
    other_cores = std::max(0.0, t.foreign_cores - node_cores) + t.steal_cores;
  }
};

nlohmann::json to_json(const node_load& l) {
  return {{"node_cores", l.node_cores}, {"other_load_cores", l.other_cores}};
}

struct latency_result {
  measurement m; // put on A until B's subscriber is told
  latency_summary commit_to_visible; // A's commit until B's (stamped where they commit)
  node_load load;
  std::size_t warm_up = 0;
};

latency_result remote_latency(caf::actor_system& sys, const fs::path& dir, std::uint16_t port,
                              pid_t node_pid, std::size_t n, actors::placement where) {
  // A few writes first, not recorded: the first ones through a fresh link
  // pay for allocations and caches along the path.
  std::size_t warm_up = std::min<std::size_t>(100, n);
  auto committed = std::make_shared<arrivals>(); // A's ops as A commits them
  auto visible = std::make_shared<arrivals>();   // ... as B commits them
  sync_client a{sys, dir, "client-a", where, commit_stamper(committed)};
  sync_client b{sys, dir, "client-b", where, commit_stamper(visible)};
  a.sync(port, live_db);
  b.sync(port, live_db);
  if (!a.topo->wait_until_synced(30s) || !b.topo->wait_until_synced(30s))
    throw std::runtime_error("clients did not link to the node within 30 s: A "
                             + a.link_status() + "; B " + b.link_status());
  auto seen = std::make_shared<arrivals>();
  for (auto& x : {seen, committed, visible}) {
    std::lock_guard<std::mutex> g{x->mu};
    x->origin = a.id();
    x->at.assign(warm_up + n + 1, bench_clock::time_point{});
  }
  auto listener = sys.spawn(arrival_listener, seen);
  caf::scoped_actor self{sys};
  self->request(b.db, 10s, subscribe_atom_v, listener)
    .receive([](std::uint64_t) {},
             [&](caf::error& e) { throw std::runtime_error("subscribe: " + sys.render(e)); });
  auto stop_listener = [&] {
    self->send_exit(listener, caf::exit_reason::user_shutdown);
    self->wait_for(listener);
  };
  latency_recorder lat, relayed;
  lat.reserve(n);
  relayed.reserve(n);
  phase_timer timer;
  double node_cpu = 0;
  try {
    for (std::uint64_t i = 1; i <= warm_up + n; ++i) {
      if (i == warm_up + 1) {
        timer.restart();
        node_cpu = process_cpu_seconds(node_pid);
      }
      auto t0 = bench_clock::now();
      a.put(i);
      if (!seen->wait_for(i, 30s))
        throw std::runtime_error("op " + std::to_string(i) + " did not reach B within 30 s: A "
                                 + a.link_status() + "; B " + b.link_status());
      if (i > warm_up) {
        // B's subscriber is told after both commits: both stamps are in.
        auto on_a = committed->when(i);
        auto on_b = visible->when(i);
        if (on_a == bench_clock::time_point{} || on_b == bench_clock::time_point{} || on_b < on_a)
          throw std::runtime_error("op " + std::to_string(i)
                                   + ": no commit stamp on A or B, or B's before A's");
        relayed.add(on_a, on_b);
        lat.add(t0, seen->when(i));
      }
    }
  } catch (...) {
    stop_listener();
    throw;
  }
  latency_result r;
  r.m.timing = timer.elapsed();
  r.load = node_load{r.m.timing, process_cpu_seconds(node_pid) - node_cpu};
  r.m.ops = n;
  r.m.latency = lat.summarize();
  r.commit_to_visible = relayed.summarize();
  r.warm_up = warm_up;
  stop_listener();
  return r;
}

// --- a cold client catching up with the backlog ----------------------------------

struct catch_up_result {
  measurement m;
  node_load load;
  double first_op_ms = 0; // enable_sync until the first op was in (connect + handshake)
};

// From enable_sync until the client's version vector has every op of the
// backlog. Polled every millisecond: subscribing would add a message per op
// to the path being measured.
catch_up_result catch_up(caf::actor_system& sys, const fs::path& dir, std::uint16_t port,
                         pid_t node_pid, node_id origin, std::size_t n,
                         actors::placement where) {
  sync_client c{sys, dir, "cold-client", where};
  catch_up_result r;
  std::optional<bench_clock::time_point> first;
  phase_timer timer;
  double node_cpu = process_cpu_seconds(node_pid);
  auto t0 = bench_clock::now();
  c.sync(port, catch_up_db);
  auto deadline = t0 + 300s;
  for (;;) {
    auto have = c.version().get(origin);
    auto now = bench_clock::now();
    if (have > 0 && !first)
      first = now;
    if (have >= n)
      break;
    if (now > deadline)
      throw std::runtime_error("the cold client has " + std::to_string(have) + " of "
                               + std::to_string(n) + " ops after 300 s: " + c.link_status());
    std::this_thread::sleep_for(1ms);
  }
  r.m.timing = timer.elapsed();
  r.load = node_load{r.m.timing, process_cpu_seconds(node_pid) - node_cpu};
  r.m.ops = n;
  r.first_op_ms = std::chrono::duration<double, std::milli>(*first - t0).count();
  return r;
}

} // namespace

report run_remote_bench(const remote_bench_options& o, std::ostream& log) {
  if (o.latency_samples == 0 || o.catch_up_ops == 0 || o.threads == 0)
    throw std::invalid_argument("counts and threads must be positive");
  actors::placement where = actors::placement::detached;
  actors::placement node_where = actors::placement::detached;
  if (!actors::from_string(o.placement, where) || !actors::from_string(o.node_placement, node_where))
    throw std::invalid_argument("placements are \"detached\" or \"scheduled\"");
  auto binary = find_node_binary(o.node_binary);
  const std::string client_sched =
    std::to_string(o.threads) + " scheduler thread(s), "
    + (o.low_latency ? "polling when idle (low latency)" : "blocking when idle") + ", "
    + o.placement + " databases";
  const std::string node_sched =
    std::to_string(o.node_threads) + " scheduler thread(s), "
    + (o.node_low_latency ? "polling when idle (low latency)" : "blocking when idle") + ", "
    + o.node_placement + " databases";
  report r;
  r.suite = "remote";
  r.parameters = {{"latency_samples", o.latency_samples},
                  {"catch_up_ops", o.catch_up_ops},
                  {"scheduler_threads", o.threads},
                  {"low_latency", o.low_latency},
                  {"client_scheduler", client_sched},
                  {"node_scheduler", node_sched},
                  {"transport", "TCP 127.0.0.1, secure channel"},
                  {"blaze_node", binary.string()}};
  log << "blaze-node: " << binary.string() << "\n"
      << "scheduler: clients " << client_sched << "; node " << node_sched << "\n";

  scratch_dir dir{o.dir};
  auto node_dir = dir / "node";
  log << "filling the node's backlog store with " << o.catch_up_ops << " ops\n";
  std::size_t op_bytes = 0;
  node_id origin = fill_backlog(node_dir / "data" / catch_up_db, o.catch_up_ops, op_bytes);
  wait_for_quiet();

  log << "raw TCP loopback ping-pong, " << op_bytes << " bytes (one encoded op)\n";
  auto raw = tcp_ping_pong(o.latency_samples * 4, op_bytes);
  log << "  p50 " << us(raw.latency.p50_ns) << "\n";

  log << "starting blaze-node\n";
  node_process node{binary,        node_dir,    o.node_threads, o.node_low_latency,
                    {live_db, catch_up_db}, node_secret, sync_secret, o.node_placement};
  log << "  pid " << node.pid() << ", sync on 127.0.0.1:" << node.sync_port() << "\n";
  node.wait_until_idle(10s);

  // /proc/stat ticks are 10 ms: judge only phases long enough to measure.
  std::vector<std::pair<std::string, double>> disturbed;
  auto log_load = [&](const measurement& m, const node_load& l) {
    log << " (" << fixed(m.timing.wall_s, 2) << " s; cores busy: bench "
        << fixed(m.process_cores(), 2) << ", node " << fixed(l.node_cores, 2) << ", other "
        << fixed(l.other_cores, 2) << ")\n";
    if (m.timing.wall_s >= 0.2 && l.other_cores > 0.25)
      disturbed.emplace_back(m.latency.count ? "the latency run" : "the catch-up", l.other_cores);
  };

  runtime::scheduler_options sched;
  sched.threads = o.threads;
  sched.low_latency = o.low_latency;
  runtime::system_config cfg{sched};
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  std::optional<catch_up_result> cold;
  std::optional<latency_result> lat;
  {
    caf::actor_system sys{cfg};
    log << "cold client catches up with " << o.catch_up_ops << " ops\n";
    cold = catch_up(sys, dir.path(), node.sync_port(), node.pid(), origin, o.catch_up_ops, where);
    log << "  " << format_rate(cold->m.ops_per_s()) << " ops/s";
    log_load(cold->m, cold->load);
    node.wait_until_idle(10s);
    wait_for_quiet();
    log << "client A -> blaze-node -> client B: commit on A -> visible on B\n";
    lat = remote_latency(sys, dir.path(), node.sync_port(), node.pid(), o.latency_samples, where);
    log << "  p50 " << us(lat->commit_to_visible.p50_ns) << ", p99 "
        << us(lat->commit_to_visible.p99_ns) << "; put on A -> B's subscriber told: p50 "
        << us(lat->m.latency.p50_ns) << ", p99 " << us(lat->m.latency.p99_ns);
    log_load(lat->m, lat->load);
  }

  log << "stopping blaze-node (SIGTERM)\n";
  int code = node.stop();
  if (code != 0)
    r.warnings.push_back("blaze-node did not exit cleanly on SIGTERM ("
                         + (code < 0 ? std::string("killed after 30 s")
                                     : "exit code " + std::to_string(code))
                         + "): " + tail(node.log()));

  for (auto& [phase, cores] : disturbed)
    r.warnings.push_back("other processes (or the hypervisor) used " + fixed(cores, 2)
                         + " cores during " + phase
                         + ": figures are disturbed, re-run on a quiet machine");

  {
    auto& l = lat->commit_to_visible;
    auto& e2e = lat->m.latency;
    comparison_row row;
    row.benchmark = "client -> blaze-node -> client, commit -> visible";
    row.unit = "µs";
    row.blaze = l.p50_ns / 1000;
    row.raw = raw.latency.p50_ns / 1000;
    bool met = l.p50_ns / 1000 <= latency_p50_goal_us;
    row.notes = "p50 from A's commit to B's (both stamped in the committing thread); p99 "
                + us(l.p99_ns) + ", p99.9 " + us(l.p999_ns) + "; goal p50 ≤ "
                + format_rate(latency_p50_goal_us) + " µs: " + (met ? "met" : "MISSED")
                + ". With the put on A and the message to B's subscriber: p50 " + us(e2e.p50_ns)
                + ", p99 " + us(e2e.p99_ns) + ". Baseline: raw TCP loopback round trip of "
                + std::to_string(op_bytes) + " bytes";
    row.details["commit_to_visible"] = l;
    row.details["remote"] = lat->m;
    row.details["load"] = to_json(lat->load);
    row.details["warm_up_writes"] = lat->warm_up;
    row.details["raw_tcp"] = raw;
    row.details["raw_tcp_message_bytes"] = op_bytes;
    r.rows.push_back(std::move(row));
  }
  {
    comparison_row row;
    row.benchmark = "cold client catch-up from blaze-node";
    row.blaze = cold->m.ops_per_s();
    bool met = cold->m.ops_per_s() >= catch_up_goal;
    row.notes = format_rate(static_cast<double>(o.catch_up_ops))
                + " ops, enable_sync until the client has all (first op after "
                + fixed(cold->first_op_ms, 1)
                + " ms); goal ≥ " + format_rate(catch_up_goal) + " ops/s: "
                + (met ? "met" : "MISSED");
    row.details["measurement"] = cold->m;
    row.details["load"] = to_json(cold->load);
    row.details["first_op_ms"] = cold->first_op_ms;
    r.rows.push_back(std::move(row));
  }
  r.latencies.push_back({"raw TCP loopback round trip", raw.latency});
  r.latencies.push_back({"client -> node -> client commit -> visible", lat->commit_to_visible});
  r.latencies.push_back({"client -> node -> client put -> B's subscriber", lat->m.latency});
  return r;
}

} // namespace blaze::bench
