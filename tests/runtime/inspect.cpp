// Storage types survive CAF's binary serialization (what BASP sends).
#include "blaze/runtime/system_config.hpp"
#include "blaze/runtime/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <boost/test/unit_test.hpp>

#include <limits>

using namespace blaze;

namespace {

struct sys_fixture {
  ::blaze::runtime::system_config cfg;
  caf::actor_system sys{cfg};

  template <class T>
  T round_trip(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto e = sink(x);
    BOOST_REQUIRE(!e);
    T y;
    caf::binary_deserializer source{sys, buf};
    auto e2 = source(y);
    BOOST_REQUIRE(!e2);
    return y;
  }
};

op sample_op() {
  op o;
  o.origin = 0x1122334455667788ull;
  o.seq = 42;
  o.time = make_hlc(1700000000000ull, 7);
  o.collection = "notes";
  o.id = "n1";
  o.kind = op_kind::set;
  o.fields = {{"a", value{}},
              {"b", true},
              {"c", std::numeric_limits<std::int64_t>::min()},
              {"d", 2.5},
              {"e", std::string("x\0y", 3)},
              {"f", bytes{0, 1, 255}}};
  o.removed = {"g"};
  return o;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(inspect, sys_fixture)

BOOST_AUTO_TEST_CASE(op_with_every_value_type_round_trips) {
  auto o = sample_op();
  BOOST_TEST((round_trip(o) == o));
  o.kind = op_kind::erase;
  o.fields.clear();
  o.removed.clear();
  BOOST_TEST((round_trip(o) == o));
}

BOOST_AUTO_TEST_CASE(op_batches_and_records_round_trip) {
  std::vector<op> batch{sample_op(), sample_op()};
  batch[1].seq = 43;
  BOOST_TEST((round_trip(batch) == batch));
  std::vector<record> recs{{"r1", {{"x", 1}}}, {"r2", {}}};
  BOOST_TEST((round_trip(recs) == recs));
}

BOOST_AUTO_TEST_CASE(version_vector_round_trips) {
  version_vector v;
  v.set(1, 10);
  v.set(0xffffffffffffull, 3);
  BOOST_TEST((round_trip(v) == v));
}

BOOST_AUTO_TEST_CASE(query_round_trips) {
  query q{"notes"};
  q.when("n", compare_op::ge, 3).when("s", compare_op::ne, "x").order("n", true).take(7);
  auto r = round_trip(q);
  BOOST_TEST(r.collection == "notes");
  BOOST_REQUIRE(r.where.size() == 2u);
  BOOST_TEST((r.where[0].op == compare_op::ge));
  BOOST_TEST((r.where[1].value == value{"x"}));
  BOOST_TEST(r.order_by.value_or("") == "n");
  BOOST_TEST(r.descending);
  BOOST_TEST(r.limit == 7u);
  query plain{"c"};
  BOOST_TEST(!round_trip(plain).order_by.has_value());
}

BOOST_AUTO_TEST_CASE(change_round_trips_with_and_without_a_record) {
  change c;
  c.collection = "notes";
  c.id = "n1";
  c.current = record{"n1", {{"a", 1}}};
  c.local = true;
  c.origin = 5;
  c.seq = 9;
  auto r = round_trip(c);
  BOOST_REQUIRE(r.current.has_value());
  BOOST_TEST((*r.current == *c.current));
  BOOST_TEST(r.local);
  BOOST_TEST(r.seq == 9u);
  c.current.reset();
  c.deleted = true;
  r = round_trip(c);
  BOOST_TEST(!r.current.has_value());
  BOOST_TEST(r.deleted);
}

BOOST_AUTO_TEST_CASE(unknown_value_tag_is_rejected) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  std::uint8_t bad_tag = 99;
  BOOST_REQUIRE(!sink(bad_tag));
  value v;
  caf::binary_deserializer source{sys, buf};
  BOOST_TEST(static_cast<bool>(source(v)));
}

BOOST_AUTO_TEST_SUITE_END()
