// `blaze status --node HOST:PORT`: asks a running blaze-node for its status
// over the secure channel and prints it as text or JSON. The node secret
// comes from --secret-file, BLAZE_NODE_SECRET or the terminal, never from
// the command line.
#include "commands.hpp"
#include "password_source.hpp"
#include "tool_error.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/server/config.hpp"
#include "blaze/server/status.hpp"

#include <caf/actor_system.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace blaze::cli {


void show_node_status(const status_arguments& args, std::ostream& out) {
  auto endpoint = server::parse_endpoint(args.node);
  if (!endpoint)
    throw tool_error("--node: " + endpoint.error().message(), exit_usage);
  if (args.timeout_seconds == 0)
    throw tool_error("--timeout must be at least 1 second", exit_usage);
  std::string secret = args.secret_file.empty()
                           ? read_password("BLAZE_NODE_SECRET", "Node secret: ")
                           : read_secret_file(args.secret_file);

  runtime::system_config cfg{runtime::scheduler_options{2, false}};
  runtime::enable_secure_middleman(cfg);
  caf::actor_system sys{cfg};
  auto status = server::fetch_status(sys, endpoint->first, endpoint->second, secret,
                                     std::chrono::seconds(args.timeout_seconds));
  if (!status) {
    if (status.error().code() == errc::auth_failed)
      throw tool_error("authentication failed: " + status.error().message());
    throw tool_error(status.error().to_string());
  }
  if (args.json)
    out << server::status_json(*status) << "\n";
  else
    out << server::status_text(*status);
}

} // namespace blaze::cli
