// libFuzzer target: arbitrary bytes as the first thing a peer says. The
// responder reads them as an initiator's hello (then finish), the initiator
// as a responder's hello and finish. Errors are fine; crashes, sanitizer
// reports and a channel that establishes without the secret are not.
#include "blaze/runtime/secure_channel.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace blaze;
using namespace blaze::runtime;

namespace {

channel_options fuzz_options() {
  channel_options o;
  o.link_secret = "fuzz link secret";
  return o;
}

// Feeds `bytes` in two pieces split at `split`, so partial messages are
// exercised too.
void feed_split(secure_channel& ch, std::string_view bytes, std::size_t split) {
  split = bytes.empty() ? 0 : split % (bytes.size() + 1);
  std::string plain;
  auto r = ch.feed(bytes.substr(0, split), plain);
  if (r)
    r = ch.feed(bytes.substr(split), plain);
  if (!r) {
    auto code = r.error().code();
    if (code == errc::crypto_error || code == errc::invalid_argument)
      std::abort(); // bytes from a peer must never look like our own failure
  }
  // Nobody who does not hold the ephemeral keys can complete a handshake, and
  // no record can be opened before one.
  if (ch.established() || !plain.empty())
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::size_t split = data[0];
  std::string_view bytes{reinterpret_cast<const char*>(data) + 1, size - 1};

  secure_channel responder{channel_role::responder, fuzz_options()};
  feed_split(responder, bytes, split);

  secure_channel initiator{channel_role::initiator, fuzz_options()};
  (void)initiator.take_output();
  feed_split(initiator, bytes, split);
  return 0;
}
