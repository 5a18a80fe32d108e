#include "blaze/actors/socket_link.hpp"

#include "blaze/runtime/link_protocol.hpp"
#include "blaze/runtime/secure_channel.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/storage/team_seal.hpp"

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace blaze::actors {

namespace {

using namespace std::chrono_literals;
using runtime::link_frame;

using hello_deadline_atom = caf::atom_constant<caf::atom("linkddl")>;
constexpr hello_deadline_atom hello_deadline_atom_v{};

constexpr std::size_t read_chunk = 64 * 1024;

// --- the sockets of the links in CAF's multiplexer -------------------------------

namespace net = caf::io::network;

// CAF 0.17.6's own scribe (scribe_impl) leaks when it is launched and closed
// in one multiplexer run, the flaw runtime/src/secure_middleman.cpp fixes in
// secure_scribe::remove_from_loop: the stream holds a strong reference to
// its scribe from launch (configure_read) until the multiplexer reports its
// read registration removed (removed_from_loop(read)), a cycle, since the
// scribe owns the stream. The multiplexer queues registrations per socket
// and squashes them: a del() queued while the add() is still queued cancels
// both, the socket never enters epoll, and that report never comes. A link
// that ends in the run that started it (an accepted link whose database has
// already stopped, as when a node shuts down) kept its scribe, its buffers
// and its socket for the rest of the process. The read bit of eventbf() is
// what the loop has registered: without it, the reference is dropped here.
// (The write registration a flush queues is not squashed by the del of the
// read side: the stream drops that reference when the write is done.)
//
// It also lets the link's outgoing relay write on its own thread: see
// link_writer below. Every byte of a link goes through its writer, which
// sends what the socket takes at once and leaves the rest to CAF's stream
// (flush() hands it over), in order.
class link_writer;

void register_writer(int fd, const std::shared_ptr<link_writer>& w);
void unregister_writer(int fd);

class link_scribe final : public net::scribe_impl {
public:
  link_scribe(net::default_multiplexer& mpx, int fd);
  ~link_scribe() override;

  void flush() override;

  // The stream wrote; `remaining` counts what it still holds and what was
  // written since. At 0 it stops writing (prepare_next_write) unless the
  // writer has more. No message to the broker: it never asked for write
  // acknowledgements.
  void data_transferred(caf::execution_unit*, size_t, size_t remaining) override;

  void graceful_shutdown() override {
    // remove_from_loop() below may drop the stream's reference to us and
    // detach() then the broker's: stay alive until the shutdown is done.
    caf::intrusive_ptr<link_scribe> self{this};
    // What waits in the writer is written before the connection closes
    // (a link that ends otherwise than by end(): an exit, a stop).
    flush();
    net::scribe_impl::graceful_shutdown();
  }

  void remove_from_loop() override {
    bool reading = (stream_.eventbf() & net::input_mask) != 0;
    net::scribe_impl::remove_from_loop();
    if (!reading)
      stream_.removed_from_loop(net::operation::read); // a no-op if never launched
  }

private:
  int fd_;
  std::shared_ptr<link_writer> writer_;
};

caf::intrusive_ptr<link_scribe> make_link_scribe(net::default_multiplexer& mpx, int fd) {
  // As CAF's default_multiplexer::new_scribe does (TCP links are tuned
  // further by tune_tcp).
  net::keepalive(fd, true);
  return caf::make_counted<link_scribe>(mpx, fd);
}

// The same leak for CAF's doorman_impl (secure_doorman::remove_from_loop in
// the runtime): the acceptor holds a strong reference to its doorman until
// removed_from_loop(read), so a listener that adds its doorman and closes
// it in one run (stopped before it first ran) kept both and its listening
// socket. The acceptor registers nothing but reading: eventbf() is 0 while
// its add is still queued. Accepted connections get a link_scribe.
class link_doorman final : public net::doorman_impl {
public:
  using net::doorman_impl::doorman_impl;

  bool new_connection() override {
    auto& accepted = acceptor_.accepted_socket();
    if (detached()) {
      // The broker let go of us while this run still held an event for
      // the listening socket. Nobody takes the accepted socket: close it
      // (CAF's doorman_impl leaves it open).
      net::close_socket(accepted);
      accepted = net::invalid_native_socket;
      return false;
    }
    auto& mpx = acceptor_.backend();
    auto scribe = make_link_scribe(mpx, accepted);
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

  void graceful_shutdown() override {
    // As in link_scribe: remove_from_loop() may drop the last references.
    caf::intrusive_ptr<link_doorman> self{this};
    net::doorman_impl::graceful_shutdown();
  }

  void remove_from_loop() override {
    bool registered = acceptor_.eventbf() != 0;
    net::doorman_impl::remove_from_loop();
    if (!registered)
      acceptor_.removed_from_loop(net::operation::read);
  }
};

// add_scribe(fd) and add_doorman(fd) with the servants above. The brokers
// run on CAF's default multiplexer; should another backend be configured,
// its own servants are used.
caf::io::connection_handle add_link_scribe(caf::io::abstract_broker* self, int fd) {
  auto* mpx = dynamic_cast<net::default_multiplexer*>(&self->backend());
  if (mpx == nullptr)
    return self->add_scribe(fd);
  auto scribe = make_link_scribe(*mpx, fd);
  auto hdl = scribe->hdl();
  self->add_scribe(std::move(scribe));
  return hdl;
}

void add_link_doorman(caf::io::abstract_broker* self, int fd) {
  auto* mpx = dynamic_cast<net::default_multiplexer*>(&self->backend());
  if (mpx == nullptr) {
    self->add_doorman(fd);
    return;
  }
  self->add_doorman(caf::make_counted<link_doorman>(*mpx, fd));
}

// --- what crosses a link, and how its bytes leave ---------------------------------

// What crosses a link, settled by the hellos and fixed from then on.
struct link_policy {
  bool dialer = false;
  // The collections the link carries (empty: all).
  std::vector<std::string> collections;
  // End-to-end sealing. Both ends: the teams whose sealed ops the link
  // carries, and whether only sealed ops cross it. Dialler: the keys of the
  // teams it is a member of, with the collections each seals; the
  // collections it asked for (plaintext names).
  std::vector<std::string> teams;
  bool sealed_only = false;
  struct member {
    team_key key;
    std::vector<std::string> collections;
  };
  std::vector<member> members;
  std::vector<std::string> asked;
  // Listener: the fields the dialler's grant lets cross (empty: all).
  std::vector<std::string> fields;
};

bool contains(const std::vector<std::string>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// The first field of a plaintext op that the link's field list leaves out
// (nullptr: none).
const std::string* hidden_field(const link_policy& st, const op& o) {
  if (st.fields.empty() || is_sealed_collection(o.collection))
    return nullptr;
  for (auto& [name, v] : o.fields)
    if (!contains(st.fields, name))
      return &name;
  for (auto& name : o.removed)
    if (!contains(st.fields, name))
      return &name;
  return nullptr;
}

// The op as the link's field list lets it cross: other fields left out (an
// op that keeps no field still crosses, so that the peer's version vector
// has no gap).
void project(const link_policy& st, op& o) {
  if (hidden_field(st, o) == nullptr)
    return;
  for (auto i = o.fields.begin(); i != o.fields.end();)
    i = contains(st.fields, i->first) ? std::next(i) : o.fields.erase(i);
  o.removed.erase(std::remove_if(o.removed.begin(), o.removed.end(),
                                 [&](const std::string& f) { return !contains(st.fields, f); }),
                  o.removed.end());
}

// Whether an op of `collection` may cross the link (either way): a sealed
// op when the link carries its team, a plaintext op when the link is not
// sealed-only and carries its collection.
bool carries(const link_policy& st, const std::string& collection) {
  if (is_sealed_collection(collection))
    return contains(st.teams, sealed_collection_team(collection));
  if (st.sealed_only)
    return false;
  return st.collections.empty() || contains(st.collections, collection);
}

// What of `ops` crosses the link, in place: a member's ops of its teams'
// collections sealed, everything the link does not carry dropped.
result<void> outgoing(link_policy& st, std::vector<op>& ops) {
  bool seals = st.dialer && (!st.members.empty() || !st.asked.empty());
  if (!st.fields.empty())
    for (auto& o : ops)
      project(st, o);
  if (!seals && st.collections.empty() && !st.sealed_only && st.teams.empty()) {
    // The common case: everything crosses, except sealed ops, which a link
    // without teams never carries.
    ops.erase(std::remove_if(ops.begin(), ops.end(),
                             [](const op& o) { return is_sealed_collection(o.collection); }),
              ops.end());
    return {};
  }
  std::vector<op> out;
  out.reserve(ops.size());
  for (auto& o : ops) {
    if (seals && !is_sealed_collection(o.collection)) {
      if (!st.asked.empty() && !contains(st.asked, o.collection))
        continue;
      auto m = std::find_if(st.members.begin(), st.members.end(), [&](auto& m) {
        return m.collections.empty() || contains(m.collections, o.collection);
      });
      if (m != st.members.end()) {
        auto s = m->key.seal(o);
        if (!s)
          return s.error();
        out.push_back(std::move(*s));
        continue;
      }
    }
    if (carries(st, o.collection))
      out.push_back(std::move(o));
  }
  ops = std::move(out);
  return {};
}


using drain_atom = caf::atom_constant<caf::atom("linkdrain")>;
constexpr drain_atom drain_atom_v{};

// The sending half of a link's socket, shared by the link (on the
// multiplexer's thread) and its outgoing relay (on the relay's thread).
// Whoever has a frame to send seals it (the secure channel lives here,
// under the writer's lock, so that records leave in the order they are
// sealed) and sends what the socket takes at once. What it does not take
// waits here until the link's scribe hands it to CAF's stream (flush), and
// while the stream holds bytes everything goes its way, in order. So a
// relayed op leaves on the thread that relayed it: the link's multiplexer
// thread is not woken on the way out (only acknowledgements go through it).
// Without a socket of its own (a multiplexer other than CAF's default), the
// writer only seals and queues; the link writes.
class link_writer final : public direct_sink {
public:
  explicit link_writer(int fd) : fd_(fd) {}

  bool direct() const { return fd_ >= 0; }

  // The link, woken (drain_atom) when another thread left bytes for the
  // stream. Set before the relay starts.
  void set_link(caf::actor_addr link) {
    std::lock_guard<std::mutex> g{mtx_};
    link_ = std::move(link);
  }

  // What crosses the link: set once the hellos are exchanged, before the
  // relay starts and before forwarding starts, then read under the lock
  // (without sealing keys: links whose dialler seals with a team key send
  // through the link, see established()).
  void set_policy(link_policy p) {
    std::lock_guard<std::mutex> g{mtx_};
    policy_ = std::move(p);
  }

  // Opens the secure channel; its first message is queued at once.
  bool open_channel(runtime::channel_role role, runtime::channel_options options) {
    std::lock_guard<std::mutex> g{mtx_};
    channel_.emplace(role, std::move(options));
    secured_ = true;
    return put(channel_->take_output());
  }

  // Set before the relay starts.
  bool secured() const { return secured_; }

  bool established() {
    std::lock_guard<std::mutex> g{mtx_};
    return channel_ && channel_->established();
  }

  std::string channel_binding() {
    std::lock_guard<std::mutex> g{mtx_};
    return channel_ ? channel_->channel_binding() : std::string{};
  }

  // Feeds what the socket read to the channel (plaintext to `plain`) and
  // queues its answer. `flush`: bytes wait for the stream.
  result<void> feed(std::string_view bytes, std::string& plain, bool& flush) {
    std::lock_guard<std::mutex> g{mtx_};
    auto r = channel_->feed(bytes, plain);
    flush = put(channel_->take_output());
    return r;
  }

  // Sends an encoded frame (sealed when there is a channel). `flush` as above.
  result<void> send(std::string_view wire, bool& flush) {
    std::lock_guard<std::mutex> g{mtx_};
    flush = false;
    if (closed_)
      return {};
    return seal_and_put_encoded(wire, flush);
  }

  // Ids of the batches of both senders (the link and its relay).
  std::uint64_t next_batch() { return next_batch_.fetch_add(1); }

  // The relay's batch: filtered, sealed into a frame and sent here. Ops
  // that were forwarded already (forward) are left out.
  result<sent> send_ops(std::vector<op> ops) override {
    sent out;
    bool flush = false;
    {
      std::lock_guard<std::mutex> g{mtx_};
      if (closed_)
        return blaze::error{errc::closed, "the link is closed"};
      if (forwarding_) {
        ops.erase(std::remove_if(ops.begin(), ops.end(),
                                 [&](const op& o) { return o.seq <= sent_.get(o.origin); }),
                  ops.end());
        for (auto& o : ops)
          if (o.seq == sent_.get(o.origin) + 1)
            sent_.set(o.origin, o.seq);
      }
      // (Ops the link does not carry count as delivered, as they always did.)
      out.ops = ops.size();
      if (auto r = outgoing(policy_, ops); !r)
        return r.error();
      if (ops.empty())
        return out;
      out.id = next_batch();
      if (auto r = seal_and_put(runtime::link_ops{out.id, std::move(ops)}, flush); !r)
        return r.error();
      unawaited_.insert(out.id);
    }
    if (flush)
      wake_link();
    return out;
  }

  // The peer sent these ops itself: its `sent_` moves past them, so that
  // they are not forwarded back to it and forwarding of their origins
  // goes on after them.
  void peer_has(const std::vector<op>& ops) {
    std::lock_guard<std::mutex> g{mtx_};
    if (!forwarding_)
      return;
    for (auto& o : ops)
      if (o.seq == sent_.get(o.origin) + 1)
        sent_.set(o.origin, o.seq);
  }

  // Forwarding on receipt. A link that receives ops hands them, on the
  // multiplexer's thread and before its database commits them, to the
  // other links of the same database (forward): each sends at once those
  // that continue what it sent its peer, as its relay would once the
  // commit notifies it, and tells its relay (peer_holds), whose mailbox
  // then has the note before the commit's notification. On a node this
  // takes the database's thread off the path of a client's op to the
  // other clients. Only while the socket takes everything at once and at
  // most `window` forwarded ops wait for acknowledgements: otherwise the
  // relay carries the ops, with its backpressure.
  // Durability: the other peers may hold an op before this database does.
  // Should this process die before the commit, the op's sender still has
  // it unacknowledged and sends it again after reconnecting: nothing is
  // lost, and replicas converge whatever the order. An op that the
  // database then fails to store (an I/O error; the receiving link ends)
  // has reached the other peers all the same.
  void start_forwarding(node_id peer, const version_vector& peer_have, relay_actor relay,
                        std::size_t window) {
    std::lock_guard<std::mutex> g{mtx_};
    peer_ = peer;
    sent_ = peer_have;
    relay_ = std::move(relay);
    forward_window_ = window;
    forwarding_ = true;
  }

  void forward(const std::vector<op>& ops) {
    version_vector first, last;
    relay_actor relay;
    bool flush = false;
    {
      std::lock_guard<std::mutex> g{mtx_};
      if (!forwarding_ || closed_ || stream_writing_ || !pending_.empty()
          || forwarded_ops_ >= forward_window_)
        return;
      std::vector<op> out;
      auto sent = sent_; // moved on once the batch is out
      for (auto& o : ops) {
        // Never back to its origin; only what continues what was sent.
        if (o.origin == peer_ || o.seq != sent.get(o.origin) + 1)
          continue;
        sent.set(o.origin, o.seq);
        if (first.get(o.origin) == 0)
          first.set(o.origin, o.seq);
        last.set(o.origin, o.seq);
        out.push_back(o);
      }
      if (out.empty())
        return;
      // Ops the link does not carry count as delivered, as for the relay.
      if (!outgoing(policy_, out)) {
        // Only sealing fails, and a forwarding link seals nothing.
        return;
      }
      if (!out.empty()) {
        auto id = next_batch();
        auto n = out.size();
        // A channel that fails here fails the link's next frame too.
        if (!seal_and_put(runtime::link_ops{id, std::move(out)}, flush))
          return;
        forwarded_.emplace(id, n);
        forwarded_ops_ += n;
      }
      sent_ = std::move(sent);
      relay = relay_;
    }
    if (flush)
      wake_link();
    caf::anon_send(relay, peer_holds_atom_v, std::move(first), std::move(last));
  }

  // The peer acknowledged a forwarded batch: true once per id.
  bool take_forwarded(std::uint64_t id) {
    std::lock_guard<std::mutex> g{mtx_};
    auto i = forwarded_.find(id);
    if (i == forwarded_.end())
      return false;
    forwarded_ops_ -= i->second;
    forwarded_delivered_ += i->second;
    forwarded_.erase(i);
    return true;
  }

  // Forwarded ops the peer acknowledged, in all.
  std::uint64_t forwarded_delivered() {
    std::lock_guard<std::mutex> g{mtx_};
    return forwarded_delivered_;
  }

  // A batch the relay sent and has not asked about yet: true once per id.
  bool take_unawaited(std::uint64_t id) {
    std::lock_guard<std::mutex> g{mtx_};
    return unawaited_.erase(id) > 0;
  }

  // Nothing more is sent (the link ended, or its socket is about to close).
  void close() {
    relay_actor relay; // released without the lock
    std::lock_guard<std::mutex> g{mtx_};
    closed_ = true;
    forwarding_ = false;
    pending_.clear();
    relay.swap(relay_);
  }

  // The multiplexer's side: what waits goes to the stream's buffer `buf`.
  // True when the stream now has bytes of ours.
  template <class Buffer>
  bool hand_over(Buffer& buf) {
    std::lock_guard<std::mutex> g{mtx_};
    drain_asked_ = false;
    if (pending_.empty())
      return false;
    buf.insert(buf.end(), pending_.begin(), pending_.end());
    pending_.clear();
    stream_writing_ = true;
    return true;
  }

  // The stream wrote everything it had: it takes what waits, or stops.
  template <class Buffer>
  void stream_done(Buffer& buf) {
    std::lock_guard<std::mutex> g{mtx_};
    if (pending_.empty()) {
      stream_writing_ = false;
      return;
    }
    buf.insert(buf.end(), pending_.begin(), pending_.end());
    pending_.clear();
  }

  // Without a socket: what waits, for the link to write.
  std::string take_pending() {
    std::lock_guard<std::mutex> g{mtx_};
    drain_asked_ = false;
    return std::exchange(pending_, std::string{});
  }

private:
  // With the lock held: encodes `f`, then as below.
  result<void> seal_and_put(const link_frame& f, bool& flush) {
    std::string wire;
    runtime::encode_frame(f, wire);
    return seal_and_put_encoded(wire, flush);
  }

  // With the lock held: seals an encoded frame when there is a channel,
  // and sends or queues it.
  result<void> seal_and_put_encoded(std::string_view wire, bool& flush) {
    if (!channel_) {
      flush = put(wire);
      return {};
    }
    auto r = channel_->send(wire);
    flush = put(channel_->take_output());
    return r;
  }

  void wake_link() {
    if (auto link = caf::actor_cast<caf::actor>(link_))
      caf::anon_send(link, drain_atom_v);
  }

  // With the lock held: sends `bytes` or queues them behind what waits.
  // True when whoever called must see that the stream takes them (the
  // first bytes to wait since the stream last had nothing).
  bool put(std::string_view bytes) {
    if (bytes.empty() || closed_)
      return false;
    if (fd_ >= 0 && !stream_writing_ && pending_.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      // EAGAIN or an error leaves the bytes to the stream, whose own write
      // reports an error to the link as the connection's failure.
      if (n > 0)
        bytes.remove_prefix(static_cast<std::size_t>(n));
      if (bytes.empty())
        return false;
    }
    pending_.append(bytes);
    if (stream_writing_ || drain_asked_)
      return false;
    drain_asked_ = true;
    return true;
  }

  const int fd_;
  link_policy policy_;
  std::atomic<std::uint64_t> next_batch_{1};
  std::mutex mtx_;
  caf::actor_addr link_;
  std::optional<runtime::secure_channel> channel_;
  bool secured_ = false;
  std::string pending_;
  bool stream_writing_ = false; // the stream holds bytes of ours
  bool drain_asked_ = false;    // someone will hand pending_ to the stream
  bool closed_ = false;
  std::set<std::uint64_t> unawaited_;
  // Forwarding: the peer's node, what it holds or has on its way (per
  // origin, contiguous), the relay to tell, forwarded batches (id, ops)
  // not yet acknowledged.
  bool forwarding_ = false;
  node_id peer_ = 0;
  version_vector sent_;
  relay_actor relay_;
  std::size_t forward_window_ = 0;
  std::map<std::uint64_t, std::size_t> forwarded_;
  std::size_t forwarded_ops_ = 0;
  std::uint64_t forwarded_delivered_ = 0;
};

// The links of each database whose relays send directly: where a link
// forwards the ops it receives. A database is known by its actor system
// and its actor id (each actor system of a process counts its own ids).
using database_key = std::pair<const caf::actor_system*, caf::actor_id>;
std::mutex forwarders_mtx;
std::map<database_key, std::vector<std::weak_ptr<link_writer>>> forwarders;

void join_forwarders(database_key db, const std::shared_ptr<link_writer>& w) {
  std::lock_guard<std::mutex> g{forwarders_mtx};
  auto& ws = forwarders[db];
  ws.erase(std::remove_if(ws.begin(), ws.end(), [](auto& x) { return x.expired(); }), ws.end());
  ws.push_back(w);
}

void leave_forwarders(database_key db, const link_writer* w) {
  std::lock_guard<std::mutex> g{forwarders_mtx};
  auto i = forwarders.find(db);
  if (i == forwarders.end())
    return;
  auto& ws = i->second;
  ws.erase(std::remove_if(ws.begin(), ws.end(),
                          [&](auto& x) {
                            auto p = x.lock();
                            return !p || p.get() == w;
                          }),
           ws.end());
  if (ws.empty())
    forwarders.erase(i);
}

// The other links of `db` to forward to (not `self`).
std::vector<std::shared_ptr<link_writer>> forwarders_of(database_key db,
                                                         const link_writer* self) {
  std::vector<std::shared_ptr<link_writer>> out;
  std::lock_guard<std::mutex> g{forwarders_mtx};
  auto i = forwarders.find(db);
  if (i == forwarders.end())
    return out;
  for (auto& x : i->second)
    if (auto p = x.lock(); p && p.get() != self)
      out.push_back(std::move(p));
  return out;
}

// The writers of the link scribes alive, by socket (a link finds its own
// from its connection handle, which CAF numbers by socket).
std::mutex writers_mtx;
std::unordered_map<int, std::weak_ptr<link_writer>> writers;

void register_writer(int fd, const std::shared_ptr<link_writer>& w) {
  std::lock_guard<std::mutex> g{writers_mtx};
  writers[fd] = w;
}

void unregister_writer(int fd) {
  std::lock_guard<std::mutex> g{writers_mtx};
  writers.erase(fd);
}

// The writer of a link's connection: its scribe's, or one that only queues.
std::shared_ptr<link_writer> writer_of(caf::io::connection_handle conn) {
  {
    std::lock_guard<std::mutex> g{writers_mtx};
    auto i = writers.find(static_cast<int>(conn.id()));
    if (i != writers.end())
      if (auto w = i->second.lock())
        return w;
  }
  return std::make_shared<link_writer>(-1);
}

link_scribe::link_scribe(net::default_multiplexer& mpx, int fd)
  : net::scribe_impl(mpx, fd), fd_(fd), writer_(std::make_shared<link_writer>(fd)) {
  // data_transferred then says when the stream's write is done.
  stream_.ack_writes(true);
  register_writer(fd_, writer_);
}

link_scribe::~link_scribe() {
  // Before the socket closes (event_handler's destructor): nobody may
  // write to a number the system could give to another socket.
  writer_->close();
  unregister_writer(fd_);
}

void link_scribe::flush() {
  auto& buf = stream_.wr_buf(); // written, not yet handed to the stream
  writer_->hand_over(buf);
  if (!buf.empty())
    net::scribe_impl::flush();
}

void link_scribe::data_transferred(caf::execution_unit*, size_t, size_t remaining) {
  if (remaining == 0)
    writer_->stream_done(stream_.wr_buf());
}

// --- one end of a connection ----------------------------------------------------

// One end's state. The policy part is what crosses the link (see
// link_policy; the grant's fields and the teams are settled by the hellos).
struct link_state : link_policy {
  static inline const char* name = "blaze.socket_link";

  database_actor db;
  bool tcp = false;
  // Dialer: what this side asks for. Listener: decided from the dialer's hello.
  bool sends_ops = false;
  bool accepts_ops = false;
  std::string remote_db;                            // dialer: database asked for
  // Listener: served databases by name, held weakly so that a link never
  // keeps a database alive (an actor system would wait for it forever).
  std::map<std::string, caf::actor_addr> served;
  socket_link_options options;

  caf::io::connection_handle conn;
  // Every byte leaves through it; it holds the secure channel when a link
  // secret is set.
  std::shared_ptr<link_writer> out;
  runtime::frame_reader reader;
  std::string plain;                                // decrypted, not yet framed

  node_id local_node = 0;
  version_vector local_have;
  bool hello_sent = false;
  std::optional<runtime::link_hello> peer;          // set once the peer's hello arrived
  version_vector peer_have;                         // updated by acks
  std::string proof;                                // this side's proof for its hello
  // Dialler: its team proofs.
  std::vector<runtime::link_team> team_proofs;
  // Listener: the dialler's uid on a Unix socket (SO_PEERCRED), and the
  // grant that admitted it (empty name without grants).
  std::optional<std::uint32_t> peer_uid;
  std::string grant;
  // Op batches read in one go, applied together (one write on the database's
  // thread instead of one per batch), then acknowledged batch by batch.
  std::vector<op> to_apply;
  std::vector<std::uint64_t> to_ack;

  // op_sink requests waiting for the peer's hello, and applies waiting for acks.
  std::vector<caf::typed_response_promise<version_vector>> version_waiters;
  std::vector<caf::typed_response_promise<node_id>> node_waiters;
  std::map<std::uint64_t, caf::typed_response_promise<apply_stats>> in_flight;
  // Acks of batches the relay sent itself that came before the relay
  // asked for them (awaited_atom).
  std::map<std::uint64_t, apply_stats> early_acks;

  relay_actor relay; // local -> peer, when this side sends ops
};

using link_broker = caf::io::stateful_broker<link_state>;

caf::error link_error(errc code, std::string message) {
  return runtime::to_caf_error(blaze::error{code, std::move(message)});
}

bool contains_uid(const std::vector<std::uint32_t>& uids, std::uint32_t uid) {
  return std::find(uids.begin(), uids.end(), uid) != uids.end();
}

// Bytes the writer could not send at once go to the stream.
void flush_writer(link_broker* self) {
  auto& st = self->state;
  if (st.out->direct()) {
    self->flush(st.conn);
    return;
  }
  auto bytes = st.out->take_pending();
  if (bytes.empty())
    return;
  self->write(st.conn, bytes.size(), bytes.data());
  self->flush(st.conn);
}

void end(link_broker* self, const caf::error& err);

// Frames go out sealed when the link has a secret.
void send_frame(link_broker* self, const link_frame& f) {
  std::string wire;
  runtime::encode_frame(f, wire);
  bool flush = false;
  auto r = self->state.out->send(wire, flush);
  if (flush)
    flush_writer(self);
  if (!r)
    end(self, runtime::to_caf_error(r.error()));
}

// Ends the link with `err`, failing every request still waiting on it.
void end(link_broker* self, const caf::error& err) {
  auto& st = self->state;
  for (auto& p : st.version_waiters)
    p.deliver(err);
  for (auto& p : st.node_waiters)
    p.deliver(err);
  for (auto& [batch, p] : st.in_flight)
    p.deliver(err);
  st.version_waiters.clear();
  st.node_waiters.clear();
  st.in_flight.clear();
  st.early_acks.clear();
  // What waits in the writer (the error frame of fail(), acks) goes to the
  // stream, which writes it before it closes the connection.
  flush_writer(self);
  st.out->close();
  self->quit(err);
}

// Ends the link: tells the peer why (best effort), fails every waiter.
void fail(link_broker* self, errc code, std::string message) {
  send_frame(self, runtime::link_error{code, message});
  end(self, link_error(code, std::move(message)));
}

void send_hello(link_broker* self) {
  auto& st = self->state;
  runtime::link_hello h;
  h.sends_ops = st.sends_ops;
  h.accepts_ops = st.accepts_ops;
  h.database = st.dialer ? st.remote_db : st.peer->database;
  h.node = st.local_node;
  h.have = st.local_have;
  h.proof = st.proof;
  h.sealed_only = st.sealed_only;
  // A sealed-only dialler asks for no plaintext collection: the ones it
  // names are sealed before they leave, and filtered here.
  if (!(st.dialer && st.sealed_only))
    h.collections = st.collections;
  if (st.dialer)
    h.teams = st.team_proofs;
  send_frame(self, h);
  st.hello_sent = true;
}

// Both hellos exchanged: answer the waiters, start the outgoing relay.
void established(link_broker* self) {
  auto& st = self->state;
  for (auto& p : st.version_waiters)
    p.deliver(st.peer_have);
  for (auto& p : st.node_waiters)
    p.deliver(st.peer->node);
  st.version_waiters.clear();
  st.node_waiters.clear();
  if (st.sends_ops) {
    // The relay reports to the link, which passes its reports on to the
    // supervisor and to the peer (as progress frames).
    // The relay sends its batches itself when the writer has the socket
    // and nothing needs sealing with a team key (a team_key seals on one
    // thread only; a sealing dialler's link seals on its own).
    std::shared_ptr<direct_sink> direct;
    if (st.out->direct() && st.members.empty()) {
      st.out->set_policy(static_cast<const link_policy&>(st));
      direct = st.out;
    }
    bool forwards = direct != nullptr;
    st.relay = spawn_relay(self->system(), st.db, caf::actor_cast<op_sink>(self),
                           st.options.relay, caf::actor_cast<caf::actor>(self), std::move(direct));
    if (forwards) {
      auto window = st.options.relay.window == 0 ? std::size_t{st.options.relay.max_batch}
                                                 : std::size_t{st.options.relay.window};
      st.out->start_forwarding(st.peer->node, st.peer_have, st.relay, window);
      database_key key{&self->system(), st.db.id()};
      join_forwarders(key, st.out);
      self->attach_functor([key, w = st.out.get()] { leave_forwarders(key, w); });
    }
    // The relay dies with the link, and the link with the relay.
    self->link_to(st.relay);
  }
  if (st.options.report_to) {
    link_event ev;
    ev.link = caf::actor_cast<caf::actor>(self);
    ev.dialer = st.dialer;
    ev.tcp = st.tcp;
    ev.database = st.dialer ? st.remote_db : st.peer->database;
    if (!st.dialer)
      ev.local = st.peer->database;
    ev.peer = st.peer->node;
    ev.sends_ops = st.sends_ops;
    ev.accepts_ops = st.accepts_ops;
    ev.relay = st.relay;
    ev.grant = st.grant;
    self->send(st.options.report_to, established_atom_v, std::move(ev));
  }
}

// Local node id and version, then `next`. Without a request timeout: the
// hello deadline ends a link whose database does not answer in time, and
// CAF 0.17 never cancels a request timeout once the answer is in, so each
// would reach the link at its time with the link itself as sender; a link
// that had ended by then (at its hello deadline, say) kept that message in
// its mailbox and with it itself.
template <class F>
void with_local_state(link_broker* self, F next) {
  self->request<caf::message_priority::high>(self->state.db, caf::infinite, node_atom_v)
    .then(
      [self, next](node_id id) {
        self->state.local_node = id;
        self->request<caf::message_priority::high>(self->state.db, caf::infinite, version_atom_v)
          .then(
            [self, next](version_vector& have) {
              self->state.local_have = std::move(have);
              next();
            },
            [self](caf::error& e) {
              fail(self, errc::io_error, "local database: " + self->system().render(e));
            });
      },
      [self](caf::error& e) {
        fail(self, errc::io_error, "local database: " + self->system().render(e));
      });
}

// Listener: finds the grant whose secret the dialler proved, and checks
// that it covers what the dialler asks. On success sets the link's
// collections and this side's proof; otherwise ends the link.
bool admit(link_broker* self, const runtime::link_hello& h,
           const std::vector<access_grant>& grants) {
  auto& st = self->state;
  auto binding = st.out->channel_binding();
  const access_grant* grant = nullptr;
  // A proven secret first: it names its holder more precisely than a uid.
  if (!binding.empty() && !h.proof.empty())
    for (auto& g : grants)
      if (!g.secret.empty()
          && runtime::proofs_equal(h.proof,
                                   runtime::link_proof(g.secret, binding, true, h.database)))
        grant = &g;
  if (grant == nullptr && h.proof.empty() && st.peer_uid)
    for (auto& g : grants)
      if (contains_uid(g.uids, *st.peer_uid))
        grant = &g;
  if (grant == nullptr) {
    if (st.peer_uid && h.proof.empty())
      fail(self, errc::auth_failed,
           "uid " + std::to_string(*st.peer_uid) + " is not permitted to link to database '"
             + h.database + "', and the dialler proved no token");
    else
      fail(self, errc::auth_failed,
           "the dialler did not prove an access secret of database '" + h.database + "'");
    return false;
  }
  st.grant = grant->name;
  st.fields = grant->fields;
  if (grant->read_only && h.sends_ops) {
    fail(self, errc::permission_denied,
         "'" + grant->name + "' may only read database '" + h.database + "', not write to it");
    return false;
  }
  if (grant->collections.empty()) {
    st.collections = h.collections;
  } else if (h.collections.empty()) {
    st.collections = grant->collections;
  } else {
    for (auto& c : h.collections)
      if (std::find(grant->collections.begin(), grant->collections.end(), c)
          == grant->collections.end()) {
        fail(self, errc::permission_denied,
             "'" + grant->name + "' is not granted collection '" + c + "' of database '"
               + h.database + "'");
        return false;
      }
    st.collections = h.collections;
  }
  st.proof = runtime::link_proof(grant->secret, binding, false, h.database);
  return true;
}

// Why an op of `collection` may not cross the link.
std::string refusal(const link_state& st, const std::string& collection) {
  if (is_sealed_collection(collection))
    return "the peer sent a sealed op of team '" + std::string{sealed_collection_team(collection)}
           + "', which this link does not carry";
  if (st.sealed_only)
    return "the peer sent a plaintext op (collection '" + collection
           + "') on a link that carries only end-to-end sealed ops";
  return "the peer sent an op for collection '" + collection + "', which this link does not carry";
}

// Listener: checks the dialler's proof for every team it names.
bool admit_teams(link_broker* self, const runtime::link_hello& h) {
  auto& st = self->state;
  auto binding = st.out->channel_binding();
  auto known = st.options.served_teams.find(h.database);
  for (auto& t : h.teams) {
    const team_access* team = nullptr;
    if (known != st.options.served_teams.end())
      for (auto& candidate : known->second)
        if (candidate.name == t.name)
          team = &candidate;
    if (team == nullptr || binding.empty()
        || !runtime::proofs_equal(t.proof, runtime::team_proof(team->access_key, binding,
                                                               h.database, t.name))) {
      fail(self, errc::auth_failed,
           "the dialler did not prove membership of team '" + t.name + "' of database '"
             + h.database + "'");
      return false;
    }
    if (!contains(st.teams, t.name))
      st.teams.push_back(t.name);
  }
  return true;
}

void on_hello(link_broker* self, runtime::link_hello& h) {
  auto& st = self->state;
  if (st.peer) {
    fail(self, errc::protocol_error, "second hello on one link");
    return;
  }
  if (st.dialer) {
    // The listener mirrors what was asked; anything else is refused.
    if (h.sends_ops != st.accepts_ops || h.accepts_ops != st.sends_ops) {
      fail(self, errc::protocol_error, "the peer answered with another link direction");
      return;
    }
    if (!st.options.access_secret.empty()) {
      // The node must hold the same secret: otherwise it is not the node we
      // meant (or a middleman), and nothing is sent to it.
      auto expected = runtime::link_proof(st.options.access_secret,
                                          st.out->channel_binding(), false, st.remote_db);
      if (!runtime::proofs_equal(h.proof, expected)) {
        fail(self, errc::auth_failed,
             "the node did not prove the access secret of database '" + st.remote_db + "'");
        return;
      }
    }
    st.collections = h.collections; // what the node grants
    // A node whose database takes only sealed ops says so: plaintext ops
    // then stay here instead of being refused there.
    st.sealed_only = st.sealed_only || h.sealed_only;
    st.peer = std::move(h);
    st.peer_have = st.peer->have;
    established(self);
    return;
  }
  auto i = st.served.find(h.database);
  if (i == st.served.end()) {
    fail(self, errc::not_found, "no database named '" + h.database + "' is served here");
    return;
  }
  st.db = caf::actor_cast<database_actor>(i->second);
  if (!st.db) {
    fail(self, errc::closed, "database '" + h.database + "' has stopped");
    return;
  }
  if (auto g = st.options.grants.find(h.database); g != st.options.grants.end()) {
    if (!admit(self, h, g->second))
      return;
  } else {
    st.collections = h.collections; // no grants: whatever the dialler asks
  }
  if (!admit_teams(self, h))
    return;
  st.sealed_only = h.sealed_only || contains(st.options.e2e_databases, h.database);
  st.sends_ops = h.accepts_ops;
  st.accepts_ops = h.sends_ops;
  st.peer = std::move(h);
  st.peer_have = st.peer->have;
  with_local_state(self, [self] {
    send_hello(self);
    established(self);
  });
}

void on_ops(link_broker* self, runtime::link_ops& batch) {
  auto& st = self->state;
  if (!st.peer || !st.hello_sent) {
    fail(self, errc::protocol_error, "ops before the hellos");
    return;
  }
  if (!st.accepts_ops) {
    // Never let an op travel against the link's direction.
    fail(self, errc::protocol_error,
         "the peer sent ops on a link that carries ops only the other way");
    return;
  }
  bool opens = st.dialer && !st.members.empty();
  for (auto& o : batch.ops) {
    if (o.origin == st.local_node) {
      fail(self, errc::protocol_error, "the peer echoed this database's own op");
      return;
    }
    if (!carries(st, o.collection)) {
      fail(self, errc::permission_denied, refusal(st, o.collection));
      return;
    }
    if (auto* f = hidden_field(st, o)) {
      fail(self, errc::permission_denied,
           "the peer wrote field '" + *f + "' of collection '" + o.collection
             + "', which this link does not carry");
      return;
    }
    // The database would refuse it; its other links' peers must not get it
    // first (forwarding, below).
    if (auto r = check_op_clock(o); !r) {
      fail(self, r.error().code(), "the peer sent an op that is refused: " + r.error().message());
      return;
    }
  }
  st.to_ack.push_back(batch.batch);
  // The other links of this database send these ops on now, before the
  // database commits them (link_writer::forward).
  if (!opens && st.db)
    for (auto& w : forwarders_of(database_key{&self->system(), st.db.id()}, st.out.get()))
      w->forward(batch.ops);
  // The peer holds what it sent: this side's outgoing relay must not send
  // it back (a client of a node would return every op of the node's other
  // clients, to be dropped there as duplicates).
  if (st.relay)
    tell_peer_holds(st.relay, batch.ops, st.peer->node);
  st.out->peer_has(batch.ops);
  if (opens) {
    // A member opens its teams' sealed ops here: its store holds plaintext.
    for (auto& o : batch.ops) {
      link_state::member* key = nullptr;
      if (is_sealed_collection(o.collection))
        for (auto& m : st.members)
          if (m.key.team() == sealed_collection_team(o.collection))
            key = &m;
      if (key == nullptr) {
        st.to_apply.push_back(std::move(o));
        continue;
      }
      auto plain = key->key.open(o);
      if (!plain) {
        fail(self, plain.error().code(),
             "an op forwarded by the peer does not open: " + plain.error().message());
        return;
      }
      // Collections this side did not ask for are left out, as a node
      // leaves out plaintext collections a link does not carry.
      if (!st.asked.empty() && !contains(st.asked, plain->collection))
        continue;
      st.to_apply.push_back(std::move(*plain));
    }
    return;
  }
  if (st.to_apply.empty())
    st.to_apply = std::move(batch.ops);
  else
    st.to_apply.insert(st.to_apply.end(), std::make_move_iterator(batch.ops.begin()),
                       std::make_move_iterator(batch.ops.end()));
}

// Applies the batches that on_ops collected from one read.
void apply_collected(link_broker* self) {
  auto& st = self->state;
  if (st.to_ack.empty())
    return;
  auto ids = std::move(st.to_ack);
  st.to_ack.clear();
  auto ops = std::move(st.to_apply);
  st.to_apply.clear();
  if (ops.empty()) {
    // Every op was left out (see on_ops): nothing to write.
    for (auto id : ids)
      send_frame(self, runtime::link_ack{id, 0, 0, {}});
    return;
  }
  self->request(st.db, caf::infinite, apply_atom_v, std::move(ops))
    .then(
      [self, ids](apply_stats& stats) {
        // No version in the acks: the relay on the other side tracks what it
        // sent, and asking the database again would cost a second wake-up of
        // its thread. The counts of a merged apply go with its last batch.
        for (std::size_t i = 0; i + 1 < ids.size(); ++i)
          send_frame(self, runtime::link_ack{ids[i], 0, 0, {}});
        send_frame(self, runtime::link_ack{ids.back(), stats.applied, stats.duplicates, {}});
      },
      [self](caf::error& e) {
        // The peer's ops were refused (invalid, or storage failed): say why.
        auto err = runtime::from_caf_error(e);
        fail(self, err.code(), "applying the peer's ops failed: " + err.message());
      });
}

void on_ack(link_broker* self, runtime::link_ack& ack) {
  auto& st = self->state;
  apply_stats stats;
  stats.applied = ack.applied;
  stats.duplicates = ack.duplicates;
  auto i = st.in_flight.find(ack.batch);
  if (i == st.in_flight.end()) {
    // A batch the relay sent itself may be acknowledged before the relay's
    // question reaches this link (socket events come before the mailbox).
    if (st.out->take_unawaited(ack.batch)) {
      st.peer_have.merge(ack.have);
      st.early_acks.emplace(ack.batch, stats);
      return;
    }
    // A batch forwarded on receipt: nobody waits for it.
    if (st.out->take_forwarded(ack.batch)) {
      st.peer_have.merge(ack.have);
      return;
    }
    fail(self, errc::protocol_error, "ack for a batch that was not sent");
    return;
  }
  st.peer_have.merge(ack.have);
  i->second.deliver(stats);
  st.in_flight.erase(i);
}

// The peer's relay reported: the incoming direction's progress, for the
// supervisor.
void on_progress(link_broker* self, const runtime::link_progress& p) {
  auto& st = self->state;
  if (!st.peer || !st.accepts_ops) {
    fail(self, errc::protocol_error, "progress on a link that carries no ops this way");
    return;
  }
  if (st.options.report_to) {
    relay_stats stats;
    stats.ops_relayed = p.ops_relayed;
    stats.lag = p.lag;
    self->send(st.options.report_to, stats_atom_v, caf::actor_cast<caf::actor>(self), stats);
  }
}

void on_frames(link_broker* self, std::string_view bytes) {
  auto& st = self->state;
  std::vector<link_frame> frames;
  if (auto r = st.reader.feed(bytes, frames); !r) {
    fail(self, r.error().code(), r.error().message());
    return;
  }
  for (auto& f : frames) {
    if (self->getf(caf::abstract_actor::is_terminated_flag))
      return;
    if (auto* h = std::get_if<runtime::link_hello>(&f))
      on_hello(self, *h);
    else if (auto* o = std::get_if<runtime::link_ops>(&f))
      on_ops(self, *o);
    else if (auto* a = std::get_if<runtime::link_ack>(&f))
      on_ack(self, *a);
    else if (auto* p = std::get_if<runtime::link_progress>(&f))
      on_progress(self, *p);
    else if (auto* e = std::get_if<runtime::link_error>(&f)) {
      end(self, link_error(e->code, "the peer closed the link: " + e->message));
      return;
    }
  }
  if (!self->getf(caf::abstract_actor::is_terminated_flag))
    apply_collected(self);
}

void on_bytes(link_broker* self, const std::vector<char>& buf) {
  auto& st = self->state;
  std::string_view bytes{buf.data(), buf.size()};
  if (!st.out->secured()) {
    on_frames(self, bytes);
    return;
  }
  bool was_established = st.out->established();
  st.plain.clear();
  bool flush = false;
  auto r = st.out->feed(bytes, st.plain, flush);
  if (flush)
    flush_writer(self);
  if (!r) {
    end(self, runtime::to_caf_error(r.error()));
    return;
  }
  if (!was_established && st.out->established() && st.dialer) {
    auto binding = st.out->channel_binding();
    if (!st.options.access_secret.empty())
      st.proof = runtime::link_proof(st.options.access_secret, binding, true, st.remote_db);
    for (auto& t : st.options.teams) {
      auto key = t.secret.empty() ? result<std::string>{t.access_key}
                                  : team_access_key(t.name, t.secret);
      if (!key) {
        fail(self, key.error().code(), key.error().message());
        return;
      }
      st.team_proofs.push_back(
        runtime::link_team{t.name, runtime::team_proof(*key, binding, st.remote_db, t.name)});
    }
    with_local_state(self, [self] { send_hello(self); });
  }
  if (!st.plain.empty())
    on_frames(self, st.plain);
}

caf::behavior link_behavior(link_broker* self, caf::io::connection_handle conn,
                            socket_link_options options) {
  auto& st = self->state;
  st.conn = conn;
  st.options = std::move(options);
  st.out = writer_of(conn);
  st.out->set_link(self->address());
  // However the link ends (an exit from its relay too), nothing more is
  // sent or forwarded on its behalf.
  self->attach_functor([w = st.out] { w->close(); });
  self->configure_read(conn, caf::io::receive_policy::at_most(read_chunk));
  if (!st.options.link_secret.empty()) {
    runtime::channel_options co;
    co.link_secret = st.options.link_secret;
    if (st.out->open_channel(st.dialer ? runtime::channel_role::initiator
                                       : runtime::channel_role::responder,
                             std::move(co)))
      flush_writer(self);
  }
  // The hello deadline: a message without a sender, from the actor clock,
  // which holds the link until then. Not a request or a request timeout:
  // CAF names the link itself as their sender, and CAF 0.17 leaves a
  // broker's mailbox as it is when the broker ends, so a link that ended
  // before it handled one (its database already stopped, a connection
  // closed at once, the timeout firing as the link ends) held itself, its
  // state and mailbox until the process ended.
  caf::delayed_anon_send(caf::actor{self}, st.options.hello_timeout, hello_deadline_atom_v);
  self->set_down_handler([self](const caf::down_msg& dm) {
    // The link holds references to its databases: it must not outlive them.
    auto& st = self->state;
    bool ours = st.db && dm.source == st.db.address();
    for (auto& [name, addr] : st.served)
      ours = ours || dm.source == addr;
    if (ours)
      fail(self, errc::closed, "the local database stopped");
  });
  return {
    [self](const caf::io::new_data_msg& msg) { on_bytes(self, msg.buf); },
    [self](const caf::io::connection_closed_msg&) {
      fail(self, errc::closed, "the peer closed the connection");
    },
    // The outgoing relay's reports.
    // (Ops forwarded on the relay's behalf count as relayed.)
    [self](stats_atom, const relay_actor& relay, relay_stats& stats) {
      auto& st = self->state;
      if (relay != st.relay)
        return;
      stats.ops_relayed += st.out->forwarded_delivered();
      if (st.options.report_to)
        self->send(st.options.report_to, stats_atom_v, relay, stats);
      send_frame(self, runtime::link_progress{stats.ops_relayed, stats.lag});
    },
    [self](hello_deadline_atom) {
      if (!self->state.peer || !self->state.hello_sent)
        fail(self, errc::timeout, "no link hello within the deadline");
    },
    // The grant that admitted the peer was revoked: cut the link now.
    [self](revoke_atom, const std::string& reason) {
      fail(self, errc::permission_denied, reason);
    },
    // The op_sink interface, for the local relay and for dial_unix.
    [self](version_atom) -> caf::result<version_vector> {
      auto& st = self->state;
      if (st.peer)
        return st.peer_have;
      st.version_waiters.push_back(self->make_response_promise<version_vector>());
      return st.version_waiters.back();
    },
    [self](node_atom) -> caf::result<node_id> {
      auto& st = self->state;
      if (st.peer)
        return st.peer->node;
      st.node_waiters.push_back(self->make_response_promise<node_id>());
      return st.node_waiters.back();
    },
    // The relay sent a batch itself (link_writer::send_ops) and asks for
    // its acknowledgement.
    [self](awaited_atom, std::uint64_t id) -> caf::result<apply_stats> {
      auto& st = self->state;
      if (auto i = st.early_acks.find(id); i != st.early_acks.end()) {
        auto stats = i->second;
        st.early_acks.erase(i);
        return stats;
      }
      if (!st.out->take_unawaited(id))
        return link_error(errc::invalid_argument, "no batch " + std::to_string(id) + " was sent");
      auto rp = self->make_response_promise<apply_stats>();
      st.in_flight.emplace(id, rp);
      return rp;
    },
    // Another thread left bytes for the stream.
    [self](drain_atom) { flush_writer(self); },
    [self](apply_atom, std::vector<op>& ops) -> caf::result<apply_stats> {
      auto& st = self->state;
      if (!st.peer || !st.sends_ops)
        return link_error(errc::invalid_argument, "this link does not carry ops that way");
      auto sealed = outgoing(st, ops);
      if (!sealed) {
        auto err = runtime::to_caf_error(sealed.error());
        fail(self, sealed.error().code(), "cannot seal an op: " + sealed.error().message());
        return err;
      }
      // Ops the link does not carry were dropped, as if delivered, so that
      // the relay moves on.
      if (ops.empty())
        return apply_stats{};
      auto id = st.out->next_batch();
      auto rp = self->make_response_promise<apply_stats>();
      st.in_flight.emplace(id, rp);
      send_frame(self, runtime::link_ops{id, std::move(ops)});
      return rp;
    },
  };
}

// Monitors `db` until this link terminates, however it terminates. A broker
// (CAF 0.17) keeps its mailbox open after it terminated, so a down message
// from the database to a dead link would sit there with a strong reference
// to the database until the broker object goes away; when that happens only
// at shutdown, the detached database thread never finishes.
void monitor_while_alive(link_broker* self, const caf::actor_addr& db) {
  auto strong = caf::actor_cast<caf::actor>(db);
  if (!strong)
    return;
  self->monitor(strong);
  self->attach_functor([self, db] { self->demonitor(db); });
}

caf::behavior dialer_behavior(link_broker* self, caf::io::connection_handle conn,
                              database_actor db, std::string remote, link_mode mode,
                              socket_link_options options) {
  auto& st = self->state;
  st.dialer = true;
  st.db = std::move(db);
  st.remote_db = std::move(remote);
  st.sends_ops = mode != link_mode::write_only;
  st.accepts_ops = mode != link_mode::read_only;
  st.collections = options.collections;
  st.asked = options.collections;
  st.sealed_only = options.e2e_only;
  std::optional<blaze::error> bad_team;
  for (auto& t : options.teams) {
    st.teams.push_back(t.name);
    if (t.secret.empty())
      continue; // a relaying node: the team's sealed ops pass through
    auto key = team_key::derive(t.name, t.secret);
    if (!key)
      bad_team = key.error();
    else
      st.members.push_back(link_state::member{std::move(*key), t.collections});
  }
  monitor_while_alive(self, st.db.address());
  auto plain = options.link_secret.empty();
  auto bhvr = link_behavior(self, conn, std::move(options));
  if (bad_team) {
    end(self, runtime::to_caf_error(*bad_team));
    return bhvr;
  }
  if (plain)
    with_local_state(self, [self] { send_hello(self); });
  return bhvr;
}

// Every TCP link: no Nagle delay on small frames, and keepalive probes so
// that a peer gone silent (a cut cable, a dead machine) ends the link in
// about 15 s, and the topology re-dials, instead of waiting for hours.
void tune_tcp(int fd) {
  int one = 1, idle = 5, interval = 2, count = 5;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  // Unacknowledged data is given up on after the same time.
  unsigned timeout_ms = 15000;
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
}

caf::behavior accepted_behavior(link_broker* self, caf::io::connection_handle conn,
                                std::map<std::string, caf::actor_addr> served,
                                socket_link_options options, bool tcp) {
  self->state.tcp = tcp;
  if (tcp) {
    // CAF's default multiplexer names a connection by its socket.
    tune_tcp(static_cast<int>(conn.id()));
  }
  if (!tcp) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(static_cast<int>(conn.id()), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
      self->state.peer_uid = static_cast<std::uint32_t>(cred.uid);
  }
  self->state.served = std::move(served);
  auto bhvr = link_behavior(self, conn, std::move(options));
  for (auto& [name, addr] : self->state.served)
    monitor_while_alive(self, addr);
  return bhvr;
}

// --- the listener -----------------------------------------------------------------

struct listener_state {
  static inline const char* name = "blaze.socket_listener";
  std::string path; // a Unix socket's file, removed when the listener ends
  bool tcp = false;
  std::map<std::string, caf::actor_addr> served;
  socket_link_options options; // for connections accepted from now on
  ~listener_state() {
    if (!path.empty())
      ::unlink(path.c_str());
  }
};

using listener_broker = caf::io::stateful_broker<listener_state>;

caf::behavior listener_behavior(listener_broker* self, int fd, std::string path, bool tcp,
                                std::map<std::string, caf::actor_addr> served,
                                socket_link_options options) {
  self->state.path = std::move(path);
  self->state.tcp = tcp;
  self->state.served = std::move(served);
  self->state.options = std::move(options);
  add_link_doorman(self, fd);
  return {
    [self](const caf::io::new_connection_msg& msg) {
      self->fork(accepted_behavior, msg.handle, self->state.served, self->state.options,
                 self->state.tcp);
    },
    [self](grant_atom, const std::string& name, std::vector<access_grant>& grants) {
      self->state.options.grants[name] = std::move(grants);
    },
    [](const caf::io::acceptor_closed_msg&) {},
    [self](register_atom, const std::string& name, const database_actor& db) {
      self->state.served[name] = db.address();
    },
  };
}

result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return blaze::error{errc::invalid_argument,
                        "Unix socket path must be 1 to " + std::to_string(sizeof addr.sun_path - 1)
                          + " bytes: " + path};
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

blaze::error errno_error(const std::string& what) {
  return blaze::error{errc::io_error, what + ": " + std::strerror(errno)};
}

// Served databases by name, held weakly (see link_state::served).
std::map<std::string, caf::actor_addr>
weak_refs(const std::map<std::string, database_actor>& databases) {
  std::map<std::string, caf::actor_addr> out;
  for (auto& [name, db] : databases)
    out.emplace(name, db.address());
  return out;
}

// The dialling end's broker around a connected socket.
caf::actor spawn_dialer(caf::actor_system& sys, int fd, database_actor local,
                        const std::string& remote, link_mode mode, socket_link_options options) {
  return sys.middleman().spawn_broker(
    [fd](link_broker* self, database_actor db, std::string remote, link_mode mode,
         socket_link_options options) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      self->state.tcp = ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0
                        && addr.ss_family != AF_UNIX;
      auto conn = add_link_scribe(self, fd);
      return dialer_behavior(self, conn, std::move(db), std::move(remote), mode,
                             std::move(options));
    },
    std::move(local), remote, mode, std::move(options));
}

blaze::error gai_error(const std::string& host, int code) {
  return blaze::error{errc::io_error, "cannot resolve " + host + ": " + ::gai_strerror(code)};
}

// Access proofs are bound to the secure channel: without it there is
// nothing to bind them to.
result<void> check_access_options(const socket_link_options& options) {
  if (options.hello_timeout <= std::chrono::milliseconds::zero())
    return blaze::error{errc::invalid_argument, "the hello timeout must be positive"};
  if (options.link_secret.empty()
      && (!options.grants.empty() || !options.access_secret.empty() || !options.teams.empty()
          || !options.served_teams.empty()))
    return blaze::error{errc::invalid_argument,
                        "access secrets, grants and teams need the secure channel: set a link "
                        "secret"};
  if (options.e2e_only && options.teams.empty())
    return blaze::error{errc::invalid_argument,
                        "e2e_only needs a team: its key is what seals the ops"};
  std::vector<std::string> names;
  for (auto& t : options.teams) {
    if (auto r = validate_team_name(t.name); !r)
      return r;
    if (contains(names, t.name))
      return blaze::error{errc::invalid_argument, "team '" + t.name + "' is named twice"};
    names.push_back(t.name);
    if (t.secret.empty() && t.access_key.size() != 32)
      return blaze::error{errc::invalid_argument,
                          "team '" + t.name + "' needs its secret (a member) or its 32-byte "
                          "access key (a relaying node)"};
  }
  for (auto& [db, teams] : options.served_teams)
    for (auto& t : teams) {
      if (auto r = validate_team_name(t.name); !r)
        return r;
      if (t.access_key.size() != 32)
        return blaze::error{errc::invalid_argument, "team '" + t.name + "' of database '" + db
                                                      + "' needs its 32-byte access key"};
    }
  for (auto& [db, grants] : options.grants)
    for (auto& g : grants)
      if (g.secret.empty() && g.uids.empty())
        return blaze::error{errc::invalid_argument, "grant '" + g.name + "' of database '" + db
                                                      + "' has neither a secret nor a uid"};
  return {};
}

// A TCP link without a secret would carry plaintext between machines.
result<void> require_secret(const socket_link_options& options) {
  if (options.link_secret.empty())
    return blaze::error{errc::invalid_argument,
                        "a TCP link needs a link secret (plaintext frames are only allowed on "
                        "Unix sockets)"};
  return check_access_options(options);
}

// Connects to host:port within `timeout`; blocks the calling thread.
result<int> connect_tcp(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return gai_error(host, rc);
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{found, ::freeaddrinfo};
  auto where = host + ":" + std::to_string(port);
  blaze::error last{errc::io_error, "cannot connect to " + where + ": no address"};
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                      ai->ai_protocol);
    if (fd < 0) {
      last = errno_error("socket");
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        ::close(fd);
        last = blaze::error{errc::timeout, "cannot connect to " + where + ": timed out"};
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      errno = err;
      rc = err == 0 ? 0 : -1;
    }
    if (rc != 0) {
      last = errno_error("cannot connect to " + where);
      ::close(fd);
      continue;
    }
    tune_tcp(fd);
    return fd;
  }
  return last;
}

} // namespace

result<void> check_access(const socket_link_options& options) {
  return check_access_options(options);
}

result<tcp_listener> serve_tcp(caf::actor_system& sys, const std::string& host,
                               std::uint16_t port, std::map<std::string, database_actor> databases,
                               socket_link_options options) {
  if (auto r = require_secret(options); !r)
    return r.error();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(),
                             &hints, &found);
      rc != 0)
    return gai_error(host, rc);
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{found, ::freeaddrinfo};
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    found->ai_protocol);
  if (fd < 0)
    return errno_error("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto where = host + ":" + std::to_string(port);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
    auto e = errno_error("cannot listen on " + where);
    ::close(fd);
    return e;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  std::uint16_t bound_port = bound.ss_family == AF_INET6
                               ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                               : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  auto listener = sys.middleman().spawn_broker(listener_behavior, fd, std::string{}, true,
                                               weak_refs(databases), std::move(options));
  return tcp_listener{std::move(listener), bound_port};
}

result<caf::actor> dial_tcp(caf::actor_system& sys, database_actor local, const std::string& host,
                            std::uint16_t port, const std::string& remote, link_mode mode,
                            socket_link_options options) {
  if (auto r = require_secret(options); !r)
    return r.error();
  if (!local)
    return blaze::error{errc::invalid_argument, "no local database to link"};
  auto fd = connect_tcp(host, port, options.hello_timeout);
  if (!fd)
    return fd.error();
  return spawn_dialer(sys, *fd, std::move(local), remote, mode, std::move(options));
}

result<caf::actor> await_established(caf::actor_system& sys, const caf::actor& link,
                                     std::chrono::milliseconds limit) {
  caf::scoped_actor self{sys};
  // A link that failed before the request below reached it (a wrong secret
  // found out at once, on a busy machine) has ended with its mailbox still
  // open (CAF 0.17 brokers): the request would wait for its timeout and
  // lose the reason. So the request is repeated in short rounds, and between
  // them the link's down message, which carries the reason, is looked for.
  self->monitor(link);
  std::optional<blaze::error> failure;
  bool up = false;
  auto deadline = std::chrono::steady_clock::now() + limit + 1s;
  while (!up && !failure) {
    self->request(link, 50ms, version_atom_v)
      .receive([&](version_vector&) { up = true; },
               [&](caf::error& e) {
                 if (e != caf::sec::request_timeout)
                   failure = runtime::from_caf_error(e);
               });
    if (up || failure)
      break;
    self->receive(
      [&](caf::down_msg& dm) {
        if (dm.source != link.address())
          return;
        failure = dm.reason ? runtime::from_caf_error(dm.reason)
                            : blaze::error{errc::closed, "the link ended before it was up"};
      },
      caf::after(std::chrono::milliseconds(0)) >> [] {});
    if (!failure && std::chrono::steady_clock::now() >= deadline)
      failure = blaze::error{errc::timeout, "the link was not up within the hello deadline"};
  }
  self->demonitor(link);
  if (failure) {
    self->send_exit(link, caf::exit_reason::user_shutdown);
    return *failure;
  }
  return link;
}

result<caf::actor> serve_unix(caf::actor_system& sys, const std::string& socket_path,
                              std::map<std::string, database_actor> databases,
                              socket_link_options options) {
  auto addr = unix_address(socket_path);
  if (!addr)
    return addr.error();
  if (auto r = check_access_options(options); !r)
    return r.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errno_error("socket");
  // A socket file left by a process that died is stale: nobody accepts on it.
  // (Non-blocking: a full backlog answers EAGAIN at once, and means live.)
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (probe >= 0) {
    bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0
                || errno == EAGAIN;
    ::close(probe);
    if (live) {
      ::close(fd);
      return blaze::error{errc::busy, "another process serves " + socket_path};
    }
  }
  ::unlink(socket_path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0
      || ::listen(fd, 64) != 0) {
    auto e = errno_error("cannot listen on " + socket_path);
    ::close(fd);
    return e;
  }
  return sys.middleman().spawn_broker(listener_behavior, fd, socket_path, false,
                                      weak_refs(databases), std::move(options));
}

result<caf::actor> start_unix_link(caf::actor_system& sys, database_actor local,
                                   const std::string& socket_path, const std::string& remote,
                                   link_mode mode, socket_link_options options) {
  auto addr = unix_address(socket_path);
  if (!addr)
    return addr.error();
  if (!local)
    return blaze::error{errc::invalid_argument, "no local database to link"};
  if (auto r = check_access_options(options); !r)
    return r.error();
  // Non-blocking: a Unix socket connects at once or fails at once (EAGAIN
  // when the listener's backlog is full), so this never stalls an actor.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errno_error("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    auto e = errno_error("cannot connect to " + socket_path);
    ::close(fd);
    return e;
  }
  return spawn_dialer(sys, fd, std::move(local), remote, mode, std::move(options));
}

result<caf::actor> dial_unix(caf::actor_system& sys, database_actor local,
                             const std::string& socket_path, const std::string& remote,
                             link_mode mode, socket_link_options options) {
  auto limit = options.hello_timeout;
  auto broker = start_unix_link(sys, std::move(local), socket_path, remote, mode,
                                std::move(options));
  if (!broker)
    return broker;
  return await_established(sys, *broker, limit);
}

} // namespace blaze::actors
