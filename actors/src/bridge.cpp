#include "blaze/actors/bridge.hpp"

#include "manifest_codec.hpp"

#include "blaze/runtime/system_config.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace blaze::actors {

namespace fs = std::filesystem;

namespace {

blaze::error io_failure(const std::string& what) {
  return blaze::error{errc::io_error, what + ": " + std::strerror(errno)};
}

result<void> validate_group_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name != "." && name != "..";
  for (char c : name)
    ok = ok
         && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
             || c == '_' || c == '.' || c == '-');
  if (!ok)
    return blaze::error{errc::invalid_argument,
                        "app group name '" + name
                          + "' must be 1 to 64 characters of A-Z a-z 0-9 _ . - (not . or ..)"};
  return {};
}

// An exclusive or shared flock on <dir>/manifest.lock, held while alive.
class manifest_lock {
public:
  static result<manifest_lock> take(const fs::path& dir, bool exclusive) {
    auto path = dir / "manifest.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return io_failure("cannot open " + path.string());
    while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno == EINTR)
        continue;
      auto e = io_failure("cannot lock " + path.string());
      ::close(fd);
      return e;
    }
    return manifest_lock{fd};
  }
  manifest_lock(manifest_lock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  manifest_lock(const manifest_lock&) = delete;
  ~manifest_lock() {
    if (fd_ >= 0)
      ::close(fd_); // releases the lock
  }

private:
  explicit manifest_lock(int fd) : fd_(fd) {}
  int fd_;
};

result<std::string> read_text(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::string{}; // no manifest yet: no exports
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

result<void> write_manifest(const fs::path& dir, const std::vector<export_entry>& entries) {
  auto tmp = dir / ("manifest.json.tmp" + std::to_string(::getpid()));
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << detail::encode_manifest(entries);
    if (!out)
      return io_failure("cannot write " + tmp.string());
  }
  if (::rename(tmp.c_str(), (dir / "manifest.json").c_str()) != 0)
    return io_failure("cannot replace " + (dir / "manifest.json").string());
  return {};
}

bool process_alive(std::int64_t pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

} // namespace

result<fs::path> group_directory(const app_group& group) {
  if (auto r = validate_group_name(group.name); !r)
    return r.error();
  fs::path dir = group.dir;
  if (dir.empty()) {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    fs::path base = runtime_dir && *runtime_dir
                      ? fs::path{runtime_dir} / "blaze"
                      : fs::path{"/tmp"} / ("blaze-" + std::to_string(::getuid()));
    dir = base / "groups" / group.name;
  }
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      return blaze::error{errc::io_error,
                          "cannot create app group directory " + dir.string() + ": "
                            + ec.message()};
    if (group.dir.empty()) {
      // Ours alone by default; a shared group names a directory its users share.
      ::chmod(dir.c_str(), 0700);
      ::chmod(dir.parent_path().parent_path().c_str(), 0700);
    }
  } else if (!fs::is_directory(dir, ec)) {
    return blaze::error{errc::invalid_argument,
                        "app group path " + dir.string() + " is not a directory"};
  }
  return dir;
}

namespace {

// Runs `f(dir, entries)` on the group's manifest under its lock: shared to
// read it, exclusive to change it.
template <class F>
auto with_manifest(const app_group& group, bool exclusive, F f)
  -> decltype(f(fs::path{}, std::declval<std::vector<export_entry>&>())) {
  auto dir = group_directory(group);
  if (!dir)
    return dir.error();
  auto lock = manifest_lock::take(*dir, exclusive);
  if (!lock)
    return lock.error();
  auto text = read_text(*dir / "manifest.json");
  if (!text)
    return text.error();
  auto entries = detail::parse_manifest(*text);
  return f(*dir, entries);
}

} // namespace

result<std::vector<export_entry>> list_exports(const app_group& group) {
  auto list = [](const fs::path&, std::vector<export_entry>& entries)
    -> result<std::vector<export_entry>> {
    for (auto& e : entries)
      e.live = process_alive(e.pid);
    return std::move(entries);
  };
  return with_manifest(group, false, list);
}

result<void> publish_export(const app_group& group, const export_entry& entry) {
  auto publish = [&](const fs::path& dir, std::vector<export_entry>& entries) -> result<void> {
    for (auto& e : entries)
      if (e.database == entry.database && e.pid != entry.pid && process_alive(e.pid))
        return blaze::error{errc::busy, "process " + std::to_string(e.pid) + " already exports '"
                                          + entry.database + "' to app group '" + group.name
                                          + "'"};
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](auto& e) { return e.database == entry.database; }),
                  entries.end());
    entries.push_back(entry);
    return write_manifest(dir, entries);
  };
  return with_manifest(group, true, publish);
}

result<void> withdraw_export(const app_group& group, const std::string& database,
                             std::int64_t pid) {
  auto withdraw = [&](const fs::path& dir, std::vector<export_entry>& entries) -> result<void> {
    auto before = entries.size();
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](auto& e) { return e.database == database && e.pid == pid; }),
                  entries.end());
    if (entries.size() == before)
      return {};
    return write_manifest(dir, entries);
  };
  return with_manifest(group, true, withdraw);
}

std::string group_link_secret(const app_group& group) {
  return "blaze app group link v1: " + group.name;
}

// --- the bridge -------------------------------------------------------------------

namespace {

struct bridge_state {
  static inline const char* name = "blaze.bridge";
  app_group group;
  std::string served;
  export_policy policy;
  std::vector<access_grant> grants;
  caf::actor listener;
  caf::actor report_to;
  // Live links and the grant that admitted each.
  std::vector<std::pair<caf::actor, std::string>> links;
  bool published = false;

  ~bridge_state() {
    if (listener)
      caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    if (published)
      (void) withdraw_export(group, served, ::getpid());
  }
};

using bridge_pointer = bridge_actor::stateful_pointer<bridge_state>;

access_grant make_grant(const export_policy& policy, std::string name) {
  access_grant g;
  g.name = std::move(name);
  g.collections = policy.collections;
  g.fields = policy.fields;
  g.read_only = policy.read_only;
  return g;
}

std::string uid_grant_name(std::uint32_t uid) {
  return "uid:" + std::to_string(uid);
}

void push_grants(bridge_pointer self) {
  auto& st = self->state;
  caf::anon_send(st.listener, grant_atom_v, st.served, st.grants);
}

// The bridge serves its socket and publishes the manifest entry when asked
// (serve_atom), so that spawn_bridge can report a failure; it runs detached
// because both touch the file system (and flock may wait).
struct bridge_setup {
  app_group group;
  export_entry entry;
  std::vector<access_grant> grants;
  database_actor db;
  bridge_options options;
};

bridge_actor::behavior_type bridge_behavior(bridge_pointer self, bridge_setup setup) {
  auto& st = self->state;
  st.group = setup.group;
  st.served = setup.entry.database;
  st.policy = setup.entry.policy;
  st.grants = setup.grants;
  st.report_to = setup.options.report_to;
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& ls = self->state.links;
    ls.erase(std::remove_if(ls.begin(), ls.end(),
                            [&](auto& l) { return l.first.address() == dm.source; }),
             ls.end());
  });
  return {
    [self, setup](serve_atom) -> caf::result<void> {
      auto& st = self->state;
      if (st.listener)
        return caf::unit;
      socket_link_options o;
      o.link_secret = group_link_secret(setup.group);
      o.grants[st.served] = st.grants;
      o.relay = setup.options.relay;
      o.report_to = caf::actor_cast<caf::actor>(self);
      auto listener = serve_unix(self->system(), setup.entry.socket.string(),
                                 {{st.served, setup.db}}, std::move(o));
      if (!listener)
        return runtime::to_caf_error(listener.error());
      st.listener = *listener;
      if (auto r = publish_export(setup.group, setup.entry); !r)
        return runtime::to_caf_error(r.error());
      st.published = true;
      return caf::unit;
    },
    [self](grant_atom, share_token& t) -> caf::result<void> {
      auto& st = self->state;
      if (t.name.empty() || t.token.empty() || t.name.rfind("uid:", 0) == 0)
        return runtime::to_caf_error(
          blaze::error{errc::invalid_argument, "a token grant needs a name (not uid:...) and a "
                                               "token"});
      st.grants.erase(std::remove_if(st.grants.begin(), st.grants.end(),
                                     [&](auto& g) { return g.name == t.name; }),
                      st.grants.end());
      auto g = make_grant(st.policy, t.name);
      g.secret = t.token;
      st.grants.push_back(std::move(g));
      push_grants(self);
      return caf::unit;
    },
    [self](grant_atom, std::uint32_t uid) -> caf::result<void> {
      auto& st = self->state;
      auto name = uid_grant_name(uid);
      if (std::none_of(st.grants.begin(), st.grants.end(),
                       [&](auto& g) { return g.name == name; })) {
        auto g = make_grant(st.policy, name);
        g.uids.push_back(uid);
        st.grants.push_back(std::move(g));
        push_grants(self);
      }
      return caf::unit;
    },
    [self](revoke_atom, const std::string& name) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      auto before = st.grants.size();
      st.grants.erase(std::remove_if(st.grants.begin(), st.grants.end(),
                                     [&](auto& g) { return g.name == name; }),
                      st.grants.end());
      if (st.grants.size() == before)
        return runtime::to_caf_error(blaze::error{
          errc::not_found, "no grant named '" + name + "' on export '" + st.served + "'"});
      // New connections first, then the live ones.
      push_grants(self);
      std::uint64_t cut = 0;
      for (auto& [link, grant] : st.links)
        if (grant == name) {
          caf::anon_send(link, revoke_atom_v,
                     "access to '" + st.served + "' of app group '" + st.group.name
                       + "' was revoked (grant '" + name + "')");
          ++cut;
        }
      return cut;
    },
    [self](established_atom, link_event& ev) {
      auto& st = self->state;
      self->monitor(ev.link);
      st.links.emplace_back(ev.link, ev.grant);
      if (st.report_to)
        caf::anon_send(st.report_to, established_atom_v, std::move(ev));
    },
    [self](stats_atom, const relay_actor& relay, const relay_stats& stats) {
      if (self->state.report_to)
        caf::anon_send(self->state.report_to, stats_atom_v, relay, stats);
    },
    [self](stats_atom, const caf::actor& conn, const relay_stats& stats) {
      if (self->state.report_to)
        caf::anon_send(self->state.report_to, stats_atom_v, conn, stats);
    },
  };
}

} // namespace

result<bridge_actor> spawn_bridge(caf::actor_system& sys, database_actor db,
                                  const app_group& group, export_policy policy,
                                  share_permissions permissions, bridge_options options) {
  if (!db)
    return blaze::error{errc::invalid_argument, "no database to export"};
  if (policy.collections.empty())
    return blaze::error{errc::invalid_argument,
                        "an export names its collections: nothing is exported by default"};
  for (auto& c : policy.collections)
    if (auto r = validate_collection(c); !r)
      return r.error();
  for (auto& f : policy.fields)
    if (auto r = validate_field_name(f); !r)
      return r.error();
  auto dir = group_directory(group);
  if (!dir)
    return dir.error();
  auto served = options.served_name;
  if (served.empty())
    return blaze::error{errc::invalid_argument, "an export needs the name importers ask for"};
  if (auto r = validate_collection(served); !r)
    return blaze::error{errc::invalid_argument,
                        "export name '" + served + "': " + r.error().message()};
  std::vector<access_grant> grants;
  if (permissions.uids.empty() && permissions.tokens.empty())
    permissions.uids.push_back(static_cast<std::uint32_t>(::getuid()));
  for (auto uid : permissions.uids) {
    auto g = make_grant(policy, uid_grant_name(uid));
    g.uids.push_back(uid);
    grants.push_back(std::move(g));
  }
  for (auto& t : permissions.tokens) {
    if (t.name.empty() || t.token.empty() || t.name.rfind("uid:", 0) == 0)
      return blaze::error{errc::invalid_argument,
                          "a token grant needs a name (not uid:...) and a token"};
    auto g = make_grant(policy, t.name);
    g.secret = t.token;
    grants.push_back(std::move(g));
  }
  export_entry entry;
  entry.database = served;
  entry.socket = *dir / (served + ".sock");
  entry.pid = ::getpid();
  entry.uid = static_cast<std::uint32_t>(::getuid());
  entry.policy = policy;
  bridge_setup setup{group, std::move(entry), std::move(grants), std::move(db),
                     std::move(options)};
  auto bridge = sys.spawn<caf::detached>(bridge_behavior, std::move(setup));
  caf::scoped_actor self{sys};
  std::optional<blaze::error> failure;
  self->request(bridge, std::chrono::seconds(10), serve_atom_v)
    .receive([] {}, [&](caf::error& e) { failure = runtime::from_caf_error(e); });
  if (failure) {
    self->send_exit(bridge, caf::exit_reason::user_shutdown);
    self->wait_for(bridge);
    return *failure;
  }
  return bridge;
}

// --- the importing side's view ---------------------------------------------------

namespace {

struct view_state {
  static inline const char* name = "blaze.shared_view";
  database_actor replica;
  export_policy policy;
  bool writable = false;
  std::string description;
};

using view_pointer = database_actor::stateful_pointer<view_state>;

// Why a write of these fields of `collection` may not go to the exporter
// (empty: it may).
std::string write_refusal(const view_state& st, const std::string& collection,
                          const std::vector<std::string>& fields) {
  if (!st.writable)
    return st.description + " is read-only here";
  if (std::find(st.policy.collections.begin(), st.policy.collections.end(), collection)
      == st.policy.collections.end())
    return st.description + " does not export collection '" + collection + "'";
  if (!st.policy.fields.empty())
    for (auto& f : fields)
      if (std::find(st.policy.fields.begin(), st.policy.fields.end(), f)
          == st.policy.fields.end())
        return st.description + " does not export field '" + f + "'";
  return {};
}

caf::error refused(const std::string& why) {
  return runtime::to_caf_error(blaze::error{errc::permission_denied, why});
}

database_actor::behavior_type view_behavior(view_pointer self, database_actor replica,
                                            export_policy policy, bool writable,
                                            std::string description) {
  auto& st = self->state;
  st.replica = std::move(replica);
  st.policy = std::move(policy);
  st.writable = writable;
  st.description = std::move(description);
  // The view lives as long as its replica.
  self->link_to(st.replica);
  return {
    [self](put_atom, std::string& coll, std::string& id, field_map& fields) -> caf::result<op> {
      std::vector<std::string> names;
      for (auto& [name, v] : fields)
        names.push_back(name);
      if (auto why = write_refusal(self->state, coll, names); !why.empty())
        return refused(why);
      return self->delegate(self->state.replica, put_atom_v, std::move(coll), std::move(id),
                            std::move(fields));
    },
    [self](remove_fields_atom, std::string& coll, std::string& id,
           std::vector<std::string>& fields) -> caf::result<op> {
      if (auto why = write_refusal(self->state, coll, fields); !why.empty())
        return refused(why);
      return self->delegate(self->state.replica, remove_fields_atom_v, std::move(coll),
                            std::move(id), std::move(fields));
    },
    [self](erase_atom, std::string& coll, std::string& id) -> caf::result<op> {
      if (auto why = write_refusal(self->state, coll, {}); !why.empty())
        return refused(why);
      return self->delegate(self->state.replica, erase_atom_v, std::move(coll), std::move(id));
    },
    [self](apply_atom, std::vector<op>&) -> caf::result<apply_stats> {
      return refused(self->state.description + " takes ops only from its exporter");
    },
    [self](get_atom, std::string& coll, std::string& id) -> caf::result<std::vector<record>> {
      return self->delegate(self->state.replica, get_atom_v, std::move(coll), std::move(id));
    },
    [self](list_atom, std::string& coll, std::uint64_t limit,
           std::string& after) -> caf::result<std::vector<record>> {
      return self->delegate(self->state.replica, list_atom_v, std::move(coll), limit,
                            std::move(after));
    },
    [self](count_atom, std::string& coll) -> caf::result<std::uint64_t> {
      return self->delegate(self->state.replica, count_atom_v, std::move(coll));
    },
    [self](find_atom, query& q) -> caf::result<std::vector<record>> {
      return self->delegate(self->state.replica, find_atom_v, std::move(q));
    },
    [self](ops_since_atom, version_vector& have,
           std::uint64_t limit) -> caf::result<std::vector<op>> {
      return self->delegate(self->state.replica, ops_since_atom_v, std::move(have), limit);
    },
    [self](version_atom) -> caf::result<version_vector> {
      return self->delegate(self->state.replica, version_atom_v);
    },
    [self](node_atom) -> caf::result<node_id> {
      return self->delegate(self->state.replica, node_atom_v);
    },
    [self](subscribe_atom, change_listener& l) -> caf::result<std::uint64_t> {
      return self->delegate(self->state.replica, subscribe_atom_v, std::move(l));
    },
    [self](unsubscribe_atom, std::uint64_t id) {
      self->send(self->state.replica, unsubscribe_atom_v, id);
    },
    [self](subscribe_atom, std::uint64_t id, node_id skip_origin) {
      self->send(self->state.replica, subscribe_atom_v, id, skip_origin);
    },
  };
}

} // namespace

database_actor spawn_shared_view(caf::actor_system& sys, database_actor replica,
                                 export_policy policy, bool writable, std::string description) {
  return sys.spawn(view_behavior, std::move(replica), std::move(policy), writable,
                   std::move(description));
}

} // namespace blaze::actors
