// libFuzzer target: the record layer of an established session. The input
// is a little program of steps, each `op, length, payload`:
//   op & 3 == 0  the sender seals `payload`, the receiver gets it intact
//   op & 3 == 1  as 0, delivered in two pieces
//   op & 3 == 2  as 0, with one bit flipped on the way
//   op & 3 == 3  `payload` itself arrives as raw bytes
//   op & 4       direction: responder -> initiator instead of the reverse
// Intact records must come out exactly; altered or raw bytes must never
// yield plaintext, only errc::protocol_error (or wait for more bytes).
#include "blaze/runtime/secure_channel.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

using namespace blaze;
using namespace blaze::runtime;

namespace {

struct session {
  secure_channel initiator;
  secure_channel responder;
  bool clean = true; // no altered bytes delivered yet: intact records must open

  session()
    : initiator(channel_role::initiator, options()),
      responder(channel_role::responder, options()) {
    std::string plain;
    for (int round = 0; round < 4; ++round) {
      if (!responder.feed(initiator.take_output(), plain)
          || !initiator.feed(responder.take_output(), plain))
        std::abort();
    }
    if (!initiator.established() || !responder.established() || !plain.empty())
      std::abort();
  }

  static channel_options options() {
    channel_options o;
    o.link_secret = "fixed fuzz secret";
    o.max_record_size = 64;    // payloads span several records
    o.rekey_after_records = 4; // and several ratchet steps
    return o;
  }
};

// Made once; remade only after an input broke it, since every error is final.
std::unique_ptr<session> current;

[[noreturn]] void invariant_broken() {
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  current = std::make_unique<session>();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (!current || !current->clean)
    current = std::make_unique<session>();
  std::string_view in{reinterpret_cast<const char*>(data), size};
  while (in.size() >= 2 && current->clean) {
    auto op = static_cast<std::uint8_t>(in[0]);
    std::size_t len = std::min<std::size_t>(static_cast<std::uint8_t>(in[1]), in.size() - 2);
    auto payload = in.substr(2, len);
    in.remove_prefix(2 + len);

    bool reverse = op & 4;
    auto& sender = reverse ? current->responder : current->initiator;
    auto& receiver = reverse ? current->initiator : current->responder;
    std::string plain;
    result<void> r;
    switch (op & 3) {
      case 0:
      case 1: {
        if (!sender.send(payload))
          invariant_broken();
        auto wire = sender.take_output();
        if ((op & 3) == 0) {
          r = receiver.feed(wire, plain);
        } else {
          std::size_t split = wire.size() ? (op >> 3) % wire.size() : 0;
          r = receiver.feed(std::string_view{wire}.substr(0, split), plain);
          if (r)
            r = receiver.feed(std::string_view{wire}.substr(split), plain);
        }
        if (!r || plain != payload)
          invariant_broken();
        break;
      }
      case 2: {
        if (payload.empty())
          break;
        if (!sender.send(payload))
          invariant_broken();
        auto wire = sender.take_output();
        std::size_t bit = (static_cast<std::size_t>(op >> 3) * 131 + len) % (wire.size() * 8);
        wire[bit / 8] = static_cast<char>(wire[bit / 8] ^ (1 << (bit % 8)));
        current->clean = false;
        r = receiver.feed(wire, plain);
        // Records before the altered one may open; the altered one never does.
        if (plain.size() >= payload.size())
          invariant_broken();
        break;
      }
      case 3:
        current->clean = false;
        r = receiver.feed(payload, plain);
        if (!plain.empty())
          invariant_broken();
        break;
    }
    if (!r && r.error().code() != errc::protocol_error)
      invariant_broken();
  }
  return 0;
}
