// blaze-node: hosts the databases of a config file and serves its status
// over the secure middleman until SIGTERM or SIGINT.
//
//   blaze-node --config node.toml [--listen HOST:PORT] [--port-file FILE] ...
#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/config.hpp"
#include "blaze/server/event_log.hpp"
#include "blaze/server/node.hpp"

#include <CLI/CLI.hpp>

#include <caf/actor_system.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace {

using namespace blaze::server;
namespace fs = std::filesystem;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// Writes the bound port to `file` through a temporary file and a rename,
// so that a reader never sees a partial number.
bool write_port_file(const fs::path& file, std::uint16_t port) {
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush())
      return false;
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  return !ec;
}

struct node_system_config : blaze::runtime::system_config {
  explicit node_system_config(const node_config& cfg)
      : system_config(blaze::runtime::scheduler_options{cfg.threads, cfg.low_latency}) {
    blaze::runtime::enable_secure_middleman(*this);
  }
};

} // namespace

int main(int argc, char** argv) {
  // SIGTERM and SIGINT are blocked in every thread (the actor system's
  // threads, started later, inherit the mask) and taken by sigwait below:
  // no CAF call ever runs inside a signal handler. A signal during start-up
  // waits until the node is up, then stops it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"blaze-node: hosts Blaze databases and serves their status over the secure "
               "channel",
               "blaze-node"};
  app.set_version_flag("--version", std::string{"blaze-node "} + BLAZE_VERSION);
  fs::path config_file;
  config_overrides over;
  std::string listen;
  fs::path port_file;
  fs::path sync_port_file;
  bool check_only = false;
  app.add_option("-c,--config", config_file, "Config file (TOML)")->required()->type_name("FILE");
  app.add_option("--name", over.name, "Node name (node.name)")->type_name("NAME");
  app.add_option("--data-dir", over.data_dir, "Directory of the databases (node.data_dir)")
      ->type_name("DIR");
  app.add_option("--listen", listen, "Status endpoint (listen.host and listen.port)")
      ->type_name("HOST:PORT");
  app.add_option("--port", over.listen_port, "Status endpoint port, 0 for any (listen.port)")
      ->type_name("PORT");
  app.add_option("--secret-file", over.secret_file, "File holding the node secret")
      ->type_name("FILE");
  app.add_option("--log-level", over.log_level,
                 "trace, debug, info, warn, error, critical or off (log.level)")
      ->type_name("LEVEL");
  app.add_option("--log-format", over.log_format, "text (key=value) or json (log.format)")
      ->type_name("FORMAT");
  app.add_option("--port-file", port_file, "Write the bound port to FILE once listening")
      ->type_name("FILE");
  app.add_option("--sync-port", over.sync_port,
                 "Sync endpoint port, 0 for any (sync.port; turns sync on)")
      ->type_name("PORT");
  app.add_option("--sync-port-file", sync_port_file,
                 "Write the bound sync port to FILE once listening")
      ->type_name("FILE");
  app.add_flag("--check-config", check_only, "Check the config and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  if (!listen.empty()) {
    auto endpoint = parse_endpoint(listen);
    if (!endpoint) {
      std::cerr << "blaze-node: --listen: " << endpoint.error().message() << std::endl;
      return exit_usage;
    }
    over.listen_host = endpoint->first;
    if (!over.listen_port)
      over.listen_port = endpoint->second;
  }

  auto cfg = load_config(config_file, over);
  if (!cfg) {
    std::cerr << "blaze-node: " << cfg.error().message() << std::endl;
    return exit_failure;
  }
  if (check_only) {
    std::cout << "config " << config_file.string() << " is valid: node " << cfg->name << ", "
              << cfg->databases.size() << " database(s)" << std::endl;
    return 0;
  }
  configure_event_log(cfg->format, cfg->log_level);
  for (auto& w : cfg->warnings)
    log_event(log_level::warn, "config_warning", {{"message", w}});

  log_event(log_level::info, "starting",
            {{"node", cfg->name},
             {"version", BLAZE_VERSION},
             {"config", config_file.string()},
             {"databases", static_cast<std::uint64_t>(cfg->databases.size())},
             {"pid", static_cast<std::int64_t>(::getpid())}});
  {
    node_system_config sys_cfg{*cfg};
    caf::actor_system sys{sys_cfg};
    auto n = node::start(sys, *cfg);
    if (!n) {
      log_event(log_level::error, "start_failed", {{"error", n.error().message()}});
      std::cerr << "blaze-node: " << n.error().message() << std::endl;
      return exit_failure;
    }
    auto port = (*n)->listen();
    if (!port) {
      log_event(log_level::error, "start_failed", {{"error", port.error().message()}});
      std::cerr << "blaze-node: " << port.error().message() << std::endl;
      (*n)->stop();
      return exit_failure;
    }
    log_event(log_level::info, "listening",
              {{"host", cfg->listen_host}, {"port", static_cast<unsigned>(*port)}});
    if (!port_file.empty() && !write_port_file(port_file, *port)) {
      log_event(log_level::error, "start_failed",
                {{"error", "cannot write the port file " + port_file.string()}});
      (*n)->stop();
      return exit_failure;
    }
    if (!sync_port_file.empty()
        && (!(*n)->sync_port() || !write_port_file(sync_port_file, *(*n)->sync_port()))) {
      log_event(log_level::error, "start_failed",
                {{"error", "cannot write the sync port file " + sync_port_file.string()
                             + " (is [sync] configured?)"}});
      (*n)->stop();
      return exit_failure;
    }

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    log_event(log_level::info, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    (*n)->stop();
    n->reset();
  } // the actor system ends here, after every actor of the node
  log_event(log_level::info, "stopped", {{"node", cfg->name}});
  return 0;
}
