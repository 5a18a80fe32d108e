// Exporting the topology: pure functions over node and link snapshots.
#include "blaze/actors/topology.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

namespace blaze::actors {

const char* to_string(link_state s) {
  switch (s) {
    case link_state::starting: return "starting";
    case link_state::running: return "running";
    case link_state::restarting: return "restarting";
    case link_state::failed: return "failed";
    case link_state::stopped: return "stopped";
  }
  return "unknown";
}

std::uint64_t link_info::lag() const {
  std::uint64_t n = 0;
  for (auto& r : relays)
    n += r.lag;
  return n;
}

std::uint64_t link_info::ops_relayed() const {
  std::uint64_t n = 0;
  for (auto& r : relays)
    n += r.ops_relayed;
  return n;
}

std::uint32_t link_info::restarts() const {
  std::uint32_t n = 0;
  for (auto& r : relays)
    n += r.restarts;
  return n;
}

std::string link_info::last_error() const {
  // Of the directions with an error, the one that reported last.
  const relay_info* latest = nullptr;
  for (auto& r : relays)
    if (!r.last_error.empty() && (latest == nullptr || r.last_report > latest->last_report))
      latest = &r;
  return latest ? latest->last_error : std::string{};
}

std::string graph_json(const std::vector<node_info>& nodes, const std::vector<link_info>& links) {
  auto out = nlohmann::json::object();
  auto& js_nodes = out["nodes"] = nlohmann::json::array();
  for (auto& n : nodes)
    js_nodes.push_back({{"name", n.name},
                        {"node_id", to_hex(n.id)},
                        {"version_total", n.version_total},
                        {"up", n.up}});
  auto& js_links = out["links"] = nlohmann::json::array();
  for (auto& l : links) {
    js_links.push_back({{"id", l.id},
                        {"from", l.from},
                        {"to", l.to},
                        {"mode", to_string(l.mode)},
                        {"transport", l.transport},
                        {"state", to_string(l.state)},
                        {"lag", l.lag()},
                        {"ops_relayed", l.ops_relayed()},
                        {"restarts", l.restarts()},
                        {"last_error", l.last_error()}});
    if (l.peer != 0)
      js_links.back()["peer_node"] = to_hex(l.peer);
  }
  return out.dump(2);
}

namespace {

// A DOT double-quoted string.
std::string dot_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

} // namespace

std::string graph_dot(const std::vector<node_info>& nodes, const std::vector<link_info>& links) {
  std::ostringstream out;
  out << "digraph blaze_topology {\n"
      << "  rankdir=LR;\n"
      << "  node [shape=box, fontname=\"Helvetica\"];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (auto& n : nodes) {
    std::string label = n.name + "\nnode " + to_hex(n.id) + "\nversion "
                        + std::to_string(n.version_total);
    out << "  " << dot_quoted(n.name) << " [label=" << dot_quoted(label);
    if (!n.up)
      out << ", color=red, style=dashed";
    out << "];\n";
  }
  for (auto& l : links) {
    // Arrows point the way ops flow: write_only carries to -> from.
    bool reversed = l.mode == link_mode::write_only;
    const std::string& tail = reversed ? l.to : l.from;
    const std::string& head = reversed ? l.from : l.to;
    std::string label = std::string{to_string(l.mode)} + "\n" + to_string(l.state) + ", lag "
                        + std::to_string(l.lag());
    if (l.transport != "in-process")
      label += "\n" + l.transport;
    if (l.state != link_state::running && !l.last_error().empty())
      label += "\n" + l.last_error();
    out << "  " << dot_quoted(tail) << " -> " << dot_quoted(head)
        << " [label=" << dot_quoted(label);
    if (l.mode == link_mode::bidirectional)
      out << ", dir=both";
    if (l.state == link_state::failed)
      out << ", color=red, fontcolor=red";
    else if (l.state != link_state::running)
      out << ", style=dashed";
    out << "];\n";
  }
  out << "}\n";
  return out.str();
}

} // namespace blaze::actors
