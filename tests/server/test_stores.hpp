// Shared by the server suites: an actor system set up like a client of the
// node (secure middleman, two scheduler threads), and a store made cheaply
// (low scrypt cost) holding one record, notes/n1.
#pragma once

#include "describe.hpp"

#include "blaze/runtime/secure_middleman.hpp"
#include "blaze/runtime/system_config.hpp"
#include "blaze/storage/database.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

namespace blaze_test {

struct client_config : blaze::runtime::system_config {
  client_config() : system_config(blaze::runtime::scheduler_options{2, false}) {
    blaze::runtime::enable_secure_middleman(*this);
  }
};

inline void make_store(const std::filesystem::path& path, const std::string& name,
                       const std::string& password, const std::string& title) {
  blaze::open_options options;
  options.kdf_log2_n = 10;
  auto db = blaze::database::open(name, path, password, options);
  BOOST_REQUIRE_MESSAGE(db, describe(db));
  (*db)->put("notes", "n1", {{"title", blaze::value{title}}}).value();
}

} // namespace blaze_test
