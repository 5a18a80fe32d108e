#include "blaze/runtime/link_protocol.hpp"

#include "channel_crypto.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace blaze::runtime {

namespace {

constexpr char magic[4] = {'B', 'L', 'Z', 'L'};

enum class frame_type : std::uint8_t { hello = 1, ops = 2, ack = 3, error = 4, progress = 5 };

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_bytes(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Bounds-checked reading; every failure is reported, never read past the end.
class cursor {
public:
  explicit cursor(std::string_view in) : in_(in) {}
  bool u8(std::uint8_t& v) {
    if (in_.empty())
      return false;
    v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (in_.size() < 4)
      return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
      v = (v << 8) | static_cast<std::uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (in_.size() < 8)
      return false;
    v = 0;
    for (int i = 0; i < 8; ++i)
      v = (v << 8) | static_cast<std::uint8_t>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool bytes(std::string_view& v) {
    std::uint32_t n;
    if (!u32(n) || n > in_.size())
      return false;
    v = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view rest() {
    auto r = in_;
    in_ = {};
    return r;
  }
  bool at_end() const { return in_.empty(); }

private:
  std::string_view in_;
};

error malformed(const char* what) {
  return error{errc::protocol_error, std::string("malformed link frame: ") + what};
}

struct body_encoder {
  std::string& out;

  void operator()(const link_hello& h) const {
    out.push_back(static_cast<char>(frame_type::hello));
    out.append(magic, sizeof magic);
    out.push_back(static_cast<char>(h.version));
    out.push_back(static_cast<char>((h.sends_ops ? 1 : 0) | (h.accepts_ops ? 2 : 0)
                                       | (h.sealed_only ? 4 : 0)));
    put_bytes(out, h.database);
    put_u64(out, h.node);
    put_bytes(out, h.proof);
    put_u32(out, static_cast<std::uint32_t>(h.collections.size()));
    for (auto& c : h.collections)
      put_bytes(out, c);
    put_u32(out, static_cast<std::uint32_t>(h.teams.size()));
    for (auto& t : h.teams) {
      put_bytes(out, t.name);
      put_bytes(out, t.proof);
    }
    out.append(encode(h.have));
  }
  void operator()(const link_ops& o) const {
    out.push_back(static_cast<char>(frame_type::ops));
    put_u64(out, o.batch);
    out.append(encode_batch(o.ops));
  }
  void operator()(const link_ack& a) const {
    out.push_back(static_cast<char>(frame_type::ack));
    put_u64(out, a.batch);
    put_u64(out, a.applied);
    put_u64(out, a.duplicates);
    out.append(encode(a.have));
  }
  void operator()(const link_progress& p) const {
    out.push_back(static_cast<char>(frame_type::progress));
    put_u64(out, p.ops_relayed);
    put_u64(out, p.lag);
  }
  void operator()(const link_error& e) const {
    out.push_back(static_cast<char>(frame_type::error));
    out.push_back(static_cast<char>(e.code));
    out.append(e.message.substr(0, max_error_message));
  }
};

} // namespace

void encode_frame(const link_frame& f, std::string& out) {
  auto at = out.size();
  put_u32(out, 0); // patched below
  std::visit(body_encoder{out}, f);
  auto n = static_cast<std::uint32_t>(out.size() - at - 4);
  for (int i = 0; i < 4; ++i)
    out[at + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
}

result<link_frame> decode_frame_body(std::string_view body) {
  cursor in{body};
  std::uint8_t type;
  if (!in.u8(type))
    return malformed("empty frame");
  switch (static_cast<frame_type>(type)) {
    case frame_type::hello: {
      std::string_view rest = in.rest();
      if (rest.size() < sizeof magic || std::memcmp(rest.data(), magic, sizeof magic) != 0)
        return malformed("hello without the link magic (not a Blaze link)");
      cursor h_in{rest.substr(sizeof magic)};
      link_hello h;
      std::uint8_t flags;
      std::string_view name;
      if (!h_in.u8(h.version))
        return malformed("hello");
      if (h.version != link_hello::current_version)
        return error{errc::unsupported_version,
                     "the peer speaks link protocol version " + std::to_string(h.version)
                       + ", this side version "
                       + std::to_string(link_hello::current_version)};
      if (!h_in.u8(flags) || (flags & ~7u) != 0 || !h_in.bytes(name) || name.empty()
          || name.size() > 255 || !h_in.u64(h.node) || h.node == 0)
        return malformed("hello");
      h.sends_ops = flags & 1;
      h.accepts_ops = flags & 2;
      h.sealed_only = flags & 4;
      h.database.assign(name);
      std::string_view proof;
      std::uint32_t n_collections = 0;
      if (!h_in.bytes(proof) || (!proof.empty() && proof.size() != link_proof_size)
          || !h_in.u32(n_collections) || n_collections > max_hello_collections)
        return malformed("hello access fields");
      h.proof.assign(proof);
      for (std::uint32_t i = 0; i < n_collections; ++i) {
        std::string_view c;
        if (!h_in.bytes(c) || c.empty() || c.size() > max_collection_name)
          return malformed("hello collection name");
        h.collections.emplace_back(c);
      }
      std::uint32_t n_teams = 0;
      if (!h_in.u32(n_teams) || n_teams > max_hello_teams)
        return malformed("hello teams");
      for (std::uint32_t i = 0; i < n_teams; ++i) {
        std::string_view team, team_proof;
        if (!h_in.bytes(team) || team.empty() || team.size() > max_team_name
            || !h_in.bytes(team_proof) || team_proof.size() != link_proof_size)
          return malformed("hello team");
        h.teams.push_back(link_team{std::string{team}, std::string{team_proof}});
      }
      auto have = decode_version_vector(h_in.rest());
      if (!have)
        return malformed("hello version vector");
      h.have = std::move(*have);
      return link_frame{std::move(h)};
    }
    case frame_type::ops: {
      link_ops o;
      if (!in.u64(o.batch))
        return malformed("op batch");
      auto ops = decode_batch(in.rest());
      if (!ops)
        return malformed("op batch contents");
      o.ops = std::move(*ops);
      return link_frame{std::move(o)};
    }
    case frame_type::ack: {
      link_ack a;
      if (!in.u64(a.batch) || !in.u64(a.applied) || !in.u64(a.duplicates))
        return malformed("ack");
      auto have = decode_version_vector(in.rest());
      if (!have)
        return malformed("ack version vector");
      a.have = std::move(*have);
      return link_frame{std::move(a)};
    }
    case frame_type::progress: {
      link_progress p;
      if (!in.u64(p.ops_relayed) || !in.u64(p.lag) || !in.at_end())
        return malformed("progress");
      return link_frame{p};
    }
    case frame_type::error: {
      link_error e;
      std::uint8_t code;
      if (!in.u8(code) || code < static_cast<std::uint8_t>(errc::invalid_argument)
          || code > static_cast<std::uint8_t>(errc::permission_denied))
        return malformed("error code");
      e.code = static_cast<errc>(code);
      auto msg = in.rest();
      if (msg.size() > max_error_message)
        return malformed("error message too long");
      e.message.assign(msg);
      return link_frame{std::move(e)};
    }
  }
  return malformed("unknown frame type");
}

std::string link_proof(std::string_view secret, std::string_view channel_binding, bool dialer,
                       std::string_view database) {
  detail::bytes32 key{}, mac{};
  // The secret may be any length: hash it to the HMAC key.
  if (!detail::sha256(secret, key))
    return {};
  std::string input = "blaze link proof v1";
  input.push_back('\0');
  input.append(channel_binding);
  input.push_back(dialer ? 'D' : 'L');
  input.append(database);
  auto ok = detail::hmac_sha256(key, input, mac);
  detail::wipe(key);
  if (!ok)
    return {};
  return std::string{detail::as_view(mac)};
}

std::string team_proof(std::string_view access_key, std::string_view channel_binding,
                       std::string_view database, std::string_view team) {
  std::string scope{database};
  scope.append("\0team\0", 6);
  scope.append(team);
  return link_proof(access_key, channel_binding, true, scope);
}

bool proofs_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

result<void> frame_reader::feed(std::string_view bytes, std::vector<link_frame>& out) {
  if (failed_)
    return error{errc::protocol_error, "the link already failed"};
  buffer_.append(bytes);
  std::size_t pos = 0;
  auto fail = [&](error e) -> result<void> {
    failed_ = true;
    buffer_.clear();
    return e;
  };
  while (buffer_.size() - pos >= 4) {
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n = (n << 8) | static_cast<std::uint8_t>(buffer_[pos + i]);
    if (n == 0)
      return fail(malformed("empty frame"));
    if (n > max_frame_)
      return fail(error{errc::protocol_error, "link frame of " + std::to_string(n)
                                                + " bytes exceeds the limit of "
                                                + std::to_string(max_frame_)});
    if (buffer_.size() - pos - 4 < n)
      break;
    auto f = decode_frame_body(std::string_view{buffer_}.substr(pos + 4, n));
    if (!f)
      return fail(f.error());
    out.push_back(std::move(*f));
    pos += 4 + n;
  }
  buffer_.erase(0, pos);
  return {};
}

} // namespace blaze::runtime
