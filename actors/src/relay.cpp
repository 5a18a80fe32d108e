// The in-process relay: follows a source database's changes and forwards
// their ops to a sink in acknowledged batches, several in flight within a
// window of ops (the sink applies one while the next travels). Live ops that
// arrive in order are sent from the notification; everything else (gaps,
// overflow, the start) is read back from the source's op log.
#include "blaze/actors/relay.hpp"
#include "blaze/runtime/system_config.hpp"

#include <caf/atom.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <limits>
#include <iterator>
#include <deque>
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

// Sent to itself after queueing a live op: every change already in the
// mailbox is queued before the batch leaves, so a burst travels as one
// batch while a lone op leaves at once.
using flush_atom = caf::atom_constant<caf::atom("relayflush")>;
constexpr flush_atom flush_atom_v{};

// What the relay handles: its public interface, the source's change
// notifications, and its own messages.
using relay_impl = relay_actor::extend<caf::reacts_to<std::vector<change>>, caf::reacts_to<report_tick_atom>,
                                       caf::reacts_to<flush_atom>>;

// One batch sent and not yet acknowledged.
struct batch_in_flight {
  std::uint64_t id;
  std::size_t ops;
  // Of those, the ops this batch delivers (a direct sink may leave out ops
  // it delivered already): what ops_relayed counts.
  std::size_t delivers;
  // `sent` when the batch left: becomes `acked` once this batch and every
  // earlier one are acknowledged.
  version_vector target;
  bool done = false;
  // The batch ends a catch-up: report once it is acknowledged.
  bool report = false;
};

struct relay_state {
  database_actor source;
  op_sink sink;
  // The sink's way around its mailbox, when it has one.
  std::shared_ptr<direct_sink> direct;
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
  // Batches sent and not yet acknowledged, oldest first, and their ops.
  std::deque<batch_in_flight> in_flight;
  std::size_t in_flight_ops = 0;
  std::uint64_t next_batch = 0;
  // The newest seq of each origin the source is known to hold (for lag).
  version_vector source_known;

  // In-order live ops waiting to leave: they leave in batches as the
  // window opens. With the ops in flight, at most two windows; only beyond
  // that are ops read back from the op log (a sink that falls behind for a
  // moment, a compaction, a preempted thread, costs no reads of the source).
  std::deque<op> queue;
  bool flush_pending = false;
  // Live ops that arrived during a read of the op log, sorted out against
  // its result; at most a window.
  std::vector<op> held;
  bool ops_since_in_flight = false;
  // Set when an op could not be forwarded live: read the op log next.
  bool needs_catch_up = true;

  std::uint64_t ops_relayed = 0;
  std::uint64_t batches = 0;
  std::uint64_t ops_from_log = 0;

  // The relay of the opposite direction (in-process bidirectional links),
  // and the source's node id (its ops need no note: the partner never
  // sends them back to their origin anyway).
  relay_actor partner;
  std::optional<node_id> source_id;
  // The subscription to the source, once it stands; `muted`: the source
  // was asked to leave out commits made of the sink's own ops.
  std::uint64_t subscription = 0;
  bool muted = false;

  static inline const char* name = "blaze.relay";

  // Live ops may join the queue.
  bool may_queue() const { return in_flight_ops + queue.size() < 2 * std::size_t{options.window}; }
  // Ops that may still be sent before the window is full.
  std::size_t room() const {
    return in_flight_ops >= options.window ? 0 : options.window - in_flight_ops;
  }
  // Another batch may leave now.
  bool may_send() const {
    return room() > 0 && in_flight.size() < options.max_batches_in_flight;
  }

  relay_stats stats() const {
    relay_stats s;
    s.ops_relayed = ops_relayed;
    s.batches = batches;
    s.acked = acked;
    s.ops_from_log = ops_from_log;
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

// Batch `id` was acknowledged: the acknowledged prefix moves `acked` (each
// target covers every earlier batch; a sink answers in order, a direct
// sink's acknowledgements may come out of order).
void acknowledged(relay_pointer self, std::uint64_t id) {
  auto& st = self->state;
  for (auto& b : st.in_flight)
    if (b.id == id)
      b.done = true;
  bool report_now = false;
  while (!st.in_flight.empty() && st.in_flight.front().done) {
    auto& b = st.in_flight.front();
    st.acked.merge(b.target);
    st.in_flight_ops -= b.ops;
    st.ops_relayed += b.delivers;
    ++st.batches;
    report_now = report_now || b.report;
    st.in_flight.pop_front();
  }
  if (report_now)
    report(self);
}

// Sends `batch`, which must fit the window; `report_on_ack`: report once
// it is acknowledged.
void send_batch(relay_pointer self, std::vector<op> batch, bool report_on_ack = false) {
  auto& st = self->state;
  // Before the sink has them (its change notifications follow this note
  // into the partner's mailbox).
  if (st.partner)
    tell_peer_holds(st.partner, batch, st.source_id.value_or(0));
  auto id = st.next_batch++;
  auto n = batch.size();
  st.in_flight.push_back(batch_in_flight{id, n, n, st.sent, false, report_on_ack});
  st.in_flight_ops += n;
  auto on_ack = [self, id](const apply_stats&) {
    acknowledged(self, id);
    pump(self);
  };
  auto on_error = [self](caf::error& e) { self->quit(std::move(e)); };
  if (!st.direct) {
    self->request(st.sink, caf::infinite, apply_atom_v, std::move(batch)).then(on_ack, on_error);
    return;
  }
  auto sent = st.direct->send_ops(std::move(batch));
  if (!sent) {
    self->quit(runtime::to_caf_error(sent.error()));
    return;
  }
  st.in_flight.back().delivers = sent->ops;
  if (sent->id == 0) {
    // Nothing crossed: delivered. (No pump: the caller pumps.)
    acknowledged(self, id);
    return;
  }
  self->request(caf::actor_cast<caf::actor>(st.sink), caf::infinite, awaited_atom_v, sent->id)
    .then(on_ack, on_error);
}

// Reads what the sink lacks from the source's op log, at most a batch that
// fits the window. Live ops go to `held` meanwhile, so the room does not
// shrink before the result is in.
// The read is an urgent message, like the start-up requests: it must not
// queue behind the writes waiting in the source's mailbox (under a write
// backlog the sink would get nothing until the last of them is made).
void catch_up(relay_pointer self) {
  auto& st = self->state;
  st.needs_catch_up = false;
  st.ops_since_in_flight = true;
  std::uint64_t limit = std::min<std::size_t>(st.options.max_batch, st.room());
  // The sink has every op of its own: the source need not read them. (Its
  // commits of them are left out of the notifications, see pump, so `sent`
  // no longer follows them: a read from `sent` would return them all again.)
  auto wanted = st.sent;
  wanted.set(*st.sink_id, std::numeric_limits<std::uint64_t>::max());
  self->request<caf::message_priority::high>(st.source, caf::infinite, ops_since_atom_v,
                                                  std::move(wanted), limit)
    .then(
      [self, limit, asked = st.sent](std::vector<op>& ops) {
        auto& st = self->state;
        st.ops_since_in_flight = false;
        std::vector<op> batch;
        batch.reserve(ops.size());
        st.ops_from_log += ops.size();
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
        // Live ops that came in meanwhile join the batch when they follow
        // on, then the queue: the relay is back to forwarding live ops
        // after one read, even while the source writes faster than a
        // batch per read.
        for (auto& o : st.held) {
          if (o.origin == *st.sink_id) {
            if (st.advance(o) && o.seq > st.acked.get(o.origin))
              st.acked.set(o.origin, o.seq);
          } else if (o.seq <= st.sent.get(o.origin)) {
            continue;
          } else if (batch.size() < limit && st.advance(o)) {
            batch.push_back(std::move(o));
          } else if (st.may_queue() && st.advance(o)) {
            st.queue.push_back(std::move(o));
          } else {
            st.needs_catch_up = true;
          }
        }
        st.held.clear();
        if (batch.empty()) {
          if (!full && !st.needs_catch_up && st.queue.empty())
            report(self);
          pump(self);
          return;
        }
        send_batch(self, std::move(batch), !full && st.queue.empty());
        pump(self);
      },
      [self](caf::error& e) { self->quit(std::move(e)); });
}

// Starts the next step when the window allows: queued live ops first, then
// a catch-up read if one is due (one read at a time).
void pump(relay_pointer self) {
  auto& st = self->state;
  if (st.ready() && !st.muted) {
    // Commits of the sink's own ops (applied from it) would only be dropped
    // here (no echo): the source need not send them.
    st.muted = true;
    self->send(st.source, subscribe_atom_v, st.subscription, *st.sink_id);
  }
  if (!st.ready() || st.ops_since_in_flight || !st.may_send())
    return;
  while (!st.queue.empty() && st.may_send()) {
    auto n = std::min<std::size_t>({st.queue.size(), st.options.max_batch, st.room()});
    std::vector<op> batch{std::make_move_iterator(st.queue.begin()),
                          std::make_move_iterator(st.queue.begin() + n)};
    st.queue.erase(st.queue.begin(), st.queue.begin() + n);
    send_batch(self, std::move(batch));
  }
  if (st.queue.empty() && st.needs_catch_up && st.may_send())
    catch_up(self);
}

// Sends the queue off: at once when nothing else waits in the mailbox (a
// lone op pays no extra message), else once the messages already queued
// are handled, so that the changes among them join it.
void schedule_flush(relay_pointer self) {
  auto& st = self->state;
  if (st.flush_pending)
    return;
  if (self->mailbox().empty()) {
    pump(self);
    return;
  }
  st.flush_pending = true;
  self->send(self, flush_atom_v);
}

// Takes note of one change of the source; true if its op joined the queue
// (the caller then schedules a flush).
bool on_change(relay_pointer self, const change& c) {
  auto& st = self->state;
  const op& o = c.cause;
  st.note_source_op(o);
  if (!st.ready()) {
    // The catch-up that follows start-up reads it from the op log.
    st.needs_catch_up = true;
    return false;
  }
  if (o.origin == *st.sink_id) {
    if (st.advance(o) && o.seq > st.acked.get(o.origin))
      st.acked.set(o.origin, o.seq);
    return false;
  }
  if (o.seq <= st.sent.get(o.origin))
    return false; // already sent
  // During a read of the op log, `sent` is about to move: hold the op
  // until the result is in.
  if (st.ops_since_in_flight) {
    if (st.held.size() < st.options.window)
      st.held.push_back(o);
    else
      st.needs_catch_up = true;
    return false;
  }
  // Forward live only when it is the next op of its origin and the queue
  // has room; otherwise the op log has it.
  if (!st.may_queue() || o.seq != st.sent.get(o.origin) + 1) {
    st.needs_catch_up = true;
    pump(self);
    return false;
  }
  st.advance(o);
  st.queue.push_back(o);
  return true;
}

relay_impl::behavior_type relay_behavior(relay_pointer self, database_actor source, op_sink sink,
                                         relay_options options, caf::actor supervisor,
                                         std::shared_ptr<direct_sink> direct) {
  auto& st = self->state;
  if (options.max_batch == 0)
    options.max_batch = 1;
  if (options.window == 0)
    options.window = options.max_batch;
  if (options.max_batches_in_flight == 0)
    options.max_batches_in_flight = 1;
  st.source = std::move(source);
  st.sink = std::move(sink);
  st.direct = std::move(direct);
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
  self->request<caf::message_priority::high>(st.source, caf::infinite, version_atom_v)
    .then([self](version_vector& v) { self->state.source_known.merge(v); }, fail);
  self->request<caf::message_priority::high>(st.source, caf::infinite, node_atom_v)
    .then([self](node_id id) { self->state.source_id = id; }, fail);
  change_listener listener = caf::actor_cast<relay_impl>(self);
  self->request<caf::message_priority::high>(st.source, caf::infinite, subscribe_atom_v,
                                            listener)
    .then(
      [self](std::uint64_t id) {
        auto& st = self->state;
        st.subscribed = true;
        st.subscription = id;
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
    [self](partner_atom, const caf::actor& partner) {
      self->state.partner = caf::actor_cast<relay_actor>(partner);
    },
    [self](peer_holds_atom, const version_vector& first, const version_vector& last) {
      auto& st = self->state;
      for (auto& [origin, seq] : last.entries()) {
        // Only a range that continues what was sent moves `sent` (it must
        // stay contiguous); the rest is harmless to send again.
        if (first.get(origin) > st.sent.get(origin) + 1 || seq <= st.sent.get(origin))
          continue;
        st.sent.set(origin, seq);
        if (seq > st.acked.get(origin))
          st.acked.set(origin, seq);
      }
    },
    [self](const std::vector<change>& cs) {
      bool queued = false;
      for (auto& c : cs)
        queued = on_change(self, c) || queued;
      if (queued)
        schedule_flush(self);
    },
    [self](flush_atom) {
      self->state.flush_pending = false;
      pump(self);
    },
    [self](report_tick_atom) {
      report(self);
      self->delayed_send(self, self->state.options.report_interval, report_tick_atom_v);
    },
  };
}

} // namespace

void tell_peer_holds(const relay_actor& relay, const std::vector<op>& ops, node_id skip_origin) {
  // Each origin's run of consecutive seqs from its first op in `ops`.
  version_vector first, last;
  std::vector<node_id> broken; // origins whose run ended
  for (auto& o : ops) {
    if (o.origin == skip_origin
        || std::find(broken.begin(), broken.end(), o.origin) != broken.end())
      continue;
    auto at = last.get(o.origin);
    if (at == 0) {
      first.set(o.origin, o.seq);
      last.set(o.origin, o.seq);
    } else if (o.seq == at + 1) {
      last.set(o.origin, o.seq);
    } else {
      broken.push_back(o.origin);
    }
  }
  if (!last.entries().empty())
    caf::anon_send(relay, peer_holds_atom_v, std::move(first), std::move(last));
}

relay_actor spawn_relay(caf::actor_system& sys, database_actor source, op_sink sink,
                        relay_options options, caf::actor supervisor,
                        std::shared_ptr<direct_sink> direct) {
  relay_actor handle = sys.spawn(relay_behavior, std::move(source), std::move(sink), options,
                                 std::move(supervisor), std::move(direct));
  return handle;
}

} // namespace blaze::actors
