#include "key_filter.hpp"

#include <functional>

namespace blaze::detail {

namespace {

constexpr std::size_t bits_per_key = 10;

std::uint64_t mix(std::uint64_t x) {
  // splitmix64 finalizer: spreads std::hash's output over all 64 bits.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

} // namespace

key_filter::key_filter(std::size_t initial_capacity) {
  stage s;
  s.capacity = initial_capacity == 0 ? 1 : initial_capacity;
  s.bits.assign((s.capacity * bits_per_key + 63) / 64, 0);
  stages_.push_back(std::move(s));
}

void key_filter::add(std::string_view key) {
  if (stages_.back().count >= stages_.back().capacity) {
    stage s;
    s.capacity = stages_.back().capacity * 2;
    s.bits.assign((s.capacity * bits_per_key + 63) / 64, 0);
    stages_.push_back(std::move(s));
  }
  auto& s = stages_.back();
  std::uint64_t h1 = mix(std::hash<std::string_view>{}(key));
  std::uint64_t h2 = mix(h1) | 1;
  std::uint64_t nbits = s.bits.size() * 64;
  for (int i = 0; i < probes; ++i) {
    std::uint64_t bit = (h1 + std::uint64_t(i) * h2) % nbits;
    s.bits[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
  ++s.count;
  ++count_;
}

bool key_filter::may_contain(std::string_view key) const {
  std::uint64_t h1 = mix(std::hash<std::string_view>{}(key));
  std::uint64_t h2 = mix(h1) | 1;
  for (auto& s : stages_) {
    if (s.count == 0)
      continue;
    std::uint64_t nbits = s.bits.size() * 64;
    bool all = true;
    for (int i = 0; i < probes && all; ++i) {
      std::uint64_t bit = (h1 + std::uint64_t(i) * h2) % nbits;
      all = (s.bits[bit / 64] >> (bit % 64)) & 1;
    }
    if (all)
      return true;
  }
  return false;
}

std::size_t key_filter::memory_bytes() const {
  std::size_t n = 0;
  for (auto& s : stages_)
    n += s.bits.size() * sizeof(std::uint64_t);
  return n;
}

} // namespace blaze::detail
