// runtime.cpp: Runtime, Task and Args over the C ABI of the Go archive.
#include "gogoroutines/runtime.hpp"

#include <pthread.h>

#include <cmath>
#include <string>
#include <utility>

namespace gogoroutines {

namespace {

// Set in the child of a fork(): the Go runtime's threads do not exist there,
// so any call into Go would hang for ever. Every entry point checks it.
std::atomic<bool> forked_child{false};

void on_fork_child() { forked_child.store(true, std::memory_order_relaxed); }

// Registered when this library is loaded, which is also when the Go runtime
// (started by the c-archive's initializer) begins to exist.
[[maybe_unused]] const int atfork_registered = pthread_atfork(nullptr, nullptr, &on_fork_child);

// Longest timeout or deadline accepted, in seconds (100 years): anything
// larger is a mistake, and `std::nullopt` already means "no limit".
constexpr double kMaxSeconds = 100.0 * 365 * 24 * 3600;

}  // namespace

namespace detail {

void check_not_forked() {
  if (forked_child.load(std::memory_order_relaxed)) {
    throw ForkError(
        "gogoroutines cannot be used in a process forked after the Go runtime started: "
        "Go's threads do not survive fork(). Start child processes with the 'spawn' or "
        "'forkserver' method (multiprocessing.set_start_method or get_context), or fork "
        "before the first use of gogoroutines.");
  }
}

std::int64_t timeout_ns(Timeout timeout, const char* what) {
  if (!timeout) return -1;
  const double seconds = *timeout;
  if (std::isnan(seconds)) {
    throw InvalidArgument(std::string(what) + " must be a number of seconds, got NaN");
  }
  if (seconds < 0) {
    throw InvalidArgument(std::string(what) + " must not be negative, got " +
                          std::to_string(seconds));
  }
  if (seconds > kMaxSeconds) {
    throw InvalidArgument(std::string(what) +
                          " is too large (at most 100 years); use None for no limit");
  }
  return static_cast<std::int64_t>(seconds * 1e9);
}

// The shared state behind copies of a Runtime and the Tasks spawned from it.
struct RuntimeState {
  std::uint64_t handle = 0;
  std::int64_t max_concurrency = 0;
  std::atomic<bool> closed{false};

  void close() noexcept {
    if (closed.exchange(true)) return;
    if (!forked_child.load(std::memory_order_relaxed)) gogo_runtime_close(handle);
  }
  ~RuntimeState() { close(); }
};

}  // namespace detail

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

std::string Stats::to_string() const {
  return "Total: " + std::to_string(total) + ", Active: " + std::to_string(active) +
         ", Completed: " + std::to_string(completed) + ", Failed: " + std::to_string(failed) +
         ", Go Routines: " + std::to_string(goroutines);
}

// ---- Args ------------------------------------------------------------------

std::string_view Args::keep(std::string_view text, Ownership own) {
  if (own == Ownership::View) return text;
  return keep(std::string(text));
}

std::string_view Args::keep(std::string&& text) {
  copies_.push_back(std::move(text));
  return copies_.back();
}

gogo_arg& Args::add(std::string_view name, std::int32_t type, Ownership own) {
  const std::string_view kept = keep(name, own);
  gogo_arg& arg = args_.emplace_back();
  arg.name = kept.data();
  arg.name_len = kept.size();
  arg.type = type;
  arg.int_value = 0;
  arg.float_value = 0;
  arg.data = nullptr;
  arg.len = 0;
  arg.items = nullptr;
  return arg;
}

Args& Args::str(std::string_view name, std::string_view text, Ownership own) {
  const std::string_view kept = keep(text, own);
  gogo_arg& arg = add(name, GOGO_ARG_STR, own);
  arg.data = kept.data();
  arg.len = kept.size();
  return *this;
}

Args& Args::bytes(std::string_view name, std::string_view data, Ownership own) {
  const std::string_view kept = keep(data, own);
  gogo_arg& arg = add(name, GOGO_ARG_BYTES, own);
  arg.data = kept.data();
  arg.len = kept.size();
  return *this;
}

Args& Args::integer(std::string_view name, std::int64_t value, Ownership own) {
  add(name, GOGO_ARG_INT, own).int_value = value;
  return *this;
}

Args& Args::number(std::string_view name, double value, Ownership own) {
  add(name, GOGO_ARG_FLOAT, own).float_value = value;
  return *this;
}

Args& Args::boolean(std::string_view name, bool value, Ownership own) {
  add(name, GOGO_ARG_BOOL, own).int_value = value ? 1 : 0;
  return *this;
}

Args& Args::none(std::string_view name, Ownership own) {
  add(name, GOGO_ARG_NONE, own);
  return *this;
}

Args& Args::list(std::string_view name, Args items, Ownership own) {
  nested_.push_back(std::move(items));  // a list node never moves: items stay valid
  gogo_arg& arg = add(name, GOGO_ARG_LIST, own);
  arg.items = nested_.back().data();
  arg.len = nested_.back().size();
  return *this;
}

Args& Args::map(std::string_view name, Args entries, Ownership own) {
  list(name, std::move(entries), own);
  args_.back().type = GOGO_ARG_MAP;
  return *this;
}

// ---- Runtime ---------------------------------------------------------------

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

namespace {
// Throws unless the runtime can be called into.
inline void check_usable(const detail::RuntimeState& state) {
  detail::check_not_forked();
  if (state.closed.load(std::memory_order_acquire)) throw RuntimeClosed("the runtime is closed");
}
}  // namespace

std::int64_t Runtime::spawn(std::string_view kind, const Args& args, Timeout timeout) {
  check_usable(*state_);
  std::int64_t deadline = detail::timeout_ns(timeout, "timeout");
  if (timeout) {
    if (*timeout <= 0) throw InvalidArgument("timeout must be positive or None");
    if (deadline == 0) deadline = 1;  // a positive timeout below 1 ns
  }
  gogo_error err{};
  std::int64_t id = 0;
  const int rc = gogo_task_spawn(state_->handle, kind.data(), kind.size(), args.data(),
                                 args.size(), deadline, &id, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
  return id;
}

Task Runtime::go(std::string_view kind, const Args& args, Timeout timeout) {
  const std::int64_t id = spawn(kind, args, timeout);
  return Task(*this, id, kind);
}

Status Runtime::status(std::int64_t id) const {
  check_usable(*state_);
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  const int rc = gogo_task_status(state_->handle, id, &state);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
  return static_cast<Status>(state);
}

bool Runtime::wait(std::int64_t id, Timeout timeout) const {
  check_usable(*state_);
  const std::int64_t ns = detail::timeout_ns(timeout, "timeout");
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  const int rc = gogo_task_wait(state_->handle, id, ns, &state);
  if (rc == GOGO_OK) return true;
  if (rc == GOGO_E_TIMEOUT) return false;
  gogo_error err{};
  detail::throw_status(rc, err, id);
}

int Runtime::result_call(std::int64_t id, std::int64_t timeout_ns, char* buf, std::size_t cap,
                         std::size_t* len) const {
  check_usable(*state_);
  gogo_error err{};
  const int rc = gogo_task_result(state_->handle, id, timeout_ns, buf, cap, len, &err);
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
  check_usable(*state_);
  std::int32_t cancelled = 0;
  const int rc = gogo_task_cancel(state_->handle, id, &cancelled);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
  return cancelled != 0;
}

void Runtime::release(std::int64_t id) const {
  check_usable(*state_);
  const int rc = gogo_task_release(state_->handle, id);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
}

Stats Runtime::stats() const {
  check_usable(*state_);
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

// ---- Task ------------------------------------------------------------------

Task::Task(Runtime runtime, std::int64_t id, std::string_view kind)
    : runtime_(std::move(runtime)), id_(id), kind_(kind) {}

Task::Task(Task&& other) noexcept
    : runtime_(std::move(other.runtime_)),
      id_(other.id_),
      kind_(std::move(other.kind_)),
      closed_(other.closed_.exchange(true)) {}

Task& Task::operator=(Task&& other) noexcept {
  if (this != &other) {
    close();
    runtime_ = std::move(other.runtime_);
    id_ = other.id_;
    kind_ = std::move(other.kind_);
    closed_ = other.closed_.exchange(true);
  }
  return *this;
}

Task::~Task() { close(); }

void Task::check_open() const {
  if (closed_.load(std::memory_order_acquire)) {
    throw TaskNotFound(id_, "task " + std::to_string(id_) + " is closed");
  }
}

Status Task::status() const {
  if (closed_.load(std::memory_order_acquire)) return Status::NotFound;
  return runtime_.status(id_);
}

bool Task::done() const { return is_done(status()); }

bool Task::wait(Timeout timeout) const {
  check_open();
  return runtime_.wait(id_, timeout);
}

std::string Task::result(Timeout timeout) const {
  check_open();
  return runtime_.result(id_, timeout);
}

bool Task::cancel() const {
  check_open();
  return runtime_.cancel(id_);
}

void Task::close() noexcept {
  if (closed_.exchange(true)) return;
  const detail::RuntimeState* state = runtime_.state_.get();
  if (state == nullptr || state->closed.load(std::memory_order_acquire) ||
      forked_child.load(std::memory_order_relaxed)) {
    return;  // nothing left to release, or Go cannot be called here
  }
  gogo_task_release(state->handle, id_);
}

}  // namespace gogoroutines
