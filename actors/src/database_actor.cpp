#include "blaze/actors/database_actor.hpp"

#include "blaze/runtime/system_config.hpp"

#include <caf/spawn_options.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <iterator>
#include <map>

namespace blaze::actors {

namespace {

// Sent to itself when a local write is queued while more messages wait:
// the writes among them join the group before it commits.
using commit_atom = caf::atom_constant<caf::atom("dbcommit")>;
constexpr commit_atom commit_atom_v{};

// A group commit never holds more local writes than this.
constexpr std::size_t max_group = 512;

struct database_state {
  std::shared_ptr<database> db;
  // Local writes queued for the next group commit, and their requesters.
  write_batch group;
  std::vector<caf::typed_response_promise<op>> waiting;
  bool commit_pending = false;
  struct subscription {
    change_listener listener;
    // Not told of commits whose every change comes from this node (0: told
    // of all): a relay toward that node drops them anyway.
    node_id skip_origin = 0;
  };
  std::map<std::uint64_t, subscription> listeners;
  // Changes of the current handler, sent to the listeners when it is done.
  std::vector<change> pending;
  std::uint64_t next_listener = 1;
  observer_id observer = 0;
  static inline const char* name = "blaze.database";

  // Commits the queued writes in one LevelDB write, tells the listeners,
  // then answers each writer.
  void commit(caf::local_actor* self) {
    if (group.empty())
      return;
    auto ops = db->write(std::move(group));
    group.clear();
    publish(self);
    auto promises = std::move(waiting);
    waiting.clear();
    for (std::size_t i = 0; i < promises.size(); ++i) {
      if (!ops)
        promises[i].deliver(runtime::to_caf_error(ops.error()));
      else if (!(*ops)[i])
        promises[i].deliver(runtime::to_caf_error((*ops)[i].error()));
      else
        promises[i].deliver(std::move(*(*ops)[i]));
    }
  }

  // Sends the changes gathered by the observer to every listener: one
  // message, shared by all of them (CAF messages are immutable).
  void publish(caf::local_actor* self) {
    if (pending.empty())
      return;
    if (listeners.empty()) {
      pending.clear();
      return;
    }
    // The node every change of the commit comes from, if there is one.
    node_id sole_origin = pending.front().origin;
    for (auto& c : pending)
      if (c.origin != sole_origin)
        sole_origin = 0;
    auto msg = caf::make_message(std::move(pending));
    pending.clear();
    for (auto& [id, sub] : listeners)
      if (sub.skip_origin == 0 || sub.skip_origin != sole_origin)
        caf::actor_cast<caf::strong_actor_ptr>(sub.listener)
          ->enqueue(self->ctrl(), caf::make_message_id(), msg, self->context());
  }

  ~database_state() {
    if (db && observer != 0)
      db->unsubscribe(observer);
    // Writes accepted before the actor ended are made and answered all the
    // same (listeners, ending too, are not told).
    if (db) {
      listeners.clear();
      commit(nullptr);
    }
  }
};

// The actor's interface plus its own commit message.
using database_impl = database_actor::extend<caf::reacts_to<commit_atom>>;
using database_pointer = database_impl::stateful_pointer<database_state>;

// Queues a local write (the batch holds it already) for the group commit.
// It commits at once when nothing else waits in the mailbox, so a lone
// write pays no delay; otherwise the messages already queued are handled
// first, and the writes among them join the group (one LevelDB write
// instead of one each, the same ops and order as one by one).
caf::typed_response_promise<op> queue_write(database_pointer self) {
  auto& st = self->state;
  auto promise = self->make_response_promise<op>();
  st.waiting.push_back(promise);
  if (st.group.size() >= max_group || self->mailbox().empty()) {
    st.commit(self);
  } else if (!st.commit_pending) {
    st.commit_pending = true;
    self->send(self, commit_atom_v);
  }
  return promise;
}

template <class T>
caf::result<T> reply(result<T>&& r) {
  if (!r)
    return runtime::to_caf_error(r.error());
  return std::move(*r);
}

database_impl::behavior_type database_behavior(database_pointer self,
                                                std::shared_ptr<database> db) {
  auto& st = self->state;
  st.db = std::move(db);
  // The observer runs on this actor's thread, inside the handler that
  // committed, and takes the commit's changes; the handler then publishes
  // what it gathered.
  st.observer = st.db->subscribe_commits([self](std::vector<change>&& cs) {
    auto& pending = self->state.pending;
    if (self->state.listeners.empty())
      return;
    if (pending.empty())
      pending = std::move(cs);
    else
      pending.insert(pending.end(), std::make_move_iterator(cs.begin()),
                     std::make_move_iterator(cs.end()));
  });
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& ls = self->state.listeners;
    for (auto i = ls.begin(); i != ls.end();) {
      if (i->second.listener.address() == dm.source)
        i = ls.erase(i);
      else
        ++i;
    }
  });
  return {
    [self](put_atom, const std::string& coll, const std::string& id,
           field_map& fields) -> caf::typed_response_promise<op> {
      self->state.group.put(coll, id, std::move(fields));
      return queue_write(self);
    },
    [self](remove_fields_atom, const std::string& coll, const std::string& id,
           std::vector<std::string>& fields) -> caf::typed_response_promise<op> {
      self->state.group.remove_fields(coll, id, std::move(fields));
      return queue_write(self);
    },
    [self](erase_atom, const std::string& coll,
           const std::string& id) -> caf::typed_response_promise<op> {
      self->state.group.erase(coll, id);
      return queue_write(self);
    },
    [self](commit_atom) {
      self->state.commit_pending = false;
      self->state.commit(self);
    },
    [self](get_atom, const std::string& coll,
           const std::string& id) -> caf::result<std::vector<record>> {
      self->state.commit(self);
      auto r = self->state.db->get(coll, id);
      if (!r)
        return runtime::to_caf_error(r.error());
      std::vector<record> out;
      if (*r)
        out.push_back(std::move(**r));
      return out;
    },
    [self](list_atom, const std::string& coll, std::uint64_t limit,
           const std::string& start_after) -> caf::result<std::vector<record>> {
      self->state.commit(self);
      return reply(self->state.db->list(coll, static_cast<std::size_t>(limit), start_after));
    },
    [self](count_atom, const std::string& coll) -> caf::result<std::uint64_t> {
      self->state.commit(self);
      return reply(self->state.db->count(coll));
    },
    [self](find_atom, const query& q) -> caf::result<std::vector<record>> {
      self->state.commit(self);
      return reply(self->state.db->find(q));
    },
    [self](apply_atom, const std::vector<op>& ops) -> caf::result<apply_stats> {
      self->state.commit(self);
      auto r = self->state.db->apply(ops);
      self->state.publish(self);
      return reply(std::move(r));
    },
    [self](ops_since_atom, const version_vector& have,
           std::uint64_t limit) -> caf::result<std::vector<op>> {
      self->state.commit(self);
      return reply(self->state.db->ops_since(have, static_cast<std::size_t>(limit)));
    },
    [self](version_atom) -> caf::result<version_vector> {
      self->state.commit(self);
      return self->state.db->version();
    },
    [self](node_atom) -> caf::result<node_id> { return self->state.db->id(); },
    [self](subscribe_atom, change_listener& listener) -> caf::result<std::uint64_t> {
      self->state.commit(self); // the new listener sees only later changes
      auto id = self->state.next_listener++;
      self->monitor(listener);
      self->state.listeners.emplace(id, database_state::subscription{std::move(listener), 0});
      return id;
    },
    [self](subscribe_atom, std::uint64_t id, node_id skip_origin) {
      auto& ls = self->state.listeners;
      if (auto i = ls.find(id); i != ls.end())
        i->second.skip_origin = skip_origin;
    },
    [self](unsubscribe_atom, std::uint64_t id) {
      self->state.commit(self); // the listener still sees changes made before
      self->state.listeners.erase(id);
    },
  };
}

} // namespace

const char* to_string(placement p) {
  return p == placement::scheduled ? "scheduled" : "detached";
}

bool from_string(std::string_view text, placement& out) {
  if (text == "detached")
    out = placement::detached;
  else if (text == "scheduled")
    out = placement::scheduled;
  else
    return false;
  return true;
}

database_actor spawn_database(caf::actor_system& sys, std::unique_ptr<database> db,
                              placement where) {
  std::shared_ptr<database> owned{std::move(db)};
  if (where == placement::scheduled)
    return sys.spawn(database_behavior, std::move(owned));
  return sys.spawn<caf::detached>(database_behavior, std::move(owned));
}

result<database_actor> open_database(caf::actor_system& sys, std::string_view name,
                                     const std::filesystem::path& path,
                                     std::string_view password, const open_options& options,
                                     placement where) {
  auto db = database::open(name, path, password, options);
  if (!db)
    return db.error();
  return spawn_database(sys, std::move(*db), where);
}

} // namespace blaze::actors
