// The actor-system configuration: scheduler settings and the error category.
#include "blaze/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>

#include <boost/test/unit_test.hpp>

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

BOOST_AUTO_TEST_CASE(low_latency_disables_idle_sleeping) {
  scheduler_options opts;
  opts.low_latency = true;
  ::blaze::runtime::system_config cfg{opts};
  auto sleep = caf::get_or(cfg, "work-stealing.moderate-sleep-duration",
                           caf::timespan{std::chrono::seconds(1)});
  BOOST_TEST(sleep.count() == 0);
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
