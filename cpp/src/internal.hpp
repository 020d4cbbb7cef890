// internal.hpp: what the source files of the C++ core share (not installed):
// the fork guard, the status-to-exception mapping, the shared state of a
// Runtime, and the batch fetch of outcomes used by Runtime::collect and
// Lane::take.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gogo_abi.h"
#include "gogoroutines/runtime.hpp"

namespace gogoroutines::detail {

/// @return whether this process is the child of a fork() made after the Go
///         runtime started: Go's threads do not exist here, so any call into
///         Go would hang for ever
bool forked() noexcept;

/// Throws ForkError in a process forked after the Go runtime started.
void check_not_forked();

/// Throws the exception for an ABI status code, consuming err's strings.
/// @param status the status code (not GOGO_OK)
/// @param err the error details the call filled, if any
/// @param task_id the task the call was about, for messages (0: none)
[[noreturn]] void throw_status(int status, gogo_error& err, std::int64_t task_id);

/// The shared state behind copies of a Runtime and the Tasks spawned from it.
struct RuntimeState {
  /// Finished tasks whose Task handle was closed are released in batches:
  /// one call into Go per kBatch closes instead of one per close.
  static constexpr std::size_t kBatch = 256;

  std::uint64_t handle = 0;
  std::int64_t max_concurrency = 0;
  std::atomic<bool> closed{false};
  std::mutex pending_mutex;
  std::vector<std::int64_t> pending_release;

  /// @return whether Go can be called for this runtime (open, not in a forked child)
  bool callable() const noexcept { return !closed.load(std::memory_order_acquire) && !forked(); }
  /// Releases a finished task later, with others (see kBatch).
  void release_later(std::int64_t id) noexcept;
  /// Releases the batch now (before a stats snapshot, so that it is exact).
  void flush() noexcept;
  /// Closes the runtime in Go; closing twice does nothing.
  void close() noexcept;
  ~RuntimeState() { close(); }

 private:
  void flush_locked() noexcept;
};

/// Throws ForkError or RuntimeClosed unless the runtime can be called into.
inline void check_usable(const RuntimeState& state) {
  check_not_forked();
  if (state.closed.load(std::memory_order_acquire)) throw RuntimeClosed("the runtime is closed");
}

/// Validates a task's own deadline: positive seconds or none.
/// @return the deadline in nanoseconds, -1 for none
std::int64_t deadline_ns(Timeout timeout);

/// Calls fetch(raw, buffer, cap, &count), a gogo_task_collect or gogo_lane_take,
/// growing the buffer until the first outcome's data fits, and converts the raw
/// outcomes into out (viewing buffer).
/// @return their number, 0 on GOGO_E_TIMEOUT
template <class Fetch>
std::size_t fetch_outcomes(std::size_t n, std::vector<Outcome>& out, std::string& buffer,
                           Fetch&& fetch) {
  out.clear();
  if (buffer.size() < (1u << 16)) buffer.resize(1u << 16);
  std::vector<gogo_outcome> raw(n);
  std::size_t count = 0;
  for (;;) {
    const int rc = fetch(raw.data(), buffer.data(), buffer.size(), &count);
    if (rc == GOGO_OK) break;
    if (rc == GOGO_E_TIMEOUT) return 0;
    if (rc != GOGO_E_BUFFER_TOO_SMALL) {
      gogo_error err{};
      throw_status(rc, err, 0);
    }
    buffer.resize(raw[0].len);  // the first outcome alone is larger than the buffer
  }
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const gogo_outcome& o = raw[i];
    out.push_back(Outcome{o.task_id, static_cast<Status>(o.state),
                          o.state == GOGO_STATE_FAILED && o.failure == GOGO_FAILURE_TIMEOUT,
                          std::string_view(buffer.data() + o.offset, o.len)});
  }
  return count;
}

}  // namespace gogoroutines::detail
