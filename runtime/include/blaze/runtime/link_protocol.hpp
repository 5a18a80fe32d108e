// The frames two processes exchange over a relay link (a Unix socket, or
// inside the secure channel): a hello naming the database and what each side
// has, op batches, and acknowledgements. Plain code over bytes, so it is
// unit-tested and fuzzed without sockets.
//
// Wire form of every frame: [u32 big-endian length of the rest][u8 type][body].
// Op batches use the storage op codec (blaze/storage/op.hpp), which validates
// every field; it is not cereal on purpose: cereal trusts the lengths it
// reads, and these bytes come from another process.
#pragma once

#include "blaze/storage/op.hpp"
#include "blaze/storage/status.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace blaze::runtime {

struct link_hello {
  static constexpr std::uint8_t current_version = 1;
  std::uint8_t version = current_version;
  bool sends_ops = false;   // this side will send op batches
  bool accepts_ops = false; // this side applies op batches it receives
  std::string database;     // the database this side serves on the link
  node_id node = 0;         // that database's node id
  version_vector have;      // what that database has

  friend bool operator==(const link_hello& a, const link_hello& b) {
    return a.version == b.version && a.sends_ops == b.sends_ops
           && a.accepts_ops == b.accepts_ops && a.database == b.database && a.node == b.node
           && a.have == b.have;
  }
};

struct link_ops {
  std::uint64_t batch = 0; // sender's batch number, echoed in the ack
  std::vector<op> ops;
};

struct link_ack {
  std::uint64_t batch = 0;
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  version_vector have; // the receiver's version after applying (empty: not sent)
};

struct link_error {
  errc code = errc::protocol_error;
  std::string message; // at most max_error_message bytes
};

using link_frame = std::variant<link_hello, link_ops, link_ack, link_error>;

constexpr std::size_t max_error_message = 1024;

// Appends the wire form of `f` to `out`.
void encode_frame(const link_frame& f, std::string& out);

// Splits a byte stream into frames. Any malformed or oversized frame is an
// error (errc::protocol_error) and final: the connection must be closed.
class frame_reader {
public:
  explicit frame_reader(std::size_t max_frame_bytes = std::size_t{64} << 20)
    : max_frame_(max_frame_bytes) {}

  // Appends every complete frame in `bytes` (plus what was buffered) to `out`.
  result<void> feed(std::string_view bytes, std::vector<link_frame>& out);
  std::size_t buffered() const { return buffer_.size(); }

private:
  std::size_t max_frame_;
  std::string buffer_;
  bool failed_ = false;
};

// Decodes one frame body (type byte + body, without the length prefix).
result<link_frame> decode_frame_body(std::string_view body);

} // namespace blaze::runtime
