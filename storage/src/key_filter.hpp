// An in-memory Bloom filter over the keys of stored records, so that a write
// to a record that does not exist yet skips the LevelDB read its merge would
// otherwise need (a missing-key Get costs as much as the write itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace blaze::detail {

// A scalable Bloom filter: a chain of filters, each twice the capacity of the
// one before, so it needs no key count up front and keeps its false-positive
// rate (about 1%) as it grows. Keys are only ever added; a false positive
// costs one read, a false negative cannot happen. Not thread-safe.
class key_filter {
public:
  explicit key_filter(std::size_t initial_capacity = 1 << 16);

  void add(std::string_view key);
  // false: the key was never added. true: it probably was.
  bool may_contain(std::string_view key) const;

  std::size_t size() const { return count_; }
  std::size_t memory_bytes() const;

private:
  struct stage {
    std::vector<std::uint64_t> bits;
    std::size_t capacity = 0;
    std::size_t count = 0;
  };
  static constexpr int probes = 7; // optimal for ~10 bits per key

  std::vector<stage> stages_;
  std::size_t count_ = 0;
};

} // namespace blaze::detail
