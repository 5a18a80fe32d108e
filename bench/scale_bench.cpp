#include "scale_bench.hpp"

#include "arrivals.hpp"
#include "node_process.hpp"
#include "ping_pong.hpp"
#include "scratch_dir.hpp"
#include "stats.hpp"

#include <blaze/actors/database_actor.hpp>
#include <blaze/actors/relay.hpp>
#include <blaze/actors/topology.hpp>
#include <blaze/runtime/link_protocol.hpp>
#include <blaze/runtime/secure_channel.hpp>
#include <blaze/runtime/system_config.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace blaze::bench {

namespace {

using namespace std::chrono_literals;
using node::fail_errno;
namespace fs = std::filesystem;

double kib(double bytes) {
  return bytes / 1024;
}

double self_rss() {
  return node::resident_bytes(::getpid());
}

std::string us(double ns) {
  return format_ns_as_us(ns) + " µs";
}

caf::actor_system_config& quiet(runtime::system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  return cfg;
}

// --- a hundred databases in one topology ------------------------------------------

struct many_results {
  double per_database_bytes = 0;
  double per_relay_bytes = 0;
  std::size_t relays = 0;
  double link_seconds = 0;
  measurement fanout_latency;    // a write on one spoke until on every other database
  measurement fanout_throughput; // writes on one spoke until every other has them all
};

many_results measure_many(caf::actor_system& sys, const scratch_dir& dir, std::size_t n,
                          std::size_t samples, std::size_t ops, std::ostream& log) {
  if (n < 3)
    throw std::invalid_argument("--databases must be at least 3 (a hub and two spokes)");
  many_results out;
  open_options o;
  o.kdf_log2_n = 10;
  wait_for_quiet(2s);
  double rss0 = self_rss();
  std::vector<actors::database_actor> dbs;
  for (std::size_t i = 0; i < n; ++i)
    dbs.push_back(must(actors::open_database(sys, "db" + std::to_string(i),
                                             dir / ("many-" + std::to_string(i)), "bench", o),
                       "open a database"));
  wait_for_quiet(2s);
  double rss1 = self_rss();
  out.per_database_bytes = (rss1 - rss0) / n;
  log << "  " << n << " databases open: " << format_rate(kib(out.per_database_bytes))
      << " KiB each\n";

  // Writes go to spoke 1; every other database watches for its ops.
  caf::scoped_actor self{sys};
  node_id writer = 0;
  self->request(dbs[1], 10s, node_atom_v)
    .receive([&](node_id id) { writer = id; },
             [&](caf::error& e) { throw std::runtime_error("node id: " + sys.render(e)); });
  std::vector<std::shared_ptr<arrivals>> seen;
  std::vector<actors::change_listener> listeners;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 1)
      continue;
    auto a = std::make_shared<arrivals>();
    a->origin = writer;
    a->at.assign(samples + ops + 1, bench_clock::time_point{});
    auto l = sys.spawn(arrival_listener, a);
    self->request(dbs[i], 10s, subscribe_atom_v, l)
      .receive([](std::uint64_t) {},
               [&](caf::error& e) { throw std::runtime_error("subscribe: " + sys.render(e)); });
    seen.push_back(a);
    listeners.push_back(l);
  }

  measurement lat, tput;
  {
    actors::topology topo{sys};
    phase_timer linking;
    for (std::size_t i = 0; i < n; ++i)
      must(topo.register_db(dbs[i], "db" + std::to_string(i)), "register");
    // A star: the hub (db0) linked both ways with every spoke.
    for (std::size_t i = 1; i < n; ++i)
      must(topo.connect_local("db0", "db" + std::to_string(i), actors::link_mode::bidirectional),
           "connect");
    if (!topo.wait_until_synced(60s))
      throw std::runtime_error("the star did not settle within 60 s");
    out.link_seconds = linking.elapsed().wall_s;
    out.relays = 2 * (n - 1);
    wait_for_quiet(2s);
    double rss2 = self_rss();
    out.per_relay_bytes = (rss2 - rss1) / out.relays;
    log << "  " << out.relays << " relays (star) up in " << out.link_seconds << " s: "
        << format_rate(kib(out.per_relay_bytes)) << " KiB each\n";

    auto put = [&](std::uint64_t i) {
      caf::anon_send(dbs[1], put_atom_v, std::string{"many"}, "r" + std::to_string(i),
                     field_map{{"n", static_cast<std::int64_t>(i)}});
    };
    auto everywhere = [&](std::uint64_t seq) {
      bench_clock::time_point last{};
      for (auto& a : seen) {
        if (!a->wait_for(seq, 60s))
          throw std::runtime_error("op " + std::to_string(seq)
                                   + " did not reach every database within 60 s");
        std::lock_guard<std::mutex> g{a->mu};
        last = std::max(last, a->at[seq]);
      }
      return last;
    };
    latency_recorder rec;
    phase_timer timer;
    for (std::uint64_t i = 1; i <= samples; ++i) {
      auto t0 = bench_clock::now();
      put(i);
      rec.add(t0, everywhere(i));
    }
    lat.timing = timer.elapsed();
    lat.ops = samples;
    lat.latency = rec.summarize();
    log << "  one write on a spoke -> on all " << n - 1 << " others: p50 "
        << us(lat.latency.p50_ns) << "\n";
    timer.restart();
    for (std::uint64_t i = samples + 1; i <= samples + ops; ++i)
      put(i);
    everywhere(samples + ops);
    tput.timing = timer.elapsed();
    tput.ops = ops;
    log << "  " << ops << " writes on a spoke -> on all others: "
        << format_rate(tput.ops_per_s()) << " writes/s\n";
  }
  for (auto& l : listeners)
    self->send_exit(l, caf::exit_reason::user_shutdown);
  for (auto& d : dbs)
    self->send_exit(d, caf::exit_reason::user_shutdown);
  for (auto& d : dbs)
    self->wait_for(d);
  out.fanout_latency = lat;
  out.fanout_throughput = tput;
  return out;
}

// --- a thousand subscribers on one node ----------------------------------------------

const std::string node_secret = "scale bench node secret";
const std::string sync_secret = "scale bench sync secret";
const std::string feed = "feed";

// A dialler speaking the link protocol by hand: one socket, its secure
// channel, its frames. Subscribers accept ops (and acknowledge them); the
// writer sends them.
struct raw_peer {
  int fd = -1;
  runtime::secure_channel channel;
  runtime::frame_reader reader;
  bool writer = false;
  bool hello_sent = false;
  bool ready = false; // the node's hello arrived
  node_id id = 0;
  std::uint64_t highest = 0; // the writer's ops seen so far (in order)
  std::vector<bench_clock::time_point> arrived;

  raw_peer(int f, bool w, node_id n)
    : fd(f), channel(runtime::channel_role::initiator, [] {
        runtime::channel_options co;
        co.link_secret = node_secret;
        return co;
      }()),
      writer(w), id(n) {}
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;
  ~raw_peer() {
    if (fd >= 0)
      ::close(fd);
  }

  void write_all(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      if (n <= 0)
        fail_errno("write to the node");
      done += static_cast<std::size_t>(n);
    }
  }
  void send_frame(const runtime::link_frame& f) {
    std::string wire;
    runtime::encode_frame(f, wire);
    if (auto r = channel.send(wire); !r)
      throw std::runtime_error("secure channel: " + r.error().to_string());
    write_all(channel.take_output());
  }
  // Reads what is there; false when the connection ended.
  bool on_readable(std::size_t expected) {
    char buf[65536];
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return true;
    if (n <= 0)
      return false;
    std::string plain;
    if (auto r = channel.feed({buf, static_cast<std::size_t>(n)}, plain); !r)
      throw std::runtime_error("secure channel: " + r.error().to_string());
    if (channel.has_output())
      write_all(channel.take_output());
    if (channel.established() && !hello_sent) {
      runtime::link_hello h;
      h.sends_ops = writer;
      h.accepts_ops = !writer;
      h.database = feed;
      h.node = id;
      h.proof = runtime::link_proof(sync_secret, channel.channel_binding(), true, feed);
      send_frame(h);
      hello_sent = true;
    }
    std::vector<runtime::link_frame> frames;
    if (auto r = reader.feed(plain, frames); !r)
      throw std::runtime_error("link frames: " + r.error().to_string());
    for (auto& f : frames) {
      if (std::holds_alternative<runtime::link_hello>(f)) {
        ready = true;
      } else if (auto* ops = std::get_if<runtime::link_ops>(&f)) {
        auto now = bench_clock::now();
        for (auto& o : ops->ops)
          if (o.seq < arrived.size() && arrived[o.seq] == bench_clock::time_point{}) {
            arrived[o.seq] = now;
            while (highest + 1 < arrived.size()
                   && arrived[highest + 1] != bench_clock::time_point{})
              ++highest;
          }
        send_frame(runtime::link_ack{ops->batch, ops->ops.size(), 0, {}});
      } else if (auto* e = std::get_if<runtime::link_error>(&f)) {
        throw std::runtime_error("the node refused a subscriber: " + e->message);
      }
    }
    (void) expected;
    return true;
  }
};

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    fail_errno("connect to the node");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads from every peer until `done()` holds; throws after `limit`.
template <class Done>
void drive(std::vector<std::unique_ptr<raw_peer>>& peers, std::size_t expected, Done done,
           std::chrono::seconds limit, const char* what) {
  std::vector<pollfd> fds;
  for (auto& p : peers)
    fds.push_back(pollfd{p->fd, POLLIN, 0});
  auto deadline = bench_clock::now() + limit;
  while (!done()) {
    if (bench_clock::now() > deadline)
      throw std::runtime_error(std::string(what) + ": not done within "
                               + std::to_string(limit.count()) + " s");
    int rc = ::poll(fds.data(), fds.size(), 100);
    if (rc < 0 && errno != EINTR)
      fail_errno("poll");
    for (std::size_t i = 0; rc > 0 && i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
        if (!peers[i]->on_readable(expected))
          throw std::runtime_error("the node closed a subscriber's connection");
  }
}

// Reads whatever the peers have sent by now, without waiting.
void drain(std::vector<std::unique_ptr<raw_peer>>& peers) {
  std::vector<pollfd> fds;
  for (auto& p : peers)
    fds.push_back(pollfd{p->fd, POLLIN, 0});
  int rc = ::poll(fds.data(), fds.size(), 0);
  for (std::size_t i = 0; rc > 0 && i < fds.size(); ++i)
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
      if (!peers[i]->on_readable(0))
        throw std::runtime_error("the node closed the writer's connection");
}

struct subscriber_results {
  std::size_t subscribers = 0;
  double per_subscriber_bytes = 0; // on the node
  double connect_seconds = 0;
  measurement to_last;   // a write until the last subscriber has it
  measurement to_each;   // every subscriber's own latency, pooled
  measurement fanout;    // writes until every subscriber has them all (ops = writes)
};

op feed_op(node_id origin, std::uint64_t seq) {
  op o;
  o.origin = origin;
  o.seq = seq;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  o.time = make_hlc(static_cast<std::uint64_t>(ms), 0);
  o.collection = feed;
  o.id = "k" + std::to_string(seq);
  o.fields = {{"n", static_cast<std::int64_t>(seq)}, {"text", std::string{"hello subscribers"}}};
  return o;
}

subscriber_results measure_subscribers(const scratch_dir& dir, const fs::path& binary,
                                       std::size_t n, std::size_t samples, std::size_t ops,
                                       std::ostream& log) {
  subscriber_results out;
  out.subscribers = n;
  node::node_process node_proc{binary, dir / "node", 2, false, {feed}, node_secret, sync_secret};
  node_proc.wait_until_idle(10s);
  double rss0 = node::resident_bytes(node_proc.pid());
  std::mt19937_64 rng{42};
  std::vector<std::unique_ptr<raw_peer>> subs;
  auto total = samples + ops;
  phase_timer connecting;
  // In rounds of 100, so that the node's accept backlog never overflows.
  for (std::size_t done = 0; done < n;) {
    std::size_t round = std::min<std::size_t>(100, n - done);
    std::vector<std::unique_ptr<raw_peer>> batch;
    for (std::size_t i = 0; i < round; ++i) {
      auto p = std::make_unique<raw_peer>(connect_loopback(node_proc.sync_port()), false,
                                          rng() | 1);
      p->arrived.assign(total + 1, bench_clock::time_point{});
      p->write_all(p->channel.take_output());
      batch.push_back(std::move(p));
    }
    drive(batch, total,
          [&] {
            return std::all_of(batch.begin(), batch.end(), [](auto& p) { return p->ready; });
          },
          60s, "subscribers connecting");
    for (auto& p : batch)
      subs.push_back(std::move(p));
    done += round;
  }
  out.connect_seconds = connecting.elapsed().wall_s;
  node_proc.wait_until_idle(10s);
  double rss1 = node::resident_bytes(node_proc.pid());
  out.per_subscriber_bytes = (rss1 - rss0) / n;
  log << "  " << n << " subscribers connected in " << out.connect_seconds << " s: node +"
      << format_rate(kib(out.per_subscriber_bytes)) << " KiB per subscriber\n";

  std::vector<std::unique_ptr<raw_peer>> writer_only;
  writer_only.push_back(
    std::make_unique<raw_peer>(connect_loopback(node_proc.sync_port()), true, rng() | 1));
  auto& writer = *writer_only.back();
  writer.write_all(writer.channel.take_output());
  drive(writer_only, 0, [&] { return writer.ready; }, 30s, "the writer connecting");
  auto origin = writer.id;
  (void) origin;

  latency_recorder last_rec, each_rec;
  phase_timer timer;
  for (std::uint64_t i = 1; i <= samples; ++i) {
    auto t0 = bench_clock::now();
    writer.send_frame(runtime::link_ops{i, {feed_op(writer.id, i)}});
    drive(subs, total,
          [&] {
            return std::all_of(subs.begin(), subs.end(),
                               [&](auto& p) { return p->highest >= i; });
          },
          60s, "fan-out to every subscriber");
    bench_clock::time_point last{};
    for (auto& p : subs) {
      each_rec.add(t0, p->arrived[i]);
      last = std::max(last, p->arrived[i]);
    }
    last_rec.add(t0, last);
    drain(writer_only); // the writer's acks, so that its socket never fills
  }
  out.to_last.timing = timer.elapsed();
  out.to_last.ops = samples;
  out.to_last.latency = last_rec.summarize();
  out.to_each.ops = samples * n;
  out.to_each.latency = each_rec.summarize();
  log << "  one write -> on all " << n << " subscribers: p50 " << us(out.to_last.latency.p50_ns)
      << " (each subscriber's own p50 " << us(out.to_each.latency.p50_ns) << ")\n";

  timer.restart();
  constexpr std::uint64_t batch = 100;
  for (std::uint64_t first = samples + 1; first <= total; first += batch) {
    runtime::link_ops b;
    b.batch = first;
    for (auto s = first; s < first + batch && s <= total; ++s)
      b.ops.push_back(feed_op(writer.id, s));
    writer.send_frame(b);
    drain(writer_only);
  }
  drive(subs, total,
        [&] {
          return std::all_of(subs.begin(), subs.end(),
                             [&](auto& p) { return p->highest >= total; });
        },
        120s, "fan-out throughput");
  out.fanout.timing = timer.elapsed();
  out.fanout.ops = ops;
  log << "  " << ops << " writes -> on all " << n << " subscribers: "
      << format_rate(out.fanout.ops_per_s() * n) << " op deliveries/s\n";
  subs.clear();
  writer_only.clear();
  if (int rc = node_proc.stop(); rc != 0)
    throw std::runtime_error("blaze-node did not stop cleanly (exit " + std::to_string(rc)
                             + "): " + node::tail(node_proc.log()));
  return out;
}

// --- a million records, caught up by a cold replica -------------------------------

struct catch_up_results {
  std::size_t records = 0;
  measurement load;      // writing the source store (apply in batches)
  measurement catch_up;  // a cold replica until it has every op
  double replica_rss_bytes = 0;
};

catch_up_results measure_catch_up(caf::actor_system& sys, const scratch_dir& dir,
                                  std::size_t records, std::ostream& log) {
  catch_up_results out;
  out.records = records;
  open_options o;
  o.kdf_log2_n = 10;
  const node_id origin = 0xb16b00b5;
  auto source = must(database::open("big", dir / "big-source", "bench", o), "open the source");
  phase_timer timer;
  constexpr std::size_t batch = 10000;
  std::string text(48, 'x');
  for (std::size_t first = 1; first <= records; first += batch) {
    std::vector<op> ops;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
    for (std::size_t s = first; s < first + batch && s <= records; ++s) {
      op x;
      x.origin = origin;
      x.seq = s;
      x.time = make_hlc(static_cast<std::uint64_t>(ms), static_cast<std::uint32_t>(s % 60000));
      x.collection = "big";
      x.id = "r" + std::to_string(s);
      x.fields = {{"n", static_cast<std::int64_t>(s)}, {"text", text}};
      ops.push_back(std::move(x));
    }
    must(source->apply(ops), "load the source");
  }
  out.load.timing = timer.elapsed();
  out.load.ops = records;
  log << "  source loaded: " << records << " records, "
      << format_rate(out.load.ops_per_s()) << " ops/s\n";

  auto a = actors::spawn_database(sys, std::move(source));
  auto b = must(actors::open_database(sys, "big", dir / "big-replica", "bench", o),
                "open the replica");
  auto seen = std::make_shared<arrivals>();
  seen->origin = origin;
  seen->at.assign(records + 1, bench_clock::time_point{});
  auto listener = sys.spawn(arrival_listener, seen);
  caf::scoped_actor self{sys};
  self->request(b, 10s, subscribe_atom_v, listener)
    .receive([](std::uint64_t) {},
             [&](caf::error& e) { throw std::runtime_error("subscribe: " + sys.render(e)); });
  wait_for_quiet(5s);
  timer.restart();
  auto relay = actors::spawn_relay(sys, a, b);
  if (!seen->wait_for(records, 600s))
    throw std::runtime_error("the replica did not catch up within 600 s");
  out.catch_up.timing = timer.elapsed();
  out.catch_up.ops = records;
  out.replica_rss_bytes = self_rss();
  log << "  cold replica caught up: " << format_rate(out.catch_up.ops_per_s()) << " ops/s\n";
  for (auto h : {caf::actor_cast<caf::actor>(relay), caf::actor_cast<caf::actor>(listener),
                 caf::actor_cast<caf::actor>(a), caf::actor_cast<caf::actor>(b)}) {
    self->send_exit(h, caf::exit_reason::user_shutdown);
    self->wait_for(h);
  }
  return out;
}

// Raises the open-file limit to its hard maximum (the subscribers and the
// node, which inherits it, hold a socket each).
void raise_fd_limit(std::size_t needed) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    fail_errno("getrlimit");
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed)
    throw std::runtime_error("the open-file limit (" + std::to_string(rl.rlim_cur)
                             + ") is below the " + std::to_string(needed) + " this needs");
}

} // namespace

report run_scale_bench(const scale_bench_options& o, std::ostream& log) {
  if (o.databases == 0 || o.subscribers == 0 || o.records == 0 || o.samples == 0
      || o.fanout_ops == 0 || o.threads == 0)
    throw std::invalid_argument("counts and threads must be positive");
  auto binary = node::find_node_binary(o.node_binary);
  raise_fd_limit(o.subscribers * 2 + 256);
  report r;
  r.suite = "scale";
  r.parameters = {{"databases", o.databases},     {"subscribers", o.subscribers},
                  {"records", o.records},         {"samples", o.samples},
                  {"fanout_ops", o.fanout_ops},   {"scheduler_threads", o.threads}};
  scratch_dir dir{o.dir};
  runtime::scheduler_options sched;
  sched.threads = o.threads;
  sched.low_latency = false;
  runtime::system_config cfg{sched};
  caf::actor_system sys{quiet(cfg)};

  log << o.databases << " databases in one topology (a star)\n";
  auto many = measure_many(sys, dir, o.databases, o.samples, o.fanout_ops, log);
  log << o.subscribers << " live subscribers on one blaze-node\n";
  auto subs = measure_subscribers(dir, binary, o.subscribers, o.samples, o.fanout_ops, log);
  log << "a database of " << o.records << " records, caught up by a cold replica\n";
  auto big = measure_catch_up(sys, dir, o.records, log);

  auto row = [&](std::string name, double v, std::string unit, std::string notes,
                 nlohmann::json details) {
    comparison_row x;
    x.benchmark = std::move(name);
    x.blaze = v;
    x.unit = std::move(unit);
    x.notes = std::move(notes);
    x.details = std::move(details);
    r.rows.push_back(std::move(x));
  };
  auto n = std::to_string(o.databases);
  row("memory per open database (" + n + " open)", kib(many.per_database_bytes), "KiB",
      "process RSS growth / databases; each a LevelDB store and a detached actor",
      {{"bytes", many.per_database_bytes}});
  row("memory per relay (" + std::to_string(many.relays) + " relays)",
      kib(many.per_relay_bytes), "KiB", "process RSS growth / relays, star of bidirectional links",
      {{"bytes", many.per_relay_bytes}, {"link_seconds", many.link_seconds}});
  row("write -> on all " + std::to_string(o.databases - 1) + " other databases, p50",
      many.fanout_latency.latency.p50_ns / 1000, "µs",
      "spoke -> hub -> every other spoke; p99 " + us(many.fanout_latency.latency.p99_ns),
      {{"measurement", many.fanout_latency}});
  row("writes -> on all " + std::to_string(o.databases - 1) + " other databases",
      many.fanout_throughput.ops_per_s(), "writes/s",
      format_rate(many.fanout_throughput.ops_per_s() * (o.databases - 1))
        + " op deliveries/s",
      {{"measurement", many.fanout_throughput}});
  auto s = std::to_string(o.subscribers);
  row("node memory per live subscriber (" + s + ")", kib(subs.per_subscriber_bytes), "KiB",
      "blaze-node RSS growth / subscribers (TCP, secure channel, a relay each); connected in "
        + format_value(subs.connect_seconds, "s"),
      {{"bytes", subs.per_subscriber_bytes}, {"connect_seconds", subs.connect_seconds}});
  row("write -> on all " + s + " subscribers, p50", subs.to_last.latency.p50_ns / 1000, "µs",
      "until the last subscriber has it; p99 " + us(subs.to_last.latency.p99_ns)
        + "; each subscriber's own p50 " + us(subs.to_each.latency.p50_ns),
      {{"to_last", subs.to_last}, {"to_each", subs.to_each}});
  row("writes -> on all " + s + " subscribers", subs.fanout.ops_per_s() * o.subscribers,
      "op deliveries/s", format_rate(subs.fanout.ops_per_s()) + " writes/s, each to every subscriber",
      {{"measurement", subs.fanout}});
  row("cold replica catching up " + std::to_string(o.records) + " records",
      big.catch_up.ops_per_s(), "ops/s",
      "in-process relay; loading the source took " + format_value(big.load.timing.wall_s, "s"),
      {{"catch_up", big.catch_up}, {"load", big.load}, {"rss_bytes", big.replica_rss_bytes}});
  r.latencies.push_back({"write -> on all " + std::to_string(o.databases - 1) + " databases",
                         many.fanout_latency.latency});
  r.latencies.push_back({"write -> on all " + s + " subscribers", subs.to_last.latency});
  r.latencies.push_back({"write -> on one subscriber (pooled)", subs.to_each.latency});
  return r;
}

} // namespace blaze::bench
