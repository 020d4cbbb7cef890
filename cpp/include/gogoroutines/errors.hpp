// errors.hpp: the one exception hierarchy of the gogoroutines C++ core.
//
// Every status code of the C ABI maps to exactly one of these classes (see
// cpp/src/errors.cpp). The Python binding maps each class to a Python
// exception that also derives from the built-in a Python user would catch.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gogoroutines {

/// Base of every error raised by gogoroutines.
class Error : public std::runtime_error {
 public:
  /// @param message what happened (may contain NUL bytes; see message())
  explicit Error(const std::string& message) : std::runtime_error(message), message_(message) {}
  /// @return the whole message, NUL bytes included (what() stops at the first)
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

/// A bad argument: a task kind's argument, a timeout, a concurrency limit.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// The task kind named in a spawn is not registered.
class UnknownKind : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// No task with this id in this runtime (never spawned, or closed/released).
class TaskNotFound : public Error {
 public:
  /// @param task_id the id that was looked up
  /// @param message what happened, naming the id
  TaskNotFound(std::int64_t task_id, const std::string& message)
      : Error(message), task_id_(task_id) {}
  /// @return the id that was looked up
  std::int64_t task_id() const noexcept { return task_id_; }

 private:
  std::int64_t task_id_;
};

/// The runtime was closed; it can no longer be used.
class RuntimeClosed : public Error {
 public:
  using Error::Error;
};

/// A wait ran out of time while the task was still queued or running.
class WaitTimeout : public Error {
 public:
  using Error::Error;
};

/// The task was cancelled before it finished.
class TaskCancelled : public Error {
 public:
  using Error::Error;
};

/// The task failed: its work returned an error or panicked.
class TaskFailed : public Error {
 public:
  /// @param message the whole message shown to the user
  /// @param go_error the error text reported by Go
  /// @param go_stack the Go stack of a panic, or empty
  TaskFailed(const std::string& message, std::string go_error, std::string go_stack)
      : Error(message), go_error_(std::move(go_error)), go_stack_(std::move(go_stack)) {}
  /// @return the error text reported by Go
  const std::string& go_error() const noexcept { return go_error_; }
  /// @return the Go stack of a panic, or an empty string
  const std::string& go_stack() const noexcept { return go_stack_; }

 private:
  std::string go_error_;
  std::string go_stack_;
};

/// The task failed because its own deadline (its `timeout`) passed.
class TaskTimedOut : public TaskFailed {
 public:
  using TaskFailed::TaskFailed;
};

/// A send on a closed channel, or a receive on a closed channel left empty.
class ChannelClosed : public Error {
 public:
  using Error::Error;
};

/// The process was forked after the Go runtime started; Go cannot run here.
class ForkError : public Error {
 public:
  using Error::Error;
};

/// A bug inside gogoroutines (a recovered Go panic in an export).
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace gogoroutines
