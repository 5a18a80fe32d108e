#include "blaze/server/config.hpp"

#include "blaze/storage/database.hpp"
#include "blaze/storage/team_seal.hpp"

#include <toml++/toml.h>

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace blaze::server {

namespace fs = std::filesystem;

namespace {

// Thrown inside this file only; load_config turns it into an error value.
struct config_error {
  std::string message;
};

class config_reader {
public:
  explicit config_reader(fs::path source) : source_(std::move(source)) {
    base_ = source_.parent_path();
  }

  const fs::path& source() const { return source_; }

  [[noreturn]] void fail(const std::string& key, const std::string& what,
                         const toml::source_region* where = nullptr) const {
    std::string msg = source_.string();
    if (where && where->begin.line > 0)
      msg += ":" + std::to_string(where->begin.line);
    msg += ": ";
    if (!key.empty())
      msg += key + ": ";
    msg += what;
    throw config_error{std::move(msg)};
  }

  // Every key of `table` must be one of `known`: a typo is an error, not a
  // setting silently ignored.
  void only_keys(const toml::table& table, const std::string& prefix,
                 std::initializer_list<const char*> known) const {
    for (auto&& [k, v] : table) {
      bool ok = false;
      for (auto* name : known)
        ok = ok || k.str() == name;
      if (!ok)
        fail(prefix + std::string{k.str()}, "unknown key", &k.source());
    }
  }

  std::optional<std::string> string_at(const toml::table& table, const std::string& prefix,
                                       const char* key) const {
    auto* node = table.get(key);
    if (!node)
      return std::nullopt;
    auto* s = node->as_string();
    if (!s)
      fail(prefix + key, std::string{"expected a string, got "} + type_name(*node),
           &node->source());
    return s->get();
  }

  std::optional<std::int64_t> integer_at(const toml::table& table, const std::string& prefix,
                                         const char* key) const {
    auto* node = table.get(key);
    if (!node)
      return std::nullopt;
    auto* i = node->as_integer();
    if (!i)
      fail(prefix + key, std::string{"expected an integer, got "} + type_name(*node),
           &node->source());
    return i->get();
  }

  std::optional<bool> bool_at(const toml::table& table, const std::string& prefix,
                              const char* key) const {
    auto* node = table.get(key);
    if (!node)
      return std::nullopt;
    auto* b = node->as_boolean();
    if (!b)
      fail(prefix + key, std::string{"expected true or false, got "} + type_name(*node),
           &node->source());
    return b->get();
  }

  const toml::table* table_at(const toml::table& table, const char* key) const {
    auto* node = table.get(key);
    if (!node)
      return nullptr;
    auto* t = node->as_table();
    if (!t)
      fail(key, std::string{"expected a table ["} + key + "], got " + type_name(*node),
           &node->source());
    return t;
  }

  const toml::source_region* where(const toml::table& table, const char* key) const {
    auto* node = table.get(key);
    return node ? &node->source() : &table.source();
  }

  // A relative path in the file is relative to the file's directory.
  fs::path relative_to_file(const fs::path& p) const {
    return p.is_absolute() || base_.empty() ? p : base_ / p;
  }

  static const char* type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
    }
  }

private:
  fs::path source_;
  fs::path base_;
};

// A secret given inline or in a file (relative to the config file), not both.
struct secret_setting {
  std::optional<std::string> inline_value;
  std::optional<fs::path> file;
  const toml::source_region* where = nullptr;
  std::string key;      // "node.secret" (the inline key, as errors name it)
  std::string file_key; // "node.secret_file"
  std::string name;     // "secret" (the inline key within its table)
};

std::string read_secret_file(const config_reader& r, const secret_setting& s,
                             std::vector<std::string>& warnings) {
  auto secret = server::read_secret_file(*s.file);
  if (!secret)
    r.fail(s.file_key, secret.error().message(), s.where);
  struct stat st {};
  if (::stat(s.file->c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    warnings.push_back(s.file_key + " '" + s.file->string() +
                       "' can be read by other users (chmod 600 it)");
  return std::move(*secret);
}

std::string resolve_secret(const config_reader& r, const secret_setting& s,
                           std::vector<std::string>& warnings) {
  if (s.inline_value && s.file)
    r.fail(s.key, "give either " + s.name + " or " + s.name + "_file, not both", s.where);
  if (s.file)
    return read_secret_file(r, s, warnings);
  if (!s.inline_value)
    r.fail(s.file_key, "missing (or " + s.name + " inline)", s.where);
  if (s.inline_value->empty())
    r.fail(s.key, "must not be empty", s.where);
  warnings.push_back(s.key + " is written in the config file; " + s.name +
                     "_file keeps it out of it");
  return *s.inline_value;
}

bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f)
      return false;
  return true;
}

// Database names become directory names: no separators, no "." or "..".
bool valid_database_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.front() == '.')
    return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

bool valid_log_level(const std::string& level) {
  static const std::set<std::string> levels{"trace", "debug",    "info", "warn",
                                            "error", "critical", "off"};
  return levels.count(level) != 0;
}

std::vector<std::string> string_list(const config_reader& r, const toml::table& t,
                                     const std::string& key_name, const char* key) {
  std::vector<std::string> out;
  auto* node = t.get(key);
  if (!node)
    return out;
  auto* list = node->as_array();
  if (!list)
    r.fail(key_name, std::string{"expected a list of strings, got "}
                       + config_reader::type_name(*node), &node->source());
  for (auto& item : *list) {
    auto* s = item.as_string();
    if (!s || s->get().empty() || s->get().size() > 255)
      r.fail(key_name, "expected a list of strings of 1..255 characters", &item.source());
    out.push_back(s->get());
  }
  return out;
}

std::vector<grant_config> read_grants(const config_reader& r, const toml::table& t,
                                      const std::string& prefix, const std::string& who,
                                      const database_config& db,
                                      std::vector<std::string>& warnings) {
  std::vector<grant_config> out;
  auto* node = t.get("grant");
  if (!node)
    return out;
  auto* list = node->as_array();
  if (!list || !list->is_array_of_tables())
    r.fail(prefix + "grant" + who, "expected [[database.grant]] tables", &node->source());
  std::set<std::string> names{"sync"};
  std::size_t index = 0;
  for (auto& entry : *list) {
    auto& g = *entry.as_table();
    std::string gp = prefix + "grant[" + std::to_string(index++) + "].";
    r.only_keys(g, gp, {"name", "secret", "secret_file", "collections", "read_only", "fields"});
    grant_config grant;
    auto name = r.string_at(g, gp, "name");
    if (!name || name->empty())
      r.fail(gp + "name" + who, "missing", &g.source());
    if (!names.insert(*name).second)
      r.fail(gp + "name" + who, "grant '" + *name + "' is given twice (\"sync\" is the "
             "sync_secret's)", r.where(g, "name"));
    grant.name = *name;
    secret_setting secret{r.string_at(g, gp, "secret"), {}, nullptr, gp + "secret" + who,
                          gp + "secret_file" + who, "secret"};
    if (auto f = r.string_at(g, gp, "secret_file"))
      secret.file = r.relative_to_file(*f);
    secret.where = r.where(g, secret.file ? "secret_file" : "secret");
    grant.secret = resolve_secret(r, secret, warnings);
    if (grant.secret == db.password)
      r.fail(gp + "secret" + who, "must differ from the database's password", secret.where);
    grant.collections = string_list(r, g, gp + "collections" + who, "collections");
    if (auto ro = r.bool_at(g, gp, "read_only"))
      grant.read_only = *ro;
    grant.fields = string_list(r, g, gp + "fields" + who, "fields");
    for (auto& f : grant.fields)
      if (auto v = validate_field_name(f); !v)
        r.fail(gp + "fields" + who, v.error().message(), r.where(g, "fields"));
    out.push_back(std::move(grant));
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::vector<team_config> read_teams(const config_reader& r, const toml::table& t,
                                    const std::string& prefix, const std::string& who,
                                    std::vector<std::string>& warnings) {
  std::vector<team_config> out;
  auto* node = t.get("team");
  if (!node)
    return out;
  auto* list = node->as_array();
  if (!list || !list->is_array_of_tables())
    r.fail(prefix + "team" + who, "expected [[database.team]] tables", &node->source());
  std::set<std::string> names;
  std::size_t index = 0;
  for (auto& entry : *list) {
    auto& g = *entry.as_table();
    std::string tp = prefix + "team[" + std::to_string(index++) + "].";
    r.only_keys(g, tp, {"name", "access_key", "access_key_file"});
    team_config team;
    auto name = r.string_at(g, tp, "name");
    if (!name)
      r.fail(tp + "name" + who, "missing", &g.source());
    if (auto v = validate_team_name(*name); !v)
      r.fail(tp + "name" + who, v.error().message(), r.where(g, "name"));
    if (!names.insert(*name).second)
      r.fail(tp + "name" + who, "team '" + *name + "' is given twice", r.where(g, "name"));
    team.name = *name;
    secret_setting key{r.string_at(g, tp, "access_key"), {}, nullptr, tp + "access_key" + who,
                       tp + "access_key_file" + who, "access_key"};
    if (auto f = r.string_at(g, tp, "access_key_file"))
      key.file = r.relative_to_file(*f);
    key.where = r.where(g, key.file ? "access_key_file" : "access_key");
    auto hex = resolve_secret(r, key, warnings);
    auto raw = from_hex(hex);
    if (!raw || raw->size() != 32)
      r.fail(key.file ? key.file_key : key.key,
             "expected 64 hex digits (what `blaze team-key` prints for the team's secret)",
             key.where);
    team.access_key = std::move(*raw);
    out.push_back(std::move(team));
  }
  return out;
}

node_config read_config(const toml::table& doc, const config_reader& r,
                        const config_overrides& over) {
  node_config cfg;
  cfg.source = r.source();
  r.only_keys(doc, "", {"node", "listen", "log", "database", "link", "sync", "peer"});

  secret_setting node_secret{{}, {}, nullptr, "node.secret", "node.secret_file", "secret"};
  std::optional<fs::path> data_dir;
  const toml::source_region* name_where = nullptr;
  if (auto* node = r.table_at(doc, "node")) {
    r.only_keys(*node, "node.",
                {"name", "data_dir", "secret", "secret_file", "threads", "low_latency",
                 "database_placement"});
    if (auto v = r.integer_at(*node, "node.", "threads")) {
      if (*v < 0 || *v > 256)
        r.fail("node.threads", "expected 0..256 scheduler threads, got " + std::to_string(*v),
               r.where(*node, "threads"));
      cfg.threads = static_cast<std::size_t>(*v);
    }
    if (auto v = r.bool_at(*node, "node.", "low_latency"))
      cfg.low_latency = *v;
    if (auto v = r.string_at(*node, "node.", "database_placement")) {
      if (*v != "detached" && *v != "scheduled")
        r.fail("node.database_placement", "expected \"detached\" or \"scheduled\", got \"" + *v + "\"",
               r.where(*node, "database_placement"));
      cfg.database_placement = *v;
    }
    if (auto v = r.string_at(*node, "node.", "name")) {
      cfg.name = *v;
      name_where = r.where(*node, "name");
    }
    if (auto v = r.string_at(*node, "node.", "data_dir"))
      data_dir = r.relative_to_file(*v);
    node_secret.inline_value = r.string_at(*node, "node.", "secret");
    if (auto v = r.string_at(*node, "node.", "secret_file"))
      node_secret.file = r.relative_to_file(*v);
    node_secret.where = r.where(*node, node_secret.file ? "secret_file" : "secret");
  }
  const toml::source_region* port_where = nullptr;
  if (auto* listen = r.table_at(doc, "listen")) {
    r.only_keys(*listen, "listen.", {"host", "port"});
    if (auto v = r.string_at(*listen, "listen.", "host"))
      cfg.listen_host = *v;
    if (auto v = r.integer_at(*listen, "listen.", "port")) {
      port_where = r.where(*listen, "port");
      if (*v < 0 || *v > 65535)
        r.fail("listen.port", "expected a port number 0..65535, got " + std::to_string(*v),
               port_where);
      cfg.listen_port = static_cast<std::uint16_t>(*v);
    }
  }
  if (auto* sync = r.table_at(doc, "sync")) {
    r.only_keys(*sync, "sync.", {"host", "port", "socket"});
    cfg.sync_enabled = true;
    if (auto v = r.string_at(*sync, "sync.", "host"))
      cfg.sync_host = *v;
    if (auto v = r.integer_at(*sync, "sync.", "port")) {
      if (*v < 0 || *v > 65535)
        r.fail("sync.port", "expected a port number 0..65535, got " + std::to_string(*v),
               r.where(*sync, "port"));
      cfg.sync_port = static_cast<std::uint16_t>(*v);
    }
    if (auto v = r.string_at(*sync, "sync.", "socket")) {
      cfg.sync_socket = r.relative_to_file(*v);
      if (cfg.sync_socket.string().size() > 107)
        r.fail("sync.socket", "'" + cfg.sync_socket.string() + "' is longer than a Unix socket "
               "path may be (107 bytes)", r.where(*sync, "socket"));
    }
  }
  std::string format = "text";
  const toml::source_region* level_where = nullptr;
  const toml::source_region* format_where = nullptr;
  if (auto* log = r.table_at(doc, "log")) {
    r.only_keys(*log, "log.", {"level", "format"});
    if (auto v = r.string_at(*log, "log.", "level")) {
      cfg.log_level = *v;
      level_where = r.where(*log, "level");
    }
    if (auto v = r.string_at(*log, "log.", "format")) {
      format = *v;
      format_where = r.where(*log, "format");
    }
  }

  // Command-line overrides replace what the file says (and drop its line
  // numbers from errors about them).
  if (over.name) {
    cfg.name = *over.name;
    name_where = nullptr;
  }
  if (over.data_dir)
    data_dir = *over.data_dir;
  if (over.listen_host)
    cfg.listen_host = *over.listen_host;
  if (over.listen_port)
    cfg.listen_port = *over.listen_port;
  if (over.secret_file) {
    node_secret.inline_value.reset();
    node_secret.file = *over.secret_file;
    node_secret.where = nullptr;
    node_secret.file_key = "--secret-file";
  }
  if (over.sync_port) {
    cfg.sync_enabled = true;
    cfg.sync_port = *over.sync_port;
  }
  if (over.log_level) {
    cfg.log_level = *over.log_level;
    level_where = nullptr;
  }
  if (over.log_format) {
    format = *over.log_format;
    format_where = nullptr;
  }

  if (cfg.name.empty())
    r.fail("node.name", "missing (the node's name, e.g. name = \"node-a\")");
  if (!valid_node_name(cfg.name))
    r.fail("node.name", "'" + cfg.name + "' is not 1..64 printable characters without spaces",
           name_where);
  if (!data_dir || data_dir->empty())
    r.fail("node.data_dir", "missing (the directory holding the databases)");
  cfg.data_dir = *data_dir;
  if (cfg.listen_host.empty())
    r.fail("listen.host", "must not be empty");
  if (!valid_log_level(cfg.log_level))
    r.fail("log.level",
           "unknown level '" + cfg.log_level +
               "' (trace, debug, info, warn, error, critical or off)",
           level_where);
  if (format == "text")
    cfg.format = log_format::text;
  else if (format == "json")
    cfg.format = log_format::json;
  else
    r.fail("log.format", "unknown format '" + format + "' (text or json)", format_where);
  cfg.secret = resolve_secret(r, node_secret, cfg.warnings);

  if (auto* node = doc.get("database")) {
    auto* list = node->as_array();
    if (!list || !list->is_array_of_tables())
      r.fail("database",
             "expected [[database]] tables, got " + std::string{config_reader::type_name(*node)},
             &node->source());
    std::set<std::string> names;
    std::set<fs::path> paths;
    std::size_t index = 0;
    for (auto& entry : *list) {
      auto& t = *entry.as_table();
      std::string prefix = "database[" + std::to_string(index++) + "].";
      r.only_keys(t, prefix,
                  {"name", "path", "password", "password_file", "sync_secret", "sync_secret_file",
                   "create", "grant", "team", "e2e_only"});
      database_config db;
      auto name = r.string_at(t, prefix, "name");
      if (!name)
        r.fail(prefix + "name", "missing", &t.source());
      if (!valid_database_name(*name))
        r.fail(prefix + "name",
               "'" + *name + "' is not 1..128 characters of [A-Za-z0-9_.-] not starting with '.'",
               r.where(t, "name"));
      if (!names.insert(*name).second)
        r.fail(prefix + "name", "database '" + *name + "' is configured twice", r.where(t, "name"));
      db.name = *name;
      // From here on, errors name the database too.
      std::string who = " (database '" + db.name + "')";
      if (auto p = r.string_at(t, prefix, "path"))
        db.path = fs::path{*p}.is_absolute() ? fs::path{*p} : cfg.data_dir / *p;
      else
        db.path = cfg.data_dir / db.name;
      if (!paths.insert(db.path.lexically_normal()).second)
        r.fail(prefix + "path" + who, "'" + db.path.string() + "' is used by another database",
               r.where(t, "path"));
      if (auto c = r.bool_at(t, prefix, "create"))
        db.create = *c;

      secret_setting password{
          r.string_at(t, prefix, "password"), {},        nullptr, prefix + "password" + who,
          prefix + "password_file" + who,     "password"};
      if (auto f = r.string_at(t, prefix, "password_file"))
        password.file = r.relative_to_file(*f);
      password.where = r.where(t, password.file ? "password_file" : "password");
      db.password = resolve_secret(r, password, cfg.warnings);

      secret_setting sync{r.string_at(t, prefix, "sync_secret"),
                          {},
                          nullptr,
                          prefix + "sync_secret" + who,
                          prefix + "sync_secret_file" + who,
                          "sync_secret"};
      if (auto f = r.string_at(t, prefix, "sync_secret_file"))
        sync.file = r.relative_to_file(*f);
      sync.where = r.where(t, sync.file ? "sync_secret_file" : "sync_secret");
      db.sync_secret = resolve_secret(r, sync, cfg.warnings);
      if (db.sync_secret == db.password)
        r.fail(prefix + "sync_secret" + who, "must differ from the database's password",
               sync.where);
      db.grants = read_grants(r, t, prefix, who, db, cfg.warnings);
      db.teams = read_teams(r, t, prefix, who, cfg.warnings);
      if (auto e2e = r.bool_at(t, prefix, "e2e_only"))
        db.e2e_only = *e2e;
      if (db.e2e_only && db.teams.empty())
        r.fail(prefix + "e2e_only" + who,
               "an e2e_only database needs a [[database.team]]: only team members can seal ops",
               r.where(t, "e2e_only"));
      cfg.databases.push_back(std::move(db));
    }
  }

  if (auto* node = doc.get("link")) {
    auto* list = node->as_array();
    if (!list || !list->is_array_of_tables())
      r.fail("link",
             "expected [[link]] tables, got " + std::string{config_reader::type_name(*node)},
             &node->source());
    std::size_t index = 0;
    for (auto& entry : *list) {
      auto& t = *entry.as_table();
      std::string prefix = "link[" + std::to_string(index++) + "].";
      r.only_keys(t, prefix, {"from", "to", "mode"});
      link_config link;
      for (auto [key, out] : {std::pair{"from", &link.from}, std::pair{"to", &link.to}}) {
        auto v = r.string_at(t, prefix, key);
        if (!v)
          r.fail(prefix + key, "missing", &t.source());
        bool known = false;
        for (auto& db : cfg.databases)
          known = known || db.name == *v;
        if (!known)
          r.fail(prefix + key, "no database named '" + *v + "' is configured", r.where(t, key));
        *out = *v;
      }
      if (link.from == link.to)
        r.fail(prefix + "to", "a database cannot be linked to itself", r.where(t, "to"));
      if (auto m = r.string_at(t, prefix, "mode")) {
        if (*m != "read_only" && *m != "write_only" && *m != "bidirectional")
          r.fail(prefix + "mode",
                 "unknown mode '" + *m + "' (read_only, write_only or bidirectional)",
                 r.where(t, "mode"));
        link.mode = *m;
      }
      cfg.links.push_back(std::move(link));
    }
  }

  if (auto* node = doc.get("peer")) {
    auto* list = node->as_array();
    if (!list || !list->is_array_of_tables())
      r.fail("peer",
             "expected [[peer]] tables, got " + std::string{config_reader::type_name(*node)},
             &node->source());
    std::size_t index = 0;
    for (auto& entry : *list) {
      auto& t = *entry.as_table();
      std::string prefix = "peer[" + std::to_string(index++) + "].";
      r.only_keys(t, prefix,
                  {"database", "remote", "host", "port", "socket", "failover", "mode", "secret",
                   "secret_file", "access_secret", "access_secret_file"});
      peer_config peer;
      auto db_name = r.string_at(t, prefix, "database");
      if (!db_name)
        r.fail(prefix + "database", "missing", &t.source());
      const database_config* db = nullptr;
      for (auto& d : cfg.databases)
        if (d.name == *db_name)
          db = &d;
      if (!db)
        r.fail(prefix + "database", "no database named '" + *db_name + "' is configured",
               r.where(t, "database"));
      peer.database = *db_name;
      peer.remote = r.string_at(t, prefix, "remote").value_or(peer.database);
      peer.host = r.string_at(t, prefix, "host").value_or("");
      if (auto p = r.integer_at(t, prefix, "port")) {
        if (*p < 1 || *p > 65535)
          r.fail(prefix + "port", "expected a port number 1..65535, got " + std::to_string(*p),
                 r.where(t, "port"));
        peer.port = static_cast<std::uint16_t>(*p);
      }
      if (auto s = r.string_at(t, prefix, "socket"))
        peer.socket = r.relative_to_file(*s).string();
      if (peer.host.empty() != (peer.port == 0))
        r.fail(prefix + "host", "give both host and port (or neither, with socket)", &t.source());
      if (peer.host.empty() && peer.socket.empty())
        r.fail(prefix + "host", "missing: a peer needs host and port, or socket", &t.source());
      for (auto& text : string_list(r, t, prefix + "failover", "failover")) {
        auto endpoint = parse_endpoint(text);
        if (!endpoint || endpoint->second == 0)
          r.fail(prefix + "failover", "'" + text + "' is not HOST:PORT", r.where(t, "failover"));
        peer.failover.push_back(*endpoint);
      }
      if (!peer.failover.empty() && peer.host.empty())
        r.fail(prefix + "failover", "needs host and port (the first node to try)",
               r.where(t, "failover"));
      if (auto m = r.string_at(t, prefix, "mode")) {
        if (*m != "read_only" && *m != "write_only" && *m != "bidirectional")
          r.fail(prefix + "mode",
                 "unknown mode '" + *m + "' (read_only, write_only or bidirectional)",
                 r.where(t, "mode"));
        peer.mode = *m;
      }
      auto optional_secret = [&](const char* key, const char* file_key,
                                 const std::string& fallback) {
        secret_setting s{r.string_at(t, prefix, key), {}, nullptr, prefix + key,
                         prefix + file_key, key};
        if (auto f = r.string_at(t, prefix, file_key))
          s.file = r.relative_to_file(*f);
        if (!s.inline_value && !s.file)
          return fallback;
        s.where = r.where(t, s.file ? file_key : key);
        return resolve_secret(r, s, cfg.warnings);
      };
      peer.secret = optional_secret("secret", "secret_file", cfg.secret);
      peer.access_secret = optional_secret("access_secret", "access_secret_file", db->sync_secret);
      cfg.peers.push_back(std::move(peer));
    }
  }
  return cfg;
}

} // namespace

result<std::string> read_secret_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return blaze::error{errc::io_error,
                        "cannot read '" + file.string() + "': " + std::strerror(errno)};
  // A secret is short; reading no more than this keeps a config that names
  // /dev/zero or a huge file from hanging the node or exhausting memory.
  std::string secret(max_secret_file_size + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  if (in.bad())
    return blaze::error{errc::io_error,
                        "cannot read '" + file.string() + "': " + std::strerror(errno)};
  secret.resize(static_cast<std::size_t>(in.gcount()));
  if (secret.size() > max_secret_file_size)
    return blaze::error{errc::invalid_argument,
                        "'" + file.string() + "' is larger than "
                          + std::to_string(max_secret_file_size) + " bytes: not a secret"};
  if (!secret.empty() && secret.back() == '\n')
    secret.pop_back();
  if (!secret.empty() && secret.back() == '\r')
    secret.pop_back();
  if (secret.empty())
    return blaze::error{errc::invalid_argument, "'" + file.string() + "' is empty"};
  return secret;
}

result<node_config> parse_config(std::string_view toml_text, const fs::path& source,
                                 const config_overrides& overrides) {
  config_reader reader{source};
  try {
    toml::table doc = toml::parse(toml_text, source.string());
    return read_config(doc, reader, overrides);
  } catch (const toml::parse_error& e) {
    std::string msg = source.string();
    if (e.source().begin.line > 0)
      msg += ":" + std::to_string(e.source().begin.line);
    msg += ": not valid TOML: ";
    msg += e.description();
    return blaze::error{errc::invalid_argument, msg};
  } catch (const config_error& e) {
    return blaze::error{errc::invalid_argument, e.message};
  }
}

result<node_config> load_config(const fs::path& file, const config_overrides& overrides) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return blaze::error{errc::not_found,
                        "cannot read config file '" + file.string() + "': " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file, overrides);
}

result<std::pair<std::string, std::uint16_t>> parse_endpoint(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return blaze::error{errc::invalid_argument,
                        "'" + std::string{text} + "' is not HOST:PORT (" + why + ")"};
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return bad("no host or port");
  std::string host{text.substr(0, colon)};
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos)
    return bad("the port is not a number");
  auto port = std::stoul(std::string{port_text});
  if (port > 65535)
    return bad("the port is above 65535");
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

} // namespace blaze::server
