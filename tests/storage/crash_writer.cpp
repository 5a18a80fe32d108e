// Helper process for the crash suite: writes to a store without end so the
// test can kill it (SIGKILL) at an arbitrary moment. Prints "ready" once the
// first change has committed.
//
// usage: blaze_crash_writer <store-path> <seed>
#include "blaze/storage/database.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

// The node id the writer's simulated peer uses; the crash test knows it.
constexpr blaze::node_id remote_origin = 0xC0FFEE00C0FFEEull;

int fail(const char* what, const blaze::error& e) {
  std::fprintf(stderr, "blaze_crash_writer: %s: %s\n", what, e.to_string().c_str());
  return 3;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <store-path> <seed>\n", argv[0]);
    return 2;
  }
  blaze::open_options options;
  options.kdf_log2_n = 10;
  auto opened = blaze::database::open("crash", argv[1], "crash password", options);
  if (!opened)
    return fail("open", opened.error());
  auto& db = **opened;
  std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));
  bool announced = false;
  for (std::int64_t i = 0;; ++i) {
    const char* collection = rng() % 4 == 0 ? "side" : "crash";
    const std::string id = "r" + std::to_string(rng() % 40);
    const auto roll = rng() % 12;
    if (roll >= 10) {
      // An op "from a peer", so applied ops and the version vector are in
      // the crash window too.
      blaze::op o;
      o.origin = remote_origin;
      o.seq = db.version().get(remote_origin) + 1;
      o.time = blaze::make_hlc(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()),
          0);
      o.collection = "side";
      o.id = id;
      o.fields = {{"remote", static_cast<std::int64_t>(o.seq)}};
      auto r = db.apply({o});
      if (!r)
        return fail("apply", r.error());
    } else if (roll < 2) {
      auto r = db.erase(collection, id);
      if (!r && r.error().code() != blaze::errc::not_found)
        return fail("erase", r.error());
      if (!r)
        continue; // nothing committed
    } else if (roll < 3) {
      auto current = db.get(collection, id);
      if (!current)
        return fail("get", current.error());
      if (!current->has_value())
        continue;
      auto r = db.remove_field(collection, id, "payload");
      if (!r)
        return fail("remove_field", r.error());
    } else {
      std::string payload(rng() % 1500, '\0');
      for (auto& ch : payload)
        ch = static_cast<char>('a' + rng() % 26);
      blaze::bytes bin(rng() % 64);
      for (auto& b : bin)
        b = static_cast<std::uint8_t>(rng());
      auto r = db.put(collection, id, {{"n", i}, {"payload", payload}, {"bin", bin}});
      if (!r)
        return fail("put", r.error());
    }
    if (!announced) {
      std::fputs("ready\n", stdout);
      std::fflush(stdout);
      announced = true;
    }
  }
}
