#include "channel_bench.hpp"

#include "ping_pong.hpp"
#include "stats.hpp"

#include <blaze/runtime/secure_channel.hpp>
#include <blaze/runtime/secure_middleman.hpp>
#include <blaze/runtime/system_config.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace blaze::bench {

namespace {

constexpr double secure_goal_ratio = 1.1; // secure round trip / plain BASP
constexpr double handshake_goal_ms = 1.0;
const std::string link_secret = "blaze-bench link secret";

using bench::must; // for results with a value; this overload is for result<void>
void must(result<void> r, const char* what) {
  if (!r)
    throw std::runtime_error(std::string(what) + ": " + r.error().to_string());
}

[[noreturn]] void fail_errno(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// --- sockets ---------------------------------------------------------------

class fd_guard {
public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  ~fd_guard() { reset(); }
  fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_guard& operator=(fd_guard&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_;
};

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A listening socket on 127.0.0.1 with a kernel-chosen port.
fd_guard listen_loopback(std::uint16_t& port) {
  fd_guard l{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (l.get() < 0)
    fail_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    fail_errno("bind");
  if (::listen(l.get(), 64) != 0)
    fail_errno("listen");
  socklen_t len = sizeof a;
  ::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return l;
}

fd_guard connect_loopback(std::uint16_t port) {
  fd_guard c{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (c.get() < 0)
    fail_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    fail_errno("connect");
  no_delay(c.get());
  return c;
}

fd_guard accept_one(int listener) {
  fd_guard s{::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)};
  if (s.get() < 0)
    fail_errno("accept");
  no_delay(s.get());
  return s;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail_errno("write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads whatever is available (at least one byte); 0 on EOF.
std::size_t read_some(int fd, char* buf, std::size_t cap) {
  for (;;) {
    auto n = ::read(fd, buf, cap);
    if (n >= 0)
      return static_cast<std::size_t>(n);
    if (errno != EINTR)
      fail_errno("read");
  }
}

void read_exact(int fd, char* buf, std::size_t n) {
  while (n > 0) {
    auto got = read_some(fd, buf, n);
    if (got == 0)
      throw std::runtime_error("peer closed the connection");
    buf += got;
    n -= got;
  }
}

// --- secure channel over a blocking socket ------------------------------------

// Drives a channel until it is established: sends its output, feeds it what
// arrives. Application bytes that arrive with the last handshake message
// are kept in `plain`.
void handshake_over(int fd, runtime::secure_channel& ch, std::string& plain) {
  char buf[4096];
  for (;;) {
    if (ch.has_output())
      write_all(fd, ch.take_output());
    if (ch.established())
      return;
    auto n = read_some(fd, buf, sizeof buf);
    if (n == 0)
      throw std::runtime_error("peer closed the connection during the handshake");
    must(ch.feed({buf, n}, plain), "handshake");
  }
}

// Reads records until `want` plaintext bytes are there.
void receive_plain(int fd, runtime::secure_channel& ch, std::string& plain, std::size_t want) {
  char buf[4096];
  while (plain.size() < want) {
    auto n = read_some(fd, buf, sizeof buf);
    if (n == 0)
      throw std::runtime_error("peer closed the connection");
    must(ch.feed({buf, n}, plain), "record");
  }
}

runtime::channel_options bench_channel_options() {
  runtime::channel_options o;
  o.link_secret = link_secret;
  return o;
}

// --- measurements -------------------------------------------------------------

measurement handshake_in_memory(std::size_t n) {
  latency_recorder lat;
  lat.reserve(n);
  phase_timer timer;
  std::string plain;
  for (std::size_t i = 0; i < n; ++i) {
    auto t0 = bench_clock::now();
    runtime::secure_channel a{runtime::channel_role::initiator, bench_channel_options()};
    runtime::secure_channel b{runtime::channel_role::responder, bench_channel_options()};
    for (int step = 0; step < 8 && !(a.established() && b.established()); ++step) {
      if (a.has_output())
        must(b.feed(a.take_output(), plain), "responder");
      if (b.has_output())
        must(a.feed(b.take_output(), plain), "initiator");
    }
    if (!a.established() || !b.established())
      throw std::runtime_error("in-memory handshake did not finish");
    lat.add(t0, bench_clock::now());
  }
  measurement m;
  m.timing = timer.elapsed();
  m.ops = n;
  m.latency = lat.summarize();
  return m;
}

// TCP connect plus the full handshake, both ends in this process.
measurement handshake_over_tcp(std::size_t n) {
  std::uint16_t port = 0;
  auto listener = listen_loopback(port);
  std::promise<void> server_done;
  auto server_result = server_done.get_future();
  std::thread server{[&] {
    try {
      for (std::size_t i = 0; i < n; ++i) {
        auto s = accept_one(listener.get());
        runtime::secure_channel ch{runtime::channel_role::responder, bench_channel_options()};
        std::string plain;
        handshake_over(s.get(), ch, plain);
        // One byte back, so the client's clock stops when both sides are done.
        must(ch.send("!"), "send");
        write_all(s.get(), ch.take_output());
      }
      server_done.set_value();
    } catch (...) {
      server_done.set_exception(std::current_exception());
    }
  }};
  latency_recorder lat;
  lat.reserve(n);
  phase_timer timer;
  try {
    for (std::size_t i = 0; i < n; ++i) {
      auto t0 = bench_clock::now();
      auto c = connect_loopback(port);
      runtime::secure_channel ch{runtime::channel_role::initiator, bench_channel_options()};
      std::string plain;
      handshake_over(c.get(), ch, plain);
      receive_plain(c.get(), ch, plain, 1);
      lat.add(t0, bench_clock::now());
    }
  } catch (...) {
    listener.reset();
    server.join();
    throw;
  }
  server.join();
  server_result.get();
  measurement m;
  m.timing = timer.elapsed();
  m.ops = n;
  m.latency = lat.summarize();
  return m;
}

// Raw TCP ping-pong (or the same through the secure channel's record layer):
// the floor under any messaging over loopback TCP.
measurement tcp_ping_pong(std::size_t n, std::size_t bytes, bool sealed) {
  std::uint16_t port = 0;
  auto listener = listen_loopback(port);
  std::promise<void> server_done;
  auto server_result = server_done.get_future();
  std::thread server{[&] {
    try {
      auto s = accept_one(listener.get());
      std::string buf(bytes, '\0');
      if (!sealed) {
        for (std::size_t i = 0; i < n; ++i) {
          read_exact(s.get(), buf.data(), bytes);
          write_all(s.get(), buf);
        }
      } else {
        runtime::secure_channel ch{runtime::channel_role::responder, bench_channel_options()};
        std::string plain;
        handshake_over(s.get(), ch, plain);
        for (std::size_t i = 0; i < n; ++i) {
          receive_plain(s.get(), ch, plain, bytes);
          must(ch.send(std::string_view{plain}.substr(0, bytes)), "send");
          plain.erase(0, bytes);
          write_all(s.get(), ch.take_output());
        }
      }
      server_done.set_value();
    } catch (...) {
      server_done.set_exception(std::current_exception());
    }
  }};
  latency_recorder lat;
  lat.reserve(n);
  measurement m;
  try {
    auto c = connect_loopback(port);
    std::string msg(bytes, 'p');
    std::string buf(bytes, '\0');
    runtime::secure_channel ch{runtime::channel_role::initiator, bench_channel_options()};
    std::string plain;
    if (sealed)
      handshake_over(c.get(), ch, plain);
    phase_timer timer;
    for (std::size_t i = 0; i < n; ++i) {
      auto t0 = bench_clock::now();
      if (!sealed) {
        write_all(c.get(), msg);
        read_exact(c.get(), buf.data(), bytes);
      } else {
        must(ch.send(msg), "send");
        write_all(c.get(), ch.take_output());
        receive_plain(c.get(), ch, plain, bytes);
        plain.erase(0, bytes);
      }
      lat.add(t0, bench_clock::now());
    }
    m.timing = timer.elapsed();
  } catch (...) {
    listener.reset();
    server.join();
    throw;
  }
  server.join();
  server_result.get();
  m.ops = n;
  m.latency = lat.summarize();
  return m;
}

// --- CAF round trips ----------------------------------------------------------

using echo_actor = caf::typed_actor<caf::replies_to<std::string>::with<std::string>>;

echo_actor::behavior_type echo() {
  return {[](std::string& s) { return std::move(s); }};
}

struct ping_run {
  latency_recorder latencies;
  std::size_t warmup = 0;
  std::promise<void> done;
};

// One request at a time; each reply sends the next request.
void ping(caf::event_based_actor* self, echo_actor target, std::string msg, std::size_t left,
          std::shared_ptr<ping_run> run) {
  auto t0 = bench_clock::now();
  self->request(target, caf::infinite, std::move(msg))
    .then(
      [=](std::string& reply) {
        if (run->warmup > 0)
          --run->warmup;
        else
          run->latencies.add(t0, bench_clock::now());
        if (left > 1)
          ping(self, target, std::move(reply), left - 1, run);
        else
          run->done.set_value();
      },
      [=](caf::error& e) {
        run->done.set_exception(std::make_exception_ptr(
          std::runtime_error("echo request failed: " + self->system().render(e))));
      });
}

runtime::scheduler_options scheduling(const channel_bench_options& o) {
  runtime::scheduler_options s;
  s.threads = o.threads;
  s.low_latency = true;
  return s;
}

measurement caf_round_trips(caf::actor_system& client, echo_actor remote,
                            const channel_bench_options& o) {
  auto run = std::make_shared<ping_run>();
  std::size_t warmup = std::min<std::size_t>(1000, o.round_trips / 10);
  run->warmup = warmup;
  run->latencies.reserve(o.round_trips);
  auto finished = run->done.get_future();
  phase_timer timer;
  client.spawn([=](caf::event_based_actor* self) {
    ping(self, remote, std::string(o.message_bytes, 'p'), o.round_trips + warmup, run);
  });
  if (finished.wait_for(std::chrono::minutes(5)) != std::future_status::ready)
    throw std::runtime_error("CAF round trips did not finish within 5 minutes");
  finished.get();
  measurement m;
  m.timing = timer.elapsed();
  m.ops = o.round_trips + warmup;
  m.latency = run->latencies.summarize();
  return m;
}

// Plain BASP, as CAF ships it, on loopback only: the baseline the secure
// middleman is measured against. Blaze itself never publishes this way.
measurement plain_basp(const channel_bench_options& o) {
  runtime::system_config server_cfg{scheduling(o)};
  server_cfg.load<caf::io::middleman>();
  server_cfg.set("middleman.enable-automatic-connections", false);
  runtime::system_config client_cfg{scheduling(o)};
  client_cfg.load<caf::io::middleman>();
  client_cfg.set("middleman.enable-automatic-connections", false);
  caf::actor_system server{server_cfg};
  caf::actor_system client{client_cfg};
  auto e = server.spawn(echo);
  auto port = server.middleman().publish(e, 0, "127.0.0.1");
  if (!port)
    throw std::runtime_error("publish: " + server.render(port.error()));
  auto remote = client.middleman().remote_actor<echo_actor>("127.0.0.1", *port);
  if (!remote)
    throw std::runtime_error("remote_actor: " + client.render(remote.error()));
  auto m = caf_round_trips(client, *remote, o);
  server.middleman().unpublish(e, *port);
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  return m;
}

measurement secure_basp(const channel_bench_options& o) {
  runtime::system_config server_cfg{scheduling(o)};
  runtime::enable_secure_middleman(server_cfg);
  runtime::system_config client_cfg{scheduling(o)};
  runtime::enable_secure_middleman(client_cfg);
  caf::actor_system server{server_cfg};
  caf::actor_system client{client_cfg};
  auto e = server.spawn(echo);
  auto port = must(runtime::secure_publish(server, e, 0, link_secret), "secure_publish");
  auto remote = must(runtime::secure_remote_actor<echo_actor>(client, "127.0.0.1", port,
                                                              link_secret),
                     "secure_remote_actor");
  auto m = caf_round_trips(client, remote, o);
  must(runtime::secure_unpublish(server, e, port), "secure_unpublish");
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  return m;
}

std::string us(double ns) {
  return format_ns_as_us(ns) + " µs";
}

void progress(std::ostream& log, const char* what, const measurement& m) {
  log << "  " << what << ": p50 " << us(m.latency.p50_ns) << ", p99 " << us(m.latency.p99_ns)
      << " (" << m.latency.count << " samples)\n";
}

} // namespace

report run_channel_bench(const channel_bench_options& o, std::ostream& log) {
  if (o.handshakes == 0 || o.round_trips == 0 || o.message_bytes == 0 || o.threads == 0)
    throw std::invalid_argument("counts, message size and threads must be positive");
  report r;
  r.suite = "channel";
  r.parameters = {{"handshakes", o.handshakes},
                  {"round_trips", o.round_trips},
                  {"message_bytes", o.message_bytes},
                  {"scheduler_threads", o.threads},
                  {"scheduler", "work stealing, idle workers poll without sleeping"}};

  log << "handshakes\n";
  auto hs_mem = handshake_in_memory(o.handshakes);
  progress(log, "in memory", hs_mem);
  auto hs_tcp = handshake_over_tcp(std::max<std::size_t>(1, o.handshakes / 10));
  progress(log, "over loopback TCP", hs_tcp);

  log << "round trips of " << o.message_bytes << " B\n";
  auto raw = tcp_ping_pong(o.round_trips, o.message_bytes, false);
  progress(log, "raw TCP", raw);
  auto sealed = tcp_ping_pong(o.round_trips, o.message_bytes, true);
  progress(log, "secure channel over TCP", sealed);
  auto plain = plain_basp(o);
  progress(log, "plain CAF BASP", plain);
  auto secure = secure_basp(o);
  progress(log, "secure middleman", secure);

  {
    comparison_row row;
    row.benchmark = "handshake, in memory";
    row.unit = "µs";
    row.blaze = hs_mem.latency.p50_ns / 1000;
    bool met = hs_mem.latency.p50_ns / 1e6 <= handshake_goal_ms;
    row.notes = std::string("p50, both sides' CPU (ECDH P-256 ×2, HKDF, HMAC); goal ≤ 1 ms: ")
                + (met ? "met" : "MISSED");
    row.details["measurement"] = hs_mem;
    r.rows.push_back(std::move(row));
  }
  {
    comparison_row row;
    row.benchmark = "connect + handshake, TCP";
    row.unit = "µs";
    row.blaze = hs_tcp.latency.p50_ns / 1000;
    bool met = hs_tcp.latency.p50_ns / 1e6 <= handshake_goal_ms;
    row.notes = std::string("p50, loopback, until the first record arrives; goal ≤ 1 ms: ")
                + (met ? "met" : "MISSED");
    row.details["measurement"] = hs_tcp;
    r.rows.push_back(std::move(row));
  }
  {
    comparison_row row;
    row.benchmark = "round trip, secure channel vs raw TCP";
    row.unit = "µs";
    row.blaze = sealed.latency.p50_ns / 1000;
    row.raw = raw.latency.p50_ns / 1000;
    row.notes = "p50, blocking sockets, no actors: the record layer's own cost";
    row.details["secure"] = sealed;
    row.details["raw"] = raw;
    r.rows.push_back(std::move(row));
  }
  {
    comparison_row row;
    row.benchmark = "round trip, secure middleman vs plain BASP";
    row.unit = "µs";
    row.blaze = secure.latency.p50_ns / 1000;
    row.raw = plain.latency.p50_ns / 1000;
    double ratio = secure.latency.p50_ns / plain.latency.p50_ns;
    row.notes = std::string("p50, typed request/response between two actor systems; goal ≤ ")
                + format_ratio(secure_goal_ratio) + "×: " + (ratio <= secure_goal_ratio ? "met" : "MISSED")
                + "; raw TCP p50 " + us(raw.latency.p50_ns);
    row.details["secure"] = secure;
    row.details["plain"] = plain;
    r.rows.push_back(std::move(row));
  }
  r.latencies.push_back({"handshake in memory", hs_mem.latency});
  r.latencies.push_back({"connect + handshake TCP", hs_tcp.latency});
  r.latencies.push_back({"raw TCP round trip", raw.latency});
  r.latencies.push_back({"secure channel round trip", sealed.latency});
  r.latencies.push_back({"plain BASP round trip", plain.latency});
  r.latencies.push_back({"secure middleman round trip", secure.latency});
  return r;
}

} // namespace blaze::bench
