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

// Format 1: created stamp, a flag and the deleted stamp when there is one,
// then the fields. Most registers carry the record's created stamp (they
// were written by its newest set op), so a field stores its own stamp only
// when it differs.
namespace {
constexpr std::uint8_t present_bit = 1;
constexpr std::uint8_t own_stamp_bit = 2;
} // namespace

std::string record_state::encode() const {
  std::string out;
  encode_into(out);
  return out;
}

void record_state::encode_into(std::string& out) const {
  out.clear();
  out.push_back(static_cast<char>(state_format));
  put_stamp(out, created);
  bool has_deleted = deleted != stamp{};
  out.push_back(has_deleted ? 1 : 0);
  if (has_deleted)
    put_stamp(out, deleted);
  put_varint(out, fields.size());
  for (auto& [name, reg] : fields) {
    put_string(out, name);
    bool own = reg.written != created;
    out.push_back(static_cast<char>((reg.present ? present_bit : 0) | (own ? own_stamp_bit : 0)));
    if (own)
      put_stamp(out, reg.written);
    if (reg.present)
      put_value(out, reg.v);
  }
}

std::optional<record_state> record_state::decode(std::string_view bytes) {
  reader in{bytes};
  record_state st;
  std::uint8_t format, has_deleted;
  std::uint64_t n;
  if (!in.byte(format) || format != state_format || !in.stamp(st.created)
      || !in.byte(has_deleted) || has_deleted > 1 || (has_deleted && !in.stamp(st.deleted))
      || !in.varint(n) || n > in.remaining())
    return std::nullopt;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name;
    field_register reg;
    std::uint8_t flags;
    if (!in.string(name) || !in.byte(flags) || flags > (present_bit | own_stamp_bit))
      return std::nullopt;
    reg.present = flags & present_bit;
    if (flags & own_stamp_bit) {
      if (!in.stamp(reg.written))
        return std::nullopt;
    } else {
      reg.written = st.created;
    }
    if (reg.present && !in.value(reg.v))
      return std::nullopt;
    // Fields are stored in name order, each once.
    if (!st.fields.empty() && !(st.fields.rbegin()->first < name))
      return std::nullopt;
    st.fields.emplace_hint(st.fields.end(), std::move(name), std::move(reg));
  }
  if (!in.at_end())
    return std::nullopt;
  return st;
}

} // namespace blaze::detail
