// timeout.hpp: timeouts in the gogoroutines C++ core.
//
// Every call that may block takes a Timeout: a number of seconds (0 only
// looks), or std::nullopt to wait without limit.
#pragma once

#include <cstdint>
#include <optional>

namespace gogoroutines {

/// A timeout in seconds; std::nullopt waits without limit.
using Timeout = std::optional<double>;

namespace detail {
/// Converts a timeout in seconds to the C ABI's nanoseconds.
/// @param timeout the timeout
/// @param what its name, for the message of the exception
/// @return the nanoseconds, -1 for std::nullopt (no limit)
/// @throw InvalidArgument for NaN, negative or absurdly large values (over limits().max_timeout_ns)
std::int64_t timeout_ns(Timeout timeout, const char* what);
}  // namespace detail

}  // namespace gogoroutines
