// lane.cpp: Lane, the items of one map run by Go.
#include "gogoroutines/lane.hpp"

#include <algorithm>
#include <utility>

#include "internal.hpp"

namespace gogoroutines {

Lane::Lane(const Runtime& runtime, std::string_view kind, std::int64_t concurrency, bool ordered,
           Timeout item_timeout)
    : runtime_(runtime) {
  detail::check_usable(*runtime_.state_);
  const std::int64_t deadline = detail::deadline_ns(item_timeout);
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
  detail::check_usable(*runtime_.state_);
  if (handle_ == 0) throw RuntimeClosed("the lane is closed");
  Args batch;
  batch.list("", std::move(items), Args::Ownership::View);
  gogo_error err{};
  const int rc = gogo_lane_feed(handle_, batch.data(), &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
}

std::size_t Lane::take(Timeout timeout, std::size_t max, std::size_t min_ready, double linger,
                       std::vector<Outcome>& out, std::string& buffer) {
  detail::check_usable(*runtime_.state_);
  if (handle_ == 0) throw RuntimeClosed("the lane is closed");
  if (max == 0) throw InvalidArgument("Lane::take needs room for at least one outcome");
  const std::int64_t timeout_ns = detail::timeout_ns(timeout, "timeout");
  const std::int64_t linger_ns = detail::timeout_ns(std::max(linger, 0.0), "linger");
  if (buffer.size() < buffer_wanted_) buffer.resize(buffer_wanted_);
  const std::size_t count = detail::fetch_outcomes(
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
  if (handle_ != 0 && !detail::forked()) gogo_lane_close(handle_);
  handle_ = 0;
}

}  // namespace gogoroutines
