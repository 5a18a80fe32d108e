// What the remote-sync suites share: a real blaze-node process hosting
// "notes" on a fixed sync port (so it comes back on the same one after a
// restart), an embedding client with its own database and topology, and the
// fixture holding the actor system. Every wait is bounded.
#pragma once

#include "child_process.hpp"
#include "scratch_dir.hpp"
#include "../support/free_port.hpp"

#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace blaze_test::cluster {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace blaze;


inline const std::string node_path = BLAZE_NODE_PATH;
inline const std::string node_secret = "cluster node secret";
inline const std::string notes_sync = "notes sync secret";
inline const std::string reader_key = "reader key";


template <class F>
bool eventually(F f, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

// One blaze-node hosting "notes" (grants: "sync" for everything, "reader"
// for collection "notes" only, read-only), serving sync on a fixed port so
// that it comes back on the same one after a restart.
class node_process {
public:
  // `prefix` runs the node through another command (ip netns exec ...).
  node_process(const fs::path& dir, const std::string& name, std::uint16_t sync_port,
               const std::string& peers_toml = {}, const std::string& sync_host = "127.0.0.1",
               std::vector<std::string> prefix = {})
    : dir_(dir / name), sync_port_(sync_port), prefix_(std::move(prefix)) {
    fs::create_directories(dir_ / "secrets");
    write_file(dir_ / "secrets/node.secret", node_secret + "\n");
    write_file(dir_ / "secrets/notes.password", "notes password " + name + "\n");
    write_file(dir_ / "secrets/notes.sync", notes_sync + "\n");
    write_file(dir_ / "secrets/reader.key", reader_key + "\n");
    write_file(dir_ / "node.toml", R"([node]
name = ")" + name + R"("
data_dir = "data"
secret_file = "secrets/node.secret"

[listen]
host = "127.0.0.1"
port = 0

[sync]
host = ")" + sync_host + R"("
port = )" + std::to_string(sync_port) + R"(

[log]
level = "info"

[[database]]
name = "notes"
password_file = "secrets/notes.password"
sync_secret_file = "secrets/notes.sync"

[[database.grant]]
name = "reader"
secret_file = "secrets/reader.key"
collections = ["notes"]
read_only = true
)" + peers_toml);
    start();
  }

  void start() {
    fs::remove(dir_ / "sync.port");
    auto argv = prefix_;
    for (auto& a : {node_path, std::string{"--config"}, (dir_ / "node.toml").string(),
                    std::string{"--sync-port-file"}, (dir_ / "sync.port").string()})
      argv.push_back(a);
    process_ = std::make_unique<child_process>(argv, dir_ / "node.out", dir_ / "node.err");
    bool up = eventually([&] { return fs::exists(dir_ / "sync.port"); }, 20s);
    BOOST_REQUIRE_MESSAGE(up, "node did not start: " + slurp(dir_ / "node.err"));
  }
  void kill9() {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
  int stop() {
    process_->signal(SIGTERM);
    return process_->exit_code(30s);
  }
  std::uint16_t sync_port() const { return sync_port_; }
  std::string log() const { return slurp(dir_ / "node.err"); }

private:
  fs::path dir_;
  std::uint16_t sync_port_;
  std::vector<std::string> prefix_;
  std::unique_ptr<child_process> process_;
};

// An embedding application: its own database and topology, synced with a
// node through enable_sync.
struct client {
  actors::database_actor db;
  std::unique_ptr<actors::topology> topo;
  actors::link_id link = 0;
  caf::actor_system& sys;

  client(caf::actor_system& s, const fs::path& dir, const std::string& name) : sys(s) {
    open_options o;
    o.kdf_log2_n = 10;
    auto r = actors::open_database(sys, name, dir / name, "client password", o);
    BOOST_REQUIRE(r.ok());
    db = *r;
    actors::topology_options to;
    to.first_backoff = 50ms;
    to.max_backoff = 500ms;
    topo = std::make_unique<actors::topology>(sys, to);
    BOOST_REQUIRE(topo->register_db(db, name).ok());
  }
  ~client() {
    topo.reset();
    caf::scoped_actor self{sys};
    self->send_exit(db, caf::exit_reason::user_shutdown);
    self->wait_for(db);
  }
  void sync(std::uint16_t port, actors::sync_policy policy = default_policy(),
            const std::string& host = "127.0.0.1") {
    auto id = topo->enable_sync(topo->nodes().front().name,
                                actors::remote_database{"notes", host, port, {}, {}}, policy);
    BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
    link = *id;
  }
  void sync_db(const std::string& database, std::uint16_t port, actors::sync_policy policy) {
    auto id = topo->enable_sync(topo->nodes().front().name,
                                actors::remote_database{database, "127.0.0.1", port, {}, {}},
                                std::move(policy));
    BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
    link = *id;
  }
  // A field of a record ("" when the record or field is missing).
  std::string field(const std::string& coll, const std::string& id, const std::string& name) {
    caf::scoped_actor self{sys};
    std::string out;
    self->request(db, 10s, get_atom_v, coll, id)
      .receive(
        [&](std::vector<record>& rs) {
          if (!rs.empty() && rs[0].fields.count(name) && rs[0].fields.at(name).as_string())
            out = *rs[0].fields.at(name).as_string();
        },
        [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
    return out;
  }
  void set(const std::string& coll, const std::string& id, const std::string& name,
           const std::string& v) {
    caf::scoped_actor self{sys};
    self->request(db, 10s, put_atom_v, coll, id, field_map{{name, v}})
      .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  }
  void sync_to(actors::remote_database remote) {
    auto id = topo->enable_sync(topo->nodes().front().name, std::move(remote), default_policy());
    BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().to_string()));
    link = *id;
  }
  static actors::sync_policy default_policy() {
    actors::sync_policy p;
    p.node_secret = node_secret;
    p.access_secret = notes_sync;
    return p;
  }
  void put(const std::string& id, const std::string& coll = "notes") {
    caf::scoped_actor self{sys};
    self->request(db, 10s, put_atom_v, coll, id, field_map{{"by", id}})
      .receive([](op&) {}, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  }
  std::uint64_t count(const std::string& coll = "notes") {
    caf::scoped_actor self{sys};
    std::uint64_t n = 0;
    self->request(db, 10s, count_atom_v, coll)
      .receive([&](std::uint64_t x) { n = x; }, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
    return n;
  }
  // The first link as text, for failure messages: its state, and each
  // relay's state, lag, ops relayed and last error.
  std::string link_status() {
    auto links = topo->links();
    if (links.empty())
      return "no link";
    auto& l = links[0];
    std::string out = std::string("link ") + actors::to_string(l.state) + ", restarts "
                      + std::to_string(l.restarts()) + ", last error '" + l.last_error() + "'";
    for (auto& r : l.relays)
      out += "; relay " + r.from + " -> " + r.to + " " + actors::to_string(r.state) + ", lag "
             + std::to_string(r.lag) + ", relayed " + std::to_string(r.ops_relayed)
             + ", error '" + r.last_error + "'";
    return out;
  }
  // The link's last error once it failed at least twice.
  std::string refusal() {
    std::string why;
    eventually([&] {
      auto links = topo->links();
      if (links.empty())
        return false;
      why = links[0].last_error();
      return links[0].state == actors::link_state::restarting && links[0].restarts() >= 2;
    });
    BOOST_TEST_MESSAGE("refused: " << why);
    return why;
  }
};

struct sync_fixture {
  scratch_dir dir{"sync"};
  runtime::system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  sync_fixture() {
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.enable-automatic-connections", false);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

} // namespace blaze_test::cluster
