#define BOOST_TEST_MODULE blaze_server
#include <boost/test/unit_test.hpp>
