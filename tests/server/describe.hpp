// A result's error as text for test messages (Boost evaluates a message's
// operands even when the check passes, so error() must not be called on a
// value).
#pragma once

#include "blaze/storage/status.hpp"

#include <string>

namespace blaze_test {

template <class T> std::string describe(const blaze::result<T>& r) {
  return r ? std::string{"ok"} : r.error().to_string();
}

} // namespace blaze_test
