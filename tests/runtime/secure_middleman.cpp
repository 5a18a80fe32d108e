// CAF remote messaging over the secure channel, between two processes: this
// test and blaze_middleman_peer, which publishes an echo_actor.
#include "middleman_peer.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;
using blaze::errc;
using blaze_test::echo_actor;
using blaze_test::echo_atom_v;
using blaze_test::pid_atom_v;

namespace {

const std::string secret = "team secret for the middleman test";

// A running blaze_middleman_peer. Closing its stdin asks it to exit.
class peer_process {
public:
  explicit peer_process(const std::string& link_secret, std::string handshake_timeout_ms = {}) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::string path = BLAZE_MIDDLEMAN_PEER_PATH;
    std::vector<char*> argv{path.data(), const_cast<char*>(link_secret.c_str())};
    if (!handshake_timeout_ms.empty())
      argv.push_back(handshake_timeout_ms.data());
    argv.push_back(nullptr);
    auto rc = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
    }
    port_ = read_port();
  }

  ~peer_process() {
    stop();
    if (stdout_ >= 0)
      ::close(stdout_);
  }

  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }

  void kill_hard() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Asks the peer to exit and waits (bounded) for it; true if it exited 0.
  bool stop() {
    if (stdin_ >= 0) {
      ::close(stdin_);
      stdin_ = -1;
    }
    if (pid_ <= 0)
      return true;
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      std::this_thread::sleep_for(50ms);
    }
    kill_hard();
    return false;
  }

private:
  std::uint16_t read_port() {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (line.find('\n') == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the peer did not print its port");
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      char buf[256];
      auto n = ::read(stdout_, buf, sizeof(buf));
      if (n <= 0)
        throw std::runtime_error("the peer exited before printing its port");
      line.append(buf, static_cast<std::size_t>(n));
    }
    unsigned port = 0;
    if (std::sscanf(line.c_str(), "PORT %u", &port) != 1 || port == 0 || port > 65535)
      throw std::runtime_error("unexpected peer output: " + line);
    return static_cast<std::uint16_t>(port);
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::uint16_t port_ = 0;
};

int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 8) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot listen on loopback");
  port = ntohs(addr.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
    return fd;
  if (fd >= 0)
    ::close(fd);
  return -1;
}

// Reads until the peer closes `fd` (or `limit` passes); returns the time
// that took in ms, or -1 if the connection stayed open.
long long ms_until_closed(int fd, std::chrono::milliseconds limit) {
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + limit;
  char buf[512];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - started)
        .count();
  }
  return -1;
}

// A local echo actor to publish (what the peer process serves).
echo_actor spawn_echo(caf::actor_system& sys) {
  return sys.spawn([]() -> echo_actor::behavior_type {
    return {
      [](blaze_test::echo_atom, std::string& text) { return std::move(text); },
      [](blaze_test::pid_atom) { return static_cast<std::int32_t>(::getpid()); },
    };
  });
}

// Whether this process still has a TCP socket open whose local port is
// `port` (a listening or an accepted one): /proc/net/tcp maps sockets to
// inodes, /proc/self/fd names the socket inodes this process holds.
bool holds_socket_on_port(std::uint16_t port) {
  std::set<std::string> inodes;
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0)
      inodes.insert(target.substr(8, target.size() - 9));
  }
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in{table};
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      std::istringstream fields{line};
      std::string sl, local, remote, st, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> st >> queues >> timer >> retransmits >> uid >> timeout
        >> inode;
      auto colon = local.rfind(':');
      if (colon == std::string::npos || inodes.count(inode) == 0)
        continue;
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port)
        return true;
    }
  }
  return false;
}

// A TCP forwarder between the test and the peer that records every byte
// that passes, both ways: what an observer on the wire would see.
class recording_proxy {
public:
  explicit recording_proxy(std::uint16_t target) : target_(target) {
    listener_ = listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }

  ~recording_proxy() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::uint16_t port() const { return port_; }

  std::string captured() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return captured_;
  }

private:
  int connect_target() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(target_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  static bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      auto n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  void run() {
    std::vector<std::pair<int, int>> pairs; // (from, to), both directions listed
    std::vector<char> buf(64 * 1024);
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (auto& p : pairs)
        fds.push_back({p.first, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0)
        continue;
      if (fds[0].revents & POLLIN) {
        int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        int server = client >= 0 ? connect_target() : -1;
        if (server >= 0) {
          pairs.emplace_back(client, server);
          pairs.emplace_back(server, client);
        } else if (client >= 0) {
          ::close(client);
        }
      }
      std::vector<int> dead;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto [from, to] = pairs[i - 1];
        auto n = ::recv(from, buf.data(), buf.size(), 0);
        if (n > 0) {
          {
            std::lock_guard<std::mutex> guard{mtx_};
            captured_.append(buf.data(), static_cast<std::size_t>(n));
          }
          if (send_all(to, buf.data(), static_cast<std::size_t>(n)))
            continue;
        }
        dead.push_back(from);
        dead.push_back(to);
      }
      for (int fd : dead) {
        for (auto i = pairs.begin(); i != pairs.end();) {
          if (i->first == fd)
            i = pairs.erase(i);
          else
            ++i;
        }
        ::shutdown(fd, SHUT_RDWR);
      }
      for (int fd : dead)
        ::close(fd); // each pair's fds appear twice in `dead`; the second close fails harmlessly
    }
    for (auto& p : pairs)
      ::close(p.first);
  }

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_;
  std::string captured_;
  std::thread thread_;
};

struct client_config : blaze::runtime::system_config {
  client_config() {
    add_message_types<caf::id_block::blaze_mm_test>();
    blaze::runtime::enable_secure_middleman(*this);
  }
};

struct client_fixture {
  client_config cfg;
  caf::actor_system sys{cfg};
};

// A blocking echo through `remote`; the reply or the error as text.
std::string echo(caf::scoped_actor& self, const echo_actor& remote, const std::string& text,
                 caf::timespan timeout = std::chrono::seconds(30)) {
  std::string reply;
  self->request(remote, timeout, echo_atom_v, text)
    .receive([&](std::string& r) { reply = std::move(r); },
             [&](caf::error& e) { reply = "error: " + caf::to_string(e); });
  return reply;
}

} // namespace

BOOST_AUTO_TEST_SUITE(secure_middleman)

BOOST_FIXTURE_TEST_CASE(typed_requests_reach_an_actor_in_another_process, client_fixture) {
  peer_process peer{secret};
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", peer.port(),
                                                                secret);
  BOOST_TEST_REQUIRE(remote.ok(), (remote.ok() ? "" : remote.error().to_string()));
  caf::scoped_actor self{sys};
  BOOST_TEST(echo(self, *remote, "hello across processes") == "hello across processes");
  std::int32_t remote_pid = 0;
  self->request(*remote, 10s, pid_atom_v)
    .receive([&](std::int32_t pid) { remote_pid = pid; },
             [&](caf::error& e) { BOOST_FAIL("pid request failed: " << caf::to_string(e)); });
  BOOST_TEST(remote_pid == peer.pid());
  // A second lookup of the same endpoint reuses the connection's result.
  auto again = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", peer.port(),
                                                               secret);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(echo(self, *again, "twice") == "twice");
  BOOST_TEST(peer.stop());
}

BOOST_FIXTURE_TEST_CASE(an_8_mib_payload_round_trips, client_fixture) {
  peer_process peer{secret};
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", peer.port(),
                                                                secret);
  BOOST_TEST_REQUIRE(remote.ok(), (remote.ok() ? "" : remote.error().to_string()));
  std::string payload(8 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>((i * 2654435761u) >> 13);
  caf::scoped_actor self{sys};
  auto reply = echo(self, *remote, payload, std::chrono::seconds(60));
  BOOST_TEST(reply.size() == payload.size());
  BOOST_TEST((reply == payload));
  // The connection still carries small messages afterwards.
  BOOST_TEST(echo(self, *remote, "after") == "after");
  BOOST_TEST(peer.stop());
}

BOOST_FIXTURE_TEST_CASE(a_wrong_secret_is_refused_with_a_clear_error, client_fixture) {
  peer_process peer{secret};
  auto started = std::chrono::steady_clock::now();
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", peer.port(),
                                                                "not the team secret");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started)
                .count();
  BOOST_TEST_REQUIRE(!remote.ok());
  BOOST_TEST_MESSAGE("refusal: " << remote.error().to_string());
  auto code = remote.error().code();
  BOOST_TEST((code == errc::auth_failed || code == errc::closed));
  // Refused by the handshake itself, well before any deadline.
  BOOST_TEST(took < 3000);
  // The peer keeps serving clients that know the secret.
  auto good = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", peer.port(),
                                                              secret);
  BOOST_TEST_REQUIRE(good.ok(), (good.ok() ? "" : good.error().to_string()));
  caf::scoped_actor self{sys};
  BOOST_TEST(echo(self, *good, "still here") == "still here");
  // A wrong secret after a right one is refused too (not served from a cache).
  auto wrong_again = blaze::runtime::secure_remote_actor<echo_actor>(
    sys, "127.0.0.1", peer.port(), "not the team secret");
  BOOST_TEST(!wrong_again.ok());
  BOOST_TEST(peer.stop());
}

BOOST_FIXTURE_TEST_CASE(a_silent_peer_times_out_at_the_handshake_deadline, client_fixture) {
  std::uint16_t port = 0;
  int listener = listen_loopback(port); // the kernel accepts; nobody ever answers
  blaze::runtime::channel_options options;
  options.link_secret = secret;
  options.handshake_timeout = 500ms;
  auto started = std::chrono::steady_clock::now();
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", port, options);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started)
                .count();
  ::close(listener);
  BOOST_TEST_REQUIRE(!remote.ok());
  BOOST_TEST_MESSAGE("silent peer: " << remote.error().to_string());
  BOOST_TEST((remote.error().code() == errc::timeout));
  BOOST_TEST(took >= 400);
  BOOST_TEST(took < 3000);
}

BOOST_AUTO_TEST_CASE(a_client_that_never_finishes_the_handshake_is_dropped) {
  peer_process peer{secret, "800"};
  int fd = connect_loopback(peer.port());
  BOOST_TEST_REQUIRE(fd >= 0);
  auto took = ms_until_closed(fd, 5s); // we never send our hello
  ::close(fd);
  BOOST_TEST(took >= 500);
  BOOST_TEST(took < 3000);
  BOOST_TEST(peer.stop());
}

BOOST_AUTO_TEST_CASE(a_client_speaking_another_protocol_is_refused) {
  peer_process peer{secret};
  int fd = connect_loopback(peer.port());
  BOOST_TEST_REQUIRE(fd >= 0);
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  BOOST_TEST(::send(fd, request.data(), request.size(), MSG_NOSIGNAL)
             == static_cast<ssize_t>(request.size()));
  auto took = ms_until_closed(fd, 5s);
  ::close(fd);
  BOOST_TEST(took >= 0);
  BOOST_TEST(took < 2000);
  BOOST_TEST(peer.stop());
}

BOOST_FIXTURE_TEST_CASE(unpublishing_closes_the_port, client_fixture) {
  auto local = spawn_echo(sys);
  auto port = blaze::runtime::secure_publish(sys, local, 0, secret);
  BOOST_TEST_REQUIRE(port.ok(), (port.ok() ? "" : port.error().to_string()));
  int before = connect_loopback(*port);
  BOOST_TEST(before >= 0);
  if (before >= 0)
    ::close(before);
  auto removed = blaze::runtime::secure_unpublish(sys, local, *port);
  BOOST_TEST(removed.ok(), (removed.ok() ? "" : removed.error().to_string()));
  int after = -1;
  for (int i = 0; i < 50 && (after = connect_loopback(*port)) >= 0; ++i) {
    ::close(after); // the doorman closes asynchronously
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(after < 0);
  caf::anon_send_exit(local, caf::exit_reason::user_shutdown);
}

BOOST_FIXTURE_TEST_CASE(killing_the_peer_sends_down_to_a_monitor, client_fixture) {
  peer_process peer{secret};
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", peer.port(),
                                                                secret);
  BOOST_TEST_REQUIRE(remote.ok(), (remote.ok() ? "" : remote.error().to_string()));
  caf::scoped_actor self{sys};
  BOOST_TEST(echo(self, *remote, "before") == "before");
  self->monitor(*remote);
  peer.kill_hard();
  bool down = false;
  self->receive(
    [&](caf::down_msg& dm) {
      down = dm.source == remote->address();
      BOOST_TEST_MESSAGE("down: " << caf::to_string(dm.reason));
    },
    caf::after(std::chrono::seconds(15)) >> [] {});
  BOOST_TEST(down);
}

BOOST_FIXTURE_TEST_CASE(no_plaintext_crosses_the_wire, client_fixture) {
  peer_process peer{secret};
  recording_proxy proxy{peer.port()};
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", proxy.port(),
                                                                secret);
  BOOST_TEST_REQUIRE(remote.ok(), (remote.ok() ? "" : remote.error().to_string()));
  const std::string marker = "PLAINTEXT-MARKER-5b1e-do-not-leak-5b1e";
  caf::scoped_actor self{sys};
  BOOST_TEST(echo(self, *remote, marker) == marker);
  BOOST_TEST(echo(self, *remote, marker + marker) == marker + marker);
  auto wire = proxy.captured();
  BOOST_TEST_MESSAGE("captured " << wire.size() << " bytes");
  BOOST_TEST(wire.size() > 2 * marker.size());
  BOOST_TEST(wire.find("BLZC") != std::string::npos); // the channel's hello did pass here
  BOOST_TEST(wire.find(marker) == std::string::npos);
  BOOST_TEST(wire.find("PLAINTEXT-MARKER") == std::string::npos);
  // BASP's own plaintext (type names of the interface) stays sealed too.
  BOOST_TEST(wire.find("replies_to") == std::string::npos);
  BOOST_TEST(wire.find("@str") == std::string::npos);
  BOOST_TEST(peer.stop());
}

// CAF 0.17.6's stream holds a reference to its scribe from launch until the
// multiplexer reports the read registration removed. The multiplexer queues
// registrations and squashes an add and a del of one socket queued in the
// same run, so a connection that is launched and closed in one run never
// enters epoll, that report never comes, and the scribe leaked with its
// socket and channel. Here the multiplexer is held (by a function posted to
// it) while a client connects and the system begins to stop: its next run
// accepts the connection (BASP launches the scribe) and then stops the BASP
// broker, which closes it. The ready list of epoll is in the order the
// sockets became ready, hence the two hops through the multiplexer's own
// queue first: the run that held it then starts with the pipe (through
// which it was posted) no longer ready.
BOOST_AUTO_TEST_CASE(a_connection_accepted_as_the_system_stops_is_closed) {
  std::atomic<int> stage{0}; // 1: the multiplexer is held; 2: the system stops
  std::uint16_t published = 0;
  int client = -1;
  {
    client_config cfg;
    caf::actor_system sys{cfg};
    auto local = spawn_echo(sys);
    auto port = blaze::runtime::secure_publish(sys, local, 0, secret);
    BOOST_TEST_REQUIRE(port.ok(), (port.ok() ? "" : port.error().to_string()));
    published = *port;
    auto& mpx = sys.middleman().backend();
    auto hold = [&stage] {
      stage = 1;
      auto give_up = std::chrono::steady_clock::now() + 10s;
      while (stage < 2 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(1ms);
      // Until the system has asked the multiplexer to stop the broker.
      std::this_thread::sleep_for(300ms);
    };
    mpx.post([&mpx, hold] { mpx.post([&mpx, hold] { mpx.post(hold); }); });
    for (int i = 0; i < 10000 && stage < 1; ++i)
      std::this_thread::sleep_for(1ms);
    BOOST_TEST_REQUIRE(stage.load() == 1);
    client = connect_loopback(published);
    BOOST_TEST(client >= 0);
    caf::anon_send_exit(local, caf::exit_reason::user_shutdown);
    stage = 2;
  }
  BOOST_TEST(!holds_socket_on_port(published)); // the accepted socket went with its scribe
  if (client >= 0)
    ::close(client);
}

BOOST_FIXTURE_TEST_CASE(publishing_and_connecting_need_the_module_and_a_secret, client_fixture) {
  auto remote = blaze::runtime::secure_remote_actor<echo_actor>(sys, "127.0.0.1", 1, "");
  BOOST_TEST_REQUIRE(!remote.ok());
  BOOST_TEST((remote.error().code() == errc::invalid_argument));
  blaze::runtime::system_config plain_cfg;
  plain_cfg.load<caf::io::middleman>();
  caf::actor_system plain{plain_cfg};
  auto none = blaze::runtime::secure_remote_actor<echo_actor>(plain, "127.0.0.1", 1, secret);
  BOOST_TEST_REQUIRE(!none.ok());
  BOOST_TEST((none.error().code() == errc::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()
