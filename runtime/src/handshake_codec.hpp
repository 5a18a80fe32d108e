// Wire format of the secure channel's handshake messages: byte layouts and
// strict parsing only, no cryptography.
//
//   hello  = "BLZC" | u8 version | nonce[32] | P-256 point[65] | u8 flags
//   frame  = u8 type | u16 body length | body          (finish, alert)
//   finish = u32 max_record_size | u64 rekey_after_records
//          | u8 name length | node name
//          | u16 key length | DER identity key | u16 signature length | signature
//          | mac[32]
//   alert  = u8 alert code (1 auth failed, 2 identity mismatch, 3 protocol
//            error, 4 unsupported version)
//
// Integers are big-endian. The magic and version lead every hello of every
// protocol version, so a peer of another version is recognised from its first
// five bytes and refused by name; the refusal is exactly those five bytes.
#pragma once

#include "blaze/storage/status.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::runtime::detail {

constexpr std::string_view hello_magic = "BLZC";
constexpr std::size_t hello_prefix_size = 5; // magic + version
constexpr std::size_t nonce_size = 32;
constexpr std::size_t hello_size = hello_prefix_size + nonce_size + 65 + 1;
constexpr std::uint8_t hello_flag_identity = 0x01; // the finish will carry a signature
constexpr std::uint8_t hello_known_flags = hello_flag_identity;

struct hello {
  std::uint8_t version = 0;
  std::array<std::uint8_t, nonce_size> nonce{};
  std::string point; // uncompressed P-256 point
  std::uint8_t flags = 0;
};

std::string encode_hello(const hello& h);
// Checks whatever part of magic and version `received` already holds:
// errc::protocol_error for a wrong magic, errc::unsupported_version for
// another version. Succeeds on a correct (possibly incomplete) prefix.
result<void> check_hello_prefix(std::string_view received, std::uint8_t our_version);
// Parses exactly hello_size bytes (after check_hello_prefix). The point is
// only checked for its length here; the caller validates it as a key.
result<hello> parse_hello(std::string_view bytes);
std::string encode_refusal(std::uint8_t our_version);

enum class frame_type : std::uint8_t { finish = 1, alert = 2 };
constexpr std::size_t frame_header_size = 3;
constexpr std::size_t max_frame_body = 1024;

struct frame {
  frame_type type;
  std::string_view body;
  std::size_t size; // header + body
};

std::string encode_frame(frame_type type, std::string_view body);
// The first frame of `received`, std::nullopt while it is incomplete;
// errc::protocol_error for an unknown type or an oversized body.
result<std::optional<frame>> next_frame(std::string_view received);

// Alert codes are wire values, fixed apart from errc's numbering.
std::string encode_alert(errc code);
// The error a received alert reports; unknown codes read as protocol errors.
errc parse_alert(std::uint8_t code);

constexpr std::size_t mac_size = 32;
constexpr std::size_t max_node_name = 64;
constexpr std::size_t max_identity_der = 256;
constexpr std::size_t max_signature = 128;

struct finish {
  std::uint32_t max_record_size = 0;
  std::uint64_t rekey_after_records = 0;
  std::string node_name;
  std::string identity_der; // empty: the sender does not sign
  std::string signature;
  std::array<std::uint8_t, mac_size> mac{};
};

// Everything but the MAC: the bytes the MAC covers.
std::string encode_finish_content(const finish& f);
std::string encode_finish(const finish& f);
// Strict: exact lengths, bounded fields, printable node name, identity key
// and signature both present or both absent.
result<finish> parse_finish(std::string_view body);
// The part of a finish body the MAC covers.
inline std::string_view finish_content(std::string_view body) {
  return body.substr(0, body.size() - mac_size);
}

// Node names are pinned in a whitespace-separated text file.
bool valid_node_name(std::string_view name);

} // namespace blaze::runtime::detail
