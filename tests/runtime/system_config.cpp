// The actor-system configuration: scheduler settings and the error category.
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using namespace blaze;
using blaze::runtime::scheduler_options;

BOOST_AUTO_TEST_SUITE(actor_system_setup)

BOOST_AUTO_TEST_CASE(thread_count_is_applied_to_the_scheduler) {
  scheduler_options opts;
  opts.threads = 3;
  ::blaze::runtime::system_config cfg{opts};
  caf::actor_system sys{cfg};
  BOOST_TEST(caf::get_or(sys.config(), "scheduler.max-threads", std::size_t{0}) == 3u);
  BOOST_TEST(sys.scheduler().num_workers() == 3u);
}

BOOST_AUTO_TEST_CASE(automatic_thread_count_uses_at_least_two_workers) {
  ::blaze::runtime::system_config cfg;
  BOOST_TEST(cfg.scheduling().threads >= 2u);
  caf::actor_system sys{cfg};
  BOOST_TEST(sys.scheduler().num_workers() == cfg.scheduling().threads);
}

namespace {

// Voluntary context switches of every thread of this process: a thread
// that waits (on a condition variable, a futex, a socket) makes one each
// time; a spinning thread makes none.
std::uint64_t voluntary_switches() {
  std::uint64_t sum = 0;
  for (auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in{task.path() / "status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        sum += std::stoull(line.substr(line.find(':') + 1));
  }
  return sum;
}

// Sends one message through the system and waits for the answer: the
// workers have had work and are now idle.
void run_one_message(caf::actor_system& sys) {
  auto echo = sys.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  caf::scoped_actor self{sys};
  self->request(echo, std::chrono::seconds(5), 1).receive([](int) {}, [](caf::error&) {});
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}

} // namespace

// Low latency means what it says: idle workers spin, they do not sleep
// between polls. (CAF's relaxed poll with a 0 timeout put them to sleep
// about 11,000 times a second each, and the relayed op paid for waking
// them and their idle cores.)
BOOST_AUTO_TEST_CASE(low_latency_workers_spin_after_their_last_job) {
  scheduler_options opts;
  opts.threads = 2;
  opts.low_latency = true;
  ::blaze::runtime::system_config cfg{opts};
  caf::actor_system sys{cfg};
  run_one_message(sys);
  auto before = voluntary_switches();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto during = voluntary_switches() - before;
  // This thread's sleep is one switch; the middleman's and the clock's
  // threads sleep too, a few times. Sleeping workers made hundreds here.
  BOOST_TEST(during < 40u, during << " voluntary context switches in 20 ms");
}

// ... for a while: an idle process goes quiet (a wait of 1 ms per poll).
BOOST_AUTO_TEST_CASE(low_latency_workers_sleep_after_a_long_idle_spell) {
  scheduler_options opts;
  opts.threads = 2;
  opts.low_latency = true;
  opts.idle_polls = 1000; // a few µs of spinning
  ::blaze::runtime::system_config cfg{opts};
  caf::actor_system sys{cfg};
  run_one_message(sys);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto cpu_before = std::clock();
  auto before = voluntary_switches();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto during = voluntary_switches() - before;
  auto cpu_ms = (std::clock() - cpu_before) * 1000.0 / CLOCKS_PER_SEC;
  // Two workers waking once a millisecond: about 400 switches (355
  // measured). With a relaxed wait of 0 they made about 3,700.
  BOOST_TEST(during < 1500u, during << " voluntary context switches in 200 ms");
  BOOST_TEST(cpu_ms < 100.0, cpu_ms << " ms of CPU in 200 ms");
}

BOOST_AUTO_TEST_CASE(storage_errors_survive_the_trip_through_caf_errors) {
  blaze::error original{errc::wrong_password, "store X"};
  auto e = runtime::to_caf_error(original);
  BOOST_TEST(static_cast<bool>(e));
  auto back = runtime::from_caf_error(e);
  BOOST_TEST(static_cast<int>(back.code()) == static_cast<int>(errc::wrong_password));
  BOOST_TEST(back.message() == "store X");
}

BOOST_AUTO_TEST_CASE(blaze_errors_render_readably) {
  ::blaze::runtime::system_config cfg;
  caf::actor_system sys{cfg};
  auto text = sys.render(runtime::to_caf_error(blaze::error{errc::not_found, "notes/n1"}));
  BOOST_TEST(text.find("not found") != std::string::npos);
  BOOST_TEST(text.find("notes/n1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(other_caf_errors_map_to_io_error) {
  auto back = runtime::from_caf_error(caf::make_error(caf::sec::request_timeout));
  BOOST_TEST(static_cast<int>(back.code()) == static_cast<int>(errc::io_error));
}

BOOST_AUTO_TEST_SUITE_END()
