// Cross-app sharing. An app exports a database to an app group: a shared
// directory holding one Unix socket per exported database and a manifest
// of the exports (its writers coordinate with flock). A bridge actor in the
// exporting process serves the socket, admits local users by uid
// (SO_PEERCRED) or token holders, and lets only what the export policy
// allows cross: its collections, its fields, one way or both. Another app
// imports the export as a live view (a replica in a store of its own), and
// never gets the exporter's password or key.
#pragma once

#include "blaze/actors/app_group.hpp"
#include "blaze/actors/database_actor.hpp"
#include "blaze/actors/socket_link.hpp"

#include <caf/actor.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace blaze::actors {

// Who may import: local users by uid, and holders of a named token. No uid
// and no token: the exporting user only.
struct share_token {
  std::string name;
  std::string token;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, share_token& x) {
  return f(caf::meta::type_name("blaze.share_token"), x.name, x.token);
}

struct share_permissions {
  std::vector<std::uint32_t> uids;
  std::vector<share_token> tokens;
};

// The group's directory (created, mode 0700, when missing). Group names are
// 1 to 64 characters of A-Z a-z 0-9 _ . - and not "." or "..".
result<std::filesystem::path> group_directory(const app_group& group);

// The manifest, read under a shared lock.
result<std::vector<export_entry>> list_exports(const app_group& group);

// Adds or replaces the entry of `entry.database`, and removes one, under an
// exclusive lock (flock on <dir>/manifest.lock); the manifest is replaced
// atomically (rename), so readers never see half of it.
result<void> publish_export(const app_group& group, const export_entry& entry);
result<void> withdraw_export(const app_group& group, const std::string& database,
                             std::int64_t pid);

// The secure channel's link secret on a group's sockets. It is not what
// keeps others out (the uid check and the tokens do that); it gives every
// connection a channel binding, so that a token's proof cannot be replayed.
std::string group_link_secret(const app_group& group);

// The bridge: serves one database's export, tracks the links it admitted,
// and cuts them when their grant is revoked. Grant names: a token's name, or
// "uid:<n>" for a uid.
using bridge_actor = caf::typed_actor<
  // Serves the socket and publishes the manifest entry (spawn_bridge asks).
  caf::replies_to<serve_atom>::with<void>,
  // Adds (or replaces) a token holder's grant.
  caf::replies_to<grant_atom, share_token>::with<void>,
  // Adds a uid's grant.
  caf::replies_to<grant_atom, std::uint32_t>::with<void>,
  // Revokes a grant by name; replies with the number of live links cut.
  caf::replies_to<revoke_atom, std::string>::with<std::uint64_t>,
  // Reports of the links it accepted (forwarded to `report_to`).
  caf::reacts_to<established_atom, link_event>,
  caf::reacts_to<stats_atom, relay_actor, relay_stats>,
  caf::reacts_to<stats_atom, caf::actor, relay_stats>>;

struct bridge_options {
  std::string served_name;  // the name importers ask for (default: the database's)
  relay_options relay;
  caf::actor report_to;     // gets the links' reports too (the topology supervisor)
};

// Exports `db` to `group`: serves <dir>/<name>.sock and writes the manifest
// entry. The bridge withdraws both when it terminates (send it an exit).
result<bridge_actor> spawn_bridge(caf::actor_system& sys, database_actor db,
                                  const app_group& group, export_policy policy,
                                  share_permissions permissions, bridge_options options = {});

// The importing side's view of an export: reads go to the local replica;
// writes fail with errc::permission_denied when the export (or the chosen
// mode) is read-only, or when they touch a collection or field the export
// leaves out; else they go to the replica, and from there to the exporter.
database_actor spawn_shared_view(caf::actor_system& sys, database_actor replica,
                                 export_policy policy, bool writable, std::string description);

} // namespace blaze::actors
