#define BOOST_TEST_MODULE blaze_actors
#include <boost/test/unit_test.hpp>
