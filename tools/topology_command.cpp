// `blaze topology`: links the given stores in process (a chain in the given
// mode), syncs them, and prints the resulting graph as text, JSON, DOT or a
// PNG drawn by Graphviz.
#include "commands.hpp"
#include "tool_error.hpp"

#include "blaze/actors/topology.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

extern char** environ;

namespace blaze::cli {

namespace {

using actors::link_info;
using actors::link_mode;
using actors::node_info;

link_mode parse_mode(const std::string& text) {
  if (text == "read_only" || text == "read-only")
    return link_mode::read_only;
  if (text == "write_only" || text == "write-only")
    return link_mode::write_only;
  if (text == "bidirectional")
    return link_mode::bidirectional;
  throw tool_error("unknown link mode '" + text + "' (read_only, write_only or bidirectional)",
                   exit_usage);
}

const char* arrow(link_mode m) {
  switch (m) {
    case link_mode::read_only: return "->";
    case link_mode::write_only: return "<-";
    case link_mode::bidirectional: return "<->";
  }
  return "?";
}

void print_text(const std::vector<node_info>& nodes, const std::vector<link_info>& links,
                std::ostream& out) {
  out << "nodes:\n";
  for (auto& n : nodes)
    out << "  " << n.name << "  node " << to_hex(n.id) << "  version " << n.version_total
        << (n.up ? "" : "  (down)") << "\n";
  out << "links:\n";
  for (auto& l : links) {
    out << "  #" << l.id << "  " << l.from << ' ' << arrow(l.mode) << ' ' << l.to << "  "
        << to_string(l.mode) << "  " << l.transport << "  " << to_string(l.state) << "  lag "
        << l.lag() << "  ops " << l.ops_relayed() << "  restarts " << l.restarts();
    if (auto e = l.last_error(); !e.empty())
      out << "  error: " << e;
    out << "\n";
  }
}

// Feeds `dot_text` to `dot -Tpng -o file`; no shell, so any file name works.
void draw_png(const std::string& dot_text, const std::string& file) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw tool_error(std::string{"cannot run dot: "} + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  std::string out_file = file;
  char arg0[] = "dot", arg1[] = "-Tpng", arg2[] = "-o";
  char* argv[] = {arg0, arg1, arg2, out_file.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    if (rc == ENOENT)
      throw tool_error("cannot draw a PNG: the Graphviz program 'dot' is not installed "
                       "(install graphviz, or use --dot)");
    throw tool_error(std::string{"cannot run dot: "} + std::strerror(rc));
  }
  // A dot that exits early must not kill us with SIGPIPE.
  auto old = std::signal(SIGPIPE, SIG_IGN);
  const char* p = dot_text.data();
  std::size_t left = dot_text.size();
  while (left > 0) {
    ssize_t n = ::write(fds[1], p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fds[1]);
  std::signal(SIGPIPE, old);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw tool_error("dot failed to write " + file);
}

} // namespace

void show_topology(const topology_arguments& args, std::ostream& out) {
  if (args.stores.empty())
    throw tool_error("topology needs at least one store", exit_usage);
  auto mode = parse_mode(args.mode);
  int formats = (args.dot ? 1 : 0) + (args.json ? 1 : 0) + (args.png.empty() ? 0 : 1);
  if (formats > 1)
    throw tool_error("choose one of --dot, --json and --png", exit_usage);

  runtime::system_config cfg{runtime::scheduler_options{2, false}};
  caf::actor_system sys{cfg};
  std::vector<actors::database_actor> dbs;
  std::vector<node_info> nodes;
  std::vector<link_info> links;
  bool synced = false;
  {
    actors::topology topo{sys};
    std::vector<std::string> names;
    try {
      for (auto& path : args.stores) {
        auto db = open_store(store_options{path, {}});
        std::string name = db->name();
        // Two stores may share a logical name; the path tells them apart.
        if (std::find(names.begin(), names.end(), name) != names.end())
          name = path;
        dbs.push_back(actors::spawn_database(sys, std::move(db)));
        unwrap(topo.register_db(dbs.back(), name));
        names.push_back(name);
      }
      for (std::size_t i = 1; i < names.size(); ++i)
        unwrap(topo.connect_local(names[i - 1], names[i], mode));
      synced = topo.wait_until_synced(std::chrono::milliseconds(args.timeout_seconds * 1000));
      nodes = topo.nodes();
      links = topo.links();
    } catch (...) {
      caf::scoped_actor self{sys};
      for (auto& db : dbs)
        self->send_exit(db, caf::exit_reason::user_shutdown);
      throw;
    }
  }
  {
    caf::scoped_actor self{sys};
    for (auto& db : dbs) {
      self->send_exit(db, caf::exit_reason::user_shutdown);
      self->wait_for(db);
    }
  }
  if (!synced)
    throw tool_error("the stores did not converge within " + std::to_string(args.timeout_seconds)
                     + " s");
  if (args.dot)
    out << actors::graph_dot(nodes, links);
  else if (args.json)
    out << actors::graph_json(nodes, links) << "\n";
  else if (!args.png.empty())
    draw_png(actors::graph_dot(nodes, links), args.png);
  else
    print_text(nodes, links, out);
}

} // namespace blaze::cli
