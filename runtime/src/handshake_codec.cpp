#include "handshake_codec.hpp"

#include <cstring>

namespace blaze::runtime::detail {

namespace {

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(v >> shift));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(v >> shift));
}

// Reads fields front to back; any read past the end marks it failed.
class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && in_.empty(); }

  std::uint64_t uint(std::size_t n) {
    std::uint64_t v = 0;
    for (unsigned char c : take(n))
      v = (v << 8) | c;
    return v;
  }
  std::string_view take(std::size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    auto out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }

private:
  std::string_view in_;
  bool ok_ = true;
};

error malformed(const char* what) {
  return error{errc::protocol_error, what};
}

} // namespace

std::string encode_hello(const hello& h) {
  std::string out;
  out.reserve(hello_size);
  out.append(hello_magic);
  out.push_back(static_cast<char>(h.version));
  out.append(reinterpret_cast<const char*>(h.nonce.data()), h.nonce.size());
  out.append(h.point);
  out.push_back(static_cast<char>(h.flags));
  return out;
}

result<void> check_hello_prefix(std::string_view received, std::uint8_t our_version) {
  auto n = std::min(received.size(), hello_magic.size());
  if (received.substr(0, n) != hello_magic.substr(0, n))
    return malformed("the peer did not open with a Blaze secure channel hello (bad magic)");
  if (received.size() > hello_magic.size()) {
    auto version = static_cast<std::uint8_t>(received[hello_magic.size()]);
    if (version != our_version)
      return error{errc::unsupported_version,
                   "the peer speaks secure channel protocol version " + std::to_string(version)
                     + ", this node speaks version " + std::to_string(our_version)};
  }
  return {};
}

result<hello> parse_hello(std::string_view bytes) {
  if (bytes.size() != hello_size)
    return malformed("the hello has the wrong length");
  reader in{bytes};
  if (in.take(hello_magic.size()) != hello_magic)
    return malformed("the peer did not open with a Blaze secure channel hello (bad magic)");
  hello h;
  h.version = static_cast<std::uint8_t>(in.uint(1));
  auto nonce = in.take(nonce_size);
  std::memcpy(h.nonce.data(), nonce.data(), nonce.size());
  h.point = std::string{in.take(65)};
  h.flags = static_cast<std::uint8_t>(in.uint(1));
  if (!in.at_end())
    return malformed("the hello has the wrong length");
  if (h.flags & ~hello_known_flags)
    return malformed("the hello sets unknown flags");
  return h;
}

std::string encode_refusal(std::uint8_t our_version) {
  std::string out{hello_magic};
  out.push_back(static_cast<char>(our_version));
  return out;
}

std::string encode_frame(frame_type type, std::string_view body) {
  std::string out;
  out.reserve(frame_header_size + body.size());
  out.push_back(static_cast<char>(type));
  put_u16(out, static_cast<std::uint16_t>(body.size()));
  out.append(body);
  return out;
}

result<std::optional<frame>> next_frame(std::string_view received) {
  if (received.empty())
    return std::optional<frame>{};
  auto type = static_cast<std::uint8_t>(received[0]);
  if (type != static_cast<std::uint8_t>(frame_type::finish)
      && type != static_cast<std::uint8_t>(frame_type::alert))
    return malformed("unknown handshake message type");
  if (received.size() < frame_header_size)
    return std::optional<frame>{};
  std::size_t len = (static_cast<std::size_t>(static_cast<std::uint8_t>(received[1])) << 8)
                    | static_cast<std::uint8_t>(received[2]);
  if (len > max_frame_body)
    return malformed("handshake message too long");
  if (received.size() < frame_header_size + len)
    return std::optional<frame>{};
  return std::optional<frame>{
    frame{static_cast<frame_type>(type), received.substr(frame_header_size, len),
          frame_header_size + len}};
}

std::string encode_alert(errc code) {
  std::uint8_t wire = 3;
  switch (code) {
    case errc::auth_failed: wire = 1; break;
    case errc::identity_mismatch: wire = 2; break;
    case errc::unsupported_version: wire = 4; break;
    default: break;
  }
  return std::string(1, static_cast<char>(wire));
}

errc parse_alert(std::uint8_t code) {
  switch (code) {
    case 1: return errc::auth_failed;
    case 2: return errc::identity_mismatch;
    case 4: return errc::unsupported_version;
    default: return errc::protocol_error;
  }
}

bool valid_node_name(std::string_view name) {
  if (name.size() > max_node_name)
    return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f)
      return false;
  return true;
}

std::string encode_finish_content(const finish& f) {
  std::string out;
  put_u32(out, f.max_record_size);
  put_u64(out, f.rekey_after_records);
  out.push_back(static_cast<char>(f.node_name.size()));
  out.append(f.node_name);
  put_u16(out, static_cast<std::uint16_t>(f.identity_der.size()));
  out.append(f.identity_der);
  put_u16(out, static_cast<std::uint16_t>(f.signature.size()));
  out.append(f.signature);
  return out;
}

std::string encode_finish(const finish& f) {
  auto out = encode_finish_content(f);
  out.append(reinterpret_cast<const char*>(f.mac.data()), f.mac.size());
  return out;
}

result<finish> parse_finish(std::string_view body) {
  reader in{body};
  finish f;
  f.max_record_size = static_cast<std::uint32_t>(in.uint(4));
  f.rekey_after_records = in.uint(8);
  f.node_name = std::string{in.take(in.uint(1))};
  auto der_len = in.uint(2);
  if (der_len > max_identity_der)
    return malformed("the finish carries an oversized identity key");
  f.identity_der = std::string{in.take(der_len)};
  auto sig_len = in.uint(2);
  if (sig_len > max_signature)
    return malformed("the finish carries an oversized signature");
  f.signature = std::string{in.take(sig_len)};
  auto mac = in.take(mac_size);
  if (!in.at_end())
    return malformed("the finish message has the wrong length");
  std::memcpy(f.mac.data(), mac.data(), mac.size());
  if (!valid_node_name(f.node_name))
    return malformed("the finish carries an invalid node name");
  if (f.identity_der.empty() != f.signature.empty())
    return malformed("the finish carries an identity key without a signature or vice versa");
  return f;
}

} // namespace blaze::runtime::detail
