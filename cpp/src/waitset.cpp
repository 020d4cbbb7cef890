// waitset.cpp: WaitSet, the completions of watched tasks in the order they happen.
#include "gogoroutines/waitset.hpp"

#include <utility>

#include "gogoroutines/task.hpp"
#include "internal.hpp"

namespace gogoroutines {

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
  detail::check_usable(*runtime.state_);
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
  if (handle_ != 0 && !detail::forked()) gogo_waitset_close(handle_);
  handle_ = 0;
  fd_ = -1;
}

}  // namespace gogoroutines
