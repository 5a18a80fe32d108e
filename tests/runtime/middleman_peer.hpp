// The typed actor that middleman_peer publishes over the secure middleman
// and the secure_middleman suite calls from another process.
#pragma once

#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

// A block of its own, well clear of runtime's (which starts at
// first_custom_type_id), so both can be loaded into one config.
CAF_BEGIN_TYPE_ID_BLOCK(blaze_mm_test, caf::first_custom_type_id + 200)

  CAF_ADD_ATOM(blaze_mm_test, blaze_test, echo_atom, "echo")
  CAF_ADD_ATOM(blaze_mm_test, blaze_test, pid_atom, "pid")

CAF_END_TYPE_ID_BLOCK(blaze_mm_test)

namespace blaze_test {

// echo: returns its argument; pid: the serving process's id (proves the
// answer came from the other process).
using echo_actor = caf::typed_actor<caf::replies_to<echo_atom, std::string>::with<std::string>,
                                    caf::replies_to<pid_atom>::with<std::int32_t>>;

} // namespace blaze_test
