// Soak: three blaze-node processes replicating "notes" in a triangle and
// three clients writing to them, while nodes are killed (-9) and restarted
// and client links are cut and restored at random. Bounded in time
// (BLAZE_SOAK_SECONDS of faults, default 30). At the end every replica,
// clients and nodes alike, holds the same records, and every write a client's
// database acknowledged is among them.
#include "cluster.hpp"

#include "blaze/storage/database.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace blaze_test::cluster;
using blaze_test::free_tcp_port;
using blaze_test::scratch_dir;

namespace {

std::chrono::seconds soak_duration() {
  const char* env = std::getenv("BLAZE_SOAK_SECONDS");
  int s = env ? std::atoi(env) : 0;
  return std::chrono::seconds(s > 0 ? s : 30);
}

// Every record of collection "notes", as id -> fields.
using contents = std::map<std::string, field_map>;

contents client_contents(caf::actor_system& sys, client& c) {
  contents out;
  caf::scoped_actor self{sys};
  self->request(c.db, 30s, list_atom_v, std::string{"notes"}, std::uint64_t{0}, std::string{})
    .receive(
      [&](std::vector<record>& rs) {
        for (auto& r : rs)
          out.emplace(r.id, r.fields);
      },
      [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  return out;
}

contents node_contents(const fs::path& node_dir, const std::string& node_name) {
  open_options o;
  auto db = database::open("notes", node_dir / "data" / "notes", "notes password " + node_name, o);
  BOOST_REQUIRE_MESSAGE(db.ok(), (db ? "" : db.error().to_string()));
  contents out;
  auto rs = (*db)->list("notes", 0, {});
  BOOST_REQUIRE(rs.ok());
  for (auto& r : *rs)
    out.emplace(r.id, r.fields);
  return out;
}

// A client that writes until told to stop: new records of its own, and
// updates of a few records every client writes (conflicts). It remembers
// every write its database acknowledged.
struct writer {
  client& c;
  std::string name;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::set<std::string> acknowledged; // ids
  std::thread thread;

  writer(client& cl, std::string n) : c(cl), name(std::move(n)) {
    thread = std::thread{[this] { run(); }};
  }
  ~writer() { finish(); }
  void finish() {
    stop = true;
    if (thread.joinable())
      thread.join();
  }
  void run() {
    caf::scoped_actor self{c.sys};
    std::mt19937 rng{std::hash<std::string>{}(name)};
    for (int i = 0; !stop; ++i) {
      bool shared = rng() % 4 == 0;
      auto id = shared ? "shared-" + std::to_string(rng() % 5) : name + "-" + std::to_string(i);
      field_map f{{"by", name}, {"n", std::int64_t{i}}};
      bool ok = false;
      self->request(c.db, 10s, put_atom_v, std::string{"notes"}, id, std::move(f))
        .receive([&](op&) { ok = true; }, [](caf::error&) {});
      if (ok) {
        std::lock_guard<std::mutex> g{mu};
        acknowledged.insert(id);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 5));
    }
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(soak, sync_fixture)

BOOST_AUTO_TEST_CASE(random_kills_and_cuts_lose_no_acknowledged_write) {
  auto seed = static_cast<unsigned>(std::random_device{}());
  BOOST_TEST_MESSAGE("soak seed " << seed << ", " << soak_duration().count() << " s of faults");
  std::mt19937 rng{seed};
  std::vector<std::uint16_t> ports{free_tcp_port(), free_tcp_port(), free_tcp_port()};
  auto peer = [&](std::uint16_t port) {
    return "\n[[peer]]\ndatabase = \"notes\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port)
           + "\n";
  };
  std::vector<std::string> names{"node-a", "node-b", "node-c"};
  std::vector<std::unique_ptr<node_process>> nodes;
  nodes.push_back(std::make_unique<node_process>(dir.path(), names[0], ports[0]));
  nodes.push_back(std::make_unique<node_process>(dir.path(), names[1], ports[1], peer(ports[0])));
  nodes.push_back(
    std::make_unique<node_process>(dir.path(), names[2], ports[2], peer(ports[0]) + peer(ports[1])));
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<client>(*sys, dir.path(), "client-" + std::to_string(i)));
    clients.back()->sync(ports[i]);
  }
  std::vector<std::unique_ptr<writer>> writers;
  for (int i = 0; i < 3; ++i)
    writers.push_back(std::make_unique<writer>(*clients[i], "w" + std::to_string(i)));

  std::vector<bool> down(3, false);
  std::vector<bool> cut(3, false);
  int kills = 0, cuts = 0;
  auto deadline = std::chrono::steady_clock::now() + soak_duration();
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    auto i = rng() % 3;
    switch (rng() % 4) {
      case 0: // kill -9 a node, or bring a dead one back
      case 1:
        if (!down[i]) {
          nodes[i]->kill9();
          down[i] = true;
          ++kills;
        } else {
          nodes[i]->start();
          down[i] = false;
        }
        break;
      default: // cut a client's link, or restore it
        if (!cut[i]) {
          BOOST_REQUIRE(clients[i]->topo->disconnect(clients[i]->link).ok());
          cut[i] = true;
          ++cuts;
        } else {
          clients[i]->sync(ports[i]);
          cut[i] = false;
        }
    }
  }
  for (auto& w : writers)
    w->finish();
  for (int i = 0; i < 3; ++i) {
    if (down[i])
      nodes[i]->start();
    if (cut[i])
      clients[i]->sync(ports[i]);
  }
  std::set<std::string> acknowledged;
  for (auto& w : writers)
    acknowledged.insert(w->acknowledged.begin(), w->acknowledged.end());
  BOOST_TEST_MESSAGE(kills << " kills, " << cuts << " cuts, " << acknowledged.size()
                           << " records acknowledged");
  BOOST_TEST(kills + cuts > 0);

  // Converged: every client holds every acknowledged record, and the same
  // contents as the others.
  bool converged = eventually(
    [&] {
      auto first = client_contents(*sys, *clients[0]);
      if (first.size() != acknowledged.size())
        return false;
      for (auto& c : clients)
        if (client_contents(*sys, *c) != first)
          return false;
      return true;
    },
    180s);
  auto reference = client_contents(*sys, *clients[0]);
  BOOST_TEST(converged, "client-0 holds " << reference.size() << " of " << acknowledged.size());
  for (auto& id : acknowledged)
    BOOST_TEST(reference.count(id) == 1u, "acknowledged write " << id << " is missing");
  // The nodes hold the same, read from their stores once they stopped.
  for (auto& c : clients)
    BOOST_REQUIRE_MESSAGE(c->topo->wait_until_synced(60s), "not synced: " << c->topo->graph_json());
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(nodes[i]->stop() == 0);
    auto held = node_contents(dir.path() / names[i], names[i]);
    BOOST_TEST((held == reference), names[i] << " holds " << held.size() << " records, clients "
                                              << reference.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()
