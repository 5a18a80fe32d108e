// The blaze-node config: a good file, command-line overrides, and each kind
// of bad input refused with a message naming the file and the key.
#include "child_process.hpp"
#include "describe.hpp"
#include "scratch_dir.hpp"

#include "blaze/server/config.hpp"
#include "blaze/server/event_log.hpp"

#include <boost/test/unit_test.hpp>

#include <regex>

namespace fs = std::filesystem;
using blaze::errc;
using blaze::server::config_overrides;
using blaze::server::load_config;
using blaze::server::log_format;
using blaze_test::describe;
using blaze_test::scratch_dir;
using blaze_test::write_file;

namespace {

const char* good_config = R"(
[node]
name = "node-a"
data_dir = "data"
secret_file = "secrets/node.secret"

[listen]
host = "0.0.0.0"
port = 7500

[log]
level = "debug"
format = "json"

[[database]]
name = "notes"
password_file = "secrets/notes.password"
sync_secret_file = "secrets/notes.sync"

[[database]]
name = "tasks"
path = "/srv/blaze/tasks-store"
password = "inline password"
sync_secret = "inline sync secret"
create = false

[[link]]
from = "notes"
to = "tasks"
mode = "read_only"
)";

// A directory holding good_config as node.toml and its secret files.
struct good_setup {
  scratch_dir dir{"config"};
  fs::path file = dir / "node.toml";
  good_setup() {
    fs::create_directories(dir / "secrets");
    write_file(dir / "secrets/node.secret", "node secret\n");
    write_file(dir / "secrets/notes.password", "notes password\r\n");
    write_file(dir / "secrets/notes.sync", "notes sync secret");
    write_file(file, good_config);
  }
};

// Loads `text` as <dir>/node.toml (with good_setup's secret files present)
// and expects an invalid_argument error whose message has every fragment.
void expect_error(const std::string& text, std::vector<std::string> fragments,
                  const config_overrides& over = {}) {
  good_setup s;
  write_file(s.file, text);
  auto cfg = load_config(s.file, over);
  BOOST_REQUIRE_MESSAGE(!cfg, "accepted a bad config:\n" << text);
  BOOST_TEST(static_cast<int>(cfg.error().code()) == static_cast<int>(errc::invalid_argument));
  const auto& msg = cfg.error().message();
  BOOST_TEST_MESSAGE("error: " << msg);
  BOOST_TEST(msg.find(s.file.string()) != std::string::npos, "no file name in: " << msg);
  for (auto& f : fragments)
    BOOST_TEST(msg.find(f) != std::string::npos, "'" << f << "' not in: " << msg);
}

// good_config with one line replaced.
std::string with(const std::string& from, const std::string& to) {
  std::string text = good_config;
  auto at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(a_good_file_gives_every_setting) {
  good_setup s;
  auto cfg = load_config(s.file);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(cfg->name == "node-a");
  BOOST_TEST(cfg->data_dir == s.dir / "data"); // relative to the config file
  BOOST_TEST(cfg->listen_host == "0.0.0.0");
  BOOST_TEST(cfg->listen_port == 7500);
  BOOST_TEST(cfg->secret == "node secret"); // one trailing newline dropped
  BOOST_TEST(cfg->log_level == "debug");
  BOOST_TEST((cfg->format == log_format::json));
  BOOST_REQUIRE(cfg->databases.size() == 2u);
  auto& notes = cfg->databases[0];
  BOOST_TEST(notes.name == "notes");
  BOOST_TEST(notes.path == s.dir / "data" / "notes");
  BOOST_TEST(notes.password == "notes password"); // CRLF dropped too
  BOOST_TEST(notes.sync_secret == "notes sync secret");
  BOOST_TEST(notes.create);
  auto& tasks = cfg->databases[1];
  BOOST_TEST(tasks.path == fs::path{"/srv/blaze/tasks-store"});
  BOOST_TEST(tasks.password == "inline password");
  BOOST_TEST(!tasks.create);
  BOOST_REQUIRE(cfg->links.size() == 1u);
  BOOST_TEST(cfg->links[0].from == "notes");
  BOOST_TEST(cfg->links[0].mode == "read_only");
  // Inline secrets are allowed, with a warning each.
  BOOST_TEST(cfg->warnings.size() == 2u);
}

BOOST_AUTO_TEST_CASE(defaults_fill_what_the_file_leaves_out) {
  good_setup s;
  write_file(s.file, R"(
[node]
name = "n"
data_dir = "/tmp/x"
secret = "s"
)");
  auto cfg = load_config(s.file);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(cfg->listen_host == "127.0.0.1");
  BOOST_TEST(cfg->listen_port == 7420);
  BOOST_TEST(cfg->log_level == "info");
  BOOST_TEST((cfg->format == log_format::text));
  BOOST_TEST(cfg->databases.empty());
  BOOST_TEST(cfg->database_placement == "detached");
}

BOOST_AUTO_TEST_CASE(database_placement_is_detached_or_scheduled) {
  good_setup s;
  write_file(s.file, with("name = \"node-a\"", "name = \"node-a\"\ndatabase_placement = \"scheduled\""));
  auto cfg = load_config(s.file);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(cfg->database_placement == "scheduled");
  expect_error(with("name = \"node-a\"", "name = \"node-a\"\ndatabase_placement = \"pinned\""),
               {"node.database_placement", "\"detached\" or \"scheduled\"", "pinned"});
  expect_error(with("name = \"node-a\"", "name = \"node-a\"\ndatabase_placement = 1"),
               {"node.database_placement", "expected a string"});
}

BOOST_AUTO_TEST_CASE(command_line_overrides_replace_file_values) {
  good_setup s;
  write_file(s.dir / "other.secret", "other secret\n");
  config_overrides over;
  over.name = "node-b";
  over.data_dir = "/var/lib/b";
  over.listen_host = "127.0.0.1";
  over.listen_port = 0;
  over.secret_file = s.dir / "other.secret";
  over.log_level = "warn";
  over.log_format = "text";
  auto cfg = load_config(s.file, over);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(cfg->name == "node-b");
  BOOST_TEST(cfg->data_dir == fs::path{"/var/lib/b"});
  BOOST_TEST(cfg->databases[0].path == fs::path{"/var/lib/b/notes"});
  BOOST_TEST(cfg->listen_host == "127.0.0.1");
  BOOST_TEST(cfg->listen_port == 0);
  BOOST_TEST(cfg->secret == "other secret");
  BOOST_TEST(cfg->log_level == "warn");
  BOOST_TEST((cfg->format == log_format::text));
}

BOOST_AUTO_TEST_CASE(an_override_supplies_a_key_the_file_lacks) {
  good_setup s;
  write_file(s.file, "[node]\ndata_dir = \"d\"\nsecret_file = \"secrets/node.secret\"\n");
  config_overrides over;
  over.name = "from-cli";
  auto cfg = load_config(s.file, over);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(cfg->name == "from-cli");
}

BOOST_AUTO_TEST_CASE(a_missing_config_file_is_not_found) {
  scratch_dir dir{"config"};
  auto cfg = load_config(dir / "nope.toml");
  BOOST_REQUIRE(!cfg);
  BOOST_TEST(static_cast<int>(cfg.error().code()) == static_cast<int>(errc::not_found));
  BOOST_TEST(cfg.error().message().find("nope.toml") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_toml_names_the_line) {
  expect_error(with("port = 7500", "port = = 7500"), {":9:", "not valid TOML"});
}

BOOST_AUTO_TEST_CASE(a_table_header_without_a_key_is_invalid_toml) {
  // Found by fuzz/fuzz_node_config: toml++'s header-only build asserts on
  // these; the library blaze-node links must report them as errors.
  expect_error(with("[listen]", "[=]"), {":7:", "not valid TOML"});
  expect_error(with("[listen]", std::string{"[\0\0\0\1listen]", 12}), {"not valid TOML"});
  expect_error(with("[listen]", "[ #]"), {"not valid TOML"});
}

BOOST_AUTO_TEST_CASE(an_unknown_key_is_refused) {
  expect_error(with("name = \"node-a\"", "nmae = \"node-a\""), {"node.nmae", "unknown key"});
  expect_error(good_config + std::string{"\n[metrics]\nport = 1\n"}, {"metrics", "unknown key"});
  expect_error(with("create = false", "craete = false"), {"database[1].craete"});
}

BOOST_AUTO_TEST_CASE(a_value_of_the_wrong_type_is_refused) {
  expect_error(with("port = 7500", "port = \"7500\""),
               {"listen.port", "expected an integer, got a string"});
  expect_error(with("name = \"node-a\"", "name = 42"), {"node.name", "expected a string"});
  expect_error(with("create = false", "create = \"no\""), {"create", "expected true or false"});
  expect_error("listen = 1\n" + with("[listen]\nhost = \"0.0.0.0\"\nport = 7500", ""),
               {":1:", "listen", "expected a table [listen], got an integer"});
}

BOOST_AUTO_TEST_CASE(a_port_out_of_range_is_refused) {
  expect_error(with("port = 7500", "port = 70000"), {"listen.port", "0..65535"});
  expect_error(with("port = 7500", "port = -1"), {"listen.port"});
}

BOOST_AUTO_TEST_CASE(a_missing_required_key_is_named) {
  expect_error(with("name = \"node-a\"\n", ""), {"node.name", "missing"});
  expect_error(with("data_dir = \"data\"\n", ""), {"node.data_dir", "missing"});
  expect_error(with("secret_file = \"secrets/node.secret\"\n", ""),
               {"node.secret_file", "missing"});
  expect_error(with("password_file = \"secrets/notes.password\"\n", ""),
               {"database 'notes'", "password_file", "missing"});
  expect_error(with("sync_secret = \"inline sync secret\"\n", ""),
               {"database 'tasks'", "sync_secret_file", "missing"});
}

BOOST_AUTO_TEST_CASE(a_secret_given_twice_is_refused) {
  expect_error(with("secret_file = \"secrets/node.secret\"",
                    "secret_file = \"secrets/node.secret\"\nsecret = \"x\""),
               {"node.secret", "not both"});
}

BOOST_AUTO_TEST_CASE(an_unreadable_or_empty_secret_file_is_refused) {
  expect_error(with("secrets/notes.password", "secrets/missing.password"),
               {"password_file", "missing.password", "cannot read"});
  good_setup s;
  write_file(s.dir / "secrets/empty", "\n");
  write_file(s.file, with("secrets/node.secret", "secrets/empty"));
  auto cfg = load_config(s.file);
  BOOST_REQUIRE(!cfg);
  BOOST_TEST(cfg.error().message().find("node.secret_file") != std::string::npos);
  BOOST_TEST(cfg.error().message().find("is empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_secret_file_that_never_ends_is_refused_not_read_forever) {
  // /dev/zero has no end: the reader stops past max_secret_file_size.
  auto secret = blaze::server::read_secret_file("/dev/zero");
  BOOST_REQUIRE(!secret);
  BOOST_TEST((secret.error().code() == errc::invalid_argument));
  BOOST_TEST(secret.error().message().find("not a secret") != std::string::npos);
  good_setup s;
  write_file(s.dir / "secrets/big", std::string(blaze::server::max_secret_file_size + 1, 'x'));
  BOOST_TEST(!blaze::server::read_secret_file(s.dir / "secrets/big"));
  write_file(s.dir / "secrets/max", std::string(blaze::server::max_secret_file_size, 'x'));
  auto max = blaze::server::read_secret_file(s.dir / "secrets/max");
  BOOST_REQUIRE(!!max);
  BOOST_TEST(max->size() == blaze::server::max_secret_file_size);
}

BOOST_AUTO_TEST_CASE(a_secret_file_override_that_cannot_be_read_is_named) {
  config_overrides over;
  over.secret_file = "/nonexistent/node.secret";
  expect_error(good_config, {"--secret-file", "/nonexistent/node.secret"}, over);
}

BOOST_AUTO_TEST_CASE(bad_database_entries_are_refused) {
  expect_error(with("name = \"tasks\"", "name = \"notes\""), {"notes", "configured twice"});
  expect_error(with("name = \"tasks\"", "name = \"../etc\""), {"database[1].name", "../etc"});
  expect_error(with("name = \"tasks\"", "name = \"a/b\""), {"database[1].name"});
  expect_error(with("path = \"/srv/blaze/tasks-store\"", "path = \"notes\""),
               {"database 'tasks'", "path", "used by another database"});
  expect_error(with("sync_secret = \"inline sync secret\"", "sync_secret = \"inline password\""),
               {"sync_secret", "must differ"});
  expect_error("[node]\nname = \"n\"\ndata_dir = \"d\"\nsecret = \"s\"\n[database]\nname = \"x\"\n",
               {"database", "expected [[database]] tables, got a table"});
}

BOOST_AUTO_TEST_CASE(bad_log_settings_are_refused) {
  expect_error(with("level = \"debug\"", "level = \"loud\""), {"log.level", "loud"});
  expect_error(with("format = \"json\"", "format = \"xml\""), {"log.format", "xml"});
  config_overrides over;
  over.log_format = "yaml";
  expect_error(good_config, {"log.format", "yaml"}, over);
}

BOOST_AUTO_TEST_CASE(bad_links_are_refused) {
  expect_error(with("to = \"tasks\"", "to = \"nowhere\""), {"link[0].to", "nowhere"});
  expect_error(with("to = \"tasks\"", "to = \"notes\""), {"link[0].to", "itself"});
  expect_error(with("mode = \"read_only\"", "mode = \"sideways\""), {"link[0].mode", "sideways"});
}

const char* sync_config = R"(
[node]
name = "node-a"
data_dir = "data"
secret_file = "secrets/node.secret"

[sync]
host = "127.0.0.1"
port = 7421
socket = "run/node.sock"

[[database]]
name = "notes"
password_file = "secrets/notes.password"
sync_secret_file = "secrets/notes.sync"

[[database.grant]]
name = "mobile"
secret = "mobile key"
collections = ["notes", "tags"]
read_only = true
fields = ["title", "body"]

[[peer]]
database = "notes"
host = "10.0.0.2"
port = 7421
failover = ["10.0.0.3:7421", "[::1]:7422"]

[[peer]]
database = "notes"
remote = "notes-copy"
socket = "/run/other.sock"
mode = "read_only"
secret = "other node secret"
access_secret = "other access secret"
)";

BOOST_AUTO_TEST_CASE(sync_grants_and_peers_are_read_with_their_defaults) {
  good_setup s;
  write_file(s.file, sync_config);
  auto cfg = load_config(s.file);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(cfg->sync_enabled);
  BOOST_TEST(cfg->sync_host == "127.0.0.1");
  BOOST_TEST(cfg->sync_port == 7421);
  BOOST_TEST(cfg->sync_socket == s.dir / "run/node.sock");
  BOOST_REQUIRE(cfg->databases.size() == 1u);
  auto& grants = cfg->databases[0].grants;
  BOOST_REQUIRE(grants.size() == 1u);
  BOOST_TEST(grants[0].name == "mobile");
  BOOST_TEST(grants[0].secret == "mobile key");
  BOOST_TEST((grants[0].collections == std::vector<std::string>{"notes", "tags"}));
  BOOST_TEST(grants[0].read_only);
  BOOST_TEST((grants[0].fields == std::vector<std::string>{"title", "body"}));
  BOOST_REQUIRE(cfg->peers.size() == 2u);
  auto& p0 = cfg->peers[0];
  BOOST_TEST(p0.remote == "notes"); // the same name by default
  BOOST_TEST(p0.host == "10.0.0.2");
  BOOST_TEST(p0.port == 7421);
  BOOST_TEST(p0.mode == "bidirectional");
  BOOST_TEST(p0.secret == "node secret");             // this node's secret
  BOOST_TEST(p0.access_secret == "notes sync secret"); // the database's sync secret
  BOOST_REQUIRE(p0.failover.size() == 2u);
  BOOST_TEST(p0.failover[0].first == "10.0.0.3");
  BOOST_TEST(p0.failover[1].first == "::1");
  BOOST_TEST(p0.failover[1].second == 7422);
  auto& p1 = cfg->peers[1];
  BOOST_TEST(p1.remote == "notes-copy");
  BOOST_TEST(p1.socket == "/run/other.sock");
  BOOST_TEST(p1.host.empty());
  BOOST_TEST(p1.secret == "other node secret");
  BOOST_TEST(p1.access_secret == "other access secret");
  // Without [sync] the endpoint is off; --sync-port turns it on.
  write_file(s.file, good_config);
  auto off = load_config(s.file);
  BOOST_REQUIRE(off);
  BOOST_TEST(!off->sync_enabled);
  config_overrides over;
  over.sync_port = 0;
  auto on = load_config(s.file, over);
  BOOST_REQUIRE(on);
  BOOST_TEST(on->sync_enabled);
  BOOST_TEST(on->sync_port == 0);
}

BOOST_AUTO_TEST_CASE(bad_sync_grants_and_peers_are_refused) {
  auto in_sync = [](const std::string& from, const std::string& to) {
    std::string text = sync_config;
    auto at = text.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return text;
  };
  expect_error(in_sync("port = 7421\nsocket", "port = 70000\nsocket"), {"sync.port", "70000"});
  expect_error(in_sync("name = \"mobile\"", "name = \"sync\""), {"grant[0].name", "twice"});
  expect_error(in_sync("secret = \"mobile key\"", "secret = \"\""), {"grant[0].secret"});
  expect_error(in_sync("collections = [\"notes\", \"tags\"]", "collections = \"notes\""),
               {"grant[0].collections", "list of strings"});
  expect_error(in_sync("read_only = true", "readonly = true"), {"grant[0].readonly", "unknown key"});
  expect_error(in_sync("fields = [\"title\", \"body\"]", "fields = [\"_id\"]"),
               {"grant[0].fields", "reserved"});
  expect_error(in_sync("database = \"notes\"\nhost", "database = \"nope\"\nhost"),
               {"peer[0].database", "nope"});
  expect_error(in_sync("host = \"10.0.0.2\"\nport = 7421\n", "host = \"10.0.0.2\"\n"),
               {"peer[0].host", "both host and port"});
  expect_error(in_sync("socket = \"/run/other.sock\"\n", ""), {"peer[1].host", "missing"});
  expect_error(in_sync("\"10.0.0.3:7421\",", "\"10.0.0.3\","), {"peer[0].failover", "10.0.0.3"});
  expect_error(in_sync("mode = \"read_only\"\nsecret", "mode = \"up\"\nsecret"),
               {"peer[1].mode", "up"});
}

const char* team_config = R"(
[node]
name = "node-a"
data_dir = "data"
secret_file = "secrets/node.secret"

[[database]]
name = "vault"
password_file = "secrets/notes.password"
sync_secret_file = "secrets/notes.sync"
e2e_only = true

[[database.team]]
name = "ops"
access_key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
)";

BOOST_AUTO_TEST_CASE(teams_are_read_with_their_access_keys) {
  good_setup s;
  write_file(s.file, team_config);
  auto cfg = load_config(s.file);
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  auto& db = cfg->databases.at(0);
  BOOST_TEST(db.e2e_only);
  BOOST_REQUIRE(db.teams.size() == 1u);
  BOOST_TEST(db.teams[0].name == "ops");
  BOOST_REQUIRE(db.teams[0].access_key.size() == 32u);
  BOOST_TEST(static_cast<unsigned char>(db.teams[0].access_key[1]) == 0x11u);
  BOOST_TEST(static_cast<unsigned char>(db.teams[0].access_key[31]) == 0xffu);
}

BOOST_AUTO_TEST_CASE(bad_teams_are_refused) {
  auto in_team = [](const std::string& from, const std::string& to) {
    std::string text = team_config;
    auto at = text.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return text;
  };
  expect_error(in_team("CCDDEEFF\"", "CCDDEE\""), {"team[0].access_key", "64 hex digits"});
  expect_error(in_team("00112233", "zz112233"), {"team[0].access_key", "64 hex digits"});
  expect_error(in_team("name = \"ops\"", "name = \"o.ps\""), {"team[0].name", "o.ps"});
  expect_error(in_team("access_key", "secret"), {"team[0].secret", "unknown key"});
  auto no_team = std::string{team_config};
  no_team = no_team.substr(0, no_team.find("[[database.team]]"));
  expect_error(no_team, {"e2e_only", "needs a [[database.team]]"});
  expect_error(team_config + std::string{"\n[[database.team]]\nname = \"ops\"\naccess_key = "
                                         "\"00112233445566778899aabbccddeeff00112233445566778899"
                                         "aabbccddeeff\"\n"},
               {"team[1].name", "twice"});
}

BOOST_AUTO_TEST_CASE(endpoints_parse_as_host_and_port) {
  auto e = blaze::server::parse_endpoint("127.0.0.1:7420");
  BOOST_REQUIRE(e);
  BOOST_TEST(e->first == "127.0.0.1");
  BOOST_TEST(e->second == 7420);
  auto v6 = blaze::server::parse_endpoint("[::1]:80");
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6->first == "::1");
  BOOST_TEST(!blaze::server::parse_endpoint("localhost"));
  BOOST_TEST(!blaze::server::parse_endpoint("host:99999"));
  BOOST_TEST(!blaze::server::parse_endpoint("host:x1"));
  BOOST_TEST(!blaze::server::parse_endpoint(":80"));
}

// The example the README quotes (examples/blaze-node.toml) parses, with its
// secret files in place.
BOOST_AUTO_TEST_CASE(the_readme_example_parses) {
  auto example = fs::path{BLAZE_SOURCE_DIR} / "examples" / "blaze-node.toml";
  std::string text = blaze_test::slurp(example);
  BOOST_REQUIRE(!text.empty());
  std::string readme = blaze_test::slurp(fs::path{BLAZE_SOURCE_DIR} / "README.md");
  BOOST_TEST(readme.find(text) != std::string::npos,
             "README.md does not quote examples/blaze-node.toml verbatim");
  scratch_dir dir{"readme"};
  std::regex file_key{R"(_file\s*=\s*"([^"]+)\")"};
  for (std::sregex_iterator i{text.begin(), text.end(), file_key}, end; i != end; ++i) {
    fs::path secret = dir / (*i)[1].str();
    fs::create_directories(secret.parent_path());
    write_file(secret, "secret of " + (*i)[1].str() + "\n");
  }
  write_file(dir / "blaze-node.toml", text);
  auto cfg = load_config(dir / "blaze-node.toml");
  BOOST_REQUIRE_MESSAGE(cfg, describe(cfg));
  BOOST_TEST(!cfg->databases.empty());
  BOOST_TEST(cfg->warnings.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(event_log)

using blaze::server::format_event;

BOOST_AUTO_TEST_CASE(text_events_are_key_value_with_quoting) {
  auto line = format_event(log_format::text, "database_open",
                           {{"database", "notes"}, {"path", "/a b/c"}, {"n", 3}, {"q", "x=\"y\""}});
  BOOST_TEST(line == R"(event=database_open database=notes path="/a b/c" n=3 q="x=\"y\"")");
  BOOST_TEST(format_event(log_format::text, "e", {{"empty", ""}, {"nl", "a\nb"}}) ==
             R"(event=e empty="" nl="a\nb")");
}

BOOST_AUTO_TEST_CASE(json_events_escape_strings_and_keep_numbers) {
  auto line = format_event(log_format::json, "listening",
                           {{"host", "127.0.0.1"}, {"port", 7420u}, {"msg", "a\"b\\c\n"}});
  BOOST_TEST(line == R"("event":"listening","host":"127.0.0.1","port":7420,"msg":"a\"b\\c\n")");
}

BOOST_AUTO_TEST_SUITE_END()
