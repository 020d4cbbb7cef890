// runtime.hpp: the C++ core of gogoroutines, over the C ABI of the Go archive
// (gogo_abi.h). Including it gives everything: it defines Runtime and
// includes the header of every other concept:
//
//   errors.hpp   the one exception hierarchy
//   timeout.hpp  Timeout: seconds, or std::nullopt for no limit
//   limits.hpp   limits(): the limits of the Go engine
//   args.hpp     Args: the named arguments of a task
//   task.hpp     Status, Task (the RAII handle of one task), Outcome
//   waitset.hpp  WaitSet: "wait for any of these tasks", optionally as a file descriptor
//   lane.hpp     Lane: the items of one map, run and handed back in batches by Go
//   channel.hpp  Channel: a Go channel shared with tasks
//
// A Runtime owns a table of tasks run on goroutines of the Go runtime linked
// into this program. Tasks are spawned by kind name ("sleep", "echo", ...)
// with named arguments, and their results come back as bytes in a
// std::string. Every error is one of the classes of errors.hpp.
//
//     gogoroutines::Runtime rt;
//     gogoroutines::Task t = rt.go("delayed", gogoroutines::Args().integer("delay_ms", 200));
//     std::string text = t.result(5.0);  // "Callback executed after 200ms"
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gogo_abi.h"
#include "gogoroutines/args.hpp"
#include "gogoroutines/errors.hpp"
#include "gogoroutines/limits.hpp"
#include "gogoroutines/timeout.hpp"

namespace gogoroutines {

// Defined in task.hpp, which needs Runtime complete (a Task holds one).
enum class Status : int;
struct Outcome;
class Task;

/// A consistent snapshot of a runtime's task table:
/// total == active + completed + failed + cancelled, and queued <= active.
/// The items of a running map (Runtime::map in Python, a Lane here) count as tasks.
struct Stats {
  std::int64_t total = 0;      ///< tasks in the table (spawned and not yet released)
  std::int64_t active = 0;     ///< of those, queued or running
  std::int64_t queued = 0;     ///< of the active ones, waiting for a slot
  std::int64_t completed = 0;  ///< finished with a result
  std::int64_t failed = 0;     ///< finished with an error
  std::int64_t cancelled = 0;  ///< cancelled before they finished
  /// Goroutines of the whole Go runtime (not only this Runtime's) less the
  /// idle workers pooled for the next tasks: runtime.NumGoroutine() minus
  /// those, so not exactly the process's goroutine count.
  std::int64_t goroutines = 0;

  /// @return "Total: T, Active: A, Completed: C, Failed: F, Go Routines: G",
  ///         exactly the format of the PHP extension this project ports
  std::string to_string() const;
};

namespace detail {
struct RuntimeState;
}

/// A table of tasks run on goroutines. Copies of a Runtime share the same
/// table; the table lives until close() or until the last copy (and the last
/// Task spawned from it) is destroyed. All members are thread-safe.
class Runtime {
 public:
  /// @param max_concurrency at most this many tasks run at once, the rest
  ///        wait their turn in spawn order; 0 means no limit
  /// @throw InvalidArgument if max_concurrency is negative or too large
  /// @throw ForkError in a process forked after the Go runtime started
  explicit Runtime(std::int64_t max_concurrency = 0);

  /// Spawns a task and returns its RAII handle, which releases the task when
  /// closed or destroyed.
  /// @param kind the task kind ("sleep", "echo", "delayed", ...)
  /// @param args the kind's arguments
  /// @param timeout the task's own deadline in seconds, counted from its
  ///        start; when it passes the task fails with TaskTimedOut
  /// @return the task
  /// @throw UnknownKind, InvalidArgument (naming the bad argument), RuntimeClosed
  Task go(std::string_view kind, const Args& args = Args(), Timeout timeout = std::nullopt);

  /// Spawns a task and returns its bare id, which the caller must release.
  /// This is what the id-based API of the PHP extension builds on.
  /// @param kind the task kind
  /// @param args the kind's arguments
  /// @param timeout the task's own deadline in seconds
  /// @return the task id: from 1, never reused within this runtime
  /// @throw UnknownKind, InvalidArgument, RuntimeClosed
  std::int64_t spawn(std::string_view kind, const Args& args = Args(),
                     Timeout timeout = std::nullopt);

  /// Spawns one task of `kind` per entry of `items`, in one call into Go.
  /// Every item is validated first: a bad one fails the whole batch.
  /// @param kind the task kind
  /// @param items one map entry (Args::map) per task, holding its arguments
  /// @param timeout each task's own deadline in seconds
  /// @return the ids, in item order (release them, e.g. through collect())
  /// @throw InvalidArgument naming the bad item and argument, UnknownKind
  std::vector<std::int64_t> spawn_many(std::string_view kind, Args items,
                                       Timeout timeout = std::nullopt);

  /// Reports the outcomes of finished tasks among ids, in order, and releases
  /// them, in one call into Go; it stops at the first unfinished task. An
  /// unknown id is reported with Status::NotFound.
  /// @param ids task ids
  /// @param n how many
  /// @param out receives the outcomes; their data views point into buffer
  /// @param buffer holds the data; reused across calls, grown when needed
  /// @return how many outcomes were reported (a prefix of ids)
  /// @throw RuntimeClosed
  std::size_t collect(const std::int64_t* ids, std::size_t n, std::vector<Outcome>& out,
                      std::string& buffer) const;

  /// Releases many tasks in one call (see release()).
  /// @param ids task ids
  /// @param n how many
  /// @throw RuntimeClosed
  void release_many(const std::int64_t* ids, std::size_t n) const;

  /// @param id a task id
  /// @return its status, Status::NotFound if it is unknown or released
  /// @throw RuntimeClosed
  Status status(std::int64_t id) const;

  /// Waits until the task finishes or the timeout passes.
  /// @param id a task id
  /// @param timeout seconds to wait; 0 only looks; std::nullopt waits for ever
  /// @return true if the task has finished
  /// @throw TaskNotFound, RuntimeClosed, InvalidArgument (bad timeout)
  bool wait(std::int64_t id, Timeout timeout) const;

  /// Waits like wait(), then returns the result of a completed task.
  /// @param id a task id
  /// @param timeout seconds to wait
  /// @return the result bytes
  /// @throw WaitTimeout, TaskFailed, TaskTimedOut, TaskCancelled, TaskNotFound
  std::string result(std::int64_t id, Timeout timeout) const;

  /// Waits like wait(), then hands the result of a completed task to sink,
  /// which is called once with the result's size and returns a buffer of at
  /// least that many bytes to copy it into. This lets a caller receive a large
  /// result straight into memory of its own, with a single copy.
  /// @param id a task id
  /// @param timeout seconds to wait
  /// @param sink a callable `char*(std::size_t size)`
  /// @return false if the timeout ran out first (sink not called)
  /// @throw TaskFailed, TaskTimedOut, TaskCancelled, TaskNotFound, RuntimeClosed
  template <class Sink>
  bool read_result(std::int64_t id, Timeout timeout, Sink&& sink) const;

  /// @param id a task id
  /// @return true if the task was unfinished and is now cancelled
  /// @throw TaskNotFound, RuntimeClosed
  bool cancel(std::int64_t id) const;

  /// @param id a task id
  /// @return the metadata of the finished task as a JSON object (an HTTP
  ///         status, an exit code...), or std::nullopt while it is unfinished
  /// @throw TaskNotFound, RuntimeClosed
  std::optional<std::string> meta_json(std::int64_t id) const;

  /// Removes the task from the table (cancelling it if unfinished). An unknown
  /// or released id is ignored.
  /// @param id a task id
  /// @throw RuntimeClosed
  void release(std::int64_t id) const;

  /// @return a consistent snapshot of the table's counters
  /// @throw RuntimeClosed
  Stats stats() const;

  /// Cancels every unfinished task and empties the table; the runtime and its
  /// tasks cannot be used afterwards. Closing twice does nothing.
  void close();

  /// @return whether close() was called
  bool closed() const noexcept;

  /// @return the concurrency limit given at construction (0: none)
  std::int64_t max_concurrency() const noexcept;

  /// @param other another runtime handle
  /// @return whether both are copies of the same runtime
  bool same_as(const Runtime& other) const noexcept { return state_ == other.state_; }

  /// @return a JSON document: Go version, GOMAXPROCS, the task kinds and their
  ///         parameters
  /// @throw ForkError
  static std::string info_json();

 private:
  friend class Task;
  friend class WaitSet;
  friend class Lane;
  friend class Channel;
  // Calls gogo_task_result once and returns its status code, throwing only
  // for a closed runtime, an unknown task or an internal error.
  int fetch(std::int64_t id, std::int64_t timeout_ns, char* buf, std::size_t cap, std::size_t* len,
            gogo_error& err) const;
  // fetch() that also throws for failed and cancelled tasks, leaving GOGO_OK,
  // GOGO_E_TIMEOUT and GOGO_E_BUFFER_TOO_SMALL (with the needed length).
  int result_call(std::int64_t id, std::int64_t timeout_ns, char* buf, std::size_t cap,
                  std::size_t* len) const;
  std::shared_ptr<detail::RuntimeState> state_;
};

template <class Sink>
bool Runtime::read_result(std::int64_t id, Timeout timeout, Sink&& sink) const {
  // Most results are small: try a buffer on the stack first, in the same call
  // as the wait; a larger result is copied straight into the sink's memory.
  char small[256];
  std::size_t len = 0;
  int rc = result_call(id, detail::timeout_ns(timeout, "timeout"), small, sizeof small, &len);
  if (rc == GOGO_E_TIMEOUT) return false;
  if (rc == GOGO_OK) {
    char* out = sink(len);
    if (len > 0) std::memcpy(out, small, len);
    return true;
  }
  // GOGO_E_BUFFER_TOO_SMALL: the task is finished; fetch again into the sink.
  char* out = sink(len);
  std::size_t len2 = 0;
  result_call(id, 0, out, len, &len2);
  return true;
}

}  // namespace gogoroutines

// The other concepts, so that this header gives everything (task.hpp needs
// Runtime defined above; it includes this header itself when included first).
#include "gogoroutines/channel.hpp"
#include "gogoroutines/lane.hpp"
#include "gogoroutines/task.hpp"
#include "gogoroutines/waitset.hpp"
