#include "blaze/runtime/system_config.hpp"

#include "blaze/runtime/type_ids.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

namespace blaze::runtime {

namespace {
constexpr caf::atom_value blaze_category = caf::atom("blaze");
}

system_config::system_config(const scheduler_options& options) : scheduling_(options) {
  add_message_types<caf::id_block::blaze>();
  add_error_category(blaze_category,
                     [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                       std::string s = "blaze: ";
                       s += blaze::to_string(static_cast<errc>(code));
                       if (ctx.match_elements<std::string>()) {
                         s += ": ";
                         s += ctx.get_as<std::string>(0);
                       }
                       return s;
                     });
  std::size_t threads = options.threads;
  if (threads == 0)
    threads = std::max<std::size_t>(2, std::thread::hardware_concurrency());
  scheduling_.threads = threads;
  set("scheduler.max-threads", threads);
  if (options.low_latency) {
    // Work stealing, spinning instead of sleeping between polls of an
    // empty queue: a message is picked up at once, for a core per idle
    // worker. CAF 0.17's worker polls 100 times (aggressive), then
    // `moderate-poll-attempts` times, then waits on a condition variable
    // for `relaxed-sleep-duration` per poll. With the defaults (600 polls,
    // about 15 µs) and a relaxed duration of 0 the workers were asleep
    // almost all the time: each wait put the thread to sleep until its
    // expired timer fired, about 90 µs later on these machines, and the
    // core went idle; waking a thread on an idle core of a VM costs tens
    // of µs, several times per relayed op. The moderate phase (sleep 0:
    // a pure spin) now lasts `idle_polls` polls. After it, the worker
    // sleeps on its condition variable, 1 ms per wait: CAF wakes it for a
    // message sent to it from outside the scheduler, and it steals from
    // busy workers between waits.
    set("scheduler.policy", caf::atom("stealing"));
    set("work-stealing.moderate-sleep-duration", caf::timespan{0});
    set("work-stealing.moderate-poll-attempts", std::max<std::size_t>(options.idle_polls, 1));
    set("work-stealing.relaxed-sleep-duration",
        caf::timespan{std::chrono::milliseconds(1)});
  } else {
    // One shared queue; idle workers block on it and are woken when a
    // message arrives. CAF 0.17's work stealing cannot wake a sleeping
    // worker: it sleeps out its poll interval (up to 10 ms here) while a
    // message waits, which made a sync server hop cost hundreds of µs.
    set("scheduler.policy", caf::atom("sharing"));
  }
}

caf::error to_caf_error(const blaze::error& e) {
  return caf::error{static_cast<std::uint8_t>(e.code()), blaze_category,
                    caf::make_message(e.message())};
}

blaze::error from_caf_error(const caf::error& e) {
  if (e.category() == blaze_category) {
    std::string msg;
    if (e.context().match_elements<std::string>())
      msg = e.context().get_as<std::string>(0);
    return blaze::error{static_cast<errc>(e.code()), msg};
  }
  return blaze::error{errc::io_error, "actor system: " + caf::to_string(e)};
}

} // namespace blaze::runtime
