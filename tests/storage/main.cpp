// Test runner for blaze_storage. Each behaviour area is its own suite in its
// own file; ctest runs one suite per entry (--run_test=<suite>).
#define BOOST_TEST_MODULE blaze_storage
#include <boost/test/unit_test.hpp>
