// Links between processes over Unix sockets: ops flow only the way the mode
// allows, a wrong secret or an unknown database is refused, a peer that
// sends ops against the link's direction is cut off, and a link re-dialled
// after its peer was killed resumes with nothing lost or applied twice.
#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/socket_link.hpp"
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/link_protocol.hpp"
#include "blaze/runtime/system_config.hpp"
#include "peer_process.hpp"
#include "scratch_path.hpp"
#include "../support/free_port.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace blaze;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using blaze_test::free_tcp_port;
using blaze_test::peer_process;

fs::path fresh_dir() {
  auto p = blaze_test::fresh_dir("link");
  fs::create_directories(p);
  return p;
}

// A TCP socket of the machine, from /proc/net/tcp and /proc/net/tcp6.
struct tcp_socket {
  std::uint16_t local_port = 0;
  int state = 0;              // 0x0A: listening
  unsigned long rx_queue = 0; // of a listening socket: connections not accepted yet
  std::string inode;
};

std::vector<tcp_socket> tcp_sockets() {
  std::vector<tcp_socket> out;
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
      auto rx = queues.find(':');
      if (colon == std::string::npos || rx == std::string::npos)
        continue;
      out.push_back(tcp_socket{static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1),
                                                                      nullptr, 16)),
                               std::stoi(st, nullptr, 16),
                               std::stoul(queues.substr(rx + 1), nullptr, 16), inode});
    }
  }
  return out;
}

// The inodes of the sockets this process holds open (/proc/self/fd).
std::set<std::string> open_socket_inodes() {
  std::set<std::string> inodes;
  for (auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0)
      inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// The sockets this process holds open whose local port is `port` (a
// listening or an accepted one), by inode.
std::set<std::string> sockets_on_port(std::uint16_t port) {
  auto open = open_socket_inodes();
  std::set<std::string> out;
  for (auto& s : tcp_sockets())
    if (s.local_port == port && open.count(s.inode) != 0)
      out.insert(s.inode);
  return out;
}

// Whether any of `inodes` is still open in this process. (A socket CAF has
// shut down has left /proc/net/tcp, a listening one at once, but its file
// descriptor stays open as long as its owner lives.)
bool holds_any(const std::set<std::string>& inodes) {
  auto open = open_socket_inodes();
  for (auto& i : inodes)
    if (open.count(i) != 0)
      return true;
  return false;
}

// Waits (up to 5 s) until the socket listening on `port` has a connection
// waiting to be accepted: from then on its descriptor is ready.
bool connection_waits_on(std::uint16_t port) {
  for (int i = 0; i < 5000; ++i) {
    for (auto& s : tcp_sockets())
      if (s.local_port == port && s.state == 0x0A && s.rx_queue > 0)
        return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    return fd;
  if (fd >= 0)
    ::close(fd);
  return -1;
}

// A loopback TCP listener that accepts (in the kernel's backlog) and never
// answers: a peer gone silent. Closed at the end of the scope.
struct silent_tcp_listener {
  int fd = -1;
  std::uint16_t port = 0;
  silent_tcp_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    BOOST_REQUIRE(::listen(fd, 4) == 0);
    BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
  }
  ~silent_tcp_listener() {
    if (fd >= 0)
      ::close(fd);
  }
  silent_tcp_listener(const silent_tcp_listener&) = delete;
  silent_tcp_listener& operator=(const silent_tcp_listener&) = delete;
};

// A hand-made link client: a plain connection to a Unix socket.
int connect_unix(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Reads frames from `fd` until the peer closes it (`until_one`: until at
// least one frame arrived).
void read_frames(int fd, runtime::frame_reader& reader, std::vector<runtime::link_frame>& frames,
                 bool until_one = false) {
  char buf[4096];
  while (!(until_one && !frames.empty())) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      BOOST_REQUIRE(!until_one);
      return;
    }
    BOOST_REQUIRE(reader.feed({buf, static_cast<std::size_t>(n)}, frames).ok());
  }
}

// Holds the multiplexer of `sys` (a function posted to it waits) while a
// test sets a scene; once released, the multiplexer handles all that piled
// up meanwhile in one run. The function is posted through two hops of the
// multiplexer's own queue first, so that the run that holds it starts with
// its pipe (through which the first hop came) no longer ready: sockets that
// become ready during the hold are then reported in the order they did.
class multiplexer_hold {
public:
  explicit multiplexer_hold(caf::actor_system& sys) {
    auto& mpx = sys.middleman().backend();
    auto stage = stage_;
    auto hold = [stage] {
      *stage = 1;
      auto give_up = std::chrono::steady_clock::now() + 10s;
      while (*stage < 2 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(1ms);
    };
    mpx.post([&mpx, hold] { mpx.post([&mpx, hold] { mpx.post(hold); }); });
    for (int i = 0; i < 10000 && *stage_ < 1; ++i)
      std::this_thread::sleep_for(1ms);
  }
  ~multiplexer_hold() { release(); }
  bool held() const { return *stage_ == 1; }
  void release() { *stage_ = 2; }

private:
  std::shared_ptr<std::atomic<int>> stage_ = std::make_shared<std::atomic<int>>(0);
};

struct tcp_system_config : runtime::system_config {
  tcp_system_config() {
    load<caf::io::middleman>();
    set("middleman.enable-automatic-connections", false);
  }
};

struct link_fixture {
  fs::path dir = fresh_dir();
  fs::path socket = dir / "peer.sock";
  runtime::system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::database_actor db;

  link_fixture() {
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.enable-automatic-connections", false);
    sys = std::make_unique<caf::actor_system>(cfg);
    open_options o;
    o.kdf_log2_n = 10;
    auto r = actors::open_database(*sys, "local", dir / "local", "pw", o);
    BOOST_REQUIRE(r.ok());
    db = *r;
  }
  ~link_fixture() {
    caf::scoped_actor self{*sys};
    self->send_exit(db, caf::exit_reason::user_shutdown);
    self->wait_for(db);
    fs::remove_all(dir);
  }

  void put(const std::string& id, std::int64_t n, const std::string& coll = "c") {
    caf::scoped_actor self{*sys};
    self->request(db, 5s, put_atom_v, coll, id, field_map{{"n", n}})
      .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
  }
  std::uint64_t count(const std::string& coll = "c") {
    caf::scoped_actor self{*sys};
    std::uint64_t n = 0;
    self->request(db, 5s, count_atom_v, coll)
      .receive([&](std::uint64_t x) { n = x; }, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return n;
  }
  // Polls until `f()` holds or 20 s pass.
  template <class F>
  bool eventually(F f) {
    for (int i = 0; i < 400; ++i) {
      if (f())
        return true;
      std::this_thread::sleep_for(50ms);
    }
    return f();
  }
  void stop(const caf::actor& a) {
    caf::scoped_actor self{*sys};
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->wait_for(a);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(socket_link, link_fixture)

BOOST_AUTO_TEST_CASE(read_only_link_carries_local_writes_to_the_peer_only) {
  peer_process peer{dir / "peer", socket};
  put("before", 1);
  auto link = actors::dial_unix(*sys, db, socket.string(), "peer", actors::link_mode::read_only);
  BOOST_REQUIRE_MESSAGE(link.ok(), (link ? "" : link.error().to_string()));
  put("after", 2);
  BOOST_TEST(eventually([&] { return peer.count() == 2; }));
  peer.command("put theirs 3");
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(count() == 2u); // the peer's write never comes this way
  stop(*link);
}

BOOST_AUTO_TEST_CASE(write_only_link_carries_peer_writes_here_only) {
  peer_process peer{dir / "peer", socket};
  peer.command("put theirs 1");
  auto link = actors::dial_unix(*sys, db, socket.string(), "peer", actors::link_mode::write_only);
  BOOST_REQUIRE_MESSAGE(link.ok(), (link ? "" : link.error().to_string()));
  BOOST_TEST(eventually([&] { return count() == 1; }));
  put("mine", 2);
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(peer.count() == 1u);
  stop(*link);
}

BOOST_AUTO_TEST_CASE(bidirectional_link_converges_both_ways) {
  peer_process peer{dir / "peer", socket, "s3cret"};
  actors::socket_link_options o;
  o.link_secret = "s3cret";
  auto link = actors::dial_unix(*sys, db, socket.string(), "peer",
                                actors::link_mode::bidirectional, o);
  BOOST_REQUIRE_MESSAGE(link.ok(), (link ? "" : link.error().to_string()));
  for (int i = 0; i < 200; ++i) {
    put("mine-" + std::to_string(i), i);
    peer.command("put theirs-" + std::to_string(i) + " " + std::to_string(i));
  }
  BOOST_TEST(eventually([&] { return count() == 400 && peer.count() == 400; }));
  stop(*link);
}

// Frames far larger than the socket's buffer, both ways at once, sealed by
// the secure channel: a link writes what the socket takes at once and hands
// the rest to CAF's stream, and must then queue every later frame behind it.
// A byte out of order breaks a sealed record (the link would end) or a
// frame; every record must arrive whole.
BOOST_AUTO_TEST_CASE(frames_larger_than_the_socket_buffer_arrive_whole_both_ways) {
  open_options oo;
  oo.kdf_log2_n = 10;
  auto b = actors::open_database(*sys, "b", dir / "b", "pw", oo);
  BOOST_REQUIRE(b.ok());
  actors::socket_link_options o;
  o.link_secret = "s3cret";
  auto served = actors::serve_unix(*sys, socket.string(), {{"b", *b}}, o);
  BOOST_REQUIRE_MESSAGE(served.ok(), (served ? "" : served.error().to_string()));
  auto text = [](const std::string& side, int i) {
    std::string t(6000 + i % 97, static_cast<char>('a' + i % 26));
    return side + std::to_string(i) + t;
  };
  caf::scoped_actor self{*sys};
  auto put_on = [&](const actors::database_actor& d, const std::string& side, int i) {
    caf::anon_send(d, put_atom_v, std::string{"c"}, side + std::to_string(i),
                   field_map{{"n", std::int64_t{i}}, {"text", text(side, i)}});
  };
  // A backlog on each side (its catch-up leaves in batches of megabytes),
  // then more writes while the link runs.
  constexpr int n = 1500;
  for (int i = 0; i < n; ++i) {
    put_on(db, "a", i);
    put_on(*b, "b", i);
  }
  auto link = actors::dial_unix(*sys, db, socket.string(), "b",
                                actors::link_mode::bidirectional, o);
  BOOST_REQUIRE_MESSAGE(link.ok(), (link ? "" : link.error().to_string()));
  for (int i = n; i < 2 * n; ++i) {
    put_on(db, "a", i);
    put_on(*b, "b", i);
  }
  auto count_of = [&](const actors::database_actor& d) {
    std::uint64_t c = 0;
    self->request(d, 5s, count_atom_v, std::string{"c"})
      .receive([&](std::uint64_t x) { c = x; }, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return c;
  };
  BOOST_TEST(eventually([&] { return count_of(db) == 4 * n && count_of(*b) == 4 * n; }));
  // Every record whole on both sides.
  int wrong = 0;
  for (auto* d : {&db, &*b})
    for (const char* side : {"a", "b"})
      for (int i = 0; i < 2 * n; i += 7) {
        self->request(*d, 5s, get_atom_v, std::string{"c"}, side + std::to_string(i))
          .receive(
            [&](std::vector<record>& rs) {
              auto* t = rs.empty() ? nullptr : rs[0].field("text");
              if (t == nullptr || *t != value{text(side, i)})
                ++wrong;
            },
            [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
      }
  BOOST_TEST(wrong == 0);
  stop(*link);
  stop(*served);
  self->send_exit(*b, caf::exit_reason::user_shutdown);
  self->wait_for(*b);
}

// The peer as a hub with two spokes: this database and a second one, each
// linked both ways. Ops written here reach the second spoke through the
// peer; its relay back to the peer counts them as held there and sends none
// of them (each used to make the trip back, to be dropped as a duplicate).
BOOST_AUTO_TEST_CASE(ops_that_came_from_the_peer_are_not_sent_back_to_it) {
  peer_process peer{dir / "peer", socket};
  open_options oo;
  oo.kdf_log2_n = 10;
  auto spoke = actors::open_database(*sys, "spoke", dir / "spoke", "pw", oo);
  BOOST_REQUIRE(spoke.ok());
  caf::scoped_actor self{*sys};
  actors::socket_link_options o;
  o.report_to = caf::actor{self};
  auto here = actors::dial_unix(*sys, db, socket.string(), "peer", actors::link_mode::bidirectional);
  auto there = actors::dial_unix(*sys, *spoke, socket.string(), "peer",
                                 actors::link_mode::bidirectional, o);
  BOOST_REQUIRE(here.ok());
  BOOST_REQUIRE(there.ok());
  actors::relay_actor spoke_relay;
  self->receive([&](established_atom, const actors::link_event& ev) { spoke_relay = ev.relay; },
                caf::after(10s) >> [] { BOOST_FAIL("the spoke's link did not come up"); });
  BOOST_REQUIRE(spoke_relay);
  auto spoke_count = [&] {
    std::uint64_t n = 0;
    self->request(*spoke, 5s, count_atom_v, std::string{"c"})
      .receive([&](std::uint64_t x) { n = x; }, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return n;
  };
  auto spoke_relayed = [&] {
    std::uint64_t n = 0;
    self->request(spoke_relay, 5s, stats_atom_v)
      .receive([&](relay_stats& st) { n = st.ops_relayed; },
               [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return n;
  };
  for (int i = 0; i < 100; ++i)
    put("r" + std::to_string(i), i);
  BOOST_TEST(eventually([&] { return peer.count() == 100 && spoke_count() == 100; }));
  // The spoke's own write still goes out, after the hundred (acks come in
  // order, so any of them sent back would be counted first).
  self->request(*spoke, 5s, put_atom_v, std::string{"c"}, std::string{"s1"}, field_map{{"n", 1}})
    .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
  BOOST_TEST(eventually([&] { return count() == 101 && spoke_relayed() >= 1u; }));
  BOOST_TEST(spoke_relayed() == 1u);
  BOOST_TEST(peer.count() == 101u);
  stop(*there);
  stop(*here);
  self->send_exit(*spoke, caf::exit_reason::user_shutdown);
  self->wait_for(*spoke);
}

// A database in front of another whose applies wait until the test opens
// the gate: everything else is passed on at once. It runs detached, so the
// wait holds only its own thread.
actors::database_actor::behavior_type gated_database(actors::database_actor::pointer self,
                                                     actors::database_actor real,
                                                     std::shared_future<void> gate) {
  return {
    [=](put_atom a, std::string& c, std::string& id, field_map& f) {
      return self->delegate(real, a, std::move(c), std::move(id), std::move(f));
    },
    [=](remove_fields_atom a, std::string& c, std::string& id, std::vector<std::string>& fs) {
      return self->delegate(real, a, std::move(c), std::move(id), std::move(fs));
    },
    [=](erase_atom a, std::string& c, std::string& id) {
      return self->delegate(real, a, std::move(c), std::move(id));
    },
    [=](get_atom a, std::string& c, std::string& id) {
      return self->delegate(real, a, std::move(c), std::move(id));
    },
    [=](list_atom a, std::string& c, std::uint64_t limit, std::string& after) {
      return self->delegate(real, a, std::move(c), limit, std::move(after));
    },
    [=](count_atom a, std::string& c) { return self->delegate(real, a, std::move(c)); },
    [=](find_atom a, query& q) { return self->delegate(real, a, std::move(q)); },
    [=](apply_atom a, std::vector<op>& ops) {
      gate.wait();
      return self->delegate(real, a, std::move(ops));
    },
    [=](ops_since_atom a, version_vector& v, std::uint64_t limit) {
      return self->delegate(real, a, std::move(v), limit);
    },
    [=](version_atom a) { return self->delegate(real, a); },
    [=](node_atom a) { return self->delegate(real, a); },
    [=](subscribe_atom a, actors::change_listener& l) {
      return self->delegate(real, a, std::move(l));
    },
    [=](subscribe_atom a, std::uint64_t id, node_id origin) { self->send(real, a, id, origin); },
    [=](unsubscribe_atom a, std::uint64_t id) { self->send(real, a, id); },
  };
}

// A node's links forward what they receive to its other links before the
// node's database has it: client B gets client A's op while the node's
// database still waits to apply it; once it has, the node's relay toward B
// finds the op sent and sends it no second time.
BOOST_AUTO_TEST_CASE(a_node_forwards_ops_to_its_other_links_before_it_commits_them) {
  open_options oo;
  oo.kdf_log2_n = 10;
  auto node_db = actors::open_database(*sys, "node", dir / "node", "pw", oo);
  auto reader = actors::open_database(*sys, "reader", dir / "reader", "pw", oo);
  BOOST_REQUIRE(node_db.ok());
  BOOST_REQUIRE(reader.ok());
  std::promise<void> open_gate;
  auto gate = sys->spawn<caf::detached>(gated_database, *node_db,
                                        open_gate.get_future().share());
  bool opened = false;
  auto open = [&] {
    if (!opened)
      open_gate.set_value();
    opened = true;
  };
  auto served = actors::serve_unix(*sys, socket.string(), {{"node", gate}});
  BOOST_REQUIRE(served.ok());
  caf::scoped_actor self{*sys};
  caf::scoped_actor reports{*sys};
  actors::socket_link_options o;
  o.link_secret = "s3cret";
  auto listener = *served;
  // (The listener above is plain; a second one checks the sealed path.)
  auto sealed_path = (dir / "sealed.sock").string();
  auto served_options = o;
  served_options.report_to = caf::actor{reports};
  auto sealed = actors::serve_unix(*sys, sealed_path, {{"node", gate}}, served_options);
  BOOST_REQUIRE(sealed.ok());
  auto writer_link = actors::dial_unix(*sys, db, socket.string(), "node",
                                       actors::link_mode::read_only);
  auto reader_link = actors::dial_unix(*sys, *reader, sealed_path, "node",
                                       actors::link_mode::write_only, o);
  BOOST_REQUIRE_MESSAGE(writer_link.ok(), (writer_link ? "" : writer_link.error().to_string()));
  BOOST_REQUIRE_MESSAGE(reader_link.ok(), (reader_link ? "" : reader_link.error().to_string()));
  auto count_of = [&](const actors::database_actor& d) {
    std::uint64_t n = 0;
    self->request(d, 5s, count_atom_v, std::string{"c"})
      .receive([&](std::uint64_t x) { n = x; }, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return n;
  };
  auto version_of = [&](const actors::database_actor& d) {
    version_vector v;
    self->request(d, 5s, version_atom_v)
      .receive([&](version_vector& x) { v = std::move(x); },
               [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return v;
  };
  // Three ops: the writer's relay keeps at most four batches in flight,
  // and the node acknowledges a batch only once its database applied it.
  for (int i = 0; i < 3; ++i)
    put("r" + std::to_string(i), i);
  BOOST_TEST(eventually([&] { return count_of(*reader) == 3; }));
  BOOST_TEST(count_of(*node_db) == 0u); // the node's database is still waiting
  open();
  BOOST_TEST(eventually([&] { return count_of(*node_db) == 3; }));
  // The node's own relay then finds them sent: the reader ends where the
  // node does, and later ops follow.
  BOOST_TEST(eventually([&] { return version_of(*reader) == version_of(*node_db); }));
  for (int i = 3; i < 10; ++i)
    put("r" + std::to_string(i), i);
  BOOST_TEST(eventually([&] { return count_of(*reader) == 10 && count_of(*node_db) == 10; }));
  BOOST_TEST((version_of(*reader) == version_of(db)));
  // The link toward the reader reports all ten as relayed, forwarded or
  // not, and none twice (its reports over 1.5 s, six report intervals).
  std::uint64_t relayed = 0;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until)
    reports->receive(
      [&](stats_atom, const actors::relay_actor&, const relay_stats& s) {
        relayed = std::max(relayed, s.ops_relayed);
      },
      [](established_atom, const actors::link_event&) {}, caf::after(300ms) >> [] {});
  BOOST_TEST(relayed == 10u);
  stop(*reader_link);
  stop(*writer_link);
  stop(listener);
  stop(*sealed);
  for (auto& a : {gate, *reader, *node_db})
    stop(caf::actor_cast<caf::actor>(a));
}

// An op the node's database would refuse (stamped more than a year ahead)
// is refused on arrival, with the reason, and never forwarded: the node's
// other links stay up.
BOOST_AUTO_TEST_CASE(an_op_the_database_would_refuse_is_not_forwarded) {
  open_options oo;
  oo.kdf_log2_n = 10;
  auto node_db = actors::open_database(*sys, "node", dir / "node", "pw", oo);
  auto reader = actors::open_database(*sys, "reader", dir / "reader", "pw", oo);
  BOOST_REQUIRE(node_db.ok());
  BOOST_REQUIRE(reader.ok());
  auto served = actors::serve_unix(*sys, socket.string(), {{"node", *node_db}});
  BOOST_REQUIRE(served.ok());
  auto reader_link = actors::dial_unix(*sys, *reader, socket.string(), "node",
                                       actors::link_mode::write_only);
  BOOST_REQUIRE_MESSAGE(reader_link.ok(), (reader_link ? "" : reader_link.error().to_string()));
  caf::scoped_actor self{*sys};
  self->monitor(*reader_link);
  // A hand-made client that sends one op stamped two years ahead.
  int fd = connect_unix(socket);
  runtime::link_hello h;
  h.sends_ops = true;
  h.database = "node";
  h.node = 0x5eed;
  std::string wire;
  runtime::encode_frame(h, wire);
  BOOST_REQUIRE(::write(fd, wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
  // Ops go after the node's hello.
  runtime::frame_reader frames_in;
  std::vector<runtime::link_frame> frames;
  read_frames(fd, frames_in, frames, true);
  BOOST_REQUIRE(std::get_if<runtime::link_hello>(&frames.front()) != nullptr);
  wire.clear();
  op o;
  o.origin = 0x5eed;
  o.seq = 1;
  auto now_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  o.time = make_hlc(now_ms + 2 * 366ull * 24 * 3600 * 1000, 0);
  o.collection = "c";
  o.id = "from-the-future";
  o.fields = {{"n", 1}};
  runtime::encode_frame(runtime::link_ops{1, {o}}, wire);
  BOOST_REQUIRE(::write(fd, wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
  read_frames(fd, frames_in, frames);
  ::close(fd);
  BOOST_REQUIRE(!frames.empty());
  auto* err = std::get_if<runtime::link_error>(&frames.back());
  BOOST_REQUIRE(err != nullptr);
  BOOST_TEST((err->code == errc::invalid_argument));
  BOOST_TEST(err->message.find("a year ahead") != std::string::npos, err->message);
  // The reader's link is still up: it never got the op (its database
  // would have refused it and ended the link).
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(500ms) >> [] {});
  BOOST_TEST(!down);
  // And it still carries the node's ops.
  self->request(*node_db, 5s, put_atom_v, std::string{"c"}, std::string{"ok"},
                field_map{{"n", 2}})
    .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
  auto reader_count = [&] {
    std::uint64_t n = 0;
    self->request(*reader, 5s, count_atom_v, std::string{"c"})
      .receive([&](std::uint64_t x) { n = x; }, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return n;
  };
  BOOST_TEST(eventually([&] { return reader_count() == 1; }));
  stop(*reader_link);
  stop(*served);
  for (auto& d : {*reader, *node_db})
    stop(caf::actor_cast<caf::actor>(d));
}

// Forwarding stays within one actor system: two systems in one process
// number their actors alike, and a database of one must not forward to the
// links of the database with the same number in the other.
BOOST_AUTO_TEST_CASE(forwarding_stays_within_its_actor_system) {
  open_options oo;
  oo.kdf_log2_n = 10;
  struct side {
    runtime::system_config cfg;
    std::unique_ptr<caf::actor_system> sys;
    actors::database_actor node;
    caf::actor listener;
  };
  auto make_side = [&](const std::string& name) {
    auto s = std::make_unique<side>();
    s->cfg.load<caf::io::middleman>();
    s->cfg.set("middleman.enable-automatic-connections", false);
    s->sys = std::make_unique<caf::actor_system>(s->cfg);
    auto node = actors::open_database(*s->sys, "node", dir / (name + "-node"), "pw", oo);
    BOOST_REQUIRE(node.ok());
    s->node = *node;
    auto served = actors::serve_unix(*s->sys, (dir / (name + ".sock")).string(),
                                     {{"node", s->node}});
    BOOST_REQUIRE(served.ok());
    s->listener = *served;
    return s;
  };
  auto one = make_side("one");
  auto two = make_side("two");
  // The premise: both node databases have the same actor id.
  BOOST_REQUIRE_EQUAL(one->node.id(), two->node.id());
  // System one: a reader of its node. System two: a writer to its node.
  auto reader = actors::open_database(*one->sys, "reader", dir / "reader", "pw", oo);
  auto writer = actors::open_database(*two->sys, "writer", dir / "writer", "pw", oo);
  BOOST_REQUIRE(reader.ok());
  BOOST_REQUIRE(writer.ok());
  auto reader_link = actors::dial_unix(*one->sys, *reader, (dir / "one.sock").string(), "node",
                                       actors::link_mode::write_only);
  auto writer_link = actors::dial_unix(*two->sys, *writer, (dir / "two.sock").string(), "node",
                                       actors::link_mode::read_only);
  BOOST_REQUIRE(reader_link.ok());
  BOOST_REQUIRE(writer_link.ok());
  auto count_in = [](caf::actor_system& s, const actors::database_actor& d) {
    caf::scoped_actor self{s};
    std::uint64_t n = 0;
    self->request(d, 5s, count_atom_v, std::string{"c"})
      .receive([&](std::uint64_t x) { n = x; }, [&](caf::error&) {});
    return n;
  };
  {
    caf::scoped_actor self{*two->sys};
    self->request(*writer, 5s, put_atom_v, std::string{"c"}, std::string{"w"},
                  field_map{{"n", 1}})
      .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(two->sys->render(e)); });
  }
  BOOST_TEST(eventually([&] { return count_in(*two->sys, two->node) == 1; }));
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(count_in(*one->sys, *reader) == 0u);
  for (auto* s : {one.get(), two.get()}) {
    caf::scoped_actor self{*s->sys};
    for (auto& a : {caf::actor_cast<caf::actor>(s == one.get() ? *reader_link : *writer_link),
                    s->listener, caf::actor_cast<caf::actor>(s == one.get() ? *reader : *writer),
                    caf::actor_cast<caf::actor>(s->node)}) {
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->wait_for(a);
    }
  }
}

BOOST_AUTO_TEST_CASE(wrong_secret_and_unknown_database_are_refused) {
  peer_process peer{dir / "peer", socket, "right"};
  actors::socket_link_options o;
  o.link_secret = "wrong";
  auto bad = actors::dial_unix(*sys, db, socket.string(), "peer", actors::link_mode::read_only, o);
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST((bad.error().code() == errc::auth_failed), bad.error().to_string());
  o.link_secret = "right";
  auto unknown = actors::dial_unix(*sys, db, socket.string(), "nope",
                                   actors::link_mode::read_only, o);
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST((unknown.error().code() == errc::not_found), unknown.error().to_string());
  auto plain = actors::dial_unix(*sys, db, socket.string(), "peer", actors::link_mode::read_only);
  BOOST_TEST(!plain.ok());
  put("x", 1);
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(ops_sent_against_the_link_direction_are_refused) {
  peer_process peer{dir / "peer", socket};
  // A hand-made client: says it only accepts ops, then sends some anyway.
  int fd = connect_unix(socket);
  runtime::link_hello h;
  h.accepts_ops = true;
  h.database = "peer";
  h.node = 0x5eed;
  std::string wire;
  runtime::encode_frame(h, wire);
  op o;
  o.origin = 0x5eed;
  o.seq = 1;
  o.time = make_hlc(1'700'000'000'000ull, 0);
  o.collection = "c";
  o.id = "smuggled";
  o.fields = {{"n", 1}};
  runtime::encode_frame(runtime::link_ops{1, {o}}, wire);
  BOOST_REQUIRE(::write(fd, wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
  // The peer answers with its hello, then an error frame, then closes.
  runtime::frame_reader reader;
  std::vector<runtime::link_frame> frames;
  read_frames(fd, reader, frames);
  ::close(fd);
  BOOST_REQUIRE(!frames.empty());
  auto* err = std::get_if<runtime::link_error>(&frames.back());
  BOOST_REQUIRE(err != nullptr);
  BOOST_TEST((err->code == errc::protocol_error));
  BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(redialled_link_resumes_after_the_peer_is_killed) {
  auto peer = std::make_unique<peer_process>(dir / "peer", socket);
  auto link = actors::dial_unix(*sys, db, socket.string(), "peer", actors::link_mode::read_only);
  BOOST_REQUIRE(link.ok());
  caf::scoped_actor self{*sys};
  self->monitor(*link);
  for (int i = 0; i < 3000; ++i)
    put("r" + std::to_string(i), i);
  peer->kill();
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  BOOST_TEST(down); // the link notices its peer is gone
  for (int i = 3000; i < 5000; ++i)
    put("r" + std::to_string(i), i);
  peer = std::make_unique<peer_process>(dir / "peer", socket);
  auto again = actors::dial_unix(*sys, db, socket.string(), "peer",
                                 actors::link_mode::read_only);
  BOOST_REQUIRE_MESSAGE(again.ok(), (again ? "" : again.error().to_string()));
  BOOST_TEST(eventually([&] { return peer->count() == 5000; }));
  stop(*again);
}

// CAF 0.17.6's stream holds a reference to its scribe from launch until the
// multiplexer reports the read registration removed, and the multiplexer
// squashes an add and a del of one socket queued in the same run: a link
// launched and closed in one run never entered epoll, that report never
// came, and the scribe leaked with its socket (see socket_link.cpp). Here
// the served database has stopped (the test keeps its handle, as a node
// shutting down holds its databases), and the multiplexer is held while a
// client connects and the listener is told to stop. Its next run accepts
// the connection (the listener forks a link for it) and stops the listener;
// the run after starts the link, which finds its database down and ends:
// launched and closed in one run.
BOOST_AUTO_TEST_CASE(a_connection_accepted_as_the_node_stops_is_closed) {
  std::uint16_t port = 0;
  std::set<std::string> listening;
  int client = -1;
  {
    tcp_system_config node_cfg;
    caf::actor_system node{node_cfg};
    open_options o;
    o.kdf_log2_n = 10;
    auto served = actors::open_database(node, "served", dir / "served", "pw", o);
    BOOST_REQUIRE(served.ok());
    actors::socket_link_options options;
    options.link_secret = "secret";
    auto listener = actors::serve_tcp(node, "127.0.0.1", 0, {{"served", *served}}, options);
    BOOST_REQUIRE_MESSAGE(listener.ok(), (listener ? "" : listener.error().to_string()));
    port = listener->port;
    listening = sockets_on_port(port);
    BOOST_TEST(listening.size() == 1u);
    {
      caf::scoped_actor self{node};
      self->send_exit(*served, caf::exit_reason::user_shutdown);
      self->wait_for(*served);
    }
    multiplexer_hold hold{node};
    BOOST_TEST(hold.held());
    client = connect_loopback(port);
    BOOST_TEST(client >= 0);
    // The listening socket is ready before the multiplexer's pipe, which
    // the exit message makes ready: the next run accepts first.
    BOOST_TEST(connection_waits_on(port));
    caf::anon_send_exit(listener->listener, caf::exit_reason::user_shutdown);
    hold.release();
    // The link must start while the database handle is still held (else it
    // does not watch the database and waits for the hello deadline).
    for (int i = 0; i < 10000 && node.registry().running() > 0; ++i)
      std::this_thread::sleep_for(1ms);
    BOOST_TEST(node.registry().running() == 0u); // the listener and the link ended
  }
  BOOST_TEST(sockets_on_port(port).empty()); // the accepted socket went with its scribe
  BOOST_TEST(!holds_any(listening));
  if (client >= 0)
    ::close(client);
}

// A dialled link that ends in its first run (here: its database stopped
// before the link ran, as when an app shuts down while its topology
// re-dials) must not keep itself alive: the hello deadline used to be a
// request it sent itself, and CAF 0.17 leaves a broker's mailbox as it is
// when the broker ends. Once the link has ended and its deadline has
// passed, nothing may hold it.
BOOST_AUTO_TEST_CASE(a_dialled_link_that_ends_at_once_is_freed) {
  silent_tcp_listener server;
  open_options oo;
  oo.kdf_log2_n = 10;
  auto gone = actors::open_database(*sys, "gone", dir / "gone", "pw", oo);
  BOOST_REQUIRE(gone.ok());
  stop(caf::actor_cast<caf::actor>(*gone));
  caf::actor_addr addr;
  {
    actors::socket_link_options o;
    o.link_secret = "secret";
    // The actor clock holds the link until its hello deadline.
    o.hello_timeout = 1s;
    auto link = actors::dial_tcp(*sys, *gone, "127.0.0.1", server.port, "peer",
                                 actors::link_mode::read_only, o);
    BOOST_REQUIRE_MESSAGE(link.ok(), (link ? "" : link.error().to_string()));
    addr = link->address();
  }
  BOOST_TEST(eventually([&] { return !caf::actor_cast<caf::actor>(addr); }));
}

// A peer that accepts the connection and never answers is cut at the hello
// deadline, with a timeout: over a Unix socket with plain frames, and over
// TCP in the secure channel, whose handshake it never finishes.
BOOST_AUTO_TEST_CASE(a_silent_peer_is_cut_at_the_hello_deadline) {
  silent_tcp_listener tcp_server;
  int unix_server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(unix_server >= 0);
  auto path = (dir / "quiet.sock").string();
  sockaddr_un ua{};
  ua.sun_family = AF_UNIX;
  BOOST_REQUIRE(path.size() < sizeof ua.sun_path);
  std::copy(path.begin(), path.end(), ua.sun_path);
  BOOST_REQUIRE(::bind(unix_server, reinterpret_cast<sockaddr*>(&ua), sizeof ua) == 0);
  BOOST_REQUIRE(::listen(unix_server, 4) == 0);
  open_options oo;
  oo.kdf_log2_n = 10;
  auto db = actors::open_database(*sys, "quiet", dir / "quiet", "pw", oo);
  BOOST_REQUIRE(db.ok());
  for (bool secure : {false, true}) {
    actors::socket_link_options o;
    o.hello_timeout = 300ms;
    auto started = std::chrono::steady_clock::now();
    result<caf::actor> link = blaze::error{errc::invalid_argument, "not dialled"};
    if (secure) {
      o.link_secret = "secret";
      link = actors::dial_tcp(*sys, *db, "127.0.0.1", tcp_server.port, "peer",
                              actors::link_mode::bidirectional, o);
    } else {
      link = actors::start_unix_link(*sys, *db, path, "peer", actors::link_mode::bidirectional,
                                     o);
    }
    BOOST_REQUIRE_MESSAGE(link.ok(), (link ? "" : link.error().to_string()));
    caf::scoped_actor self{*sys};
    self->monitor(*link);
    caf::error reason;
    bool ended = false;
    self->receive(
      [&](caf::down_msg& dm) {
        reason = dm.reason;
        ended = true;
      },
      caf::after(std::chrono::seconds(5)) >> [] {});
    auto took = std::chrono::steady_clock::now() - started;
    auto what = std::string{secure ? "secure: " : "plain: "} + sys->render(reason);
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(ended, what);
    BOOST_TEST((runtime::from_caf_error(reason).code() == errc::timeout), what);
    BOOST_TEST((took >= 300ms), what);
    BOOST_TEST((took < 4s), what);
  }
  stop(caf::actor_cast<caf::actor>(*db));
  ::close(unix_server);
}

// The doorman's side of the same leak: a listener told to stop before it
// ran adds its doorman and closes it in one run. The listening socket has
// left /proc/net/tcp once CAF shut it down, so it is looked for by inode.
BOOST_AUTO_TEST_CASE(a_listener_stopped_before_it_ran_closes_its_socket) {
  std::set<std::string> listening;
  {
    tcp_system_config node_cfg;
    caf::actor_system node{node_cfg};
    multiplexer_hold hold{node};
    BOOST_TEST(hold.held());
    actors::socket_link_options options;
    options.link_secret = "secret";
    auto listener = actors::serve_tcp(node, "127.0.0.1", 0, {}, options);
    BOOST_TEST_REQUIRE(listener.ok());
    listening = sockets_on_port(listener->port);
    BOOST_TEST(listening.size() == 1u);
    caf::anon_send_exit(listener->listener, caf::exit_reason::user_shutdown);
    hold.release();
  }
  BOOST_TEST(!holds_any(listening)); // the listening socket went with its doorman
}

BOOST_AUTO_TEST_SUITE_END()

// The topology drives socket links: it dials without blocking, re-dials with
// backoff when the peer goes away, and shows each link's transport, state,
// lag and last error. The peer serves through its own topology.
BOOST_FIXTURE_TEST_SUITE(topology_unix, link_fixture)

namespace {

actors::topology_options quick_backoff() {
  actors::topology_options o;
  o.first_backoff = 50ms;
  o.max_backoff = 400ms;
  return o;
}

const actors::link_info* find_link(const std::vector<actors::link_info>& links,
                                   actors::link_id id) {
  for (auto& l : links)
    if (l.id == id)
      return &l;
  return nullptr;
}

} // namespace

BOOST_AUTO_TEST_CASE(topologies_in_two_processes_converge_and_show_the_link) {
  peer_process peer{dir / "peer", socket, {}, true};
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_unix("a", socket.string(), "peer", actors::link_mode::bidirectional);
  BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
  for (int i = 0; i < 200; ++i)
    put("a" + std::to_string(i), i);
  for (int i = 0; i < 20; ++i)
    BOOST_REQUIRE_EQUAL(peer.command("put p" + std::to_string(i) + " " + std::to_string(i)), "OK");
  BOOST_TEST(eventually([&] { return count() == 220 && peer.count() == 220; }));
  BOOST_TEST(topo.wait_until_synced(10s));
  // The figures come from the relays' reports (every 250 ms, and at the end
  // of a catch-up): wait for the reports that cover every op.
  BOOST_TEST(eventually([&] {
    auto now = topo.links();
    auto* l = find_link(now, *id);
    return l != nullptr && l->ops_relayed() >= 220u;
  }));
  auto links = topo.links();
  auto* l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->transport == "unix:" + socket.string());
  BOOST_TEST(l->to == "peer@" + socket.string());
  BOOST_TEST((l->state == actors::link_state::running));
  BOOST_TEST(l->peer != 0u);
  BOOST_TEST(l->lag() == 0u);
  BOOST_TEST(l->ops_relayed() >= 220u); // both directions' relays reported
  // The incoming direction's figures come from the peer's relay (progress frames).
  BOOST_REQUIRE(l->relays.size() == 2u);
  for (auto& r : l->relays) {
    BOOST_TEST((r.state == actors::link_state::running));
    BOOST_TEST(r.lag == 0u);
    if (r.to == "a")
      BOOST_TEST(r.ops_relayed == 20u);
    else
      BOOST_TEST(r.ops_relayed == 200u);
  }
  // The serving side shows the link it accepted, seen from its end.
  BOOST_TEST(eventually([&] { return peer.command("links") == "LINKS 1 bidirectional running"; }));
  auto json = topo.graph_json();
  BOOST_TEST(json.find("\"peer_node\"") != std::string::npos);
  BOOST_TEST(topo.graph_dot().find("unix:" + socket.string()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_read_only_topology_link_never_carries_the_peers_ops) {
  peer_process peer{dir / "peer", socket, {}, true};
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer", actors::link_mode::read_only));
  BOOST_REQUIRE_EQUAL(peer.command("put p1 1"), "OK");
  for (int i = 0; i < 50; ++i)
    put("a" + std::to_string(i), i);
  BOOST_TEST(eventually([&] { return peer.count() == 51; }));
  BOOST_TEST(topo.wait_until_synced(10s));
  BOOST_TEST(count() == 50u);
  BOOST_TEST(peer.command("links") == "LINKS 1 read_only running");
}

BOOST_AUTO_TEST_CASE(a_topology_link_is_redialled_after_kill_9_and_nothing_is_lost) {
  auto peer = std::make_unique<peer_process>(dir / "peer", socket, "s3cret", true);
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_unix("a", socket.string(), "peer", actors::link_mode::bidirectional,
                              "s3cret");
  BOOST_REQUIRE(id.ok());
  // Both sides write; the peer is killed mid-stream, after acknowledging 100
  // writes of its own.
  for (int i = 0; i < 100; ++i)
    BOOST_REQUIRE_EQUAL(peer->command("put p" + std::to_string(i) + " " + std::to_string(i)),
                        "OK");
  for (int i = 0; i < 3000; ++i) {
    put("a" + std::to_string(i), i);
    if (i == 1500)
      peer->kill();
  }
  BOOST_TEST(eventually([&] {
    auto links = topo.links();
    auto* l = find_link(links, *id);
    return l && l->state == actors::link_state::restarting && !l->last_error().empty();
  }));
  for (int i = 3000; i < 4000; ++i)
    put("a" + std::to_string(i), i);
  peer = std::make_unique<peer_process>(dir / "peer", socket, "s3cret", true);
  // The topology re-dials by itself; the new relay resumes from the peer's
  // version vector.
  BOOST_TEST(eventually([&] { return peer->count() == 4100 && count() == 4100; }));
  BOOST_TEST(topo.wait_until_synced(10s));
  auto links = topo.links();
  auto* l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST((l->state == actors::link_state::running));
  BOOST_TEST(l->restarts() >= 1u);
}

BOOST_AUTO_TEST_CASE(a_peer_that_is_not_there_yet_is_dialled_until_it_appears) {
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_unix("a", socket.string(), "peer", actors::link_mode::read_only);
  BOOST_REQUIRE(id.ok());
  BOOST_TEST(eventually([&] {
    auto links = topo.links();
    auto* l = find_link(links, *id);
    return l && l->state == actors::link_state::restarting
           && l->last_error().find("cannot connect") != std::string::npos;
  }));
  put("early", 1);
  peer_process peer{dir / "peer", socket, {}, true};
  BOOST_TEST(eventually([&] { return peer.count() == 1; }));
  BOOST_TEST(topo.wait_until_synced(10s));
}

BOOST_AUTO_TEST_CASE(a_wrong_secret_keeps_the_link_down_and_says_why) {
  peer_process peer{dir / "peer", socket, "right", true};
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_unix("a", socket.string(), "peer", actors::link_mode::read_only,
                              "wrong");
  BOOST_REQUIRE(id.ok());
  put("x", 1);
  std::string why;
  BOOST_TEST(eventually([&] {
    auto links = topo.links();
    auto* l = find_link(links, *id);
    why = l ? l->last_error() : "";
    return l && l->state == actors::link_state::restarting && l->restarts() >= 2;
  }));
  BOOST_TEST_MESSAGE("last error: " << why);
  BOOST_TEST(why.find("auth") != std::string::npos);
  BOOST_TEST(peer.count() == 0u);
  BOOST_TEST(peer.command("links") == "LINKS 0");
}


BOOST_AUTO_TEST_CASE(a_tcp_link_converges_and_is_redialled_after_kill_9) {
  auto port = free_tcp_port();
  auto where = "tcp:" + std::to_string(port);
  auto peer = std::make_unique<peer_process>(dir / "peer", where, "tcp-secret", true);
  BOOST_REQUIRE_EQUAL(peer->command("port"), "PORT " + std::to_string(port));
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_tcp("a", "127.0.0.1", port, "peer", actors::link_mode::bidirectional,
                             actors::link_access{"tcp-secret", {}, {}});
  BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE_EQUAL(peer->command("put p" + std::to_string(i) + " 1"), "OK");
  for (int i = 0; i < 1000; ++i)
    put("a" + std::to_string(i), i);
  BOOST_TEST(eventually([&] { return peer->count() == 1010 && count() == 1010; }));
  // A relay shows "running" from its first report (at most 250 ms).
  BOOST_TEST(eventually([&] { return peer->command("links") == "LINKS 1 bidirectional running"; }));
  {
    auto links = topo.links();
    auto* l = find_link(links, *id);
    BOOST_REQUIRE(l != nullptr);
    BOOST_TEST(l->transport == "tcp:127.0.0.1:" + std::to_string(port));
  }
  peer->kill();
  for (int i = 1000; i < 2000; ++i)
    put("a" + std::to_string(i), i);
  peer = std::make_unique<peer_process>(dir / "peer", where, "tcp-secret", true);
  BOOST_TEST(eventually([&] { return peer->count() == 2010; }));
  BOOST_TEST(topo.wait_until_synced(10s));
  auto links = topo.links();
  auto* l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->restarts() >= 1u);
  BOOST_TEST((l->state == actors::link_state::running));
}

// The connections a test's TCP dialer made, in order.
struct dialled_connections {
  std::mutex mtx;
  std::vector<caf::actor> made;
  void add(const caf::actor& a) {
    std::lock_guard<std::mutex> g{mtx};
    made.push_back(a);
  }
  std::vector<caf::actor> all() {
    std::lock_guard<std::mutex> g{mtx};
    return made;
  }
};

// A TCP dialer for topology_options::tcp_dial: dials as dial_tcp does, then
// holds the connection back, `first_delay` on the first call and
// `later_delay` on every later one, and records it in `first` or `later`
// (when given).
using tcp_dialer = decltype(actors::topology_options::tcp_dial);
tcp_dialer delayed_dialer(std::chrono::milliseconds first_delay,
                          std::chrono::milliseconds later_delay,
                          std::shared_ptr<dialled_connections> first = nullptr,
                          std::shared_ptr<dialled_connections> later = nullptr) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  return [=](caf::actor_system& sys, actors::database_actor db, const std::string& host,
             std::uint16_t p, const std::string& remote, actors::link_mode mode,
             actors::socket_link_options o) {
    auto link = actors::dial_tcp(sys, std::move(db), host, p, remote, mode, std::move(o));
    bool is_first = (*calls)++ == 0;
    std::this_thread::sleep_for(is_first ? first_delay : later_delay);
    auto& record = is_first ? first : later;
    if (link && record)
      record->add(*link);
    return link;
  };
}

// A TCP link is dialled by a helper thread, which returns the connection to
// the topology; on a busy machine the link can finish its handshake and
// report "established" before that. The report must not be lost: the link
// would show "starting" for as long as it is up, and wait_until_synced
// would never succeed (seen once in server.soak). The dialer here holds the
// connection back until the report has certainly come.
BOOST_AUTO_TEST_CASE(a_tcp_link_that_is_up_before_its_helper_returns_it_runs) {
  auto port = free_tcp_port();
  auto where = "tcp:" + std::to_string(port);
  auto peer = std::make_unique<peer_process>(dir / "peer", where, "tcp-secret", true);
  BOOST_REQUIRE_EQUAL(peer->command("port"), "PORT " + std::to_string(port));
  auto options = quick_backoff();
  options.tcp_dial = delayed_dialer(700ms, 700ms);
  actors::topology topo{*sys, options};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_tcp("a", "127.0.0.1", port, "peer", actors::link_mode::bidirectional,
                             actors::link_access{"tcp-secret", {}, {}});
  BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
  BOOST_REQUIRE_EQUAL(peer->command("put p 1"), "OK");
  for (int i = 0; i < 100; ++i)
    put("a" + std::to_string(i), i);
  BOOST_TEST(eventually([&] { return peer->count() == 101 && count() == 101; }));
  BOOST_TEST(topo.wait_until_synced(10s));
  auto links = topo.links();
  auto* l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST((l->state == actors::link_state::running));
  BOOST_TEST(l->peer != 0u);
  BOOST_TEST(l->restarts() == 0u);
}

// Whether `a` has ended or ends within `limit` (monitoring an actor that
// is gone delivers its down message at once).
bool ends_within(caf::actor_system& sys, const caf::actor& a, std::chrono::milliseconds limit) {
  caf::scoped_actor self{sys};
  self->monitor(a);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(limit) >> [] {});
  return down;
}

// A topology stopped while a TCP dial is under way: the helper makes its
// connection after the supervisor is gone. The helper ends it (nobody
// would supervise it) and the topology's destructor waits for that. The
// far end never answers, so the connection never reports itself up (a
// report would have the supervisor end it); left alone it would run until
// its hello deadline, and the topology would be gone before the helper.
BOOST_AUTO_TEST_CASE(a_connection_dialled_while_the_topology_stops_ends_with_it) {
  silent_tcp_listener server;
  auto made = std::make_shared<dialled_connections>();
  auto options = quick_backoff();
  options.tcp_dial = delayed_dialer(500ms, 0ms, made);
  {
    actors::topology topo{*sys, options};
    BOOST_REQUIRE(topo.register_db(db, "a").ok());
    auto id = topo.connect_tcp("a", "127.0.0.1", server.port, "peer",
                               actors::link_mode::bidirectional,
                               actors::link_access{"tcp-secret", {}, {}});
    BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
    std::this_thread::sleep_for(100ms); // the helper is dialling
  }
  auto conns = made->all();
  BOOST_REQUIRE_EQUAL(conns.size(), 1u);
  BOOST_TEST(ends_within(*sys, conns[0], 200ms));
}

// A TCP dial that takes longer than the dial timeout is given up: the link
// is re-dialled, and the connection the first dial returns late is ended
// rather than left running beside the link's own.
BOOST_AUTO_TEST_CASE(a_tcp_dial_that_returns_too_late_is_ended_and_the_link_redialled) {
  auto port = free_tcp_port();
  auto peer = std::make_unique<peer_process>(dir / "peer", "tcp:" + std::to_string(port),
                                             "tcp-secret", true);
  BOOST_REQUIRE_EQUAL(peer->command("port"), "PORT " + std::to_string(port));
  auto first = std::make_shared<dialled_connections>(); // what the first dial made
  auto later = std::make_shared<dialled_connections>(); // ... and every later one
  auto options = quick_backoff();
  options.dial_timeout = 1s;
  options.tcp_dial = delayed_dialer(2500ms, 0ms, first, later);
  actors::topology topo{*sys, options};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto id = topo.connect_tcp("a", "127.0.0.1", port, "peer", actors::link_mode::bidirectional,
                             actors::link_access{"tcp-secret", {}, {}});
  BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
  for (int i = 0; i < 50; ++i)
    put("a" + std::to_string(i), i);
  BOOST_REQUIRE_EQUAL(peer->command("put p 1"), "OK");
  BOOST_TEST(eventually([&] { return peer->count() == 51 && count() == 51; }));
  BOOST_REQUIRE(eventually([&] { return first->all().size() == 1; }));
  BOOST_TEST(ends_within(*sys, first->all()[0], 5s));
  BOOST_TEST(topo.wait_until_synced(10s));
  auto links = topo.links();
  auto* l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST((l->state == actors::link_state::running));
  BOOST_TEST(l->restarts() >= 1u);
  auto kept = later->all();
  BOOST_TEST((!kept.empty() && l->connection == kept.back()));
  BOOST_TEST(!ends_within(*sys, l->connection, 100ms));
  // Ops still cross on the link that was kept.
  put("late", 1);
  BOOST_TEST(eventually([&] { return peer->count() == 52; }));
}

BOOST_AUTO_TEST_CASE(sync_prefers_the_unix_socket_falls_back_to_tcp_and_moves_back) {
  auto port = free_tcp_port();
  auto peer = std::make_unique<peer_process>(dir / "peer", "tcp:" + std::to_string(port),
                                             "node-secret", true);
  auto options = quick_backoff();
  options.upgrade_interval = 100ms;
  actors::topology topo{*sys, options};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  actors::remote_database remote{"peer", "127.0.0.1", port, socket.string(), {}};
  actors::sync_policy policy;
  policy.node_secret = "node-secret";
  auto id = topo.enable_sync("a", remote, policy);
  BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
  auto transport = [&] {
    auto links = topo.links();
    auto* l = find_link(links, *id);
    return l && l->state == actors::link_state::running ? l->transport : std::string{};
  };
  // No Unix socket yet: TCP carries the link.
  BOOST_TEST(eventually([&] { return transport() == "tcp:127.0.0.1:" + std::to_string(port); }));
  put("a1", 1);
  BOOST_TEST(eventually([&] { return peer->count() == 1; }));
  // The socket appears: the link moves over to it by itself.
  BOOST_REQUIRE_EQUAL(peer->command("serve " + socket.string()), "OK");
  BOOST_TEST(eventually([&] { return transport() == "unix:" + socket.string(); }));
  put("a2", 2);
  BOOST_REQUIRE_EQUAL(peer->command("put p1 1"), "OK");
  BOOST_TEST(eventually([&] { return peer->count() == 3 && count() == 3; }));
  BOOST_TEST(topo.wait_until_synced(10s));
}

BOOST_AUTO_TEST_CASE(a_database_served_by_this_process_is_linked_in_process) {
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  open_options o;
  o.kdf_log2_n = 10;
  auto b = actors::open_database(*sys, "b", dir / "b", "pw", o);
  BOOST_REQUIRE(b.ok());
  BOOST_REQUIRE(topo.register_db(*b, "b").ok());
  BOOST_REQUIRE(topo.serve_unix(socket.string()).ok());
  auto port = topo.serve_tcp("127.0.0.1", 0, actors::serve_access{"secret", {}, {}, {}});
  BOOST_REQUIRE(port.ok());
  actors::sync_policy policy;
  policy.node_secret = "secret";
  // Through its Unix socket, and through its TCP port: both in process.
  auto id = topo.enable_sync("a", {"b", {}, 0, socket.string(), {}}, policy);
  BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
  auto links = topo.links();
  auto* l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->transport == "in-process");
  put("a1", 1);
  BOOST_TEST(topo.wait_until_synced(10s));
  BOOST_REQUIRE(topo.disconnect(*id).ok());
  id = topo.enable_sync("a", {"b", "127.0.0.1", *port, {}, {}}, policy);
  BOOST_REQUIRE(id.ok());
  links = topo.links();
  l = find_link(links, *id);
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->transport == "in-process");
  auto unknown = topo.enable_sync("a", {"nope", {}, 0, socket.string(), {}}, policy);
  BOOST_TEST(!unknown.ok());
  topo.disconnect(*id);
  caf::scoped_actor self{*sys};
  self->send_exit(*b, caf::exit_reason::user_shutdown);
  self->wait_for(*b);
}

BOOST_AUTO_TEST_CASE(bad_socket_links_are_refused_with_a_clear_error) {
  actors::topology topo{*sys, quick_backoff()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  auto unknown = topo.connect_unix("nobody", socket.string(), "peer",
                                   actors::link_mode::read_only);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error().code() == errc::not_found));
  auto too_long = topo.connect_unix("a", std::string(200, 'x'), "peer",
                                    actors::link_mode::read_only);
  BOOST_REQUIRE(!too_long);
  BOOST_TEST((too_long.error().code() == errc::invalid_argument));
  auto first = topo.connect_unix("a", socket.string(), "peer", actors::link_mode::read_only);
  BOOST_REQUIRE(first.ok());
  auto twice = topo.connect_unix("a", socket.string(), "peer", actors::link_mode::read_only);
  BOOST_REQUIRE(!twice);
  BOOST_TEST((twice.error().code() == errc::already_exists));
  auto plaintext_tcp = topo.connect_tcp("a", "127.0.0.1", 4242, "peer",
                                        actors::link_mode::read_only, actors::link_access{});
  BOOST_REQUIRE(!plaintext_tcp);
  BOOST_TEST((plaintext_tcp.error().code() == errc::invalid_argument));
  auto serve_plain = topo.serve_tcp("127.0.0.1", 0, actors::serve_access{});
  BOOST_REQUIRE(!serve_plain);
  BOOST_TEST((serve_plain.error().code() == errc::invalid_argument));
  BOOST_TEST(topo.disconnect(*first).ok());
  BOOST_TEST(topo.links().empty());
}

BOOST_AUTO_TEST_SUITE_END()

// Access to a served database: a dialler proves an access secret bound to
// the secure channel, the node proves it back, and the link then carries
// only what the grant allows, enforced by the serving side.
BOOST_FIXTURE_TEST_SUITE(link_access, link_fixture)

namespace {

// The last error of the only link, once it has failed at least twice.
std::string refusal(actors::topology& topo, link_fixture& fx) {
  std::string why;
  fx.eventually([&] {
    auto links = topo.links();
    if (links.size() != 1)
      return false;
    why = links[0].last_error();
    return links[0].state == actors::link_state::restarting && links[0].restarts() >= 2;
  });
  BOOST_TEST_MESSAGE("refused: " << why);
  return why;
}

actors::topology_options fast_retry() {
  actors::topology_options o;
  o.first_backoff = 30ms;
  o.max_backoff = 200ms;
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_grant_limits_the_link_to_its_collections_both_ways) {
  peer_process peer{dir / "peer", socket, "node-secret", true, {"--grant", "alice:alice-key:c"}};
  actors::topology topo{*sys, fast_retry()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer", actors::link_mode::bidirectional,
                                  actors::link_access{"node-secret", "alice-key", {}}));
  for (int i = 0; i < 10; ++i)
    put("a" + std::to_string(i), i);
  for (int i = 0; i < 5; ++i)
    put("x" + std::to_string(i), i, "private");
  for (int i = 0; i < 3; ++i)
    BOOST_REQUIRE_EQUAL(peer.command("put p" + std::to_string(i) + " 1"), "OK");
  for (int i = 0; i < 4; ++i)
    BOOST_REQUIRE_EQUAL(peer.command("put s" + std::to_string(i) + " 1 secret"), "OK");
  BOOST_TEST(eventually([&] { return peer.count() == 13 && count() == 13; }));
  BOOST_TEST(topo.wait_until_synced(10s));
  BOOST_TEST(peer.count("private") == 0u); // never pushed: outside the grant
  BOOST_TEST(count("secret") == 0u);       // never served: outside the grant
}

BOOST_AUTO_TEST_CASE(asking_for_more_than_the_grant_is_refused) {
  peer_process peer{dir / "peer", socket, "node-secret", true, {"--grant", "alice:alice-key:c"}};
  BOOST_REQUIRE_EQUAL(peer.command("put s1 1 secret"), "OK");
  actors::topology topo{*sys, fast_retry()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer", actors::link_mode::bidirectional,
                                  actors::link_access{"node-secret", "alice-key",
                                                      {"c", "secret"}}));
  put("a1", 1);
  auto why = refusal(topo, *this);
  BOOST_TEST(why.find("not granted collection 'secret'") != std::string::npos);
  BOOST_TEST(count("secret") == 0u);
  BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_wrong_access_secret_is_refused) {
  peer_process peer{dir / "peer", socket, "node-secret", true, {"--grant", "alice:alice-key:"}};
  BOOST_REQUIRE_EQUAL(peer.command("put p1 1"), "OK");
  actors::topology topo{*sys, fast_retry()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer", actors::link_mode::bidirectional,
                                  actors::link_access{"node-secret", "not-alices-key", {}}));
  put("a1", 1);
  auto why = refusal(topo, *this);
  BOOST_TEST(why.find("did not prove an access secret") != std::string::npos);
  BOOST_TEST(count() == 1u); // only its own record
  BOOST_TEST(peer.count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_node_that_cannot_prove_the_access_secret_gets_nothing) {
  // The serving side has no grants, so it cannot prove the secret back: the
  // dialler takes it for an impostor and sends nothing.
  peer_process peer{dir / "peer", socket, "node-secret", true};
  actors::topology topo{*sys, fast_retry()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer", actors::link_mode::read_only,
                                  actors::link_access{"node-secret", "alice-key", {}}));
  put("a1", 1);
  auto why = refusal(topo, *this);
  BOOST_TEST(why.find("node did not prove") != std::string::npos);
  BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_read_only_grant_may_pull_but_not_push) {
  peer_process peer{dir / "peer", socket, "node-secret", true, {"--grant", "bob:bob-key::ro"}};
  BOOST_REQUIRE_EQUAL(peer.command("put p1 1"), "OK");
  {
    actors::topology topo{*sys, fast_retry()};
    BOOST_REQUIRE(topo.register_db(db, "a").ok());
    BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer",
                                    actors::link_mode::bidirectional,
                                    actors::link_access{"node-secret", "bob-key", {}}));
    put("a1", 1);
    auto why = refusal(topo, *this);
    BOOST_TEST(why.find("may only read") != std::string::npos);
    BOOST_TEST(peer.count() == 1u);
  }
  actors::topology topo{*sys, fast_retry()};
  BOOST_REQUIRE(topo.register_db(db, "a").ok());
  // write_only, seen from (a, peer): ops flow peer -> a only.
  BOOST_REQUIRE(topo.connect_unix("a", socket.string(), "peer", actors::link_mode::write_only,
                                  actors::link_access{"node-secret", "bob-key", {}}));
  BOOST_TEST(eventually([&] { return count() == 2; }));
  BOOST_TEST(peer.count() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
