// libFuzzer target: arbitrary bytes as a blaze-node TOML config. Errors are
// expected (the secret files it names do not exist: the config's directory
// is made up); crashes, sanitizer reports, hangs and exceptions escaping
// parse_config are not.
#include "blaze/server/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto cfg = blaze::server::parse_config(text, "/nonexistent/blaze-fuzz/node.toml");
  if (!cfg && cfg.error().code() != blaze::errc::invalid_argument)
    std::abort(); // bad config text is invalid_argument, whatever is wrong with it
  return 0;
}
