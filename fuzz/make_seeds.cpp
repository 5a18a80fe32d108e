// Writes the seed corpora of the fuzz targets: real handshake messages and
// record-layer programs, so fuzzing starts from valid input and mutates it.
//   make_seeds <corpus dir>   (creates <dir>/fuzz_hello and <dir>/fuzz_records)
#include "blaze/runtime/secure_channel.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace blaze;
using namespace blaze::runtime;
namespace fs = std::filesystem;

namespace {

channel_options options(const std::string& secret) {
  channel_options o;
  o.link_secret = secret;
  return o;
}

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary} << bytes;
}

std::string step(unsigned op, const std::string& payload) {
  return std::string(1, static_cast<char>(op)) + static_cast<char>(payload.size()) + payload;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus dir>\n");
    return 2;
  }
  fs::path root = argv[1];
  auto hello_dir = root / "fuzz_hello";
  const std::string split(1, '\x40');

  // A hello as the responder sees it; a hello and finish as the initiator does.
  for (int signed_finish = 0; signed_finish < 2; ++signed_finish) {
    auto o = options("fuzz link secret");
    if (signed_finish)
      o.identity_private_key_pem = *generate_identity_key_pem();
    secure_channel i{channel_role::initiator, o};
    secure_channel r{channel_role::responder, o};
    auto hello = i.take_output();
    std::string plain;
    if (!r.feed(hello, plain))
      return 1;
    auto reply = r.take_output();
    auto tag = std::to_string(signed_finish);
    write(hello_dir, "initiator-hello-" + tag, split + hello);
    write(hello_dir, "responder-reply-" + tag, split + reply);
    // The responder's view of a rejected handshake: hello, then an alert.
    write(hello_dir, "hello-alert-" + tag,
          split + hello + std::string{'\x02', '\x00', '\x01', '\x01'}); // auth failed
  }
  write(hello_dir, "refusal", split + std::string{"BLZC\x02"});

  auto records_dir = root / "fuzz_records";
  write(records_dir, "one-record", step(0, "hello, records"));
  std::string many;
  for (int k = 0; k < 6; ++k) // crosses several ratchet steps both ways
    many += step(0, std::string(200, static_cast<char>('a' + k))) + step(4, "reply")
            + step(1 | (static_cast<unsigned>(k) << 3), "split delivery");
  write(records_dir, "rekeying-exchange", many);
  write(records_dir, "flipped-bit", step(0, "before") + step(2 | (5 << 3), "altered in transit"));
  write(records_dir, "oversized-header", step(0, "ok") + step(3, std::string("\x7f\xff\xff\xff", 4)));
  write(records_dir, "garbage", step(3, std::string(40, '\x13')));
  return 0;
}
