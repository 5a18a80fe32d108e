// Relays: actors that carry ops from one database to another, one direction
// each. A link between two databases is one relay (read_only, write_only) or
// two (bidirectional); the topology supervisor spawns and restarts them.
#pragma once

#include "blaze/actors/database_actor.hpp"
#include "blaze/runtime/relay_stats.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace blaze::actors {

// Which way ops flow, seen from connect(from, to, mode).
enum class link_mode : std::uint8_t {
  read_only,     // from -> to
  write_only,    // to -> from
  bidirectional, // both
};

const char* to_string(link_mode m);

// Where a relay delivers ops: a local database actor (in process), or the
// local end of a connection to another process. Applying replies with what
// was merged once the ops are durable on the far side (the acknowledgement).
using op_sink = caf::typed_actor<
  caf::replies_to<apply_atom, std::vector<op>>::with<apply_stats>,
  caf::replies_to<version_atom>::with<version_vector>,
  caf::replies_to<node_atom>::with<node_id>>;

struct relay_options {
  // Ops per apply batch.
  std::uint32_t max_batch = 1024;
  // At most this many ops sent and not yet acknowledged (the window), over
  // at most `max_batches_in_flight` batches: the sink applies one batch
  // while the next is on its way, yet a slow sink slows the relay and
  // memory stays bounded. 0: max_batch (one full batch in flight).
  std::uint32_t window = 4096;
  std::uint32_t max_batches_in_flight = 4;
  // Interval of the stats reports sent to the supervisor.
  std::chrono::milliseconds report_interval{250};
};

// What a relay reports to its supervisor (on every report_interval and when
// it catches up): ops delivered, ops the sink still lacks, the sink's acked
// version. Defined in runtime (blaze/runtime/relay_stats.hpp) so that it can
// sit in the type-id block.
using relay_stats = blaze::relay_stats;

// A relay's own interface: stats on request. It terminates with an error
// when the source or sink fails (it monitors both); the supervisor restarts
// it, and the new relay resumes from the sink's version vector.
//
// (peer_holds_atom, first, last): the sink holds, for each origin in `last`,
// every op from first[origin] to last[origin] (the far end of a socket link
// sent them). The relay counts them as delivered and never sends them back.
// Sent before the ops are applied locally, so it is in the relay's mailbox
// before the source's change notification for them.
//
// (partner_atom, relay): the relay of the opposite direction of the same
// link (sink -> source). Before each batch leaves, the relay tells its
// partner (peer_holds_atom) that the partner's sink, this relay's source,
// holds those ops, so the partner never carries them back.
using relay_actor = caf::typed_actor<
  caf::replies_to<stats_atom>::with<relay_stats>,
  caf::reacts_to<peer_holds_atom, version_vector, version_vector>,
  caf::reacts_to<partner_atom, caf::actor>>;

// Tells `relay` that its sink holds `ops` (see peer_holds_atom), leaving
// out ops of `skip_origin` (the sink's own: the relay never sends those
// anyway). Sends nothing when nothing is left.
void tell_peer_holds(const relay_actor& relay, const std::vector<op>& ops, node_id skip_origin);

// A sink's way around its mailbox: the relay hands it each batch on the
// relay's own thread (a socket link seals the frame and writes it to the
// socket there, without waking the link's multiplexer thread), then asks
// the sink with (awaited_atom, id) for the batch's acknowledgement, which
// it answers like apply. The sink must take the relay's batches in order.
class direct_sink {
public:
  struct sent {
    // The batch's id, to ask for its acknowledgement; 0 when nothing
    // crossed (delivered, as far as the relay is concerned).
    std::uint64_t id = 0;
    // How many of the ops this batch delivers: the sink may leave out ops
    // it already delivered on the relay's behalf (see peer_holds_atom).
    std::size_t ops = 0;
  };
  virtual ~direct_sink() = default;
  // Sends `ops` on the calling thread; an error when the sink can take
  // nothing more (it is closing; the relay ends with the error).
  virtual result<sent> send_ops(std::vector<op> ops) = 0;
};

using awaited_atom = caf::atom_constant<caf::atom("awaited")>;
constexpr awaited_atom awaited_atom_v{};

// Spawns a relay source -> sink. Never forwards an op whose origin is the
// sink's own node (no echo). `supervisor` (may be null) receives
// (stats_atom, relay_actor, relay_stats) reports. With `direct`, batches
// go to `direct` and only their acknowledgements are asked of `sink`.
relay_actor spawn_relay(caf::actor_system& sys, database_actor source, op_sink sink,
                        relay_options options = {}, caf::actor supervisor = {},
                        std::shared_ptr<direct_sink> direct = nullptr);

} // namespace blaze::actors
