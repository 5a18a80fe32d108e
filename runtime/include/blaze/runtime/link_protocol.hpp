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

// Largest number of collections a hello may name, and a name's length.
constexpr std::size_t max_hello_collections = 256;
constexpr std::size_t max_collection_name = 255;
// Largest number of teams a hello may name, and a team name's length.
constexpr std::size_t max_hello_teams = 64;
constexpr std::size_t max_team_name = 32;

// A team the dialler joins on the link, with its proof of membership
// (link_proof keyed with the team's access key, see team_proof).
struct link_team {
  std::string name;
  std::string proof;
  friend bool operator==(const link_team& a, const link_team& b) {
    return a.name == b.name && a.proof == b.proof;
  }
};

struct link_hello {
  static constexpr std::uint8_t current_version = 3;
  std::uint8_t version = current_version;
  bool sends_ops = false;   // this side will send op batches
  bool accepts_ops = false; // this side applies op batches it receives
  bool sealed_only = false; // dialler: send it end-to-end sealed ops only
  std::string database;     // the database this side serves on the link
  node_id node = 0;         // that database's node id
  version_vector have;      // what that database has
  // Proof that this side holds an access secret of the database, bound to
  // the secure channel (link_proof); empty when no secret is involved.
  std::string proof;
  // Dialler: the collections it asks to sync (empty: whatever it may).
  // Listener: the collections the link carries (empty: all).
  std::vector<std::string> collections;
  // Dialler: the teams whose sealed ops it wants, each proven. Listener:
  // empty.
  std::vector<link_team> teams;

  friend bool operator==(const link_hello& a, const link_hello& b) {
    return a.version == b.version && a.sends_ops == b.sends_ops
           && a.accepts_ops == b.accepts_ops && a.sealed_only == b.sealed_only
           && a.database == b.database && a.node == b.node
           && a.have == b.have && a.proof == b.proof && a.collections == b.collections
           && a.teams == b.teams;
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

// The sending side's relay progress, sent with each of its reports: the ops
// it delivered on this connection and the ops the receiver still lacks, so
// that the receiving side can show (and wait on) the lag of its incoming
// direction too.
struct link_progress {
  std::uint64_t ops_relayed = 0;
  std::uint64_t lag = 0;
};

using link_frame = std::variant<link_hello, link_ops, link_ack, link_error, link_progress>;

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

// What a hello's proof holds: HMAC-SHA256 keyed with the access secret over
// the channel binding, the sender's role and the database name. 32 bytes.
constexpr std::size_t link_proof_size = 32;
std::string link_proof(std::string_view secret, std::string_view channel_binding, bool dialer,
                       std::string_view database);

// A dialler's proof that it belongs to `team` of `database`: link_proof
// keyed with the team's access key (blaze::team_access_key).
std::string team_proof(std::string_view access_key, std::string_view channel_binding,
                       std::string_view database, std::string_view team);

// Compares two proofs in constant time.
bool proofs_equal(std::string_view a, std::string_view b);

} // namespace blaze::runtime
