#include "blaze/server/config.hpp"

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
  std::ifstream in(*s.file, std::ios::binary);
  if (!in)
    r.fail(s.file_key, "cannot read '" + s.file->string() + "': " + std::strerror(errno), s.where);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  // One trailing line break (echo secret > file) is not part of the secret.
  if (!secret.empty() && secret.back() == '\n')
    secret.pop_back();
  if (!secret.empty() && secret.back() == '\r')
    secret.pop_back();
  if (secret.empty())
    r.fail(s.file_key, "'" + s.file->string() + "' is empty", s.where);
  struct stat st {};
  if (::stat(s.file->c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    warnings.push_back(s.file_key + " '" + s.file->string() +
                       "' can be read by other users (chmod 600 it)");
  return secret;
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

node_config read_config(const toml::table& doc, const config_reader& r,
                        const config_overrides& over) {
  node_config cfg;
  cfg.source = r.source();
  r.only_keys(doc, "", {"node", "listen", "log", "database", "link"});

  secret_setting node_secret{{}, {}, nullptr, "node.secret", "node.secret_file", "secret"};
  std::optional<fs::path> data_dir;
  const toml::source_region* name_where = nullptr;
  if (auto* node = r.table_at(doc, "node")) {
    r.only_keys(*node, "node.", {"name", "data_dir", "secret", "secret_file"});
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
                   "create"});
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
  return cfg;
}

} // namespace

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
