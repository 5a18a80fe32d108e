// CAF inspection (serialization) of the storage types, so that ops,
// records and queries travel as typed actor messages, locally and remotely.
// Storage stays free of CAF: these overloads live beside the type ids.
#pragma once

#include "blaze/storage/database.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace blaze {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, value& x) {
  std::uint8_t tag = static_cast<std::uint8_t>(x.type());
  if constexpr (Inspector::reads_state) {
    switch (x.type()) {
      case value_type::null: return f(caf::meta::type_name("blaze.value"), tag);
      case value_type::boolean: {
        bool b = *x.as_bool();
        return f(caf::meta::type_name("blaze.value"), tag, b);
      }
      case value_type::integer: {
        std::int64_t i = *x.as_int();
        return f(caf::meta::type_name("blaze.value"), tag, i);
      }
      case value_type::real: {
        double d = *x.as_double();
        return f(caf::meta::type_name("blaze.value"), tag, d);
      }
      case value_type::string: {
        std::string s = *x.as_string();
        return f(caf::meta::type_name("blaze.value"), tag, s);
      }
      case value_type::bytes: {
        std::vector<std::uint8_t> b = *x.as_bytes();
        return f(caf::meta::type_name("blaze.value"), tag, b);
      }
    }
    return f(caf::meta::type_name("blaze.value"), tag);
  } else {
    if (auto e = f(tag))
      return e;
    switch (static_cast<value_type>(tag)) {
      case value_type::null: x = value{}; return {};
      case value_type::boolean: {
        bool b = false;
        auto e = f(b);
        x = value{b};
        return e;
      }
      case value_type::integer: {
        std::int64_t i = 0;
        auto e = f(i);
        x = value{i};
        return e;
      }
      case value_type::real: {
        double d = 0;
        auto e = f(d);
        x = value{d};
        return e;
      }
      case value_type::string: {
        std::string s;
        auto e = f(s);
        x = value{std::move(s)};
        return e;
      }
      case value_type::bytes: {
        std::vector<std::uint8_t> b;
        auto e = f(b);
        x = value{std::move(b)};
        return e;
      }
    }
    return caf::make_error(caf::sec::invalid_argument, "unknown blaze value type");
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  return f(caf::meta::type_name("blaze.record"), x.id, x.fields);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op& x) {
  auto kind = static_cast<std::uint8_t>(x.kind);
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.op"), x.origin, x.seq, x.time, x.collection, x.id, kind,
             x.fields, x.removed);
  } else {
    auto e = f(x.origin, x.seq, x.time, x.collection, x.id, kind, x.fields, x.removed);
    if (!e && kind != static_cast<std::uint8_t>(op_kind::set)
        && kind != static_cast<std::uint8_t>(op_kind::erase))
      return caf::make_error(caf::sec::invalid_argument, "unknown blaze op kind");
    x.kind = static_cast<op_kind>(kind);
    return e;
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, version_vector& x) {
  std::map<node_id, std::uint64_t> entries = x.entries();
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.version_vector"), entries);
  } else {
    auto e = f(entries);
    x = version_vector{};
    for (auto& [origin, seq] : entries)
      x.set(origin, seq);
    return e;
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, condition& x) {
  auto cmp = static_cast<std::uint8_t>(x.op);
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.condition"), x.field, cmp, x.value);
  } else {
    auto e = f(x.field, cmp, x.value);
    if (!e && cmp > static_cast<std::uint8_t>(compare_op::ge))
      return caf::make_error(caf::sec::invalid_argument, "unknown blaze compare op");
    x.op = static_cast<compare_op>(cmp);
    return e;
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query& x) {
  std::string order = x.order_by.value_or(std::string{});
  bool has_order = x.order_by.has_value();
  std::uint64_t limit = x.limit;
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.query"), x.collection, x.where, has_order, order,
             x.descending, limit);
  } else {
    auto e = f(x.collection, x.where, has_order, order, x.descending, limit);
    x.order_by = has_order ? std::optional<std::string>{order} : std::nullopt;
    x.limit = static_cast<std::size_t>(limit);
    return e;
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, apply_stats& x) {
  std::uint64_t applied = x.applied, duplicates = x.duplicates;
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.apply_stats"), applied, duplicates);
  } else {
    auto e = f(applied, duplicates);
    x.applied = static_cast<std::size_t>(applied);
    x.duplicates = static_cast<std::size_t>(duplicates);
    return e;
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change& x) {
  bool has_current = x.current.has_value();
  record current = x.current.value_or(record{});
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("blaze.change"), x.collection, x.id, x.deleted, has_current,
             current, x.local, x.origin, x.seq, x.cause);
  } else {
    auto e = f(x.collection, x.id, x.deleted, has_current, current, x.local, x.origin, x.seq,
               x.cause);
    x.current = has_current ? std::optional<record>{std::move(current)} : std::nullopt;
    return e;
  }
}

} // namespace blaze
