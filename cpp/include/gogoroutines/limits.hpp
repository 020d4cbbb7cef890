// limits.hpp: the limits the Go engine checks arguments against.
//
// They are defined once, in Go, and read from the archive (gogo_info_limits)
// the first time they are asked for.
#pragma once

#include "gogo_abi.h"

namespace gogoroutines {

/// The limits: max_concurrency (of a Runtime), max_lane_concurrency,
/// max_channel_capacity, max_args, max_value_depth (nesting of list and map
/// arguments) and max_timeout_ns (any timeout or duration).
using Limits = gogo_limits;

/// @return the limits of the Go engine (read once)
const Limits& limits();

}  // namespace gogoroutines
