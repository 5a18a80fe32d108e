#include "blaze/server/status.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/node.hpp"

#include <caf/scoped_actor.hpp>

#include <nlohmann/json.hpp>

#include <sstream>

namespace blaze::server {

result<node_status> fetch_status(caf::actor_system& sys, const std::string& host,
                                 std::uint16_t port, const std::string& secret,
                                 std::chrono::milliseconds timeout) {
  runtime::channel_options options;
  options.link_secret = secret;
  options.handshake_timeout = timeout;
  auto remote = runtime::secure_remote_actor<node_actor>(sys, host, port, options);
  if (!remote) {
    auto& e = remote.error();
    std::string where = host + ":" + std::to_string(port);
    if (e.code() == errc::auth_failed)
      return blaze::error{errc::auth_failed,
                          "the node at " + where + " refused the secret (wrong node secret?)"};
    std::string why = e.message();
    if (why.rfind(where + ": ", 0) == 0)
      why.erase(0, where.size() + 2);
    return blaze::error{e.code(), "cannot reach the node at " + where + ": " + why};
  }
  caf::scoped_actor self{sys};
  result<node_status> out{blaze::error{errc::timeout, "the node did not answer in time"}};
  self->request(*remote, timeout, status_atom_v)
      .receive([&](node_status& s) { out = std::move(s); },
               [&](caf::error& e) { out = runtime::from_caf_error(e); });
  return out;
}

std::string status_json(const node_status& s) {
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["version"] = s.version;
  j["uptime_ms"] = s.uptime_ms;
  j["databases"] = nlohmann::ordered_json::array();
  for (auto& d : s.databases)
    j["databases"].push_back({{"name", d.name},
                              {"node_id", to_hex(d.id)},
                              {"version_total", d.version_total},
                              {"up", d.up}});
  j["links"] = nlohmann::ordered_json::array();
  for (auto& l : s.links)
    j["links"].push_back({{"id", l.id},
                          {"from", l.from},
                          {"to", l.to},
                          {"mode", l.mode},
                          {"transport", l.transport},
                          {"state", l.state},
                          {"lag", l.lag},
                          {"ops_relayed", l.ops_relayed},
                          {"restarts", l.restarts},
                          {"last_error", l.last_error}});
  return j.dump();
}

std::string status_text(const node_status& s) {
  std::ostringstream out;
  auto secs = s.uptime_ms / 1000;
  out << "node " << s.name << "  (blaze-node " << s.version << ", up " << secs / 3600 << "h "
      << secs / 60 % 60 << "m " << secs % 60 << "s)\n";
  out << "databases: " << s.databases.size() << "\n";
  for (auto& d : s.databases)
    out << "  " << d.name << "  node " << to_hex(d.id) << "  version " << d.version_total
        << (d.up ? "" : "  (down)") << "\n";
  out << "links: " << s.links.size() << "\n";
  for (auto& l : s.links) {
    const char* arrow = l.mode == "read_only" ? "->" : l.mode == "write_only" ? "<-" : "<->";
    out << "  #" << l.id << "  " << l.from << ' ' << arrow << ' ' << l.to << "  " << l.mode << "  "
        << l.transport << "  " << l.state << "  lag " << l.lag << "  ops " << l.ops_relayed
        << "  restarts " << l.restarts;
    if (!l.last_error.empty())
      out << "  error: " << l.last_error;
    out << "\n";
  }
  return out.str();
}

} // namespace blaze::server
