// The real blaze-node process: started on 127.0.0.1 with port 0 (it writes
// the bound port to --port-file), asked for status through the library and
// through the `blaze` CLI, refusing a wrong secret, stopped by SIGTERM or
// SIGINT with exit code 0, and its databases reopened afterwards with their
// data. Every wait is bounded.
#include "child_process.hpp"
#include "describe.hpp"
#include "scratch_dir.hpp"
#include "store_contents.hpp"
#include "test_stores.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/status.hpp"
#include "blaze/storage/database.hpp"

#include <caf/actor_system.hpp>

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <map>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using blaze::errc;
using blaze_test::child_process;
using blaze_test::client_config;
using blaze_test::describe;
using blaze_test::run_command;
using blaze_test::scratch_dir;
using blaze_test::slurp;
using blaze_test::write_file;

namespace {

const std::string node_path = BLAZE_NODE_PATH;
const std::string cli_path = BLAZE_CLI_PATH;
const std::string node_secret = "e2e node secret";

void make_store(const fs::path& path, const std::string& name, const std::string& password) {
  blaze_test::make_store(path, name, password, "written before the node started");
}

// A config with two databases (alpha holding a record, beta created by the
// node) linked both ways, the status endpoint on 127.0.0.1, port 0.
struct node_setup {
  scratch_dir dir{"e2e"};
  fs::path config = dir / "node.toml";
  fs::path port_file = dir / "port";
  fs::path out = dir / "node.out";
  fs::path err = dir / "node.err";

  explicit node_setup(const std::string& alpha_password = "alpha password") {
    fs::create_directories(dir / "secrets");
    write_file(dir / "secrets/node.secret", node_secret + "\n");
    write_file(dir / "secrets/alpha.password", alpha_password + "\n");
    write_file(dir / "secrets/alpha.sync", "alpha sync\n");
    write_file(dir / "secrets/beta.password", "beta password\n");
    write_file(dir / "secrets/beta.sync", "beta sync\n");
    make_store(dir / "data/alpha", "alpha", "alpha password");
    write_file(config, R"(
[node]
name = "node-e2e"
data_dir = "data"
secret_file = "secrets/node.secret"

[listen]
host = "127.0.0.1"
port = 7420

[[database]]
name = "alpha"
password_file = "secrets/alpha.password"
sync_secret_file = "secrets/alpha.sync"

[[database]]
name = "beta"
password_file = "secrets/beta.password"
sync_secret_file = "secrets/beta.sync"

[[link]]
from = "alpha"
to = "beta"
)");
  }

  // blaze-node on port 0 (the override beats the file's 7420).
  std::unique_ptr<child_process> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{node_path, "--config",    config.string(),   "--port",
                                  "0",       "--port-file", port_file.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<child_process>(argv, out, err);
  }

  // The port the node wrote, or 0 when it exited or took too long.
  std::uint16_t wait_for_port(child_process& node, std::chrono::milliseconds timeout = 60s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(port_file)) {
        auto text = slurp(port_file);
        if (!text.empty())
          return static_cast<std::uint16_t>(std::stoul(text));
      }
      if (!node.running())
        return 0;
      std::this_thread::sleep_for(20ms);
    }
    return 0;
  }

  std::string log() const { return slurp(err); }
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(end_to_end)

BOOST_AUTO_TEST_CASE(a_node_serves_status_and_stops_cleanly_on_sigterm) {
  node_setup setup;
  auto node = setup.start({"--log-format", "json"});
  auto port = setup.wait_for_port(*node);
  BOOST_REQUIRE_MESSAGE(port != 0, "blaze-node did not report a port; its log:\n" << setup.log());
  auto endpoint = "127.0.0.1:" + std::to_string(port);

  {
    client_config cfg;
    caf::actor_system sys{cfg};
    // Through the library. The link syncs alpha's record into beta.
    blaze::result<blaze::node_status> status{blaze::error{errc::timeout, "not asked"}};
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      status = blaze::server::fetch_status(sys, "127.0.0.1", port, node_secret);
      BOOST_REQUIRE_MESSAGE(status, describe(status));
      bool synced = status->databases.size() == 2 && status->databases[1].version_total >= 1 &&
                    status->links.size() == 1 && status->links[0].state == "running" &&
                    status->links[0].lag == 0;
      if (synced || std::chrono::steady_clock::now() >= deadline)
        break;
      std::this_thread::sleep_for(50ms);
    }
    BOOST_TEST(status->name == "node-e2e");
    BOOST_REQUIRE(status->databases.size() == 2u);
    BOOST_TEST(status->databases[0].name == "alpha");
    BOOST_TEST(status->databases[0].version_total >= 1u);
    BOOST_TEST(status->databases[1].name == "beta");
    BOOST_TEST(status->databases[1].version_total >= 1u);
    BOOST_REQUIRE(status->links.size() == 1u);
    BOOST_TEST(status->links[0].state == "running");

    auto refused = blaze::server::fetch_status(sys, "127.0.0.1", port, "not the node secret");
    BOOST_REQUIRE(!refused);
    BOOST_TEST(static_cast<int>(refused.error().code()) == static_cast<int>(errc::auth_failed));
  }

  // Through the CLI: text with the secret from a file, JSON with it from
  // the environment, and a wrong secret refused.
  auto text = run_command({cli_path, "status", "--node", endpoint, "--secret-file",
                           (setup.dir / "secrets/node.secret").string()},
                          setup.dir.path());
  BOOST_TEST(text.code == 0, text.err);
  BOOST_TEST(text.out.find("node-e2e") != std::string::npos, text.out);
  BOOST_TEST(text.out.find("alpha") != std::string::npos, text.out);
  BOOST_TEST(text.out.find("beta") != std::string::npos, text.out);

  auto json = run_command({cli_path, "status", "--node", endpoint, "--json"}, setup.dir.path(),
                          {"BLAZE_NODE_SECRET=" + node_secret});
  BOOST_REQUIRE_MESSAGE(json.code == 0, json.err);
  auto j = nlohmann::json::parse(json.out);
  BOOST_TEST(j["name"] == "node-e2e");
  BOOST_TEST(j["databases"].size() == 2u);
  BOOST_TEST(j["databases"][0]["name"] == "alpha");
  BOOST_TEST(j["links"].size() == 1u);

  auto wrong = run_command({cli_path, "status", "--node", endpoint, "--json"}, setup.dir.path(),
                           {"BLAZE_NODE_SECRET=wrong secret"});
  BOOST_TEST(wrong.code == 1);
  BOOST_TEST(wrong.out.empty());
  BOOST_TEST(wrong.err.find("authentication failed") != std::string::npos, wrong.err);

  node->signal(SIGTERM);
  BOOST_TEST(node->exit_code(30s) == 0, "log:\n" << setup.log());

  // One JSON object per line, each naming its event.
  std::vector<std::string> events;
  for (auto& line : lines(setup.log())) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!event.is_discarded() && event.contains("event"),
                          "not a JSON event: " << line);
    BOOST_TEST(event.contains("ts"));
    events.push_back(event["event"]);
  }
  for (auto* e :
       {"starting", "database_open", "listening", "stopping", "database_closed", "stopped"})
    BOOST_TEST((std::find(events.begin(), events.end(), e) != events.end()), "no event " << e);

  // The stores reopen with their data, beta's synced through the link.
  for (auto [name, password] :
       {std::pair{"alpha", "alpha password"}, std::pair{"beta", "beta password"}}) {
    auto db = blaze::database::open(name, setup.dir / "data" / name, password);
    BOOST_REQUIRE_MESSAGE(db, name << ": " << describe(db));
    auto n1 = (*db)->get("notes", "n1");
    BOOST_REQUIRE(n1);
    BOOST_TEST(n1->has_value(), name << " lacks n1");
  }
}

BOOST_AUTO_TEST_CASE(sigint_stops_a_node_with_a_client_still_connected) {
  node_setup setup;
  auto node = setup.start();
  auto port = setup.wait_for_port(*node);
  BOOST_REQUIRE_MESSAGE(port != 0, setup.log());
  // The client's connection (and its proxy of the node actor) stays open
  // while the node stops.
  client_config cfg;
  caf::actor_system sys{cfg};
  auto status = blaze::server::fetch_status(sys, "127.0.0.1", port, node_secret);
  BOOST_REQUIRE_MESSAGE(status, describe(status));
  node->signal(SIGINT);
  BOOST_TEST(node->exit_code(30s) == 0, "log:\n" << setup.log());
  auto log = lines(setup.log());
  BOOST_REQUIRE(!log.empty());
  for (auto& line : log)
    BOOST_TEST(line.rfind("ts=", 0) == 0, "not a key=value event: " << line);
  BOOST_TEST(setup.log().find("event=stopping signal=SIGINT") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_wrong_password_stops_start_up_and_changes_nothing) {
  node_setup setup{"not alpha's password"};
  auto alpha = setup.dir / "data/alpha";
  auto before = blaze_test::read_store(alpha, "alpha", "alpha password");
  auto files_before = blaze_test::listing(setup.dir / "data");
  auto node = setup.start();
  BOOST_TEST(node->exit_code(60s) == 1);
  auto log = setup.log();
  BOOST_TEST(log.find("database 'alpha'") != std::string::npos, log);
  BOOST_TEST(log.find("wrong password") != std::string::npos, log);
  BOOST_TEST(!fs::exists(setup.port_file));
  BOOST_TEST(!fs::exists(setup.dir / "data/beta")); // nothing created either
  BOOST_TEST((blaze_test::listing(setup.dir / "data") == files_before));
  BOOST_TEST((blaze_test::read_store(alpha, "alpha", "alpha password") == before));
}

BOOST_AUTO_TEST_CASE(a_bad_config_is_refused_naming_file_and_key) {
  node_setup setup;
  write_file(setup.config, slurp(setup.config) + "\n[log]\nlevel = \"chatty\"\n");
  auto node = setup.start();
  BOOST_TEST(node->exit_code(30s) == 1);
  auto log = setup.log();
  BOOST_TEST(log.find(setup.config.string()) != std::string::npos, log);
  BOOST_TEST(log.find("log.level") != std::string::npos, log);
  BOOST_TEST(log.find("chatty") != std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()
