// task.hpp: one task of a Runtime: its Status, its RAII handle Task, and the
// Outcome that batch calls report for a finished one.
//
//     gogoroutines::Task t = rt.go("echo", gogoroutines::Args().str("data", "hi"));
//     t.wait(5.0);                    // true once finished
//     std::string text = t.result();  // "hi", or throws TaskFailed, TaskCancelled...
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gogo_abi.h"
// A Task holds its Runtime. runtime.hpp includes this header back once
// Runtime is defined, so that either header may be included first.
#include "gogoroutines/runtime.hpp"
#include "gogoroutines/timeout.hpp"

namespace gogoroutines {

/// Where a task is in its life. The numbers are those of the C ABI.
enum class Status : int {
  NotFound = GOGO_STATE_NOT_FOUND,   ///< unknown id, or the task was released
  Running = GOGO_STATE_RUNNING,      ///< started, not finished
  Completed = GOGO_STATE_COMPLETED,  ///< finished with a result
  Failed = GOGO_STATE_FAILED,        ///< finished with an error (or its timeout passed)
  Cancelled = GOGO_STATE_CANCELLED,  ///< cancelled before it finished
  Queued = GOGO_STATE_QUEUED,        ///< waiting for a slot under max_concurrency
};

/// @param status a status
/// @return its name ("RUNNING", "COMPLETED", ...)
const char* to_string(Status status) noexcept;

/// @param status a status
/// @return whether the status is final (completed, failed or cancelled)
constexpr bool is_done(Status status) noexcept {
  return status == Status::Completed || status == Status::Failed || status == Status::Cancelled;
}

/// How one finished task (or map item) ended, as Runtime::collect() and
/// Lane::take() report it.
struct Outcome {
  std::int64_t id = 0;  ///< the task id (for a lane item: its number, for messages)
  Status status =
      Status::NotFound;    ///< Completed, Failed, Cancelled, or NotFound for an unknown id
  bool timed_out = false;  ///< failed because its own deadline passed
  std::string_view data;   ///< the result, or a failed task's error message
};

/// An RAII handle to one task: closing or destroying it releases the task
/// from its runtime's table (cancelling it if it is unfinished). Move-only.
/// Thread-safe: several threads may wait on and read the same Task.
class Task {
 public:
  /// Takes over other's task; other is left closed.
  /// @param other the task to move from
  Task(Task&& other) noexcept;
  /// Closes (releases) this task, then takes over other's; other is left closed.
  /// @param other the task to move from
  /// @return *this
  Task& operator=(Task&& other) noexcept;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  /// Closes the task: see close().
  ~Task();

  /// @return the task id: from 1, never reused within its runtime
  std::int64_t id() const noexcept { return id_; }
  /// @return the task kind
  const std::string& kind() const noexcept { return kind_; }
  /// @return the runtime the task belongs to
  const Runtime& runtime() const noexcept { return runtime_; }
  /// @return the task's status (Status::NotFound once closed)
  /// @throw RuntimeClosed
  Status status() const;
  /// @return whether the task is completed, failed or cancelled
  /// @throw RuntimeClosed
  bool done() const;
  /// @param timeout seconds to wait; 0 only looks; std::nullopt waits for ever
  /// @return true if the task has finished
  /// @throw TaskNotFound once closed, RuntimeClosed, InvalidArgument (bad timeout)
  bool wait(Timeout timeout = std::nullopt) const;
  /// @param timeout seconds to wait
  /// @return the result bytes
  /// @throw WaitTimeout, TaskFailed, TaskTimedOut, TaskCancelled, TaskNotFound once closed
  std::string result(Timeout timeout = std::nullopt) const;
  /// See Runtime::read_result.
  /// @param timeout seconds to wait
  /// @param sink a callable `char*(std::size_t size)`
  /// @return false if the timeout ran out first
  template <class Sink>
  bool read_result(Timeout timeout, Sink&& sink) const {
    check_open();
    if (cache_ready()) {
      char* out = sink(cached_result_.size());
      if (!cached_result_.empty()) std::memcpy(out, cached_result_.data(), cached_result_.size());
      return true;
    }
    return runtime_.read_result(id_, timeout, std::forward<Sink>(sink));
  }
  /// @return true if the task was unfinished and is now cancelled
  /// @throw TaskNotFound once closed, RuntimeClosed
  bool cancel() const;
  /// @return the task's metadata as a JSON object, std::nullopt while unfinished
  /// @throw TaskNotFound once closed, RuntimeClosed
  std::optional<std::string> meta_json() const;
  /// Releases the task; later calls raise TaskNotFound. Closing twice is fine.
  void close() noexcept;
  /// @return whether close() was called
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

 private:
  friend class Runtime;
  friend class WaitSet;
  // What this process has seen of the task's end. A completed task's small
  // result is kept here, so that waits and reads after the first one (and
  // all of them for tasks that finish during their spawn) need no call into
  // Go. Written once: kUnknown -> kWriting -> kCached, or kUnknown -> kFinished.
  enum : int { kUnknown = 0, kWriting = 1, kCached = 2, kFinished = 3 };
  static constexpr std::size_t kCacheLimit = 256;

  Task(Runtime runtime, std::int64_t id, std::string_view kind);
  void check_open() const;
  // True once the result is cached; throws if the runtime was closed since.
  bool cache_ready() const;
  void remember(int code, const char* data, std::size_t len) const;

  Runtime runtime_;
  std::int64_t id_ = 0;
  std::string kind_;
  std::atomic<bool> closed_{false};
  mutable std::atomic<int> seen_{kUnknown};
  mutable std::string cached_result_;
};

}  // namespace gogoroutines
