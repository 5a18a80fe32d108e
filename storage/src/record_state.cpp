#include "record_state.hpp"

#include "codec.hpp"

namespace blaze::detail {

namespace {
constexpr std::uint8_t state_format = 1;
}

bool record_state::apply(const op& o) {
  stamp s = o.stamp();
  if (o.kind == op_kind::erase) {
    if (!(deleted < s))
      return false;
    deleted = s;
    for (auto i = fields.begin(); i != fields.end();) {
      if (i->second.written < deleted)
        i = fields.erase(i);
      else
        ++i;
    }
    return true;
  }
  bool changed = false;
  if (created < s) {
    created = s;
    changed = true;
  }
  if (s < deleted)
    return changed; // erased after this write: its fields can never show
  auto write = [&](const std::string& name, bool present, const value* v) {
    auto i = fields.find(name);
    if (i == fields.end()) {
      fields.emplace(name, field_register{s, present, v ? *v : value{}});
      changed = true;
    } else if (i->second.written < s) {
      i->second = field_register{s, present, v ? *v : value{}};
      changed = true;
    }
  };
  for (auto& [name, v] : o.fields)
    write(name, true, &v);
  for (auto& name : o.removed)
    write(name, false, nullptr);
  return changed;
}

record record_state::visible(std::string id) const {
  record r;
  r.id = std::move(id);
  for (auto& [name, reg] : fields)
    if (reg.present && deleted < reg.written)
      r.fields.emplace(name, reg.v);
  return r;
}

std::string record_state::encode() const {
  std::string out;
  out.reserve(32 + fields.size() * 24);
  out.push_back(static_cast<char>(state_format));
  put_stamp(out, created);
  put_stamp(out, deleted);
  put_varint(out, fields.size());
  for (auto& [name, reg] : fields) {
    put_string(out, name);
    put_stamp(out, reg.written);
    out.push_back(reg.present ? 1 : 0);
    if (reg.present)
      put_value(out, reg.v);
  }
  return out;
}

std::optional<record_state> record_state::decode(std::string_view bytes) {
  reader in{bytes};
  record_state st;
  std::uint8_t format;
  std::uint64_t n;
  if (!in.byte(format) || format != state_format || !in.stamp(st.created)
      || !in.stamp(st.deleted) || !in.varint(n) || n > in.remaining())
    return std::nullopt;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name;
    field_register reg;
    std::uint8_t present;
    if (!in.string(name) || !in.stamp(reg.written) || !in.byte(present) || present > 1)
      return std::nullopt;
    reg.present = present == 1;
    if (reg.present && !in.value(reg.v))
      return std::nullopt;
    if (!st.fields.emplace(std::move(name), std::move(reg)).second)
      return std::nullopt;
  }
  if (!in.at_end())
    return std::nullopt;
  return st;
}

} // namespace blaze::detail
