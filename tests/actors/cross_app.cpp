// Cross-app sharing between two real processes: an exporter (the peer
// process) exports a database to an app group under a policy; this process
// imports it. Only the exported collections and fields cross (checked on the
// bytes), updates arrive live, a read-only export refuses writes, a writable
// one takes them through the normal op path, an unpermitted uid or a wrong
// token is refused, a revoked grant cuts the live link, and the import
// survives the exporter's restart. The manifest is tested on its own too.
#include "blaze/actors/bridge.hpp"
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/link_protocol.hpp"
#include "blaze/runtime/secure_channel.hpp"
#include "blaze/runtime/system_config.hpp"
#include "peer_process.hpp"
#include "scratch_path.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace blaze;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using blaze_test::peer_process;

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

struct share_fixture {
  fs::path dir;
  fs::path group_dir;
  actors::app_group group;
  runtime::system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<actors::topology> topo;

  share_fixture() {
    dir = blaze_test::fresh_dir("share");
    group_dir = dir / "group";
    fs::create_directories(group_dir);
    group = actors::app_group{"tests", group_dir};
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.enable-automatic-connections", false);
    sys = std::make_unique<caf::actor_system>(cfg);
    actors::topology_options o;
    o.first_backoff = 50ms;
    o.max_backoff = 400ms;
    topo = std::make_unique<actors::topology>(*sys, o);
  }
  ~share_fixture() {
    topo.reset();
    fs::remove_all(dir);
  }

  // The exporter: exports collection "notes" (fields `fields`, empty: all).
  std::unique_ptr<peer_process> exporter(const std::string& fields = "title",
                                         bool writable = false,
                                         std::vector<std::string> options = {}) {
    std::vector<std::string> args{"--share", group_dir.string() + ":notes:" + fields
                                               + (writable ? ":rw" : "")};
    args.insert(args.end(), options.begin(), options.end());
    return std::make_unique<peer_process>(dir / "exporter", "-", std::string{}, false, args);
  }

  actors::topology::shared_db import(actors::link_mode mode = actors::link_mode::write_only,
                                     std::string token = {}) {
    actors::topology::import_options o;
    o.token = std::move(token);
    auto shared = topo->connect_to_shared_db(group, "peer", mode, o);
    BOOST_REQUIRE_MESSAGE(shared.ok(), (shared ? "" : shared.error().to_string()));
    return *shared;
  }

  std::uint64_t count(const actors::database_actor& view, const std::string& coll = "notes") {
    caf::scoped_actor self{*sys};
    std::uint64_t n = 0;
    self->request(view, 5s, count_atom_v, coll)
      .receive([&](std::uint64_t x) { n = x; },
               [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return n;
  }
  std::optional<record> get(const actors::database_actor& view, const std::string& id) {
    caf::scoped_actor self{*sys};
    std::optional<record> out;
    self->request(view, 5s, get_atom_v, std::string{"notes"}, id)
      .receive(
        [&](std::vector<record>& rs) {
          if (!rs.empty())
            out = rs[0];
        },
        [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return out;
  }
  // A write through the view: the error's text, empty on success.
  std::string put(const actors::database_actor& view, const std::string& coll,
                  const std::string& id, const std::string& field, const std::string& v) {
    caf::scoped_actor self{*sys};
    std::string why;
    self->request(view, 5s, put_atom_v, coll, id, field_map{{field, v}})
      .receive([](op&) {}, [&](caf::error& e) { why = runtime::from_caf_error(e).to_string(); });
    return why;
  }
  actors::link_info link_of(const actors::topology::shared_db& s) {
    for (auto& l : topo->links())
      if (l.id == s.link)
        return l;
    BOOST_FAIL("no such link");
    return {};
  }
  // The link's last error once it has failed at least twice.
  std::string refusal(const actors::topology::shared_db& s) {
    std::string why;
    eventually([&] {
      auto l = link_of(s);
      why = l.last_error();
      return l.state == actors::link_state::restarting && l.restarts() >= 2;
    });
    BOOST_TEST_MESSAGE("refused: " << why);
    return why;
  }
};

// Reads what an export sends to a dialler that speaks the protocol by hand:
// the decrypted frames, as bytes, for a second.
// With `smuggle`, the dialler also asks to write and sends that op.
std::string frames_sent_to_a_raw_importer(const fs::path& socket, const actors::app_group& g,
                                          std::optional<op> smuggle = std::nullopt) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  runtime::channel_options co;
  co.link_secret = actors::group_link_secret(g);
  runtime::secure_channel channel{runtime::channel_role::initiator, co};
  auto write_all = [&](const std::string& bytes) {
    BOOST_REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  };
  write_all(channel.take_output());
  std::string plain, all_plain;
  bool hello_sent = false;
  auto deadline = std::chrono::steady_clock::now() + 1500ms;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    plain.clear();
    BOOST_REQUIRE(channel.feed({buf, static_cast<std::size_t>(n)}, plain).ok());
    all_plain += plain;
    if (channel.has_output())
      write_all(channel.take_output());
    if (channel.established() && !hello_sent) {
      runtime::link_hello h;
      h.accepts_ops = true;
      h.sends_ops = smuggle.has_value();
      h.database = "peer";
      h.node = 0x5eed;
      std::string wire;
      runtime::encode_frame(h, wire);
      BOOST_REQUIRE(channel.send(wire).ok());
      write_all(channel.take_output());
      hello_sent = true;
    } else if (hello_sent && smuggle && !all_plain.empty()) {
      // The exporter's hello arrived: the link is up, the op goes out.
      std::string wire;
      runtime::encode_frame(runtime::link_ops{1, {*smuggle}}, wire);
      BOOST_REQUIRE(channel.send(wire).ok());
      write_all(channel.take_output());
      smuggle.reset();
    }
  }
  ::close(fd);
  return all_plain;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(cross_app, share_fixture)

BOOST_AUTO_TEST_CASE(the_manifest_lists_exports_and_survives_concurrent_writers) {
  actors::export_entry a;
  a.database = "a";
  a.socket = group_dir / "a.sock";
  a.pid = ::getpid();
  a.policy.collections = {"notes"};
  auto b = a;
  b.database = "b";
  b.policy.fields = {"title"};
  b.policy.read_only = false;
  std::thread t1{[&] {
    for (int i = 0; i < 50; ++i)
      BOOST_REQUIRE(actors::publish_export(group, a).ok());
  }};
  std::thread t2{[&] {
    for (int i = 0; i < 50; ++i)
      BOOST_REQUIRE(actors::publish_export(group, b).ok());
  }};
  t1.join();
  t2.join();
  auto listed = actors::list_exports(group);
  BOOST_REQUIRE(listed.ok());
  BOOST_REQUIRE(listed->size() == 2u); // neither writer lost the other's entry
  for (auto& e : *listed) {
    BOOST_TEST(e.live);
    if (e.database == "b") {
      BOOST_TEST(!e.policy.read_only);
      BOOST_TEST((e.policy.fields == std::vector<std::string>{"title"}));
    }
  }
  // An entry of a process that is gone shows as not live, and is replaced.
  pid_t child = ::fork();
  if (child == 0)
    ::_exit(0);
  ::waitpid(child, nullptr, 0);
  auto stale = a;
  stale.database = "stale";
  stale.pid = child;
  BOOST_REQUIRE(actors::publish_export(group, stale).ok());
  listed = actors::list_exports(group);
  BOOST_REQUIRE(listed.ok());
  for (auto& e : *listed)
    BOOST_TEST(e.live == (e.database != "stale"));
  // Another live process exporting the same name is refused.
  auto rival = a;
  rival.pid = ::getppid();
  auto busy = actors::publish_export(group, rival);
  BOOST_REQUIRE(!busy.ok());
  BOOST_TEST((busy.error().code() == errc::busy), busy.error().to_string());
  BOOST_REQUIRE(actors::withdraw_export(group, "a", ::getpid()).ok());
  listed = actors::list_exports(group);
  BOOST_TEST(listed->size() == 2u);
  BOOST_TEST((actors::list_exports(actors::app_group{"../x", {}}).error().code()
              == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(manifest_entries_with_impossible_pids_or_uids_are_skipped) {
  // Found by fuzz/fuzz_manifest: a float or out-of-range pid or uid was cast
  // (undefined behaviour for 1.5e300; uid -3 became 4294967293).
  auto entry = [](const std::string& db, const std::string& pid, const std::string& uid) {
    return R"({"database":")" + db + R"(","socket":"/s","pid":)" + pid + R"(,"uid":)" + uid
           + R"(,"collections":["notes"],"fields":[],"read_only":true})";
  };
  {
    std::ofstream out{group_dir / "manifest.json"};
    out << R"({"exports":[)" << entry("good", "-1", "4294967295") << ","
        << entry("huge-pid", "1.5e300", "1") << "," << entry("float-pid", "2.5", "1") << ","
        << entry("negative-uid", "1", "-3") << "," << entry("wide-uid", "1", "4294967296") << ","
        << entry("float-uid", "1", "7.0") << "]}";
  }
  auto listed = actors::list_exports(group);
  BOOST_REQUIRE(listed.ok());
  BOOST_REQUIRE(listed->size() == 1u);
  BOOST_TEST(listed->front().database == "good");
  BOOST_TEST(listed->front().pid == -1);
  BOOST_TEST(listed->front().uid == 4294967295u);
}

BOOST_AUTO_TEST_CASE(the_importer_sees_exported_fields_only_and_updates_live) {
  auto ex = exporter("title");
  ex->command("set notes n1 title hello");
  ex->command("set notes n1 secret secret-needle");
  ex->command("set private p1 title private-needle");
  auto shared = import();
  BOOST_TEST(shared.source.policy.read_only);
  BOOST_TEST(eventually([&] { return count(shared.view) == 1; }));
  auto n1 = get(shared.view, "n1");
  BOOST_REQUIRE(n1.has_value());
  BOOST_TEST(n1->fields.count("title") == 1u);
  BOOST_TEST(n1->fields.count("secret") == 0u);
  BOOST_TEST(count(shared.view, "private") == 0u);
  // Live: a change made now arrives without asking.
  ex->command("set notes n2 title later");
  BOOST_TEST(eventually([&] { return count(shared.view) == 2; }));
  // What crossed the socket, decrypted: no field or collection left out.
  auto bytes = frames_sent_to_a_raw_importer(group_dir / "peer.sock", group);
  BOOST_TEST(bytes.find("hello") != std::string::npos); // the exported value did cross
  for (auto needle : {"secret", "private"})
    BOOST_TEST(bytes.find(needle) == std::string::npos, needle << " crossed the socket");
  // The links show on both sides: here as a dialled unix link.
  BOOST_TEST(link_of(shared).transport.find("unix:") == 0u);
}

BOOST_AUTO_TEST_CASE(a_read_only_export_refuses_writes_and_a_writable_one_takes_them) {
  auto ex = exporter("title");
  auto shared = import();
  auto why = put(shared.view, "notes", "mine", "title", "x");
  BOOST_TEST(why.find("permission denied") != std::string::npos, why);
  BOOST_TEST(why.find("read-only") != std::string::npos, why);
  auto pushing = topo->connect_to_shared_db(group, "peer", actors::link_mode::bidirectional);
  BOOST_REQUIRE(!pushing.ok());
  BOOST_TEST((pushing.error().code() == errc::permission_denied));
  ex.reset();

  auto rw = exporter("title", true);
  // The exporter itself refuses an op outside the policy, whatever the
  // importer's side lets through: an error frame, and nothing stored.
  op smuggled;
  smuggled.origin = 0x5eed;
  smuggled.seq = 1;
  smuggled.time = make_hlc(1'700'000'000'000ull, 0);
  smuggled.collection = "notes";
  smuggled.id = "n-smuggled";
  smuggled.fields = {{"secret", value{"x"}}};
  auto answer = frames_sent_to_a_raw_importer(group_dir / "peer.sock", group, smuggled);
  runtime::frame_reader reader;
  std::vector<runtime::link_frame> frames;
  BOOST_REQUIRE(reader.feed(answer, frames).ok());
  BOOST_REQUIRE(!frames.empty());
  auto* err = std::get_if<runtime::link_error>(&frames.back());
  BOOST_REQUIRE(err != nullptr);
  BOOST_TEST((err->code == errc::permission_denied));
  BOOST_TEST(err->message.find("field 'secret'") != std::string::npos, err->message);
  BOOST_TEST(rw->count("notes") == 0u);
  actors::topology::import_options o;
  o.node_name = "rw-import";
  auto writable = topo->connect_to_shared_db(group, "peer", actors::link_mode::bidirectional, o);
  BOOST_REQUIRE_MESSAGE(writable.ok(), (writable ? "" : writable.error().to_string()));
  BOOST_TEST(put(writable->view, "notes", "from-importer", "title", "hi").empty());
  BOOST_TEST(eventually([&] { return rw->count("notes") == 1; }), "exporter has it");
  // Outside the policy: refused here, before anything is written.
  why = put(writable->view, "notes", "from-importer", "secret", "x");
  BOOST_TEST(why.find("does not export field 'secret'") != std::string::npos, why);
  why = put(writable->view, "private", "p", "title", "x");
  BOOST_TEST(why.find("does not export collection 'private'") != std::string::npos, why);
}

BOOST_AUTO_TEST_CASE(unpermitted_uids_and_wrong_tokens_are_refused_and_revoking_cuts_the_link) {
  // Admits uid 4242 (not this process's) and the holder of token "app-b".
  auto ex = exporter("title", false, {"--allow-uid", "4242", "--token", "app-b=b-token-123"});
  ex->command("set notes n1 title hello");
  auto no_token = import();
  BOOST_TEST(refusal(no_token).find("uid " + std::to_string(::getuid()) + " is not permitted")
             != std::string::npos);
  BOOST_TEST(count(no_token.view) == 0u);
  actors::topology::import_options wrong;
  wrong.token = "not-the-token";
  wrong.node_name = "wrong-token";
  auto bad = topo->connect_to_shared_db(group, "peer", actors::link_mode::write_only, wrong);
  BOOST_REQUIRE(bad.ok());
  BOOST_TEST(refusal(*bad).find("did not prove an access secret") != std::string::npos);
  actors::topology::import_options right;
  right.token = "b-token-123";
  right.node_name = "app-b";
  auto good = topo->connect_to_shared_db(group, "peer", actors::link_mode::write_only, right);
  BOOST_REQUIRE(good.ok());
  BOOST_TEST(eventually([&] { return count(good->view) == 1; }));
  // Revoking the grant cuts the live link, and the redial is refused.
  BOOST_TEST(ex->command("revoke app-b") == "CUT 1");
  BOOST_TEST(refusal(*good).find("did not prove") != std::string::npos);
  ex->command("set notes n2 title after-revoke");
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(count(good->view) == 1u); // what it had stays; nothing new arrives
  BOOST_TEST(ex->command("revoke nobody").find("ERROR") == 0u);
}

BOOST_AUTO_TEST_CASE(the_import_survives_the_exporter_restarting) {
  auto ex = exporter("title");
  for (int i = 0; i < 20; ++i)
    ex->command("set notes n" + std::to_string(i) + " title v");
  auto shared = import();
  BOOST_REQUIRE(eventually([&] { return count(shared.view) == 20; }));
  ex->kill();
  ex.reset();
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(count(shared.view) == 20u); // the view keeps what it had
  ex = exporter("title");               // the same store, exported again
  ex->command("set notes after-restart title v");
  BOOST_TEST(eventually([&] { return count(shared.view) == 21; }), count(shared.view));
  BOOST_TEST((link_of(shared).state == actors::link_state::running));
}

BOOST_AUTO_TEST_SUITE_END()
