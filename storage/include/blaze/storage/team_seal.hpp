// End-to-end sealing of ops for a team: members seal an op with keys derived
// from the team's secret before it leaves their process, so that a node in
// between stores and forwards ciphertext it cannot read. What the node sees
// of a sealed op: its origin, sequence number, clock and kind (it needs them
// to merge and to resume), the team's name (its routing tag), and keyed
// hashes in place of the collection, record id and field names, which are
// deterministic so that the node still merges field by field. Values, and
// the real names in a sealed header, are AES-256-GCM ciphertext bound to the
// op they belong to: a node that swaps, replays or edits them is caught.
#pragma once

#include "blaze/storage/op.hpp"
#include "blaze/storage/status.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace blaze {

// Sealed ops live in collections named "_e2e.<team>.<tag>"; local writes
// may not use the prefix.
inline constexpr std::string_view sealed_collection_prefix = "_e2e.";
// The field of a sealed op that holds its real names (an erase carries it too).
inline constexpr std::string_view sealed_header_field = "~";

bool is_sealed_collection(std::string_view collection);
// The team a sealed collection belongs to ("" when it is not sealed).
std::string_view sealed_collection_team(std::string_view collection);

// A team name: 1 to 32 characters of A-Z a-z 0-9 _ -.
result<void> validate_team_name(std::string_view team);

// The key a node holds to check that a dialler belongs to `team`: derived
// from the team secret one way, so it opens nothing. 32 bytes.
result<std::string> team_access_key(std::string_view team, std::string_view secret);

class team_key {
public:
  // Derives the team's keys from its secret (HKDF-SHA256; the secret should
  // be long and random, it is not stretched like a password).
  static result<team_key> derive(std::string_view team, std::string_view secret);

  const std::string& team() const;
  const std::string& access_key() const;

  // The sealed name of a collection of this team.
  std::string sealed_collection(std::string_view collection) const;

  // Seals a plaintext op. Not thread-safe (each sealer counts its nonces):
  // one team_key per thread or actor.
  result<op> seal(const op& plain);
  // Opens a sealed op of this team: errc::auth_failed when it was sealed
  // with another key or changed on the way.
  result<op> open(const op& sealed);

private:
  struct impl;
  explicit team_key(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
  std::shared_ptr<impl> impl_;
};

} // namespace blaze
