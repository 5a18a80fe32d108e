// libFuzzer target: the decoders behind the store's sealed values and the
// team seal. Arbitrary bytes are read as a record's merge state (what a
// stored record opens to) and as an op, which is then opened as a sealed op
// of a team (what a node may hand a client) or, when it is a valid plain
// op, sealed and opened back. Decoders may refuse; what they accept must
// encode back to the same bytes, and a sealed op must open to the original.
#include "blaze/storage/team_seal.hpp"
#include "codec.hpp"
#include "record_state.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

using namespace blaze;

namespace {

std::unique_ptr<team_key> fuzz_team;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz_team = std::make_unique<team_key>(*team_key::derive("fuzz", "fixed fuzz team secret"));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};

  if (auto st = detail::record_state::decode(in)) {
    auto bytes = st->encode();
    auto again = detail::record_state::decode(bytes);
    if (!again || again->encode() != bytes)
      std::abort();
  }

  auto o = decode_op(in);
  if (!o)
    return 0;
  auto again = decode_op(encode(*o));
  if (!again || encode(*again) != encode(*o))
    std::abort();
  if (is_sealed_collection(o->collection)) {
    auto opened = fuzz_team->open(*o); // forged: refused, never a crash
    if (opened && !detail::validate_op(*opened))
      std::abort();
  } else if (detail::validate_op(*o)) {
    auto sealed = fuzz_team->seal(*o);
    if (!sealed)
      return 0;
    auto opened = fuzz_team->open(*sealed);
    if (!opened || encode(*opened) != encode(*o))
      std::abort();
  }
  return 0;
}
