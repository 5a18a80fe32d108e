#define BOOST_TEST_MODULE blaze_runtime
#include <boost/test/unit_test.hpp>
