// task.cpp: Status names and Task, the RAII handle of one task.
#include "gogoroutines/task.hpp"

#include <string>
#include <utility>

#include "internal.hpp"

namespace gogoroutines {

const char* to_string(Status status) noexcept {
  switch (status) {
    case Status::NotFound:
      return "NOT_FOUND";
    case Status::Running:
      return "RUNNING";
    case Status::Completed:
      return "COMPLETED";
    case Status::Failed:
      return "FAILED";
    case Status::Cancelled:
      return "CANCELLED";
    case Status::Queued:
      return "QUEUED";
  }
  return "UNKNOWN";
}

Task::Task(Runtime runtime, std::int64_t id, std::string_view kind)
    : runtime_(std::move(runtime)), id_(id), kind_(kind) {}

Task::Task(Task&& other) noexcept
    : runtime_(std::move(other.runtime_)),
      id_(other.id_),
      kind_(std::move(other.kind_)),
      closed_(other.closed_.exchange(true)),
      seen_(other.seen_.load()),
      cached_result_(std::move(other.cached_result_)) {}

Task& Task::operator=(Task&& other) noexcept {
  if (this != &other) {
    close();
    runtime_ = std::move(other.runtime_);
    id_ = other.id_;
    kind_ = std::move(other.kind_);
    closed_ = other.closed_.exchange(true);
    seen_ = other.seen_.load();
    cached_result_ = std::move(other.cached_result_);
  }
  return *this;
}

Task::~Task() { close(); }

void Task::check_open() const {
  if (closed_.load(std::memory_order_acquire)) {
    throw TaskNotFound(id_, "task " + std::to_string(id_) + " is closed");
  }
}

bool Task::cache_ready() const {
  if (seen_.load(std::memory_order_acquire) != kCached) return false;
  detail::check_usable(*runtime_.state_);  // a closed runtime is closed for cached tasks too
  return true;
}

void Task::remember(int code, const char* data, std::size_t len) const {
  int expected = kUnknown;
  if (code == GOGO_OK) {
    if (!seen_.compare_exchange_strong(expected, kWriting)) return;  // another thread did
    cached_result_.assign(data, len);
    seen_.store(kCached, std::memory_order_release);
  } else {
    seen_.compare_exchange_strong(expected, kFinished);
  }
}

Status Task::status() const {
  if (closed_.load(std::memory_order_acquire)) return Status::NotFound;
  if (cache_ready()) return Status::Completed;
  return runtime_.status(id_);
}

bool Task::done() const { return is_done(status()); }

bool Task::wait(Timeout timeout) const {
  check_open();
  if (cache_ready()) return true;
  // Wait by asking for the result: if it is small it comes back in the same
  // call and is kept, so the read that usually follows needs no call into Go.
  char small[kCacheLimit];
  std::size_t len = 0;
  gogo_error err{};
  const int rc =
      runtime_.fetch(id_, detail::timeout_ns(timeout, "timeout"), small, sizeof small, &len, err);
  gogo_error_clear(&err);  // a failure is reported by result(), not by wait()
  if (rc == GOGO_E_TIMEOUT) return false;
  remember(rc, small, len);
  return true;
}

std::string Task::result(Timeout timeout) const {
  std::string out;
  const bool done = read_result(timeout, [&out](std::size_t n) {
    out.resize(n);
    return out.data();
  });
  if (!done)
    throw WaitTimeout("task " + std::to_string(id_) + " did not finish before the timeout");
  return out;
}

bool Task::cancel() const {
  check_open();
  if (cache_ready()) return false;
  return runtime_.cancel(id_);
}

std::optional<std::string> Task::meta_json() const {
  check_open();
  return runtime_.meta_json(id_);
}

void Task::close() noexcept {
  if (closed_.exchange(true)) return;
  detail::RuntimeState* state = runtime_.state_.get();
  if (state == nullptr || !state->callable()) return;  // nothing left, or Go unreachable
  if (seen_.load(std::memory_order_acquire) == kCached) {
    state->release_later(id_);  // finished and small: no hurry, batch it
  } else {
    gogo_task_release(state->handle, id_);  // may cancel it or free a large result now
  }
}

}  // namespace gogoroutines
