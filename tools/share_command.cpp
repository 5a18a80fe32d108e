// `blaze share` exports the store to an app group until SIGINT or SIGTERM;
// `blaze shared` lists a group's exports, or imports one (into a private
// replica, never with the exporter's password) and prints its records as
// JSON lines, following changes with --follow.
#include "commands.hpp"
#include "json_codec.hpp"
#include "password_source.hpp"
#include "tool_error.hpp"

#include "blaze/actors/bridge.hpp"
#include "blaze/actors/topology.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <csignal>
#include <sstream>
#include <thread>

namespace blaze::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

actors::app_group make_group(const std::string& name, const std::string& dir) {
  if (name.empty())
    throw tool_error("--group is required", exit_usage);
  return actors::app_group{name, dir};
}

sigset_t block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

void wait_for_stop_signal(sigset_t& stop) {
  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
}

runtime::system_config tool_config() {
  runtime::system_config cfg{runtime::scheduler_options{2, false}};
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  return cfg;
}

} // namespace

void share_store(const store_options& store, const share_arguments& args, std::ostream& out) {
  auto group = make_group(args.group, args.group_dir);
  actors::export_policy policy;
  policy.collections = split_list(args.collections);
  if (policy.collections.empty())
    throw tool_error("--collections is required: nothing is exported by default", exit_usage);
  policy.fields = split_list(args.fields);
  policy.read_only = !args.writable;
  actors::share_permissions permissions;
  permissions.uids = args.uids;
  for (auto& t : args.tokens) {
    auto colon = t.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == t.size())
      throw tool_error("--token: '" + t + "' is not NAME:FILE", exit_usage);
    permissions.tokens.push_back({t.substr(0, colon), read_secret_file(t.substr(colon + 1))});
  }
  auto stop = block_stop_signals();
  auto db = open_store(store);
  auto name = args.as.empty() ? db->name() : args.as;
  auto cfg = tool_config();
  caf::actor_system sys{cfg};
  auto local = actors::spawn_database(sys, std::move(db));
  std::string failure;
  {
    actors::topology topo{sys};
    auto node = topo.register_db(local, name);
    auto bridge = node ? topo.enable_cross_app_sync(name, group, policy, permissions)
                       : result<actors::bridge_actor>{node.error()};
    if (!bridge) {
      failure = bridge.error().to_string();
    } else {
      auto dir = actors::group_directory(group);
      out << "exporting '" << name << "' to app group '" << group.name << "' at "
          << (dir ? dir->string() : std::string{"?"}) << " (" << (policy.read_only ? "read-only" : "writable")
          << "); Ctrl-C stops" << std::endl;
      wait_for_stop_signal(stop);
    }
  }
  caf::scoped_actor self{sys};
  self->send_exit(local, caf::exit_reason::user_shutdown);
  self->wait_for(local);
  if (!failure.empty())
    throw tool_error(failure);
}

void read_shared(const shared_arguments& args, std::ostream& out) {
  auto group = make_group(args.group, args.group_dir);
  if (args.database.empty()) {
    auto exports = actors::list_exports(group);
    if (!exports)
      throw tool_error(exports.error().to_string());
    for (auto& e : *exports) {
      json j{{"database", e.database},
             {"live", e.live},
             {"read_only", e.policy.read_only},
             {"collections", e.policy.collections},
             {"fields", e.policy.fields},
             {"pid", e.pid},
             {"uid", e.uid},
             {"socket", e.socket.string()}};
      out << j.dump() << "\n";
    }
    return;
  }
  if (args.timeout_seconds == 0)
    throw tool_error("--timeout must be at least 1 second", exit_usage);
  actors::topology::import_options options;
  if (!args.token_file.empty())
    options.token = read_secret_file(args.token_file);
  sigset_t stop;
  if (args.follow)
    stop = block_stop_signals();
  auto cfg = tool_config();
  caf::actor_system sys{cfg};
  std::string failure;
  {
    actors::topology topo{sys};
    auto shared = topo.connect_to_shared_db(group, args.database, actors::link_mode::write_only,
                                            options);
    if (!shared)
      throw tool_error(shared.error().to_string());
    // Caught up, or refused: a refusal ends the wait at once.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.timeout_seconds);
    bool synced = false;
    while (!synced && failure.empty()) {
      synced = topo.wait_until_synced(std::chrono::milliseconds(300));
      auto links = topo.links();
      auto error = links.empty() ? std::string{} : links[0].last_error();
      if (synced)
        break;
      if (std::chrono::steady_clock::now() >= deadline)
        failure = "not in sync after " + std::to_string(args.timeout_seconds) + " s"
                  + (error.empty() ? std::string{} : ": " + error);
      else if (error.find(to_string(errc::auth_failed)) != std::string::npos
               || error.find(to_string(errc::permission_denied)) != std::string::npos)
        failure = "refused: " + error;
    }
    if (failure.empty()) {
      auto collections = args.collection.empty() ? shared->source.policy.collections
                                                 : std::vector<std::string>{args.collection};
      caf::scoped_actor self{sys};
      for (auto& c : collections)
        self->request(shared->view, std::chrono::seconds(30), list_atom_v, c, std::uint64_t{0},
                      std::string{})
          .receive(
            [&](std::vector<record>& rs) {
              for (auto& r : rs)
                out << record_to_json(r, c).dump() << "\n";
            },
            [&](caf::error& e) { failure = runtime::from_caf_error(e).to_string(); });
      out.flush();
      if (failure.empty() && args.follow) {
        // Each change as it arrives, until a stop signal.
        std::atomic<bool> done{false};
        std::thread waiter{[&] {
          wait_for_stop_signal(stop);
          done = true;
        }};
        auto printer = sys.spawn([&out](caf::event_based_actor*) -> caf::behavior {
          return {[&out](const std::vector<change>& cs) {
            for (auto& c : cs) {
              json j{{"collection", c.collection}, {"id", c.id}, {"deleted", c.deleted}};
              if (c.current)
                j["record"] = record_to_json(*c.current);
              out << j.dump() << std::endl;
            }
          }};
        });
        self->request(shared->view, std::chrono::seconds(10), subscribe_atom_v,
                      caf::actor_cast<actors::change_listener>(printer))
          .receive([](std::uint64_t) {}, [&](caf::error& e) {
            failure = runtime::from_caf_error(e).to_string();
          });
        while (!done && failure.empty())
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        self->send_exit(printer, caf::exit_reason::user_shutdown);
        if (!done)
          ::kill(::getpid(), SIGTERM); // releases the waiter
        waiter.join();
      }
    }
  }
  if (!failure.empty())
    throw tool_error(failure);
}

} // namespace blaze::cli
