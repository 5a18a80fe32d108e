// The database actor: one open database behind a typed message interface.
// By default it runs detached (its own thread) because LevelDB calls block;
// placement::scheduled trades that for latency (see below).
#pragma once

#include "blaze/runtime/type_ids.hpp"
#include "blaze/storage/database.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace blaze::actors {

// Receives the committed changes of a subscribed database, in commit order:
// the changes of one commit (a group of local writes, or one applied batch)
// arrive together in one message, so a burst of writes costs a message per
// commit, not one per change. Never empty.
using change_listener = caf::typed_actor<caf::reacts_to<std::vector<change>>>;

using database_actor = caf::typed_actor<
  caf::replies_to<put_atom, std::string, std::string, field_map>::with<op>,
  caf::replies_to<remove_fields_atom, std::string, std::string,
                  std::vector<std::string>>::with<op>,
  caf::replies_to<erase_atom, std::string, std::string>::with<op>,
  // The record, or an empty vector when it does not exist.
  caf::replies_to<get_atom, std::string, std::string>::with<std::vector<record>>,
  // collection, limit (0: all), start after this id (empty: from the first)
  caf::replies_to<list_atom, std::string, std::uint64_t, std::string>::with<std::vector<record>>,
  caf::replies_to<count_atom, std::string>::with<std::uint64_t>,
  caf::replies_to<find_atom, query>::with<std::vector<record>>,
  caf::replies_to<apply_atom, std::vector<op>>::with<apply_stats>,
  // ops the vector lacks, at most `limit` (0: all)
  caf::replies_to<ops_since_atom, version_vector, std::uint64_t>::with<std::vector<op>>,
  caf::replies_to<version_atom>::with<version_vector>,
  caf::replies_to<node_atom>::with<node_id>,
  // Returns a subscription id; the listener is dropped when it terminates.
  caf::replies_to<subscribe_atom, change_listener>::with<std::uint64_t>,
  // (subscribe_atom, id, origin): subscription `id` is no longer told of
  // commits whose every change comes from node `origin` (0: told of all
  // again). A relay toward `origin` never forwards those ops: on a node,
  // each op a client sends would otherwise cost its way back a message.
  caf::reacts_to<subscribe_atom, std::uint64_t, node_id>,
  caf::reacts_to<unsubscribe_atom, std::uint64_t>>;

// Where a database actor runs.
enum class placement : std::uint8_t {
  // On a thread of its own (the default). A LevelDB call that blocks (a
  // write stalled behind a compaction, a large scan, an fsync with
  // sync_writes) holds up this database only. Each message to it wakes
  // that thread: a few µs of hand-off, tens on a busy machine.
  detached,
  // On the actor system's scheduler, like relays and links. A message to it
  // is run by whichever scheduler thread is free, with no thread hand-off,
  // so an in-process relay hop costs a few µs instead of tens (blaze-bench
  // relay measures both). The price: while a LevelDB call blocks, it holds
  // one scheduler thread. Suited to stores with sync_writes off, small
  // records and bounded queries, where sync latency matters most.
  scheduled,
};

const char* to_string(placement p);

// Parses "detached" or "scheduled"; false for anything else.
bool from_string(std::string_view text, placement& out);

// Spawns a database actor that owns `db`; the database closes when the
// actor terminates. Storage errors come back as CAF errors of category
// "blaze" (runtime::from_caf_error turns them back).
database_actor spawn_database(caf::actor_system& sys, std::unique_ptr<database> db,
                              placement where = placement::detached);

// Opens (or creates) a database and spawns its actor.
result<database_actor> open_database(caf::actor_system& sys, std::string_view name,
                                     const std::filesystem::path& path,
                                     std::string_view password,
                                     const open_options& options = {},
                                     placement where = placement::detached);

} // namespace blaze::actors
