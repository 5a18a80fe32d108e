// `blaze-bench channel`: the secure channel's handshake cost, and the round
// trip of a small message over the secure middleman, beside plain CAF BASP
// and a raw TCP ping-pong measured in the same run.
#pragma once

#include "report.hpp"

#include <cstddef>
#include <ostream>

namespace blaze::bench {

struct channel_bench_options {
  std::size_t handshakes = 2000;   // in memory (CPU cost), and a tenth over TCP
  std::size_t round_trips = 20000; // per transport
  std::size_t message_bytes = 64;
  std::size_t threads = 2;         // scheduler threads per actor system
};

report run_channel_bench(const channel_bench_options& options, std::ostream& log);

} // namespace blaze::bench
