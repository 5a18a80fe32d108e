#include "blaze/actors/database_actor.hpp"

#include "blaze/runtime/system_config.hpp"

#include <caf/spawn_options.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace blaze::actors {

namespace {

struct database_state {
  std::shared_ptr<database> db;
  std::map<std::uint64_t, change_listener> listeners;
  std::uint64_t next_listener = 1;
  observer_id observer = 0;
  static inline const char* name = "blaze.database";

  ~database_state() {
    if (db && observer != 0)
      db->unsubscribe(observer);
  }
};

using database_pointer = database_actor::stateful_pointer<database_state>;

template <class T>
caf::result<T> reply(result<T>&& r) {
  if (!r)
    return runtime::to_caf_error(r.error());
  return std::move(*r);
}

database_actor::behavior_type database_behavior(database_pointer self,
                                                std::shared_ptr<database> db) {
  auto& st = self->state;
  st.db = std::move(db);
  // Observers run on this actor's thread, inside the handler that committed.
  st.observer = st.db->subscribe([self](const change& c) {
    for (auto& [id, listener] : self->state.listeners)
      self->send(listener, c);
  });
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& ls = self->state.listeners;
    for (auto i = ls.begin(); i != ls.end();) {
      if (i->second.address() == dm.source)
        i = ls.erase(i);
      else
        ++i;
    }
  });
  return {
    [self](put_atom, const std::string& coll, const std::string& id,
           field_map& fields) -> caf::result<op> {
      return reply(self->state.db->put(coll, id, std::move(fields)));
    },
    [self](remove_fields_atom, const std::string& coll, const std::string& id,
           std::vector<std::string>& fields) -> caf::result<op> {
      return reply(self->state.db->remove_fields(coll, id, std::move(fields)));
    },
    [self](erase_atom, const std::string& coll, const std::string& id) -> caf::result<op> {
      return reply(self->state.db->erase(coll, id));
    },
    [self](get_atom, const std::string& coll,
           const std::string& id) -> caf::result<std::vector<record>> {
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
      return reply(self->state.db->list(coll, static_cast<std::size_t>(limit), start_after));
    },
    [self](count_atom, const std::string& coll) -> caf::result<std::uint64_t> {
      return reply(self->state.db->count(coll));
    },
    [self](find_atom, const query& q) -> caf::result<std::vector<record>> {
      return reply(self->state.db->find(q));
    },
    [self](apply_atom, const std::vector<op>& ops) -> caf::result<apply_stats> {
      return reply(self->state.db->apply(ops));
    },
    [self](ops_since_atom, const version_vector& have,
           std::uint64_t limit) -> caf::result<std::vector<op>> {
      return reply(self->state.db->ops_since(have, static_cast<std::size_t>(limit)));
    },
    [self](version_atom) -> caf::result<version_vector> { return self->state.db->version(); },
    [self](node_atom) -> caf::result<node_id> { return self->state.db->id(); },
    [self](subscribe_atom, change_listener& listener) -> caf::result<std::uint64_t> {
      auto id = self->state.next_listener++;
      self->monitor(listener);
      self->state.listeners.emplace(id, std::move(listener));
      return id;
    },
    [self](unsubscribe_atom, std::uint64_t id) { self->state.listeners.erase(id); },
  };
}

} // namespace

database_actor spawn_database(caf::actor_system& sys, std::unique_ptr<database> db) {
  return sys.spawn<caf::detached>(database_behavior, std::shared_ptr<database>{std::move(db)});
}

result<database_actor> open_database(caf::actor_system& sys, std::string_view name,
                                     const std::filesystem::path& path,
                                     std::string_view password, const open_options& options) {
  auto db = database::open(name, path, password, options);
  if (!db)
    return db.error();
  return spawn_database(sys, std::move(*db));
}

} // namespace blaze::actors
