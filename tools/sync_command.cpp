// `blaze sync`: syncs a local store with a database on a blaze-node, over
// the node's Unix socket when given and answering, else over TCP (always
// inside the secure channel). Without --follow it returns once both
// directions have caught up; with --follow it stays, printing each change
// of the link's state, until SIGINT or SIGTERM. Secrets come from files or
// the environment, never from the command line.
#include "commands.hpp"
#include "password_source.hpp"
#include "tool_error.hpp"

#include "blaze/actors/topology.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/config.hpp"
#include "blaze/storage/team_seal.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <csignal>
#include <sstream>
#include <thread>

namespace blaze::cli {

namespace {

actors::link_mode sync_mode(const std::string& text) {
  if (text == "both")
    return actors::link_mode::bidirectional;
  if (text == "push")
    return actors::link_mode::read_only; // local -> node
  if (text == "pull")
    return actors::link_mode::write_only; // node -> local
  throw tool_error("unknown sync mode '" + text + "' (push, pull or both)", exit_usage);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

std::string describe(const actors::link_info& l) {
  std::ostringstream out;
  out << l.transport << "  " << actors::to_string(l.state) << "  lag " << l.lag() << "  ops "
      << l.ops_relayed();
  if (l.state != actors::link_state::running && !l.last_error().empty())
    out << "  error: " << l.last_error();
  return out.str();
}

} // namespace

void sync_with_node(const store_options& store, const sync_arguments& args, std::ostream& out) {
  // Everything about the command line first: a typo costs no password prompt.
  actors::remote_database remote;
  remote.database = args.database;
  if (!args.node.empty()) {
    auto endpoint = server::parse_endpoint(args.node);
    if (!endpoint)
      throw tool_error("--node: " + endpoint.error().message(), exit_usage);
    remote.host = endpoint->first;
    remote.port = endpoint->second;
    if (remote.port == 0)
      throw tool_error("--node: the port must not be 0", exit_usage);
  }
  remote.socket_path = args.socket;
  for (auto& text : args.failover) {
    auto endpoint = server::parse_endpoint(text);
    if (!endpoint || endpoint->second == 0)
      throw tool_error("--failover: '" + text + "' is not HOST:PORT", exit_usage);
    remote.failover.push_back({endpoint->first, endpoint->second});
  }
  if (!remote.failover.empty() && remote.host.empty())
    throw tool_error("--failover needs --node", exit_usage);
  if (remote.host.empty() && remote.socket_path.empty())
    throw tool_error("give --node HOST:PORT, --socket PATH or both", exit_usage);
  if (args.timeout_seconds == 0)
    throw tool_error("--timeout must be at least 1 second", exit_usage);
  actors::sync_policy policy;
  policy.mode = sync_mode(args.mode);
  policy.collections = split_list(args.collections);
  policy.node_secret = args.secret_file.empty()
                         ? read_password("BLAZE_NODE_SECRET", "Node secret: ")
                         : read_secret_file(args.secret_file);
  policy.access_secret = args.access_secret_file.empty()
                           ? read_password("BLAZE_ACCESS_SECRET", "Database access secret: ")
                           : read_secret_file(args.access_secret_file);
  for (auto& text : args.teams) {
    // NAME:SECRET_FILE[:COLLECTION,...]
    auto first = text.find(':');
    if (first == std::string::npos || first == 0 || first + 1 == text.size())
      throw tool_error("--team: '" + text + "' is not NAME:SECRET_FILE[:COLLECTIONS]", exit_usage);
    auto second = text.find(':', first + 1);
    actors::team_membership team;
    team.name = text.substr(0, first);
    if (auto r = validate_team_name(team.name); !r)
      throw tool_error("--team: " + r.error().message(), exit_usage);
    auto file = text.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                   : second - first - 1);
    if (second != std::string::npos)
      team.collections = split_list(text.substr(second + 1));
    team.secret = read_secret_file(file);
    policy.teams.push_back(std::move(team));
  }
  if (args.e2e_only && policy.teams.empty())
    throw tool_error("--e2e needs a --team: its key is what seals the ops", exit_usage);
  if (args.e2e_only)
    policy.encryption = actors::encryption_mode::e2e_only;

  // SIGINT/SIGTERM end --follow; blocked before any thread starts so that
  // only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (args.follow)
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto db = open_store(store);
  runtime::system_config cfg{runtime::scheduler_options{2, false}};
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  caf::actor_system sys{cfg};
  auto local = actors::spawn_database(sys, std::move(db));
  std::string failure;
  {
    actors::topology topo{sys};
    auto node = topo.register_db(local, "local");
    auto id = node ? topo.enable_sync("local", remote, policy) : result<actors::link_id>{node.error()};
    if (!id) {
      failure = id.error().to_string();
    } else if (!args.follow) {
      // In slices, so that a refusal (wrong secret, no grant) ends the wait
      // at once: retrying would not change the answer.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.timeout_seconds);
      bool synced = false;
      while (!synced && failure.empty()) {
        synced = topo.wait_until_synced(std::chrono::milliseconds(500));
        auto links = topo.links();
        auto error = links.empty() ? std::string{} : links[0].last_error();
        if (synced)
          out << "synced '" << args.database << "': " << describe(links.at(0)) << "\n";
        else if (links.empty() || std::chrono::steady_clock::now() >= deadline)
          failure = "not in sync after " + std::to_string(args.timeout_seconds) + " s: "
                    + (links.empty() ? std::string{"no link"} : describe(links[0]));
        else if (error.find(to_string(errc::auth_failed)) != std::string::npos
                 || error.find(to_string(errc::permission_denied)) != std::string::npos)
          failure = "refused: " + error;
      }
    } else {
      // Prints the link whenever it changes, until a stop signal.
      std::atomic<bool> stop{false};
      std::thread waiter{[&] {
        int sig = 0;
        while (sigwait(&stop_signals, &sig) != 0) {
        }
        stop = true;
      }};
      std::string last;
      while (!stop) {
        auto links = topo.links();
        auto now = links.empty() ? std::string{"no link"} : describe(links[0]);
        if (now != last)
          out << now << std::endl;
        last = now;
        for (int i = 0; i < 10 && !stop; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      waiter.join();
    }
  }
  caf::scoped_actor self{sys};
  self->send_exit(local, caf::exit_reason::user_shutdown);
  self->wait_for(local);
  if (!failure.empty())
    throw tool_error(failure);
}

void print_team_key(const team_key_arguments& args, std::ostream& out) {
  if (auto r = validate_team_name(args.team); !r)
    throw tool_error("--team: " + r.error().message(), exit_usage);
  auto secret = args.secret_file.empty() ? read_password("BLAZE_TEAM_SECRET", "Team secret: ")
                                         : read_secret_file(args.secret_file);
  auto key = team_access_key(args.team, secret);
  if (!key)
    throw tool_error(key.error().to_string(), exit_usage);
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : *key) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  out << hex << "\n";
}

} // namespace blaze::cli
