// runtime.cpp: Runtime and its shared state over the C ABI of the Go archive,
// and the guard against use in a forked child.
#include "gogoroutines/runtime.hpp"

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace gogoroutines {

namespace {

// Set in the child of a fork(): the Go runtime's threads do not exist there,
// so any call into Go would hang for ever. Every entry point checks it.
std::atomic<bool> forked_child{false};

void on_fork_child() { forked_child.store(true, std::memory_order_relaxed); }

// Registered when this library is loaded, which is also when the Go runtime
// (started by the c-archive's initializer) begins to exist.
[[maybe_unused]] const int atfork_registered = pthread_atfork(nullptr, nullptr, &on_fork_child);

}  // namespace

namespace detail {

bool forked() noexcept { return forked_child.load(std::memory_order_relaxed); }

void check_not_forked() {
  if (forked()) {
    throw ForkError(
        "gogoroutines cannot be used in a process forked after the Go runtime started: "
        "Go's threads do not survive fork(). Start child processes with the 'spawn' or "
        "'forkserver' method (multiprocessing.set_start_method or get_context), or fork "
        "before the first use of gogoroutines.");
  }
}

void RuntimeState::release_later(std::int64_t id) noexcept {
  std::lock_guard<std::mutex> lock(pending_mutex);
  if (pending_release.capacity() < kBatch) pending_release.reserve(kBatch);
  pending_release.push_back(id);
  if (pending_release.size() >= kBatch) flush_locked();
}

void RuntimeState::flush() noexcept {
  std::lock_guard<std::mutex> lock(pending_mutex);
  flush_locked();
}

void RuntimeState::flush_locked() noexcept {
  if (!pending_release.empty() && callable()) {
    gogo_task_release_many(handle, pending_release.data(), pending_release.size());
  }
  pending_release.clear();
}

void RuntimeState::close() noexcept {
  if (closed.exchange(true)) return;
  if (!forked()) gogo_runtime_close(handle);
}

}  // namespace detail

std::string Stats::to_string() const {
  return "Total: " + std::to_string(total) + ", Active: " + std::to_string(active) +
         ", Completed: " + std::to_string(completed) + ", Failed: " + std::to_string(failed) +
         ", Go Routines: " + std::to_string(goroutines);
}

Runtime::Runtime(std::int64_t max_concurrency) {
  detail::check_not_forked();
  if (max_concurrency < 0) {
    throw InvalidArgument("max_concurrency must be a positive int or None, got " +
                          std::to_string(max_concurrency));
  }
  auto state = std::make_shared<detail::RuntimeState>();
  gogo_error err{};
  const int rc = gogo_runtime_new(max_concurrency, &state->handle, &err);
  if (rc != GOGO_OK) {
    state->closed = true;  // nothing to close in Go
    detail::throw_status(rc, err, 0);
  }
  state->max_concurrency = max_concurrency;
  state_ = std::move(state);
}

std::int64_t Runtime::spawn(std::string_view kind, const Args& args, Timeout timeout) {
  detail::check_usable(*state_);
  const std::int64_t deadline = detail::deadline_ns(timeout);
  gogo_error err{};
  std::int64_t id = 0;
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  const int rc = gogo_task_spawn(state_->handle, kind.data(), kind.size(), args.data(), args.size(),
                                 deadline, &id, &state, nullptr, 0, nullptr, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
  return id;
}

Task Runtime::go(std::string_view kind, const Args& args, Timeout timeout) {
  detail::check_usable(*state_);
  const std::int64_t deadline = detail::deadline_ns(timeout);
  gogo_error err{};
  std::int64_t id = 0;
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  char small[Task::kCacheLimit];
  std::size_t len = 0;
  const int rc = gogo_task_spawn(state_->handle, kind.data(), kind.size(), args.data(), args.size(),
                                 deadline, &id, &state, small, sizeof small, &len, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
  Task task(*this, id, kind);
  if (state == GOGO_STATE_COMPLETED) {
    // Finished during the spawn: keep the result if Go copied it.
    task.remember(len <= sizeof small ? GOGO_OK : GOGO_E_BUFFER_TOO_SMALL, small, len);
  }
  return task;
}

std::vector<std::int64_t> Runtime::spawn_many(std::string_view kind, Args items, Timeout timeout) {
  detail::check_usable(*state_);
  const std::int64_t deadline = detail::deadline_ns(timeout);
  const std::size_t n = items.size();
  Args batch;
  batch.list("", std::move(items), Args::Ownership::View);
  std::vector<std::int64_t> ids(n);
  gogo_error err{};
  const int rc = gogo_task_spawn_many(state_->handle, kind.data(), kind.size(), batch.data(),
                                      deadline, ids.data(), &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
  return ids;
}

std::size_t Runtime::collect(const std::int64_t* ids, std::size_t n, std::vector<Outcome>& out,
                             std::string& buffer) const {
  detail::check_usable(*state_);
  if (n == 0) {
    out.clear();
    return 0;
  }
  return detail::fetch_outcomes(
      n, out, buffer, [&](gogo_outcome* raw, char* buf, std::size_t cap, std::size_t* count) {
        return gogo_task_collect(state_->handle, ids, n, raw, buf, cap, count);
      });
}

void Runtime::release_many(const std::int64_t* ids, std::size_t n) const {
  detail::check_usable(*state_);
  const int rc = gogo_task_release_many(state_->handle, ids, n);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, 0);
  }
}

Status Runtime::status(std::int64_t id) const {
  detail::check_usable(*state_);
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  const int rc = gogo_task_status(state_->handle, id, &state);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
  return static_cast<Status>(state);
}

bool Runtime::wait(std::int64_t id, Timeout timeout) const {
  detail::check_usable(*state_);
  const std::int64_t ns = detail::timeout_ns(timeout, "timeout");
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  const int rc = gogo_task_wait(state_->handle, id, ns, &state);
  if (rc == GOGO_OK) return true;
  if (rc == GOGO_E_TIMEOUT) return false;
  gogo_error err{};
  detail::throw_status(rc, err, id);
}

int Runtime::fetch(std::int64_t id, std::int64_t timeout_ns, char* buf, std::size_t cap,
                   std::size_t* len, gogo_error& err) const {
  detail::check_usable(*state_);
  const int rc = gogo_task_result(state_->handle, id, timeout_ns, buf, cap, len, &err);
  if (rc == GOGO_E_CLOSED || rc == GOGO_E_NOT_FOUND || rc == GOGO_E_INTERNAL) {
    detail::throw_status(rc, err, id);
  }
  return rc;
}

int Runtime::result_call(std::int64_t id, std::int64_t timeout_ns, char* buf, std::size_t cap,
                         std::size_t* len) const {
  gogo_error err{};
  const int rc = fetch(id, timeout_ns, buf, cap, len, err);
  if (rc == GOGO_OK || rc == GOGO_E_TIMEOUT || rc == GOGO_E_BUFFER_TOO_SMALL) return rc;
  detail::throw_status(rc, err, id);
}

std::string Runtime::result(std::int64_t id, Timeout timeout) const {
  std::string out;
  const bool done = read_result(id, timeout, [&out](std::size_t n) {
    out.resize(n);
    return out.data();
  });
  if (!done) {
    gogo_error err{};
    detail::throw_status(GOGO_E_TIMEOUT, err, id);
  }
  return out;
}

bool Runtime::cancel(std::int64_t id) const {
  detail::check_usable(*state_);
  std::int32_t cancelled = 0;
  const int rc = gogo_task_cancel(state_->handle, id, &cancelled);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
  return cancelled != 0;
}

std::optional<std::string> Runtime::meta_json(std::int64_t id) const {
  detail::check_usable(*state_);
  char* json = nullptr;
  std::size_t len = 0;
  const int rc = gogo_task_meta(state_->handle, id, &json, &len);
  if (rc == GOGO_E_TIMEOUT) return std::nullopt;
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
  std::string out(json, len);
  gogo_free(json);
  return out;
}

void Runtime::release(std::int64_t id) const {
  detail::check_usable(*state_);
  const int rc = gogo_task_release(state_->handle, id);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
}

Stats Runtime::stats() const {
  detail::check_usable(*state_);
  state_->flush();
  gogo_stats s{};
  const int rc = gogo_runtime_stats(state_->handle, &s);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, 0);
  }
  return Stats{s.total, s.active, s.queued, s.completed, s.failed, s.cancelled, s.goroutines};
}

void Runtime::close() { state_->close(); }

bool Runtime::closed() const noexcept { return state_->closed.load(std::memory_order_acquire); }

std::int64_t Runtime::max_concurrency() const noexcept { return state_->max_concurrency; }

std::string Runtime::info_json() {
  detail::check_not_forked();
  char* json = nullptr;
  std::size_t len = 0;
  const int rc = gogo_info(&json, &len);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, 0);
  }
  std::string out(json, len);
  gogo_free(json);
  return out;
}

}  // namespace gogoroutines
