// waitset.hpp: WaitSet, "wait for any of these tasks" without polling.
//
//     gogoroutines::WaitSet ws;
//     ws.watch(a, 1);
//     ws.watch(b, 2);
//     std::uint64_t tags[2];
//     std::size_t n = ws.take(5.0, tags, 2);  // the tags of the first to finish
#pragma once

#include <cstddef>
#include <cstdint>

#include "gogoroutines/timeout.hpp"

namespace gogoroutines {

class Runtime;
class Task;

/// Collects the completions of watched tasks, of any runtime, in the order
/// they happen: "wait for any of these" without polling. Optionally it has a
/// file descriptor that becomes readable when completions are ready, for an
/// event loop to watch. Move-only; closed when destroyed. Closing it wakes
/// a take() waiting in another thread, which then throws RuntimeClosed (the
/// object itself must outlive that take()).
class WaitSet {
 public:
  /// @param with_fd whether to create the file descriptor (see fd())
  /// @throw ForkError
  explicit WaitSet(bool with_fd = false);
  /// Takes over other's wait set; other is left closed.
  /// @param other the wait set to move from
  WaitSet(WaitSet&& other) noexcept;
  /// Closes this wait set, then takes over other's; other is left closed.
  /// @param other the wait set to move from
  /// @return *this
  WaitSet& operator=(WaitSet&& other) noexcept;
  WaitSet(const WaitSet&) = delete;
  WaitSet& operator=(const WaitSet&) = delete;
  /// Closes the wait set: see close().
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
  /// @throw TaskNotFound (for the first unknown id; earlier ones are watched), RuntimeClosed
  void watch(const Runtime& runtime, const std::int64_t* ids, const std::uint64_t* tags,
             std::size_t n);
  /// @param task a task to watch
  /// @param tag the caller's tag for it
  /// @throw TaskNotFound if the task is closed, RuntimeClosed
  void watch(const Task& task, std::uint64_t tag);
  /// Waits until a watched task has finished or the timeout passes.
  /// @param timeout seconds; 0 only looks; std::nullopt waits for ever
  /// @param tags where to write the tags of finished tasks, oldest first
  /// @param cap room in tags (at least 1)
  /// @return how many tags were written; 0 if the timeout ran out
  /// @throw RuntimeClosed if the wait set is closed, InvalidArgument
  std::size_t take(Timeout timeout, std::uint64_t* tags, std::size_t cap);
  /// Closes the wait set and its file descriptor; closing twice is fine.
  void close() noexcept;

 private:
  std::uint64_t handle_ = 0;
  int fd_ = -1;
};

}  // namespace gogoroutines
