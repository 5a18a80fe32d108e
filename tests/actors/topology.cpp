// The topology supervisor links databases in process with relays, enforces
// link modes, restarts relays that die, and exports its graph.
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace blaze;
using namespace blaze::actors;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr auto sync_timeout = 20s;

topology_options fast_options() {
  topology_options o;
  o.relay.report_interval = 50ms;
  o.first_backoff = 20ms;
  o.max_backoff = 200ms;
  return o;
}

struct topology_fixture {
  fs::path dir = fs::temp_directory_path()
                 / ("blaze-topology-test-" + std::to_string(::getpid()) + "-"
                    + std::to_string(counter()++));
  runtime::system_config cfg{runtime::scheduler_options{2, false}};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::map<std::string, database_actor> dbs;
  std::unique_ptr<topology> topo = std::make_unique<topology>(sys, fast_options());

  static int& counter() {
    static int n = 0;
    return n;
  }

  topology_fixture() {
    fs::remove_all(dir);
    for (const char* name : {"A", "B", "C"})
      dbs[name] = open(name);
  }
  ~topology_fixture() {
    topo.reset();
    for (auto& [name, db] : dbs) {
      self->send_exit(db, caf::exit_reason::user_shutdown);
      self->wait_for(db);
    }
    fs::remove_all(dir);
  }

  database_actor open(const std::string& name) {
    open_options o;
    o.kdf_log2_n = 10;
    auto r = open_database(sys, name, dir / name, "pw", o);
    BOOST_REQUIRE(r.ok());
    return *r;
  }

  void register_all() {
    for (auto& [name, db] : dbs)
      BOOST_REQUIRE(topo->register_db(db, name).ok());
  }

  link_id connect(const std::string& from, const std::string& to, link_mode mode) {
    auto r = topo->connect_local(from, to, mode);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
    return *r;
  }

  void put(const std::string& db, const std::string& id) {
    self->request(dbs.at(db), 5s, put_atom_v, std::string{"notes"}, id, field_map{{"by", db}})
      .receive([](const op&) {},
               [&](caf::error& e) { BOOST_FAIL("put failed: " << sys.render(e)); });
  }

  bool has(const std::string& db, const std::string& id) {
    bool found = false;
    self->request(dbs.at(db), 5s, get_atom_v, std::string{"notes"}, id)
      .receive([&](std::vector<record>& rs) { found = !rs.empty(); },
               [&](caf::error& e) { BOOST_FAIL("get failed: " << sys.render(e)); });
    return found;
  }

  const link_info* find_link(const std::vector<link_info>& links, link_id id) {
    for (auto& l : links)
      if (l.id == id)
        return &l;
    return nullptr;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(topology, topology_fixture)

BOOST_AUTO_TEST_CASE(register_gives_the_node_id_and_rejects_a_taken_name) {
  auto a = topo->register_db(dbs["A"], "A");
  BOOST_REQUIRE(a.ok());
  node_id expected = 0;
  self->request(dbs["A"], 5s, node_atom_v).receive([&](node_id id) { expected = id; },
                                                   [](caf::error&) {});
  BOOST_TEST(a->id == expected);
  BOOST_TEST(a->name == "A");
  auto dup = topo->register_db(dbs["B"], "A");
  BOOST_REQUIRE(!dup.ok());
  BOOST_TEST((dup.error().code() == errc::already_exists));
  auto same_db = topo->register_db(dbs["A"], "A2");
  BOOST_REQUIRE(!same_db.ok());
  BOOST_TEST((same_db.error().code() == errc::already_exists));
  auto unnamed = topo->register_db(dbs["B"], "");
  BOOST_REQUIRE(!unnamed.ok());
  BOOST_TEST((unnamed.error().code() == errc::invalid_argument));
  auto nodes = topo->nodes();
  BOOST_REQUIRE(nodes.size() == 1u);
  BOOST_TEST(nodes[0].name == "A");
}

BOOST_AUTO_TEST_CASE(connect_rejects_unknown_same_and_duplicate_links) {
  register_all();
  auto unknown = topo->connect_local("A", "Z", link_mode::read_only);
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST((unknown.error().code() == errc::not_found));
  auto self_link = topo->connect_local("A", "A", link_mode::bidirectional);
  BOOST_REQUIRE(!self_link.ok());
  BOOST_TEST((self_link.error().code() == errc::invalid_argument));
  auto id = connect("A", "B", link_mode::read_only);
  auto dup = topo->connect_local("A", "B", link_mode::bidirectional);
  BOOST_REQUIRE(!dup.ok());
  BOOST_TEST((dup.error().code() == errc::already_exists));
  auto reverse = topo->connect_local("B", "A", link_mode::read_only);
  BOOST_REQUIRE(!reverse.ok());
  BOOST_TEST((reverse.error().code() == errc::already_exists));
  auto missing = topo->disconnect(id + 100);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.error().code() == errc::not_found));
  BOOST_TEST(topo->disconnect(id).ok());
  BOOST_TEST(topo->links().empty());
  connect("B", "A", link_mode::read_only); // the pair is free again
  BOOST_TEST(topo->links().size() == 1u);
}

BOOST_AUTO_TEST_CASE(read_only_chain_converges_downstream_only) {
  register_all();
  put("A", "a1");
  put("B", "b1");
  put("C", "c1");
  connect("A", "B", link_mode::read_only);
  connect("B", "C", link_mode::read_only);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  BOOST_TEST(has("B", "a1"));
  BOOST_TEST(has("C", "a1"));
  BOOST_TEST(has("C", "b1"));
  BOOST_TEST(!has("A", "b1"));
  BOOST_TEST(!has("A", "c1"));
  BOOST_TEST(!has("B", "c1"));
  // Writes made while linked travel the same way.
  put("A", "a2");
  put("B", "b2");
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  BOOST_TEST(has("C", "a2"));
  BOOST_TEST(has("C", "b2"));
  BOOST_TEST(!has("A", "b2"));
}

BOOST_AUTO_TEST_CASE(bidirectional_triangle_converges) {
  register_all();
  put("A", "a1");
  put("B", "b1");
  put("C", "c1");
  connect("A", "B", link_mode::bidirectional);
  connect("B", "C", link_mode::bidirectional);
  connect("C", "A", link_mode::bidirectional);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  for (const char* db : {"A", "B", "C"})
    for (const char* id : {"a1", "b1", "c1"})
      BOOST_TEST(has(db, id), db << " lacks " << id);
  put("C", "c2");
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  BOOST_TEST(has("A", "c2"));
  BOOST_TEST(has("B", "c2"));
  for (auto& l : topo->links())
    BOOST_TEST(l.relays.size() == 2u);
}

// A <-> B <-> C: A's ops reach C through B. C's relay back to B knows B
// holds them (B's relay to C says so before each batch) and carries none
// of them; each used to make the trip back, to be dropped as a duplicate.
BOOST_AUTO_TEST_CASE(a_bidirectional_chain_never_carries_ops_back) {
  register_all();
  put("A", "a0"); // before the links: caught up
  connect("A", "B", link_mode::bidirectional);
  connect("B", "C", link_mode::bidirectional);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  for (int i = 1; i <= 50; ++i)
    put("A", "a" + std::to_string(i)); // live
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  BOOST_TEST(has("C", "a50"));
  std::this_thread::sleep_for(200ms); // room for an echo to be sent and acknowledged
  std::map<std::string, std::uint64_t> relayed; // "from->to": ops
  for (auto& l : topo->links())
    for (auto& r : l.relays) {
      BOOST_REQUIRE(r.relay);
      self->request(r.relay, 5s, stats_atom_v)
        .receive([&](relay_stats& st) { relayed[r.from + "->" + r.to] = st.ops_relayed; },
                 [&](caf::error& e) { BOOST_FAIL("stats: " << sys.render(e)); });
    }
  BOOST_TEST(relayed["A->B"] == 51u);
  BOOST_TEST(relayed["B->C"] == 51u);
  BOOST_TEST(relayed["B->A"] == 0u);
  BOOST_TEST(relayed["C->B"] == 0u);
}

BOOST_AUTO_TEST_CASE(write_only_carries_ops_from_to_towards_from) {
  register_all();
  put("A", "a1");
  put("B", "b1");
  auto id = connect("A", "B", link_mode::write_only);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  BOOST_TEST(has("A", "b1"));
  BOOST_TEST(!has("B", "a1"));
  auto links = topo->links();
  auto* link = find_link(links, id);
  BOOST_REQUIRE(link != nullptr);
  BOOST_REQUIRE(link->relays.size() == 1u);
  BOOST_TEST(link->relays[0].from == "B");
  BOOST_TEST(link->relays[0].to == "A");
}

BOOST_AUTO_TEST_CASE(graph_json_lists_running_links_with_zero_lag) {
  register_all();
  put("A", "a1");
  connect("A", "B", link_mode::read_only);
  connect("B", "C", link_mode::bidirectional);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  auto graph = nlohmann::json::parse(topo->graph_json());
  BOOST_REQUIRE(graph["nodes"].size() == 3u);
  for (auto& n : graph["nodes"]) {
    BOOST_TEST(n["node_id"].get<std::string>().size() > 0u);
    BOOST_TEST(n["version_total"].get<std::uint64_t>() >= 1u, n.dump()); // a1 reached all
  }
  BOOST_REQUIRE(graph["links"].size() == 2u);
  for (auto& l : graph["links"]) {
    BOOST_TEST(l["state"] == "running");
    BOOST_TEST(l["lag"] == 0);
    BOOST_TEST(l["transport"] == "in-process");
    BOOST_TEST(l["restarts"] == 0);
    BOOST_TEST(l["last_error"] == "");
  }
  BOOST_TEST(graph["links"][0]["from"] == "A");
  BOOST_TEST(graph["links"][0]["to"] == "B");
  BOOST_TEST(graph["links"][0]["mode"] == "read_only");
  BOOST_TEST(graph["links"][0]["ops_relayed"].get<std::uint64_t>() >= 1u);
  BOOST_TEST(graph["links"][1]["mode"] == "bidirectional");
}

BOOST_AUTO_TEST_CASE(graph_dot_draws_arrows_the_way_ops_flow) {
  register_all();
  connect("A", "B", link_mode::read_only);
  connect("B", "C", link_mode::write_only);
  connect("C", "A", link_mode::bidirectional);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  auto dot = topo->graph_dot();
  BOOST_TEST(dot.rfind("digraph", 0) == 0u);
  BOOST_TEST(dot.back() == '\n');
  BOOST_TEST(dot.find("}\n") == dot.size() - 2);
  // One statement per line: labels carry their line breaks escaped.
  std::istringstream lines{dot};
  for (std::string line; std::getline(lines, line);) {
    char last = line.empty() ? ' ' : line.back();
    BOOST_TEST((last == ';' || last == '{' || last == '}'), "not a DOT statement: " << line);
  }
  for (const char* node : {"\"A\" [", "\"B\" [", "\"C\" ["})
    BOOST_TEST(dot.find(node) != std::string::npos, node);
  BOOST_TEST(dot.find("\"A\" -> \"B\"") != std::string::npos);
  BOOST_TEST(dot.find("\"C\" -> \"B\"") != std::string::npos); // write_only: to -> from
  BOOST_TEST(dot.find("\"B\" -> \"C\"") == std::string::npos);
  BOOST_TEST(dot.find("\"C\" -> \"A\"") != std::string::npos);
  BOOST_TEST(dot.find("dir=both") != std::string::npos);
  BOOST_TEST(dot.find("running, lag 0") != std::string::npos);
  BOOST_TEST(dot.find("red") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_killed_relay_is_restarted_and_data_still_converges) {
  register_all();
  put("A", "a1");
  auto id = connect("A", "B", link_mode::read_only);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  auto links = topo->links();
  auto* link = find_link(links, id);
  BOOST_REQUIRE(link != nullptr);
  BOOST_REQUIRE(link->relays.size() == 1u);
  auto relay = link->relays[0].relay;
  BOOST_REQUIRE(relay);
  self->send_exit(relay, caf::exit_reason::kill);
  self->wait_for(relay);
  put("A", "a2");
  auto deadline = std::chrono::steady_clock::now() + sync_timeout;
  std::uint32_t restarts = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = topo->links();
    restarts = now.at(0).restarts();
    if (restarts >= 1 && now.at(0).relays[0].relay && now.at(0).relays[0].relay != relay)
      break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(restarts >= 1u);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  BOOST_TEST(has("B", "a2"));
  auto after = topo->links();
  BOOST_TEST(after.at(0).last_error().empty() == false);
  BOOST_TEST((after.at(0).state == link_state::running));
}

BOOST_AUTO_TEST_CASE(a_database_going_down_fails_its_links) {
  register_all();
  auto ab = connect("A", "B", link_mode::bidirectional);
  auto bc = connect("B", "C", link_mode::read_only);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  self->send_exit(dbs["C"], caf::exit_reason::user_shutdown);
  self->wait_for(dbs["C"]);
  auto deadline = std::chrono::steady_clock::now() + sync_timeout;
  std::vector<link_info> links;
  while (std::chrono::steady_clock::now() < deadline) {
    links = topo->links();
    if (find_link(links, bc)->state == link_state::failed)
      break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST((find_link(links, bc)->state == link_state::failed));
  BOOST_TEST(find_link(links, bc)->last_error().find("'C'") != std::string::npos);
  BOOST_TEST((find_link(links, ab)->state != link_state::failed));
  BOOST_TEST(topo->graph_dot().find("color=red") != std::string::npos);
  auto c_link = topo->connect_local("A", "C", link_mode::read_only);
  BOOST_TEST(!c_link.ok());
}

BOOST_AUTO_TEST_CASE(destroying_the_topology_stops_every_relay) {
  auto running_before = sys.registry().running();
  auto names_before = sys.registry().named_actors().size();
  register_all();
  connect("A", "B", link_mode::bidirectional);
  connect("B", "C", link_mode::bidirectional);
  BOOST_REQUIRE(topo->wait_until_synced(sync_timeout));
  std::vector<relay_actor> relays;
  for (auto& l : topo->links())
    for (auto& r : l.relays)
      relays.push_back(r.relay);
  BOOST_TEST(relays.size() == 4u);
  auto started = std::chrono::steady_clock::now();
  topo.reset();
  BOOST_TEST((std::chrono::steady_clock::now() - started < 5s));
  BOOST_TEST(sys.registry().named_actors().size() == names_before);
  // Every relay and the supervisor are gone; the databases still answer.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (sys.registry().running() > running_before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(sys.registry().running() <= running_before);
  put("A", "still-here");
  BOOST_TEST(has("A", "still-here"));
}

BOOST_AUTO_TEST_SUITE_END()
