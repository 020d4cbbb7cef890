// runtime.hpp: the C++ core of gogoroutines: RAII Runtime and Task over the C
// ABI of the Go archive (go/gogo_abi.h).
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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gogo_abi.h"
#include "gogoroutines/errors.hpp"

namespace gogoroutines {

class Channel;

/// Where a task is in its life. The numbers are those of the C ABI.
enum class Status : int {
  NotFound = GOGO_STATE_NOT_FOUND,   ///< unknown id, or the task was released
  Running = GOGO_STATE_RUNNING,      ///< started, not finished
  Completed = GOGO_STATE_COMPLETED,  ///< finished with a result
  Failed = GOGO_STATE_FAILED,        ///< finished with an error (or its timeout passed)
  Cancelled = GOGO_STATE_CANCELLED,  ///< cancelled before it finished
  Queued = GOGO_STATE_QUEUED,        ///< waiting for a slot under max_concurrency
};

/// @return the name of a status ("RUNNING", "COMPLETED", ...)
const char* to_string(Status status) noexcept;

/// @return whether the status is final (completed, failed or cancelled)
constexpr bool is_done(Status status) noexcept {
  return status == Status::Completed || status == Status::Failed || status == Status::Cancelled;
}

/// A consistent snapshot of a runtime's task table:
/// total == active + completed + failed + cancelled, and queued <= active.
struct Stats {
  std::int64_t total = 0;       ///< tasks in the table (spawned and not yet released)
  std::int64_t active = 0;      ///< of those, queued or running
  std::int64_t queued = 0;      ///< of the active ones, waiting for a slot
  std::int64_t completed = 0;   ///< finished with a result
  std::int64_t failed = 0;      ///< finished with an error
  std::int64_t cancelled = 0;   ///< cancelled before they finished
  std::int64_t goroutines = 0;  ///< goroutines in the whole Go runtime (runtime.NumGoroutine)

  /// @return "Total: T, Active: A, Completed: C, Failed: F, Go Routines: G",
  ///         exactly the format of the PHP extension this project ports
  std::string to_string() const;
};

/// The named arguments of a task. Setters return *this so calls chain.
///
/// By default names and payloads are copied into the Args. With
/// Ownership::View they are not: the caller keeps that memory alive until the
/// spawn that uses these Args has returned (Go copies what it keeps).
class Args {
 public:
  /// Whether a setter copies its strings (Copy) or only points at them (View).
  enum class Ownership { Copy, View };

  Args() = default;
  /// A deep copy: the copy owns all its names and payloads (even viewed ones).
  Args(const Args& other);
  Args& operator=(const Args& other);
  Args(Args&&) noexcept = default;
  Args& operator=(Args&&) noexcept = default;
  ~Args() = default;

  /// @param name argument name
  /// @param text UTF-8 text
  /// @param own whether to copy name and text
  /// @return *this
  Args& str(std::string_view name, std::string_view text, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param data raw bytes (may contain NUL bytes)
  /// @param own whether to copy name and data
  /// @return *this
  Args& bytes(std::string_view name, std::string_view data, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param value an integer
  /// @param own whether to copy name
  /// @return *this
  Args& integer(std::string_view name, std::int64_t value, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param value a floating-point number
  /// @param own whether to copy name
  /// @return *this
  Args& number(std::string_view name, double value, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param value a boolean
  /// @param own whether to copy name
  /// @return *this
  Args& boolean(std::string_view name, bool value, Ownership own = Ownership::Copy);
  /// An explicit "no value": the kind's default applies.
  /// @param name argument name
  /// @param own whether to copy name
  /// @return *this
  Args& none(std::string_view name, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param items the list's items (their names are ignored); moved in
  /// @param own whether to copy name
  /// @return *this
  Args& list(std::string_view name, Args items, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param entries the map's entries, keyed by their names; moved in
  /// @param own whether to copy name
  /// @return *this
  Args& map(std::string_view name, Args entries, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param ch a channel (e.g. for the `stream` argument of exec and http)
  /// @param own whether to copy name
  /// @return *this
  Args& channel(std::string_view name, const Channel& ch, Ownership own = Ownership::Copy);
  /// Reserves room for n arguments.
  /// @param n how many arguments will be set
  void reserve(std::size_t n) { args_.reserve(n); }

  /// @return the arguments in the C ABI's layout
  const gogo_arg* data() const noexcept { return args_.data(); }
  /// @return how many arguments are set
  std::size_t size() const noexcept { return args_.size(); }

 private:
  gogo_arg& add(std::string_view name, std::int32_t type, Ownership own);
  std::string_view keep(std::string_view text, Ownership own);
  std::string_view keep(std::string&& text);

  std::vector<gogo_arg> args_;
  std::list<std::string> copies_;  // a list: its strings never move
  std::list<Args> nested_;         // items of list and map arguments
};

/// How one finished task ended, as Runtime::collect() and Lane::take() report it.
struct Outcome {
  std::int64_t id = 0;
  Status status = Status::NotFound;
  bool timed_out = false;  ///< failed because its own deadline passed
  std::string_view data;   ///< the result, or a failed task's error message
};

/// A timeout in seconds; std::nullopt waits without limit.
using Timeout = std::optional<double>;

class Task;
class WaitSet;

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
  /// them, in one call into Go; it stops at the first unfinished task.
  /// @param ids task ids
  /// @param n how many
  /// @param out receives the outcomes; their data views point into buffer
  /// @param buffer holds the data; reused across calls, grown when needed
  /// @return how many outcomes were reported (a prefix of ids)
  std::size_t collect(const std::int64_t* ids, std::size_t n, std::vector<Outcome>& out,
                      std::string& buffer) const;

  /// Releases many tasks in one call (see release()).
  /// @param ids task ids
  /// @param n how many
  void release_many(const std::int64_t* ids, std::size_t n) const;

  /// @param id a task id
  /// @return its status, Status::NotFound if it is unknown or released
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
  static std::string info_json();

 private:
  friend class Task;
  friend class WaitSet;
  friend class Lane;
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
  Status status() const;
  /// @return whether the task is completed, failed or cancelled
  bool done() const;
  /// @param timeout seconds to wait; 0 only looks; std::nullopt waits for ever
  /// @return true if the task has finished
  bool wait(Timeout timeout = std::nullopt) const;
  /// @param timeout seconds to wait
  /// @return the result bytes
  /// @throw WaitTimeout, TaskFailed, TaskTimedOut, TaskCancelled
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
  bool cancel() const;
  /// @return the task's metadata as a JSON object, std::nullopt while unfinished
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

/// Collects the completions of watched tasks, of any runtime, in the order
/// they happen: "wait for any of these" without polling. Optionally it has a
/// file descriptor that becomes readable when completions are ready, for an
/// event loop to watch. Move-only; closed when destroyed.
class WaitSet {
 public:
  /// @param with_fd whether to create the file descriptor (see fd())
  explicit WaitSet(bool with_fd = false);
  WaitSet(WaitSet&& other) noexcept;
  WaitSet& operator=(WaitSet&& other) noexcept;
  WaitSet(const WaitSet&) = delete;
  WaitSet& operator=(const WaitSet&) = delete;
  ~WaitSet();

  /// @return the read end of a non-blocking pipe that becomes readable when
  ///         completions are ready (drain it, then take()), or -1
  int fd() const noexcept { return fd_; }
  /// Watches tasks of one runtime: take() hands back tags[i] once ids[i] has
  /// finished (at once if it has already).
  /// @param runtime the runtime of the tasks
  /// @param ids task ids
  /// @param tags the caller's tag for each task
  /// @param n how many tasks
  /// @throw TaskNotFound (for the first unknown id; earlier ones are watched)
  void watch(const Runtime& runtime, const std::int64_t* ids, const std::uint64_t* tags,
             std::size_t n);
  /// @param task a task to watch
  /// @param tag the caller's tag for it
  void watch(const Task& task, std::uint64_t tag);
  /// Waits until a watched task has finished or the timeout passes.
  /// @param timeout seconds; 0 only looks; std::nullopt waits for ever
  /// @param tags where to write the tags of finished tasks, oldest first
  /// @param cap room in tags (at least 1)
  /// @return how many tags were written; 0 if the timeout ran out
  std::size_t take(Timeout timeout, std::uint64_t* tags, std::size_t cap);
  /// Closes the wait set and its file descriptor; closing twice is fine.
  void close() noexcept;

 private:
  std::uint64_t handle_ = 0;
  int fd_ = -1;
};

/// The items of one map, run by Go: fed in batches of argument maps, run at
/// most `concurrency` at once (a finishing item starts the next fed one with
/// no call from here), their outcomes taken in batches, in input order or as
/// they finish. Items are not tasks of the table: they have no handle, and
/// each outcome is handed out once. They count in the runtime's stats and
/// share its max_concurrency. Move-only; closing (or destroying) it cancels
/// what still runs.
class Lane {
 public:
  /// @param runtime the runtime to run the items on (kept alive by the lane)
  /// @param kind the task kind of every item
  /// @param concurrency how many items run at once, at most (>= 1)
  /// @param ordered take() hands outcomes out in input order, else as the
  ///        items finish
  /// @param item_timeout each item's own deadline in seconds, or none
  /// @throw UnknownKind, InvalidArgument, RuntimeClosed
  Lane(const Runtime& runtime, std::string_view kind, std::int64_t concurrency, bool ordered,
       Timeout item_timeout = std::nullopt);
  Lane(Lane&& other) noexcept;
  Lane& operator=(Lane&& other) noexcept;
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;
  ~Lane();

  /// Adds items after those fed before. Every item is validated first: a bad
  /// one adds nothing.
  /// @param items one map entry (Args::map) of arguments per item; moved in
  /// @throw InvalidArgument naming the item's index in the whole input and
  ///        the argument, RuntimeClosed
  void feed(Args items);
  /// Waits until an outcome is ready or the timeout passes, then (to batch
  /// wake-ups) until min_ready are ready, nothing runs, or linger seconds
  /// have passed since the first was ready.
  /// @param timeout seconds; 0 only looks; std::nullopt waits for ever
  /// @param max at most this many outcomes (>= 1)
  /// @param out the outcomes (id only names an item in messages); their data
  ///        views buffer, valid until the next take()
  /// @return how many outcomes; 0 if the timeout ran out
  std::size_t take(Timeout timeout, std::size_t max, std::size_t min_ready, double linger,
                   std::vector<Outcome>& out, std::string& buffer);
  /// Closes the lane: running items are cancelled, the rest dropped. Idempotent.
  void close() noexcept;

 private:
  Runtime runtime_;
  std::uint64_t handle_ = 0;
  std::size_t buffer_wanted_ = 0;  // the size take() gives the buffer next
};

/// One value received from a Channel: bytes, and whether they were sent as text.
struct Item {
  std::string data;
  bool text = false;
};

/// A Go channel shared by this program and its tasks: send and receive items
/// with timeouts, close it, select over several. Copies share the channel.
/// Tasks of kinds that stream (exec, http) send into it and close it at the end.
class Channel {
 public:
  /// @param capacity how many items it buffers; 0: a send waits for a receiver
  explicit Channel(std::int64_t capacity = 0);
  /// @param data the item's bytes
  /// @param text whether they are text (come out as text)
  /// @param timeout seconds to wait; 0 only tries; std::nullopt waits for ever
  /// @return false if the timeout ran out first
  /// @throw ChannelClosed if the channel is closed
  bool send(std::string_view data, bool text, Timeout timeout = std::nullopt) const;
  /// @param timeout seconds to wait; 0 only tries; std::nullopt waits for ever
  /// @return the item, or std::nullopt if the timeout ran out first
  /// @throw ChannelClosed once the channel is closed and empty
  std::optional<Item> recv(Timeout timeout = std::nullopt) const;
  /// Closes the channel: sends fail, receives drain what is left. Idempotent.
  void close() const;
  /// @return how many items wait in the buffer
  std::size_t size() const;
  /// @return the handle Go knows the channel by
  std::uint64_t handle() const noexcept;
  /// Receives from the first of channels to have an item.
  /// @param channels the channels
  /// @param timeout seconds to wait
  /// @param index set to the index of the channel that answered
  /// @return its item; std::nullopt with index set if that channel is closed
  ///         and empty; std::nullopt with index == channels.size() on timeout
  static std::optional<Item> select(const std::vector<const Channel*>& channels, Timeout timeout,
                                    std::size_t& index);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

namespace detail {
/// Converts a timeout in seconds to the ABI's nanoseconds (-1: no limit).
/// @throw InvalidArgument for NaN, negative or absurdly large values
std::int64_t timeout_ns(Timeout timeout, const char* what);
/// Throws the exception for an ABI status code, consuming err's strings.
[[noreturn]] void throw_status(int status, gogo_error& err, std::int64_t task_id);
/// Throws ForkError in a process forked after the Go runtime started.
void check_not_forked();
}  // namespace detail

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
