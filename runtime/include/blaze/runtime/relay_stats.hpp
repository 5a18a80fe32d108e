// What a relay reports to its supervisor. It lives in runtime, beside the
// other message types, so that the type-id block need not depend on actors.
#pragma once

#include "blaze/runtime/inspect.hpp"
#include "blaze/storage/op.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>

namespace blaze {

// Ops delivered, ops the sink still lacks (per the last known source
// version), apply batches acknowledged, the sink's acknowledged version,
// and how many ops the relay read back from the source's op log (at
// start-up, or because it fell behind the live changes) rather than taking
// them from its change notifications: what its reads cost the source,
// whether the ops were then sent or found to be there already.
struct relay_stats {
  std::uint64_t ops_relayed = 0;
  std::uint64_t lag = 0;
  std::uint64_t batches = 0;
  version_vector acked;
  std::uint64_t ops_from_log = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_stats& x) {
  return f(caf::meta::type_name("blaze.relay_stats"), x.ops_relayed, x.lag, x.batches, x.acked,
           x.ops_from_log);
}

} // namespace blaze
