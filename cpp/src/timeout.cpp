// timeout.cpp: timeouts in seconds converted to the C ABI's nanoseconds.
#include "gogoroutines/timeout.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "gogoroutines/errors.hpp"
#include "gogoroutines/limits.hpp"
#include "internal.hpp"

namespace gogoroutines::detail {

std::int64_t timeout_ns(Timeout timeout, const char* what) {
  if (!timeout) return -1;
  const double seconds = *timeout;
  if (std::isnan(seconds)) {
    throw InvalidArgument(std::string(what) + " must be a number of seconds, got NaN");
  }
  if (seconds < 0) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    throw InvalidArgument(std::string(what) + " must not be negative, got " + text);
  }
  // The longest timeout Go accepts: anything larger is a mistake, and
  // std::nullopt already means "no limit".
  const double most = static_cast<double>(limits().max_timeout_ns) / 1e9;
  if (seconds > most) {
    char years[32];
    std::snprintf(years, sizeof years, "%g", most / (365.0 * 24 * 3600));
    throw InvalidArgument(std::string(what) + " is too large (at most " + years +
                          " years); use None for no limit");
  }
  return static_cast<std::int64_t>(seconds * 1e9);
}

std::int64_t deadline_ns(Timeout timeout) {
  std::int64_t ns = timeout_ns(timeout, "timeout");
  if (timeout) {
    if (*timeout <= 0) throw InvalidArgument("timeout must be positive or None");
    if (ns == 0) ns = 1;  // a positive timeout below 1 ns
  }
  return ns;
}

}  // namespace gogoroutines::detail
