// The secure middleman, built like libcaf_openssl 0.17.6 builds its TLS
// middleman: a module that spawns a second middleman actor next to CAF's
// (sharing the BASP broker), whose connect/open hand the broker scribes over
// io::network::stream_impl<channel_policy> and a doorman that wraps every
// accepted socket the same way. The policy drives a secure_channel: BASP
// reads and writes plaintext, the socket only ever sees channel bytes.
#include "blaze/runtime/secure_middleman.hpp"

#include "blaze/runtime/system_config.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/detail/socket_guard.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/message_handler.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

// Options travel only between threads of one process (caller -> middleman
// actor), never over the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::runtime::channel_options)

namespace blaze::runtime {

namespace {

namespace net = caf::io::network;
using net::native_socket;
using net::rw_state;
using clock_type = std::chrono::steady_clock;
using interface_set = std::set<std::string>;

// Requests to the secure middleman actor (in-process only).
using secure_publish_atom = caf::atom_constant<caf::atom("sPublish")>;
using secure_connect_atom = caf::atom_constant<caf::atom("sConnect")>;
using watchdog_atom = caf::atom_constant<caf::atom("sWatchdog")>;

// Where the module leaves the actor's handle for secure_publish & co.
constexpr caf::atom_value registry_name = caf::atom("BlazeSMM");

// How often overdue handshakes are looked for while any is in progress.
constexpr std::chrono::milliseconds watchdog_interval{100};

// Per-connection buffers larger than this are released once drained.
constexpr std::size_t retained_buffer_limit = 256 * 1024;

// Extra time granted to a connect beyond the handshake deadline: TCP connect
// and the BASP handshake that runs inside the established channel.
constexpr std::chrono::seconds connect_slack{10};

// One connection: its channel and the bytes in flight around it. The
// channel and buffers are touched only by the multiplexer thread (through
// the policy); the middleman actor reads `established` and `failure` and may
// abort a handshake that overran its deadline.
class channel_link {
public:
  channel_link(channel_role role, const channel_options& options, native_socket fd)
    : channel(role, options), deadline(clock_type::now() + options.handshake_timeout), fd_(fd) {
    rx.resize(64 * 1024);
  }

  secure_channel channel;
  const clock_type::time_point deadline;
  std::string out;        // ciphertext the socket has not taken yet
  std::size_t out_pos = 0;
  std::string plain;      // decrypted bytes BASP has not read yet
  std::size_t plain_pos = 0;
  std::size_t consumed = 0; // bytes of the stream's buffer sealed, not yet reported written
  std::vector<char> rx;
  net::stream* stream = nullptr; // set by the scribe that owns the policy
  net::stream_manager* owner = nullptr;
  std::atomic<bool> established{false};

  // The first error wins: a peer's alert explains the EOF that follows it.
  void fail(blaze::error e) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!failure_)
      failure_ = std::move(e);
  }

  std::optional<blaze::error> failure() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return failure_;
  }

  // Called from the watchdog (another thread): shutting the socket down
  // wakes the multiplexer, which then reads EOF and closes the connection.
  void abort(blaze::error e) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!failure_)
      failure_ = std::move(e);
    if (fd_ != net::invalid_native_socket)
      ::shutdown(fd_, SHUT_RDWR);
  }

  // The socket is about to be closed; the fd number may be reused.
  void socket_gone() {
    std::lock_guard<std::mutex> guard{mtx_};
    fd_ = net::invalid_native_socket;
  }

  bool socket_open() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return fd_ != net::invalid_native_socket;
  }

private:
  mutable std::mutex mtx_;
  std::optional<blaze::error> failure_;
  native_socket fd_;
};

using link_ptr = std::shared_ptr<channel_link>;

// Handshakes in progress, so that one whose peer went silent is dropped at
// its deadline (the multiplexer only calls the policy on socket events).
class handshake_watch {
public:
  void set_owner(caf::actor_addr owner) {
    std::lock_guard<std::mutex> guard{mtx_};
    owner_ = std::move(owner);
  }

  void add(const link_ptr& link) {
    caf::actor kick;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      links_.push_back(link);
      if (!armed_) {
        armed_ = true;
        kick = caf::actor_cast<caf::actor>(owner_);
      }
    }
    if (kick)
      caf::anon_send(kick, watchdog_atom::value);
  }

  // Aborts overdue handshakes; returns whether any remain to be watched.
  bool sweep(clock_type::time_point now) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto overdue = [&](const std::weak_ptr<channel_link>& weak) {
      auto link = weak.lock();
      if (!link || link->established || !link->socket_open())
        return true;
      if (now < link->deadline)
        return false;
      link->abort(blaze::error{errc::timeout, "the secure handshake did not finish in time"});
      return true;
    };
    links_.erase(std::remove_if(links_.begin(), links_.end(), overdue), links_.end());
    armed_ = !links_.empty();
    return armed_;
  }

private:
  std::mutex mtx_;
  caf::actor_addr owner_;
  std::vector<std::weak_ptr<channel_link>> links_;
  bool armed_ = false;
};

using watch_ptr = std::shared_ptr<handshake_watch>;

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

// The protocol policy of io::network::stream_impl. The stream calls it with
// plaintext buffers; it moves channel bytes through the socket.
//
// Contract with caf::io::network::stream (0.17.6), which shapes the code:
//  - read_some: success with 0 bytes means "nothing for now" (not EOF);
//    failure ends the connection. A socket read may carry only handshake
//    bytes, so 0 application bytes is an ordinary outcome.
//  - must_read_more: the stream stops reading after max-consecutive-reads
//    unless this says more is buffered. Decrypted bytes the stream has not
//    taken are invisible to epoll, so report them here.
//  - write_some: the stream offers the same buffer again until bytes are
//    reported written; success with 0 keeps the write event armed (for a
//    non-empty buffer); indeterminate would discard the buffer.
class channel_policy {
public:
  explicit channel_policy(link_ptr link) : link_(std::move(link)) {}

  channel_policy(const channel_policy&) = delete;
  channel_policy& operator=(const channel_policy&) = delete;

  ~channel_policy() {
    // The stream's base class closes the fd after this member is gone.
    if (link_)
      link_->socket_gone();
  }

  rw_state read_some(std::size_t& result, native_socket fd, void* buf, std::size_t len) {
    result = 0;
    auto& l = *link_;
    if (l.plain_pos == l.plain.size()) {
      if (l.plain.capacity() > retained_buffer_limit)
        std::string{}.swap(l.plain);
      else
        l.plain.clear();
      l.plain_pos = 0;
      if (!pull(fd))
        return rw_state::failure;
    }
    auto n = std::min(len, l.plain.size() - l.plain_pos);
    if (n > 0)
      std::memcpy(buf, l.plain.data() + l.plain_pos, n);
    l.plain_pos += n;
    result = n;
    return rw_state::success;
  }

  rw_state write_some(std::size_t& result, native_socket fd, const void* buf, std::size_t len) {
    result = 0;
    auto& l = *link_;
    if (!within_deadline())
      return rw_state::failure;
    // A buffer offered again after we reported 0 was already sealed.
    if (len > 0 && l.consumed == 0) {
      if (auto sent = l.channel.send({static_cast<const char*>(buf), len}); !sent) {
        l.fail(sent.error());
        return rw_state::failure;
      }
      l.consumed = len;
    }
    collect_output();
    if (!flush(fd))
      return rw_state::failure;
    if (l.out_pos < l.out.size()) {
      if (len > 0)
        return rw_state::success; // hold the buffer: the write event stays armed
      // An empty buffer cannot keep the write event armed: the stream drops
      // it whatever we return. Only handshake bytes get here (a few hundred
      // bytes into a fresh socket), so wait for the socket, boundedly.
      if (!drain_blocking(fd))
        return rw_state::failure;
    }
    result = l.consumed;
    l.consumed = 0;
    return rw_state::success;
  }

  // For acceptor_impl<channel_policy>; the doorman below uses CAF's plain
  // acceptor (like libcaf_openssl) and wraps the accepted socket instead.
  bool try_accept(native_socket& result, native_socket fd) {
    result = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (result == net::invalid_native_socket)
      return would_block(errno);
    return true;
  }

  bool must_read_more(native_socket, std::size_t) {
    return link_->plain_pos < link_->plain.size();
  }

private:
  bool within_deadline() {
    auto& l = *link_;
    if (l.established)
      return true;
    if (auto ok = l.channel.check_deadline(clock_type::now()); !ok) {
      l.fail(ok.error());
      return false;
    }
    return true;
  }

  // Reads the socket until it yields application bytes or would block.
  bool pull(native_socket fd) {
    auto& l = *link_;
    if (!within_deadline())
      return false;
    while (l.plain.empty()) {
      auto n = ::recv(fd, l.rx.data(), l.rx.size(), 0);
      if (n == 0) {
        l.fail(blaze::error{errc::closed, l.established
                                            ? "the peer closed the connection"
                                            : "the peer closed the connection during the "
                                              "secure handshake (wrong link secret?)"});
        return false;
      }
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (would_block(errno))
          return true;
        l.fail(blaze::error{errc::io_error, std::string{"recv: "} + std::strerror(errno)});
        return false;
      }
      auto fed = l.channel.feed({l.rx.data(), static_cast<std::size_t>(n)}, l.plain);
      collect_output(); // handshake replies, a refusal or an alert
      if (!fed) {
        l.fail(fed.error());
        flush(fd); // best effort: let the peer learn why
        return false;
      }
      if (!l.established && l.channel.established())
        l.established = true;
      if (!flush(fd))
        return false;
      if (l.out_pos < l.out.size() && l.stream && l.owner)
        l.stream->force_empty_write(net::stream::manager_ptr{l.owner});
    }
    return true;
  }

  void collect_output() {
    auto& l = *link_;
    if (!l.channel.has_output())
      return;
    if (l.out_pos == l.out.size()) {
      l.out = l.channel.take_output();
      l.out_pos = 0;
    } else {
      l.out += l.channel.take_output();
    }
  }

  // Sends what the socket takes without blocking; false on a socket error.
  bool flush(native_socket fd) {
    auto& l = *link_;
    while (l.out_pos < l.out.size()) {
      auto n = ::send(fd, l.out.data() + l.out_pos, l.out.size() - l.out_pos, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (would_block(errno))
          return true;
        l.fail(blaze::error{errc::io_error, std::string{"send: "} + std::strerror(errno)});
        return false;
      }
      l.out_pos += static_cast<std::size_t>(n);
    }
    // Do not keep a large message's worth of memory on an idle connection.
    if (l.out.capacity() > retained_buffer_limit)
      std::string{}.swap(l.out);
    else
      l.out.clear();
    l.out_pos = 0;
    return true;
  }

  bool drain_blocking(native_socket fd) {
    auto& l = *link_;
    auto give_up = clock_type::now() + std::chrono::seconds(1);
    while (l.out_pos < l.out.size()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - clock_type::now());
      if (left.count() <= 0) {
        l.fail(blaze::error{errc::timeout, "the peer does not read the secure handshake"});
        return false;
      }
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
        l.fail(blaze::error{errc::io_error, std::string{"poll: "} + std::strerror(errno)});
        return false;
      }
      if (!flush(fd))
        return false;
    }
    return true;
  }

  link_ptr link_;
};

using default_mpx = net::default_multiplexer;

// A scribe whose stream speaks the secure channel (cf. libcaf_openssl's
// scribe_impl, which does the same over an SSL session).
class secure_scribe : public caf::io::scribe {
public:
  secure_scribe(default_mpx& mpx, native_socket fd, link_ptr link)
    : caf::io::scribe(net::conn_hdl_from_socket(fd)), stream_(mpx, fd, link) {
    link->stream = &stream_;
    link->owner = this;
  }

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_)
      launch();
  }

  void ack_writes(bool enable) override { stream_.ack_writes(enable); }
  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }
  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }

  void graceful_shutdown() override {
    // remove_from_loop() below may drop the stream's reference to us and
    // detach() then the broker's: stay alive until the shutdown is done.
    caf::intrusive_ptr<secure_scribe> self{this};
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override { stream_.flush(this); }

  std::string addr() const override {
    auto x = net::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  uint16_t port() const override {
    auto x = net::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }

  void add_to_loop() override { stream_.activate(this); }

  // The doorman's leak (see secure_doorman::remove_from_loop), for scribes:
  // CAF 0.17.6's stream holds a strong reference to its scribe from
  // start()/activate() until the multiplexer calls removed_from_loop(read)
  // for it (a cycle: the scribe owns the stream). The multiplexer squashes
  // a del() queued while the add() of the same socket is still queued, so a
  // scribe launched and closed in one multiplexer run (BASP accepts or
  // connects it, configure_read launches it, and the broker stops in that
  // run) never had its read side in epoll, removed_from_loop(read) never
  // came, and the scribe leaked with its channel and its socket. The write
  // registration launch() queues too is not squashed by the del of the read
  // side: it stays queued and the stream drops that reference when the
  // write is done. The read bit of eventbf() is what the loop has
  // registered: 0 while the add is queued (or after the read side left).
  void remove_from_loop() override {
    bool reading = (stream_.eventbf() & net::input_mask) != 0;
    stream_.passivate();
    if (!reading)
      stream_.removed_from_loop(net::operation::read);
  }

private:
  void launch() {
    launched_ = true;
    stream_.start(this);
    // A write event with an empty buffer lets the policy send the
    // initiator's hello before BASP has written anything.
    stream_.force_empty_write(this);
  }

  bool launched_ = false;
  net::stream_impl<channel_policy> stream_;
};

link_ptr make_link(channel_role role, const channel_options& options, native_socket fd) {
  try {
    return std::make_shared<channel_link>(role, options, fd);
  } catch (const std::exception&) {
    return nullptr; // e.g. OpenSSL could not create a key
  }
}

// Accepts plain TCP (CAF's acceptor) and wraps every accepted socket in a
// responder channel, like libcaf_openssl's doorman_impl.
class secure_doorman : public net::doorman_impl {
public:
  secure_doorman(default_mpx& mpx, native_socket fd, channel_options options, watch_ptr watch)
    : net::doorman_impl(mpx, fd), options_(std::move(options)), watch_(std::move(watch)) {}

  bool new_connection() override {
    // The broker may already have let go of us while the multiplexer still
    // held an event for this socket.
    if (detached())
      return false;
    auto& mpx = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::detail::socket_guard guard{fd};
    net::nonblocking(fd, true);
    auto link = make_link(channel_role::responder, options_, fd);
    if (!link)
      return false;
    auto scribe = caf::make_counted<secure_scribe>(mpx, fd, link);
    guard.release(); // the scribe's stream owns the socket now
    watch_->add(link);
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

  void graceful_shutdown() override {
    // remove_from_loop() below may drop the acceptor's reference to us and
    // detach() then the broker's: stay alive until the shutdown is done.
    caf::intrusive_ptr<secure_doorman> self{this};
    net::doorman_impl::graceful_shutdown();
  }

  // CAF 0.17.6's acceptor holds a strong reference to its doorman from
  // activate() until the multiplexer calls removed_from_loop(read) for it
  // (a cycle: the doorman owns the acceptor). The multiplexer queues socket
  // registrations per fd and squashes them: a del() that arrives while the
  // add() is still queued cancels both, the socket never enters epoll, and
  // removed_from_loop is never called. That happens when the BASP broker
  // handles publish and unpublish in one run (secure_publish answers before
  // the broker has seen the doorman), and the doorman leaked. eventbf() is
  // what the loop has registered for the socket: 0 while the add is queued.
  void remove_from_loop() override {
    bool registered = acceptor_.eventbf() != 0;
    net::doorman_impl::remove_from_loop();
    if (!registered)
      acceptor_.removed_from_loop(net::operation::read);
  }

private:
  channel_options options_;
  watch_ptr watch_;
};

// A second middleman actor next to CAF's, sharing its BASP broker. CAF's
// connect/publish messages carry no per-link settings, so this actor adds
// two requests that do (sPublish, sConnect); they pass the options to the
// overridden open()/connect() through a member, which is safe because an
// actor handles one message at a time.
class secure_middleman_actor : public caf::io::middleman_actor_impl {
public:
  using super = caf::io::middleman_actor_impl;
  using endpoint_key = std::tuple<std::string, uint16_t, std::string>;

  secure_middleman_actor(caf::actor_config& cfg, caf::actor broker)
    : super(cfg, broker), broker_(std::move(broker)), watch_(std::make_shared<handshake_watch>()) {
    set_down_handler([this](caf::down_msg& dm) {
      for (auto i = cache_.begin(); i != cache_.end();) {
        if (std::get<1>(i->second) == dm.source)
          i = cache_.erase(i);
        else
          ++i;
      }
    });
  }

  const char* name() const override { return "blaze::secure_middleman_actor"; }

  void on_exit() override {
    watch_->set_owner(caf::actor_addr{});
    cache_.clear();
    for (auto& kvp : pending_)
      for (auto& promise : kvp.second)
        promise.deliver(caf::make_error(caf::sec::cannot_connect_to_node));
    pending_.clear();
    broker_ = nullptr;
    super::on_exit();
  }

  behavior_type make_behavior() override {
    watch_->set_owner(address());
    caf::message_handler own{
      [this](secure_publish_atom, uint16_t port, caf::strong_actor_ptr& whom,
             interface_set& sigs, std::string& addr,
             channel_options& options) -> caf::result<uint16_t> {
        next_options_ = std::move(options);
        auto doorman = open(port, addr.empty() ? nullptr : addr.c_str(), false);
        next_options_.reset();
        if (!doorman)
          return std::move(doorman.error());
        auto actual_port = (*doorman)->port();
        caf::anon_send(broker_, caf::publish_atom::value, std::move(*doorman), actual_port,
                       std::move(whom), std::move(sigs));
        return actual_port;
      },
      [this](secure_connect_atom, std::string& host, uint16_t port,
             channel_options& options) -> caf::result<caf::node_id, caf::strong_actor_ptr,
                                                       interface_set> {
        auto rp = make_response_promise();
        endpoint_key key{host, port, options.link_secret};
        if (auto i = cache_.find(key); i != cache_.end()) {
          rp.deliver(std::get<0>(i->second), std::get<1>(i->second), std::get<2>(i->second));
          return rp;
        }
        if (auto i = pending_.find(key); i != pending_.end()) {
          i->second.push_back(rp);
          return rp;
        }
        next_options_ = std::move(options);
        auto scribe = connect(host, port);
        next_options_.reset();
        if (!scribe) {
          rp.deliver(std::move(scribe.error()));
          return rp;
        }
        auto link = std::move(next_link_);
        pending_[key].push_back(rp);
        request(broker_, caf::infinite, caf::connect_atom::value, std::move(*scribe), port)
          .then(
            [this, key](caf::node_id& nid, caf::strong_actor_ptr& addr, interface_set& sigs) {
              auto i = pending_.find(key);
              if (i == pending_.end())
                return;
              if (nid && addr) {
                monitor(addr);
                cache_.emplace(key, std::make_tuple(nid, addr, sigs));
              }
              auto res = caf::make_message(std::move(nid), std::move(addr), std::move(sigs));
              for (auto& promise : i->second)
                promise.deliver(res);
              pending_.erase(i);
            },
            [this, key, link](caf::error& err) {
              auto i = pending_.find(key);
              if (i == pending_.end())
                return;
              // BASP only knows the connection went away; the channel knows why.
              auto failure = link->failure();
              auto reported = failure ? to_caf_error(*failure) : err;
              for (auto& promise : i->second)
                promise.deliver(reported);
              pending_.erase(i);
            });
        return rp;
      },
      [this](watchdog_atom) {
        if (watch_->sweep(clock_type::now()))
          caf::delayed_anon_send(caf::actor_cast<caf::actor>(this), watchdog_interval,
                                 watchdog_atom::value);
      },
    };
    auto base = super::make_behavior();
    return behavior_type{behavior_type::unsafe_init{}, own.or_else(base.unbox())};
  }

protected:
  // Reached through sConnect (with options) or CAF's own connect_atom
  // (without: refused, there is no plain fallback).
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host, uint16_t port) override {
    if (!next_options_)
      return caf::make_error(caf::sec::cannot_connect_to_node,
                             "secure middleman: connect needs a link secret");
    auto fd = net::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    caf::detail::socket_guard guard{*fd};
    net::nonblocking(*fd, true);
    auto link = make_link(channel_role::initiator, *next_options_, *fd);
    if (!link)
      return caf::make_error(caf::sec::cannot_connect_to_node,
                             "secure middleman: cannot create a channel");
    auto scribe = caf::make_counted<secure_scribe>(mpx(), *fd, link);
    guard.release();
    watch_->add(link);
    next_link_ = std::move(link);
    return scribe;
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr, bool reuse) override {
    if (!next_options_)
      return caf::make_error(caf::sec::cannot_open_port,
                             "secure middleman: publish needs a link secret");
    auto fd = net::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<secure_doorman>(mpx(), *fd, *next_options_, watch_);
  }

private:
  default_mpx& mpx() { return static_cast<default_mpx&>(system().middleman().backend()); }

  caf::actor broker_;
  watch_ptr watch_;
  std::optional<channel_options> next_options_;
  link_ptr next_link_;
  std::map<endpoint_key, std::tuple<caf::node_id, caf::strong_actor_ptr, interface_set>> cache_;
  std::map<endpoint_key, std::vector<caf::response_promise>> pending_;
};

// Owns the secure middleman actor for the lifetime of the actor system.
// Takes the module slot CAF reserves for its OpenSSL middleman: the role
// this module plays, and the two must not run side by side.
class secure_middleman_module : public caf::actor_system::module {
public:
  explicit secure_middleman_module(caf::actor_system& sys) : sys_(sys) {}

  void start() override {
    if (!sys_.has_middleman())
      throw std::logic_error("secure middleman: the I/O middleman is not loaded");
    auto& backend = sys_.middleman().backend();
    if (dynamic_cast<default_mpx*>(&backend) == nullptr)
      throw std::logic_error("secure middleman: needs CAF's default network backend");
    auto basp = sys_.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
    attached_ = caf::get_or(sys_.config(), "middleman.attach-utility-actors", false);
    // Detached by default: connect() blocks on TCP connect and DNS.
    auto handle = attached_ ? sys_.spawn<secure_middleman_actor, caf::hidden>(std::move(basp))
                            : sys_.spawn<secure_middleman_actor, caf::detached + caf::hidden>(
                                std::move(basp));
    actor_ = caf::actor_cast<caf::actor>(std::move(handle));
    sys_.registry().put(registry_name, actor_);
  }

  void stop() override {
    sys_.registry().erase(registry_name);
    caf::scoped_actor self{sys_, true};
    self->send_exit(actor_, caf::exit_reason::kill);
    if (!attached_)
      self->wait_for(actor_);
    actor_ = nullptr;
  }

  void init(caf::actor_system_config&) override {}
  id_t id() const override { return openssl_manager; }
  void* subtype_ptr() override { return this; }

private:
  caf::actor_system& sys_;
  caf::actor actor_;
  bool attached_ = false;
};

result<caf::actor> secure_middleman_of(caf::actor_system& sys) {
  auto mm = sys.registry().get<caf::actor>(registry_name);
  if (!mm)
    return blaze::error{errc::invalid_argument,
                        "the secure middleman is not loaded (call enable_secure_middleman)"};
  return mm;
}

blaze::error to_blaze_error(const caf::error& e) {
  if (e == caf::sec::request_timeout)
    return blaze::error{errc::timeout, "no answer from the secure middleman in time"};
  return from_caf_error(e);
}

} // namespace

void enable_secure_middleman(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return new secure_middleman_module(sys);
    });
  cfg.set("middleman.enable-automatic-connections", false);
}

namespace detail {

result<std::uint16_t> secure_publish(caf::actor_system& sys, caf::strong_actor_ptr whom,
                                     std::set<std::string> interface, std::uint16_t port,
                                     channel_options options, const char* addr) {
  if (!whom)
    return blaze::error{errc::invalid_argument, "secure_publish: invalid actor handle"};
  if (options.link_secret.empty())
    return blaze::error{errc::invalid_argument, "secure_publish: empty link secret"};
  auto mm = secure_middleman_of(sys);
  if (!mm)
    return mm.error();
  std::optional<blaze::error> failure;
  std::uint16_t bound = 0;
  caf::scoped_actor self{sys};
  self
    ->request(*mm, std::chrono::seconds(30), secure_publish_atom::value, port, std::move(whom),
              std::move(interface), std::string{addr ? addr : ""}, std::move(options))
    .receive([&](uint16_t actual) { bound = actual; },
             [&](caf::error& e) { failure = to_blaze_error(e); });
  if (failure)
    return *failure;
  return bound;
}

result<caf::strong_actor_ptr> secure_remote_actor(caf::actor_system& sys, std::string host,
                                                  std::uint16_t port, channel_options options,
                                                  std::set<std::string> interface) {
  if (options.link_secret.empty())
    return blaze::error{errc::invalid_argument, "secure_remote_actor: empty link secret"};
  auto mm = secure_middleman_of(sys);
  if (!mm)
    return mm.error();
  auto where = host + ":" + std::to_string(port);
  // The middleman aborts handshakes at their deadline; this bound covers a
  // peer that completes the channel but never answers BASP.
  auto timeout = options.handshake_timeout + connect_slack;
  std::optional<blaze::error> failure;
  caf::strong_actor_ptr result_ptr;
  interface_set remote_interface;
  caf::scoped_actor self{sys};
  self
    ->request(*mm, timeout, secure_connect_atom::value, std::move(host), port,
              std::move(options))
    .receive(
      [&](caf::node_id&, caf::strong_actor_ptr& ptr, interface_set& sigs) {
        result_ptr = std::move(ptr);
        remote_interface = std::move(sigs);
      },
      [&](caf::error& e) { failure = to_blaze_error(e); });
  if (failure)
    return blaze::error{failure->code(), where + ": " + failure->message()};
  if (!result_ptr)
    return blaze::error{errc::not_found, where + ": no actor published there"};
  if (!sys.assignable(remote_interface, interface))
    return blaze::error{errc::invalid_argument,
                        where + ": the published actor has another messaging interface"};
  return result_ptr;
}

result<void> secure_unpublish(caf::actor_system& sys, caf::actor_addr whom, std::uint16_t port) {
  auto mm = secure_middleman_of(sys);
  if (!mm)
    return mm.error();
  std::optional<blaze::error> failure;
  caf::scoped_actor self{sys};
  self->request(*mm, std::chrono::seconds(30), caf::unpublish_atom::value, std::move(whom), port)
    .receive([] {}, [&](caf::error& e) { failure = to_blaze_error(e); });
  if (failure)
    return *failure;
  return {};
}

} // namespace detail

} // namespace blaze::runtime
