// Links between processes over Unix sockets: ops flow only the way the mode
// allows, a wrong secret or an unknown database is refused, a peer that
// sends ops against the link's direction is cut off, and a link re-dialled
// after its peer was killed resumes with nothing lost or applied twice.
#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/socket_link.hpp"
#include "blaze/runtime/link_protocol.hpp"
#include "blaze/runtime/system_config.hpp"
#include "scratch_path.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace blaze;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir() {
  auto p = blaze_test::fresh_dir("link");
  fs::create_directories(p);
  return p;
}

// The peer process, driven by line commands (tests/actors/link_peer.cpp).
class peer_process {
public:
  peer_process(const fs::path& db, const fs::path& socket, const std::string& secret = {}) {
    int in[2], out[2];
    BOOST_REQUIRE(::pipe(in) == 0 && ::pipe(out) == 0);
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      if (secret.empty())
        ::execl(BLAZE_LINK_PEER, BLAZE_LINK_PEER, db.c_str(), socket.c_str(), nullptr);
      else
        ::execl(BLAZE_LINK_PEER, BLAZE_LINK_PEER, db.c_str(), socket.c_str(), secret.c_str(),
                nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = ::fdopen(in[1], "w");
    from_ = ::fdopen(out[0], "r");
    BOOST_REQUIRE_EQUAL(line(), "READY");
  }
  ~peer_process() {
    if (pid_ > 0) {
      std::fputs("quit\n", to_);
      std::fflush(to_);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (to_)
      std::fclose(to_);
    if (from_)
      std::fclose(from_);
  }
  std::string command(const std::string& c) {
    std::fputs((c + "\n").c_str(), to_);
    std::fflush(to_);
    return line();
  }
  std::uint64_t count() {
    auto l = command("count");
    BOOST_REQUIRE(l.rfind("COUNT ", 0) == 0);
    return std::stoull(l.substr(6));
  }
  void kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

private:
  std::string line() {
    char buf[256];
    if (!std::fgets(buf, sizeof buf, from_))
      return "<eof>";
    std::string s{buf};
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
      s.pop_back();
    return s;
  }
  pid_t pid_ = -1;
  std::FILE* to_ = nullptr;
  std::FILE* from_ = nullptr;
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

  void put(const std::string& id, std::int64_t n) {
    caf::scoped_actor self{*sys};
    self->request(db, 5s, put_atom_v, std::string{"c"}, id, field_map{{"n", n}})
      .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
  }
  std::uint64_t count() {
    caf::scoped_actor self{*sys};
    std::uint64_t n = 0;
    self->request(db, 5s, count_atom_v, std::string{"c"})
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
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
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
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    BOOST_REQUIRE(reader.feed({buf, static_cast<std::size_t>(n)}, frames).ok());
  }
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

BOOST_AUTO_TEST_SUITE_END()
