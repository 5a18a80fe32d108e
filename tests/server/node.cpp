// The node core in process: it opens the configured databases, reports them
// and their links, serves status over the secure middleman, and refuses to
// start (changing nothing on disk) when a password is wrong.
#include "child_process.hpp"
#include "describe.hpp"
#include "scratch_dir.hpp"
#include "test_stores.hpp"
#include "store_contents.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/event_log.hpp"
#include "blaze/server/node.hpp"
#include "blaze/server/status.hpp"
#include "blaze/storage/database.hpp"

#include <caf/actor_system.hpp>

#include <boost/test/unit_test.hpp>

#include <map>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using blaze::errc;

using blaze::server::node_config;
using blaze_test::describe;
using blaze_test::scratch_dir;

namespace {

using test_system_config = blaze_test::client_config;

void make_store(const fs::path& path, const std::string& name, const std::string& password) {
  blaze_test::make_store(path, name, password, "hello");
}

node_config two_databases(const fs::path& dir) {
  node_config cfg;
  cfg.name = "node-test";
  cfg.data_dir = dir / "data";
  cfg.listen_port = 0;
  cfg.secret = "node secret";
  for (std::string name : {"alpha", "beta"}) {
    blaze::server::database_config db;
    db.name = name;
    db.path = cfg.data_dir / name;
    db.password = name + " password";
    db.sync_secret = name + " sync";
    cfg.databases.push_back(db);
  }
  cfg.links.push_back({"alpha", "beta", "bidirectional"});
  return cfg;
}

// The node logs to stderr; only warnings and errors matter here.
struct quiet_log {
  quiet_log() { blaze::server::configure_event_log(blaze::server::log_format::text, "warn"); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(node, quiet_log)

BOOST_AUTO_TEST_CASE(a_node_reports_its_databases_and_links) {
  scratch_dir dir{"node"};
  auto cfg = two_databases(dir.path());
  make_store(cfg.databases[0].path, "alpha", "alpha password");
  test_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto n = blaze::server::node::start(sys, cfg);
  BOOST_REQUIRE_MESSAGE(n, describe(n));
  BOOST_TEST((*n)->databases().size() == 2u);
  auto status = (*n)->status();
  BOOST_REQUIRE_MESSAGE(status, describe(status));
  BOOST_TEST(status->name == "node-test");
  BOOST_REQUIRE(status->databases.size() == 2u);
  BOOST_TEST(status->databases[0].name == "alpha");
  BOOST_TEST(status->databases[0].id != 0u);
  BOOST_TEST(status->databases[0].version_total >= 1u);
  BOOST_TEST(status->databases[1].name == "beta");
  BOOST_TEST(status->databases[1].up);
  BOOST_REQUIRE(status->links.size() == 1u);
  BOOST_TEST(status->links[0].from == "alpha");
  BOOST_TEST(status->links[0].to == "beta");
  BOOST_TEST(status->links[0].mode == "bidirectional");
  auto json = nlohmann::json::parse(blaze::server::status_json(*status));
  BOOST_TEST(json["databases"].size() == 2u);
  BOOST_TEST(json["name"] == "node-test");
  BOOST_TEST(blaze::server::status_text(*status).find("alpha") != std::string::npos);
  (*n)->stop();
}

BOOST_AUTO_TEST_CASE(status_is_served_to_holders_of_the_node_secret_only) {
  scratch_dir dir{"node"};
  auto cfg = two_databases(dir.path());
  test_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto n = blaze::server::node::start(sys, cfg);
  BOOST_REQUIRE_MESSAGE(n, describe(n));
  auto port = (*n)->listen();
  BOOST_REQUIRE_MESSAGE(port, describe(port));
  BOOST_TEST(*port != 0);

  test_system_config client_cfg;
  caf::actor_system client{client_cfg};
  auto status = blaze::server::fetch_status(client, "127.0.0.1", *port, "node secret");
  BOOST_REQUIRE_MESSAGE(status, describe(status));
  BOOST_TEST(status->databases.size() == 2u);
  auto refused = blaze::server::fetch_status(client, "127.0.0.1", *port, "wrong secret");
  BOOST_REQUIRE(!refused);
  BOOST_TEST(static_cast<int>(refused.error().code()) == static_cast<int>(errc::auth_failed));
  (*n)->stop();
}

BOOST_AUTO_TEST_CASE(a_wrong_password_names_the_database_and_changes_nothing) {
  scratch_dir dir{"node"};
  auto cfg = two_databases(dir.path());
  // beta exists with another password; alpha does not exist yet and comes
  // first in the config, yet must not be created.
  make_store(cfg.databases[1].path, "beta", "the real password");
  auto before = blaze_test::read_store(cfg.databases[1].path, "beta", "the real password");
  auto files_before = blaze_test::listing(dir / "data");
  test_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto n = blaze::server::node::start(sys, cfg);
  BOOST_REQUIRE(!n);
  BOOST_TEST(static_cast<int>(n.error().code()) == static_cast<int>(errc::wrong_password));
  BOOST_TEST(n.error().message().find("database 'beta'") != std::string::npos, n.error().message());
  BOOST_TEST(!fs::exists(cfg.databases[0].path));
  BOOST_TEST((blaze_test::listing(dir / "data") == files_before));
  BOOST_TEST(
      (blaze_test::read_store(cfg.databases[1].path, "beta", "the real password") == before));
}

BOOST_AUTO_TEST_CASE(a_missing_store_with_create_false_is_refused) {
  scratch_dir dir{"node"};
  auto cfg = two_databases(dir.path());
  cfg.databases[1].create = false;
  test_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto n = blaze::server::node::start(sys, cfg);
  BOOST_REQUIRE(!n);
  BOOST_TEST(n.error().message().find("database 'beta'") != std::string::npos);
  BOOST_TEST(!fs::exists(cfg.databases[0].path));
}

BOOST_AUTO_TEST_SUITE_END()
