// The in-process relay: follows a source database's changes and forwards
// their ops to a sink in acknowledged batches, one batch in flight at a time.
// Live ops that arrive in order ride along with the next batch; everything
// else (gaps, overflow, the start) is read back from the source's op log.
#include "blaze/actors/relay.hpp"

#include <caf/atom.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>
#include <utility>

namespace blaze::actors {

const char* to_string(link_mode m) {
  switch (m) {
    case link_mode::read_only: return "read_only";
    case link_mode::write_only: return "write_only";
    case link_mode::bidirectional: return "bidirectional";
  }
  return "unknown";
}

namespace {

// The relay's own timer tick (stats reports); never leaves the relay.
using report_tick_atom = caf::atom_constant<caf::atom("relaytick")>;
constexpr report_tick_atom report_tick_atom_v{};

// What the relay handles: its public interface, the source's change
// notifications, and its timer.
using relay_impl = relay_actor::extend<caf::reacts_to<change>, caf::reacts_to<report_tick_atom>>;

struct relay_state {
  database_actor source;
  op_sink sink;
  relay_options options;
  caf::actor supervisor;

  // Start-up: the relay acts once the sink's id and version are known and
  // the subscription to the source stands.
  std::optional<node_id> sink_id;
  bool have_sink_version = false;
  bool subscribed = false;
  bool ready() const { return sink_id && have_sink_version && subscribed; }

  // Per origin, the highest seq such that the sink has (or has in flight)
  // every op up to it. Only advanced contiguously, so a live op below it
  // was certainly sent.
  version_vector sent;
  // What the sink acknowledged (a lower bound of its version vector).
  version_vector acked;
  // `sent` when the in-flight batch left: becomes `acked` on its ack.
  version_vector batch_target;
  // The newest seq of each origin the source is known to hold (for lag).
  version_vector source_known;

  // In-order live ops waiting for the in-flight batch; at most max_batch.
  std::vector<op> queue;
  // Live ops that arrived during a read of the op log, sorted out against
  // its result; at most max_batch.
  std::vector<op> held;
  bool apply_in_flight = false;
  bool ops_since_in_flight = false;
  // Set when an op could not be forwarded live: read the op log next.
  bool needs_catch_up = true;
  // A catch-up ends with the in-flight batch: report then.
  bool report_on_ack = false;

  std::uint64_t ops_relayed = 0;
  std::uint64_t batches = 0;

  static inline const char* name = "blaze.relay";

  bool busy() const { return apply_in_flight || ops_since_in_flight; }

  relay_stats stats() const {
    relay_stats s;
    s.ops_relayed = ops_relayed;
    s.batches = batches;
    s.acked = acked;
    for (auto& [origin, seq] : source_known.entries())
      if (origin != sink_id.value_or(0) && seq > acked.get(origin))
        s.lag += seq - acked.get(origin);
    return s;
  }

  void note_source_op(const op& o) {
    if (o.seq > source_known.get(o.origin))
      source_known.set(o.origin, o.seq);
  }

  // Advances `sent` when `o` is the next op of its origin; true if it did.
  bool advance(const op& o) {
    if (o.seq != sent.get(o.origin) + 1)
      return false;
    sent.set(o.origin, o.seq);
    return true;
  }
};

using relay_pointer = relay_impl::stateful_pointer<relay_state>;

void pump(relay_pointer self);

void report(relay_pointer self) {
  auto& st = self->state;
  if (st.supervisor)
    caf::anon_send(st.supervisor, stats_atom_v, caf::actor_cast<relay_actor>(self), st.stats());
}

void send_batch(relay_pointer self, std::vector<op> batch) {
  auto& st = self->state;
  st.apply_in_flight = true;
  st.batch_target = st.sent;
  auto n = batch.size();
  self->request(st.sink, caf::infinite, apply_atom_v, std::move(batch))
    .then(
      [self, n](const apply_stats&) {
        auto& st = self->state;
        st.apply_in_flight = false;
        st.acked.merge(st.batch_target);
        st.ops_relayed += n;
        ++st.batches;
        if (st.report_on_ack) {
          st.report_on_ack = false;
          report(self);
        }
        pump(self);
      },
      [self](caf::error& e) { self->quit(std::move(e)); });
}

// Reads what the sink lacks from the source's op log, max_batch at a time.
void catch_up(relay_pointer self) {
  auto& st = self->state;
  st.needs_catch_up = false;
  st.ops_since_in_flight = true;
  std::uint64_t limit = st.options.max_batch;
  self->request(st.source, caf::infinite, ops_since_atom_v, st.sent, limit)
    .then(
      [self, limit, asked = st.sent](std::vector<op>& ops) {
        auto& st = self->state;
        st.ops_since_in_flight = false;
        std::vector<op> batch;
        batch.reserve(ops.size());
        for (auto& o : ops) {
          st.note_source_op(o);
          // The sink has its own ops: never echo them, just move past them.
          if (o.origin == *st.sink_id) {
            if (st.advance(o) && o.seq > st.acked.get(o.origin))
              st.acked.set(o.origin, o.seq);
            continue;
          }
          if (o.seq <= st.sent.get(o.origin))
            continue;
          // An op beyond a gap in the source's log is sent but does not
          // advance `sent`; the next read starts at the gap again.
          st.advance(o);
          batch.push_back(std::move(o));
        }
        // A full read that made no progress (only ops beyond gaps) would
        // return the same ops again: wait for the gap to fill instead.
        // (`sent` may also have moved meanwhile, past the sink's own ops.)
        bool full = ops.size() >= limit && st.sent != asked;
        if (full)
          st.needs_catch_up = true;
        // Live ops that came in meanwhile join the batch when they follow on.
        for (auto& o : st.held) {
          if (o.origin == *st.sink_id) {
            if (st.advance(o) && o.seq > st.acked.get(o.origin))
              st.acked.set(o.origin, o.seq);
          } else if (o.seq <= st.sent.get(o.origin)) {
            continue;
          } else if (batch.size() < limit && st.advance(o)) {
            batch.push_back(std::move(o));
          } else {
            st.needs_catch_up = true;
          }
        }
        st.held.clear();
        if (batch.empty()) {
          if (!full && !st.needs_catch_up)
            report(self);
          pump(self);
          return;
        }
        st.report_on_ack = !full;
        send_batch(self, std::move(batch));
      },
      [self](caf::error& e) { self->quit(std::move(e)); });
}

// Starts the next step when nothing is in flight: queued live ops first,
// then a catch-up read if one is due.
void pump(relay_pointer self) {
  auto& st = self->state;
  if (!st.ready() || st.busy())
    return;
  if (!st.queue.empty()) {
    std::vector<op> batch;
    batch.swap(st.queue);
    send_batch(self, std::move(batch));
  } else if (st.needs_catch_up) {
    catch_up(self);
  }
}

void on_change(relay_pointer self, const change& c) {
  auto& st = self->state;
  const op& o = c.cause;
  st.note_source_op(o);
  if (!st.ready()) {
    // The catch-up that follows start-up reads it from the op log.
    st.needs_catch_up = true;
    return;
  }
  if (o.origin == *st.sink_id) {
    if (st.advance(o) && o.seq > st.acked.get(o.origin))
      st.acked.set(o.origin, o.seq);
    return;
  }
  if (o.seq <= st.sent.get(o.origin))
    return; // already sent
  // During a read of the op log, `sent` is about to move: hold the op
  // until the result is in.
  if (st.ops_since_in_flight) {
    if (st.held.size() < st.options.max_batch)
      st.held.push_back(o);
    else
      st.needs_catch_up = true;
    return;
  }
  // Forward live only when it is the next op of its origin and the window
  // has room; otherwise the op log has it.
  if (st.queue.size() >= st.options.max_batch || o.seq != st.sent.get(o.origin) + 1) {
    st.needs_catch_up = true;
  } else {
    st.advance(o);
    st.queue.push_back(o);
  }
  pump(self);
}

relay_impl::behavior_type relay_behavior(relay_pointer self, database_actor source, op_sink sink,
                                         relay_options options, caf::actor supervisor) {
  auto& st = self->state;
  if (options.max_batch == 0)
    options.max_batch = 1;
  st.source = std::move(source);
  st.sink = std::move(sink);
  st.options = options;
  st.supervisor = std::move(supervisor);
  self->monitor(st.source);
  self->monitor(st.sink);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.source.address() || dm.source == st.sink.address())
      self->quit(std::move(dm.reason));
  });
  auto fail = [self](caf::error& e) { self->quit(std::move(e)); };
  self->request(st.sink, caf::infinite, node_atom_v)
    .then(
      [self](node_id id) {
        self->state.sink_id = id;
        pump(self);
      },
      fail);
  self->request(st.sink, caf::infinite, version_atom_v)
    .then(
      [self](version_vector& v) {
        auto& st = self->state;
        st.sent.merge(v);
        st.acked.merge(v);
        st.have_sink_version = true;
        pump(self);
      },
      fail);
  self->request(st.source, caf::infinite, version_atom_v)
    .then([self](version_vector& v) { self->state.source_known.merge(v); }, fail);
  change_listener listener = caf::actor_cast<relay_impl>(self);
  self->request(st.source, caf::infinite, subscribe_atom_v, listener)
    .then(
      [self](std::uint64_t id) {
        auto& st = self->state;
        st.subscribed = true;
        // The source also drops listeners that terminate; say so anyway.
        self->attach_functor(
          [source = st.source, id] { caf::anon_send(source, unsubscribe_atom_v, id); });
        pump(self);
      },
      fail);
  if (st.supervisor)
    self->delayed_send(self, st.options.report_interval, report_tick_atom_v);
  return {
    [self](stats_atom) -> relay_stats { return self->state.stats(); },
    [self](const change& c) { on_change(self, c); },
    [self](report_tick_atom) {
      report(self);
      self->delayed_send(self, self->state.options.report_interval, report_tick_atom_v);
    },
  };
}

} // namespace

relay_actor spawn_relay(caf::actor_system& sys, database_actor source, op_sink sink,
                        relay_options options, caf::actor supervisor) {
  relay_actor handle = sys.spawn(relay_behavior, std::move(source), std::move(sink), options,
                                 std::move(supervisor));
  return handle;
}

} // namespace blaze::actors
