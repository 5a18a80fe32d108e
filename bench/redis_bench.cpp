#include "redis_bench.hpp"

#include "arrivals.hpp"
#include "database_pair.hpp"
#include "ping_pong.hpp"
#include "scratch_dir.hpp"
#include "stats.hpp"

#include <blaze/actors/database_actor.hpp>
#include <blaze/actors/socket_link.hpp>
#include <blaze/runtime/system_config.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace blaze::bench {

namespace {

using namespace std::chrono_literals;


[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    fail_errno("pick a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// --- a redis-server process -------------------------------------------------------

class redis_process {
public:
  redis_process(const std::filesystem::path& binary, const std::filesystem::path& dir,
                std::uint16_t port, std::optional<std::uint16_t> primary) {
    std::filesystem::create_directories(dir);
    // In memory, as fast as it goes: no snapshots, no append-only file
    // (Blaze's writes are not fsynced either).
    std::vector<std::string> args{binary.string(), "--port",        std::to_string(port),
                                  "--bind",        "127.0.0.1",     "--save",
                                  "",              "--appendonly",  "no",
                                  "--dir",         dir.string(),    "--protected-mode",
                                  "no",            "--daemonize",   "no",
                                  "--logfile",     (dir / "redis.log").string()};
    if (primary) {
      args.push_back("--replicaof");
      args.push_back("127.0.0.1");
      args.push_back(std::to_string(*primary));
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0)
      fail_errno("fork");
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~redis_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;
  bool running() {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

private:
  pid_t pid_ = -1;
};

// --- a minimal RESP client ----------------------------------------------------------

struct reply {
  char type = 0;         // + - : $ *
  std::string text;      // simple string, error, bulk string or integer text
  std::vector<reply> elements;
};

class redis_client {
public:
  explicit redis_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      auto e = std::string("connect to redis on port ") + std::to_string(port) + ": "
               + std::strerror(errno);
      if (fd_ >= 0)
        ::close(fd_);
      throw std::runtime_error(e);
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~redis_client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  static void encode(std::string& out, const std::vector<std::string>& args) {
    out += "*" + std::to_string(args.size()) + "\r\n";
    for (auto& a : args)
      out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  }
  void send_raw(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        fail_errno("write to redis");
      done += static_cast<std::size_t>(n);
    }
  }
  void send(const std::vector<std::string>& args) {
    std::string out;
    encode(out, args);
    send_raw(out);
  }
  reply call(const std::vector<std::string>& args) {
    send(args);
    return read();
  }
  // The next reply; throws on EOF or after `limit`.
  reply read(std::chrono::milliseconds limit = 30s) {
    reply r;
    auto line = read_line(limit);
    if (line.empty())
      throw std::runtime_error("empty reply from redis");
    r.type = line[0];
    r.text = line.substr(1);
    if (r.type == '$') {
      auto n = std::stol(r.text);
      r.text.clear();
      if (n >= 0) {
        r.text = read_exact(static_cast<std::size_t>(n) + 2, limit);
        r.text.resize(static_cast<std::size_t>(n));
      }
    } else if (r.type == '*') {
      auto n = std::stol(r.text);
      for (long i = 0; i < n; ++i)
        r.elements.push_back(read(limit));
    }
    return r;
  }

private:
  bool fill(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(limit.count()));
    if (rc <= 0)
      return false;
    char buf[65536];
    auto n = ::read(fd_, buf, sizeof buf);
    if (n <= 0)
      return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  std::string read_line(std::chrono::milliseconds limit) {
    for (;;) {
      auto end = buffer_.find("\r\n", pos_);
      if (end != std::string::npos) {
        auto line = buffer_.substr(pos_, end - pos_);
        pos_ = end + 2;
        compact();
        return line;
      }
      if (!fill(limit))
        throw std::runtime_error("redis did not answer in time");
    }
  }
  std::string read_exact(std::size_t n, std::chrono::milliseconds limit) {
    while (buffer_.size() - pos_ < n)
      if (!fill(limit))
        throw std::runtime_error("redis did not answer in time");
    auto s = buffer_.substr(pos_, n);
    pos_ += n;
    compact();
    return s;
  }
  void compact() {
    if (pos_ > 65536) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
  }
  int fd_ = -1;
  std::string buffer_;
  std::size_t pos_ = 0;
};

void expect_ok(const reply& r, const char* what) {
  if (r.type == '-')
    throw std::runtime_error(std::string(what) + ": " + r.text);
}

// Waits until a server answers PING, then until the replica's link to the
// primary is up.
void await_redis(std::uint16_t port, bool replica) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      redis_client c{port};
      if (c.call({"PING"}).text != "PONG")
        throw std::runtime_error("no PONG");
      if (!replica)
        return;
      auto info = c.call({"INFO", "replication"}).text;
      if (info.find("master_link_status:up") != std::string::npos)
        return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("redis on port " + std::to_string(port) + " did not come up");
}

std::filesystem::path find_redis(const std::filesystem::path& given) {
  if (!given.empty())
    return given;
  for (auto* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (::access(p, X_OK) == 0)
      return p;
  throw std::runtime_error(
    "redis-server not found: scripts/install-deps.sh --bench installs it (Debian's "
    "redis-server), or pass --redis-server");
}

// --- Redis: SET + WAIT 1, SET -> seen on the replica, pipelined throughput ------------

struct redis_results {
  measurement set_wait;    // SET, then WAIT 1: the replica acknowledged it
  measurement set_seen;    // SET, until the replica's keyspace event arrives
  measurement throughput;  // pipelined SETs, then one WAIT 1 for the last
};

redis_results measure_redis(const std::filesystem::path& binary, const scratch_dir& dir,
                            std::size_t samples, std::size_t ops, std::ostream& log) {
  auto pp = free_port(), rp = free_port();
  redis_process primary{binary, dir / "redis-primary", pp, std::nullopt};
  await_redis(pp, false);
  redis_process replica{binary, dir / "redis-replica", rp, pp};
  await_redis(rp, true);
  redis_results out;
  redis_client client{pp};
  const std::string payload = "hello relay";

  log << "redis: SET + WAIT 1\n";
  {
    latency_recorder lat;
    lat.reserve(samples);
    phase_timer timer;
    for (std::size_t i = 0; i < samples; ++i) {
      std::string req;
      redis_client::encode(req, {"SET", "w" + std::to_string(i), payload});
      redis_client::encode(req, {"WAIT", "1", "1000"});
      auto t0 = bench_clock::now();
      client.send_raw(req);
      expect_ok(client.read(), "SET");
      auto acked = client.read();
      auto t1 = bench_clock::now();
      if (acked.type != ':' || acked.text != "1")
        throw std::runtime_error("WAIT 1 did not see the replica: " + acked.text);
      lat.add(t0, t1);
    }
    out.set_wait.timing = timer.elapsed();
    out.set_wait.ops = samples;
    out.set_wait.latency = lat.summarize();
  }

  log << "redis: SET -> keyspace event on the replica\n";
  {
    redis_client config{rp};
    expect_ok(config.call({"CONFIG", "SET", "notify-keyspace-events", "K$"}), "CONFIG SET");
    redis_client events{rp};
    events.send({"SUBSCRIBE", "__keyspace@0__:seen"});
    events.read(); // the subscription's confirmation
    latency_recorder lat;
    lat.reserve(samples);
    phase_timer timer;
    for (std::size_t i = 0; i < samples; ++i) {
      auto t0 = bench_clock::now();
      client.send({"SET", "seen", payload + std::to_string(i)});
      auto event = events.read();
      auto t1 = bench_clock::now();
      expect_ok(client.read(), "SET");
      if (event.type != '*' || event.elements.size() != 3)
        throw std::runtime_error("unexpected message on the replica's subscription");
      lat.add(t0, t1);
    }
    out.set_seen.timing = timer.elapsed();
    out.set_seen.ops = samples;
    out.set_seen.latency = lat.summarize();
  }

  log << "redis: pipelined SETs until the replica acknowledged them all\n";
  {
    phase_timer timer;
    constexpr std::size_t depth = 1000;
    std::size_t sent = 0;
    while (sent < ops) {
      std::string req;
      std::size_t n = std::min(depth, ops - sent);
      for (std::size_t i = 0; i < n; ++i)
        redis_client::encode(req, {"SET", "t" + std::to_string(sent + i), payload});
      client.send_raw(req);
      for (std::size_t i = 0; i < n; ++i)
        expect_ok(client.read(), "SET");
      sent += n;
    }
    auto acked = client.call({"WAIT", "1", "30000"});
    if (acked.type != ':' || acked.text != "1")
      throw std::runtime_error("WAIT 1 after the pipelined SETs did not see the replica");
    out.throughput.timing = timer.elapsed();
    out.throughput.ops = ops;
  }
  if (!primary.running() || !replica.running())
    throw std::runtime_error("a redis-server exited during the run");
  return out;
}

// --- Blaze: A -> B over a TCP link in the secure channel --------------------------------

struct blaze_results {
  measurement latency;
  measurement throughput;
};

blaze_results measure_blaze(caf::actor_system& sys, const scratch_dir& dir, std::size_t samples,
                            std::size_t ops, std::ostream& log) {
  log << "blaze: commit on A -> applied on B (TCP link, secure channel)\n";
  auto latency = relay_latency(sys, dir, samples, transport::tcp).end_to_end;
  log << "blaze: puts on A until B has them all\n";
  return {latency, relay_throughput(sys, dir, ops, transport::tcp)};
}

std::string us(double ns) {
  return format_ns_as_us(ns) + " µs";
}

} // namespace

report run_redis_bench(const redis_bench_options& o, std::ostream& log) {
  if (o.latency_samples == 0 || o.throughput_ops == 0 || o.threads == 0)
    throw std::invalid_argument("counts and threads must be positive");
  auto binary = find_redis(o.redis_server);
  report r;
  r.suite = "redis";
  r.parameters = {{"latency_samples", o.latency_samples},
                  {"throughput_ops", o.throughput_ops},
                  {"scheduler_threads", o.threads},
                  {"redis_server", binary.string()}};
  scratch_dir dir{o.dir};
  auto redis = measure_redis(binary, dir, o.latency_samples, o.throughput_ops, log);
  log << "  SET + WAIT 1 p50 " << us(redis.set_wait.latency.p50_ns) << ", SET -> replica p50 "
      << us(redis.set_seen.latency.p50_ns) << ", "
      << format_rate(redis.throughput.ops_per_s()) << " ops/s\n";

  runtime::scheduler_options sched;
  sched.threads = o.threads;
  sched.low_latency = true;
  runtime::system_config cfg{sched};
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  caf::actor_system sys{cfg};
  auto blaze = measure_blaze(sys, dir, o.latency_samples, o.throughput_ops, log);
  log << "  commit -> on B p50 " << us(blaze.latency.latency.p50_ns) << ", "
      << format_rate(blaze.throughput.ops_per_s()) << " ops/s\n";

  auto add_latency_row = [&](const std::string& name, double blaze_ns, double redis_ns,
                             const std::string& notes) {
    comparison_row row;
    row.benchmark = name;
    row.unit = "µs";
    row.blaze = blaze_ns / 1000;
    row.raw = redis_ns / 1000;
    row.notes = notes;
    row.details["blaze"] = blaze.latency;
    row.details["redis_set_wait"] = redis.set_wait;
    row.details["redis_set_seen"] = redis.set_seen;
    r.rows.push_back(std::move(row));
  };
  add_latency_row("replicated write vs Redis SET + WAIT 1, p50", blaze.latency.latency.p50_ns,
                  redis.set_wait.latency.p50_ns,
                  "Blaze: put on A until applied on B (observed at B); Redis: SET + WAIT 1 "
                  "returns (the replica's ack relayed by the primary)");
  add_latency_row("replicated write vs Redis SET + WAIT 1, p99", blaze.latency.latency.p99_ns,
                  redis.set_wait.latency.p99_ns, "as above, 99th percentile");
  add_latency_row("replicated write vs Redis SET -> replica event, p50",
                  blaze.latency.latency.p50_ns, redis.set_seen.latency.p50_ns,
                  "both one way: until the replica has applied it (Redis: its keyspace "
                  "notification)");
  comparison_row tput;
  tput.benchmark = "replicated writes, throughput";
  tput.blaze = blaze.throughput.ops_per_s();
  tput.raw = redis.throughput.ops_per_s();
  tput.notes = "Blaze: puts on A until B has them all; Redis: SETs pipelined 1000 deep, then "
               "WAIT 1. Redis keeps data in memory; Blaze writes encrypted LevelDB stores";
  tput.details["blaze"] = blaze.throughput;
  tput.details["redis"] = redis.throughput;
  r.rows.push_back(std::move(tput));
  r.latencies.push_back({"blaze commit on A -> applied on B (TCP)", blaze.latency.latency});
  r.latencies.push_back({"redis SET + WAIT 1", redis.set_wait.latency});
  r.latencies.push_back({"redis SET -> replica keyspace event", redis.set_seen.latency});
  r.warnings.push_back("the 'raw' column of this suite is Redis, a real peer, not a raw limit");
  return r;
}

} // namespace blaze::bench
