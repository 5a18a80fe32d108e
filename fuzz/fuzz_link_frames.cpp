// libFuzzer target: arbitrary bytes fed to the relay link's frame reader, in
// one piece and split in two. It must never crash or read out of bounds;
// every frame it accepts must encode back to bytes that decode the same.
#include "blaze/runtime/link_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace blaze::runtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  std::vector<link_frame> whole;
  frame_reader r{1 << 16};
  if (!r.feed(in, whole).ok())
    return 0;
  // Split at every tenth position: the same frames must come out.
  for (std::size_t cut = 0; cut <= size; cut += 1 + size / 10) {
    frame_reader split{1 << 16};
    std::vector<link_frame> parts;
    if (!split.feed(in.substr(0, cut), parts).ok() || !split.feed(in.substr(cut), parts).ok()
        || parts.size() != whole.size())
      std::abort();
  }
  // What was accepted re-encodes to something that decodes to the same frames.
  std::string again;
  for (auto& f : whole)
    encode_frame(f, again);
  std::vector<link_frame> back;
  frame_reader r2{1 << 20};
  if (!r2.feed(again, back).ok() || back.size() != whole.size())
    std::abort();
  return 0;
}
