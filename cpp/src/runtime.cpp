// runtime.cpp: Runtime, Task and Args over the C ABI of the Go archive.
#include "gogoroutines/runtime.hpp"

#include <pthread.h>

#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

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
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    throw InvalidArgument(std::string(what) + " must not be negative, got " + text);
  }
  if (seconds > kMaxSeconds) {
    throw InvalidArgument(std::string(what) +
                          " is too large (at most 100 years); use None for no limit");
  }
  return static_cast<std::int64_t>(seconds * 1e9);
}

// The shared state behind copies of a Runtime and the Tasks spawned from it.
struct RuntimeState {
  // Finished tasks whose Task handle was closed are released in batches:
  // one call into Go per kBatch closes instead of one per close.
  static constexpr std::size_t kBatch = 256;

  std::uint64_t handle = 0;
  std::int64_t max_concurrency = 0;
  std::atomic<bool> closed{false};
  std::mutex pending_mutex;
  std::vector<std::int64_t> pending_release;

  bool callable() const noexcept {
    return !closed.load(std::memory_order_acquire) && !forked_child.load(std::memory_order_relaxed);
  }

  // Releases a finished task later, with others (see kBatch).
  void release_later(std::int64_t id) noexcept {
    std::lock_guard<std::mutex> lock(pending_mutex);
    if (pending_release.capacity() < kBatch) pending_release.reserve(kBatch);
    pending_release.push_back(id);
    if (pending_release.size() >= kBatch) flush_locked();
  }

  // Releases the batch now (before a stats snapshot, so that it is exact).
  void flush() noexcept {
    std::lock_guard<std::mutex> lock(pending_mutex);
    flush_locked();
  }

  void flush_locked() noexcept {
    if (!pending_release.empty() && callable()) {
      gogo_task_release_many(handle, pending_release.data(), pending_release.size());
    }
    pending_release.clear();
  }

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

Args::Args(const Args& other) {
  args_.reserve(other.args_.size());
  for (const gogo_arg& arg : other.args_) {
    const std::string_view name(arg.name, arg.name_len);
    const std::string_view data(arg.data, arg.len);
    switch (arg.type) {
      case GOGO_ARG_STR:
        str(name, data);
        break;
      case GOGO_ARG_BYTES:
        bytes(name, data);
        break;
      case GOGO_ARG_INT:
        integer(name, arg.int_value);
        break;
      case GOGO_ARG_FLOAT:
        number(name, arg.float_value);
        break;
      case GOGO_ARG_BOOL:
        boolean(name, arg.int_value != 0);
        break;
      case GOGO_ARG_CHANNEL:
        add(name, GOGO_ARG_CHANNEL, Ownership::Copy).int_value = arg.int_value;
        break;
      case GOGO_ARG_LIST:
      case GOGO_ARG_MAP:
        for (const Args& items : other.nested_) {
          if (items.data() == arg.items) {
            if (arg.type == GOGO_ARG_LIST) {
              list(name, items);
            } else {
              map(name, items);
            }
            break;
          }
        }
        break;
      default:
        none(name);
    }
  }
}

Args& Args::operator=(const Args& other) {
  if (this != &other) *this = Args(other);
  return *this;
}

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

namespace {
// Validates a task's own deadline: positive seconds or none.
std::int64_t deadline_ns(Timeout timeout) {
  std::int64_t ns = detail::timeout_ns(timeout, "timeout");
  if (timeout) {
    if (*timeout <= 0) throw InvalidArgument("timeout must be positive or None");
    if (ns == 0) ns = 1;  // a positive timeout below 1 ns
  }
  return ns;
}
}  // namespace

std::int64_t Runtime::spawn(std::string_view kind, const Args& args, Timeout timeout) {
  check_usable(*state_);
  const std::int64_t deadline = deadline_ns(timeout);
  gogo_error err{};
  std::int64_t id = 0;
  std::int32_t state = GOGO_STATE_NOT_FOUND;
  const int rc = gogo_task_spawn(state_->handle, kind.data(), kind.size(), args.data(), args.size(),
                                 deadline, &id, &state, nullptr, 0, nullptr, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
  return id;
}

Task Runtime::go(std::string_view kind, const Args& args, Timeout timeout) {
  check_usable(*state_);
  const std::int64_t deadline = deadline_ns(timeout);
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
  check_usable(*state_);
  const std::int64_t deadline = deadline_ns(timeout);
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

namespace {
// Calls fetch(raw, buffer, cap, &count), a gogo_task_collect or gogo_lane_take,
// growing the buffer until the first outcome's data fits, and converts the raw
// outcomes into out (viewing buffer). Returns their number, 0 on GOGO_E_TIMEOUT.
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
      detail::throw_status(rc, err, 0);
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
}  // namespace

std::size_t Runtime::collect(const std::int64_t* ids, std::size_t n, std::vector<Outcome>& out,
                             std::string& buffer) const {
  check_usable(*state_);
  if (n == 0) {
    out.clear();
    return 0;
  }
  return fetch_outcomes(n, out, buffer,
                        [&](gogo_outcome* raw, char* buf, std::size_t cap, std::size_t* count) {
                          return gogo_task_collect(state_->handle, ids, n, raw, buf, cap, count);
                        });
}

void Runtime::release_many(const std::int64_t* ids, std::size_t n) const {
  check_usable(*state_);
  const int rc = gogo_task_release_many(state_->handle, ids, n);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, 0);
  }
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

int Runtime::fetch(std::int64_t id, std::int64_t timeout_ns, char* buf, std::size_t cap,
                   std::size_t* len, gogo_error& err) const {
  check_usable(*state_);
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
  check_usable(*state_);
  std::int32_t cancelled = 0;
  const int rc = gogo_task_cancel(state_->handle, id, &cancelled);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
  return cancelled != 0;
}

std::optional<std::string> Runtime::meta_json(std::int64_t id) const {
  check_usable(*state_);
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
  check_usable(*state_);
  const int rc = gogo_task_release(state_->handle, id);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, id);
  }
}

Stats Runtime::stats() const {
  check_usable(*state_);
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

// ---- Task ------------------------------------------------------------------

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
  check_usable(*runtime_.state_);  // a closed runtime is closed for cached tasks too
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

// ---- WaitSet ---------------------------------------------------------------

WaitSet::WaitSet(bool with_fd) {
  detail::check_not_forked();
  gogo_error err{};
  const int rc = gogo_waitset_new(with_fd ? 1 : 0, &handle_, &fd_, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
}

WaitSet::WaitSet(WaitSet&& other) noexcept
    : handle_(std::exchange(other.handle_, 0)), fd_(std::exchange(other.fd_, -1)) {}

WaitSet& WaitSet::operator=(WaitSet&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, 0);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

WaitSet::~WaitSet() { close(); }

void WaitSet::watch(const Runtime& runtime, const std::int64_t* ids, const std::uint64_t* tags,
                    std::size_t n) {
  check_usable(*runtime.state_);
  std::size_t failed = 0;
  const int rc = gogo_waitset_watch(handle_, runtime.state_->handle, ids, tags, n, &failed);
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, rc == GOGO_E_NOT_FOUND ? ids[failed] : 0);
  }
}

void WaitSet::watch(const Task& task, std::uint64_t tag) {
  task.check_open();
  const std::int64_t id = task.id();
  watch(task.runtime(), &id, &tag, 1);
}

std::size_t WaitSet::take(Timeout timeout, std::uint64_t* tags, std::size_t cap) {
  detail::check_not_forked();
  if (cap == 0) throw InvalidArgument("WaitSet::take needs room for at least one tag");
  std::size_t count = 0;
  const int rc =
      gogo_waitset_take(handle_, detail::timeout_ns(timeout, "timeout"), tags, cap, &count);
  if (rc == GOGO_E_TIMEOUT) return 0;
  if (rc != GOGO_OK) {
    gogo_error err{};
    detail::throw_status(rc, err, 0);
  }
  return count;
}

void WaitSet::close() noexcept {
  if (handle_ != 0 && !forked_child.load(std::memory_order_relaxed)) {
    gogo_waitset_close(handle_);
  }
  handle_ = 0;
  fd_ = -1;
}

// ---- Lane ------------------------------------------------------------------

Lane::Lane(const Runtime& runtime, std::string_view kind, std::int64_t concurrency, bool ordered,
           Timeout item_timeout)
    : runtime_(runtime) {
  check_usable(*runtime_.state_);
  const std::int64_t deadline = deadline_ns(item_timeout);
  gogo_error err{};
  const int rc = gogo_lane_open(runtime_.state_->handle, kind.data(), kind.size(), concurrency,
                                ordered ? 1 : 0, deadline, &handle_, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
}

Lane::Lane(Lane&& other) noexcept
    : runtime_(other.runtime_),
      handle_(std::exchange(other.handle_, 0)),
      buffer_wanted_(other.buffer_wanted_) {}

Lane& Lane::operator=(Lane&& other) noexcept {
  if (this != &other) {
    close();
    runtime_ = other.runtime_;
    handle_ = std::exchange(other.handle_, 0);
    buffer_wanted_ = other.buffer_wanted_;
  }
  return *this;
}

Lane::~Lane() { close(); }

void Lane::feed(Args items) {
  check_usable(*runtime_.state_);
  if (handle_ == 0) throw RuntimeClosed("the lane is closed");
  Args batch;
  batch.list("", std::move(items), Args::Ownership::View);
  gogo_error err{};
  const int rc = gogo_lane_feed(handle_, batch.data(), &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
}

std::size_t Lane::take(Timeout timeout, std::size_t max, std::size_t min_ready, double linger,
                       std::vector<Outcome>& out, std::string& buffer) {
  check_usable(*runtime_.state_);
  if (handle_ == 0) throw RuntimeClosed("the lane is closed");
  if (max == 0) throw InvalidArgument("Lane::take needs room for at least one outcome");
  const std::int64_t timeout_ns = detail::timeout_ns(timeout, "timeout");
  const std::int64_t linger_ns = detail::timeout_ns(std::max(linger, 0.0), "linger");
  if (buffer.size() < buffer_wanted_) buffer.resize(buffer_wanted_);
  const std::size_t count = fetch_outcomes(
      max, out, buffer, [&](gogo_outcome* raw, char* buf, std::size_t cap, std::size_t* n) {
        return gogo_lane_take(handle_, timeout_ns, min_ready, linger_ns, raw, max, buf, cap, n);
      });
  // Large outcomes filled the buffer: the next take gets room for more of
  // them, so that it is not one take (and one wake-up) per outcome. (Not
  // now: out views the buffer.)
  std::size_t used = 0;
  for (const Outcome& o : out) used += o.data.size();
  constexpr std::size_t kMaxBuffer = std::size_t{64} << 20;
  if (used > buffer.size() / 2) buffer_wanted_ = std::min(buffer.size() * 2, kMaxBuffer);
  return count;
}

void Lane::close() noexcept {
  if (handle_ != 0 && !forked_child.load(std::memory_order_relaxed)) gogo_lane_close(handle_);
  handle_ = 0;
}

// ---- Channel ---------------------------------------------------------------

// The handle of a channel, given back to Go when the last copy goes.
struct Channel::State {
  std::uint64_t handle = 0;
  ~State() {
    if (handle != 0 && !forked_child.load(std::memory_order_relaxed)) {
      gogo_channel_release(handle);
    }
  }
};

Channel::Channel(std::int64_t capacity) : state_(std::make_shared<State>()) {
  detail::check_not_forked();
  gogo_error err{};
  const int rc = gogo_channel_new(0, capacity, &state_->handle, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
}

std::uint64_t Channel::handle() const noexcept { return state_->handle; }

namespace {
// Takes a Go-allocated item and returns a copy.
Item take_item(char* data, std::size_t len, std::int32_t text) {
  Item item{std::string(data, len), text != 0};
  gogo_free(data);
  return item;
}

[[noreturn]] void throw_channel(int rc) {
  gogo_error err{};
  detail::throw_status(rc, err, 0);
}
}  // namespace

bool Channel::send(std::string_view data, bool text, Timeout timeout) const {
  detail::check_not_forked();
  const int rc = gogo_channel_send(state_->handle, data.data(), data.size(), text ? 1 : 0,
                                   detail::timeout_ns(timeout, "timeout"));
  if (rc == GOGO_E_TIMEOUT) return false;
  if (rc != GOGO_OK) throw_channel(rc);
  return true;
}

std::optional<Item> Channel::recv(Timeout timeout) const {
  detail::check_not_forked();
  char* data = nullptr;
  std::size_t len = 0;
  std::int32_t text = 0;
  const int rc =
      gogo_channel_recv(state_->handle, detail::timeout_ns(timeout, "timeout"), &data, &len, &text);
  if (rc == GOGO_E_TIMEOUT) return std::nullopt;
  if (rc != GOGO_OK) throw_channel(rc);
  return take_item(data, len, text);
}

void Channel::close() const {
  detail::check_not_forked();
  gogo_channel_close(state_->handle);
}

std::size_t Channel::size() const {
  detail::check_not_forked();
  std::int64_t n = 0;
  const int rc = gogo_channel_len(state_->handle, &n);
  if (rc != GOGO_OK) throw_channel(rc);
  return static_cast<std::size_t>(n);
}

std::optional<Item> Channel::select(const std::vector<const Channel*>& channels, Timeout timeout,
                                    std::size_t& index) {
  detail::check_not_forked();
  if (channels.empty()) throw InvalidArgument("select needs at least one channel");
  std::vector<std::uint64_t> handles;
  handles.reserve(channels.size());
  for (const Channel* ch : channels) handles.push_back(ch->handle());
  char* data = nullptr;
  std::size_t len = 0;
  std::int32_t text = 0;
  index = channels.size();
  const int rc =
      gogo_channel_select(handles.data(), handles.size(), detail::timeout_ns(timeout, "timeout"),
                          &index, &data, &len, &text);
  if (rc == GOGO_E_TIMEOUT) {
    index = channels.size();
    return std::nullopt;
  }
  if (rc == GOGO_E_CHANNEL_CLOSED) return std::nullopt;
  if (rc != GOGO_OK) throw_channel(rc);
  return take_item(data, len, text);
}

Args& Args::channel(std::string_view name, const Channel& ch, Ownership own) {
  add(name, GOGO_ARG_CHANNEL, own).int_value = static_cast<std::int64_t>(ch.handle());
  return *this;
}

}  // namespace gogoroutines
