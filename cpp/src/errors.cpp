// errors.cpp: the one place where status codes of the C ABI become C++
// exceptions.
#include "gogoroutines/errors.hpp"

#include <string>

#include "internal.hpp"

namespace gogoroutines::detail {

namespace {

// Takes ownership of a Go-allocated string and returns a copy.
std::string take(char*& text, std::size_t& len) {
  std::string copy = text ? std::string(text, len) : std::string();
  gogo_free(text);
  text = nullptr;
  len = 0;
  return copy;
}

}  // namespace

void throw_status(int status, gogo_error& err, std::int64_t task_id) {
  const std::string message = take(err.message, err.message_len);
  const std::string stack = take(err.stack, err.stack_len);
  const std::string task = "task " + std::to_string(task_id);
  switch (status) {
    case GOGO_E_INVALID_ARGUMENT:
      throw InvalidArgument(message);
    case GOGO_E_UNKNOWN_KIND:
      throw UnknownKind(message);
    case GOGO_E_NOT_FOUND:
      throw TaskNotFound(task_id, task + " not found (it was never spawned, or was closed)");
    case GOGO_E_TIMEOUT:
      throw WaitTimeout(task + " did not finish before the timeout");
    case GOGO_E_TASK_CANCELLED:
      throw TaskCancelled(task + " was cancelled");
    case GOGO_E_CLOSED:
      throw RuntimeClosed("the runtime is closed");
    case GOGO_E_CHANNEL_CLOSED:
      throw ChannelClosed("the channel is closed");
    case GOGO_E_TASK_FAILED:
      if (err.code == GOGO_FAILURE_TIMEOUT) throw TaskTimedOut(message, message, stack);
      throw TaskFailed(message, message, stack);
    case GOGO_E_INTERNAL:
      throw InternalError(message.empty() ? "internal error in gogoroutines" : message);
    default:
      throw InternalError("unexpected status " + std::to_string(status) + " from the Go runtime");
  }
}

}  // namespace gogoroutines::detail
