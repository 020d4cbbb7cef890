// channel.cpp: Channel, a Go channel shared by this program and its tasks.
#include "gogoroutines/channel.hpp"

#include "gogoroutines/runtime.hpp"
#include "internal.hpp"

namespace gogoroutines {

// The handle of a channel, given back to Go when the last copy goes.
struct Channel::State {
  std::uint64_t handle = 0;
  ~State() {
    if (handle != 0 && !detail::forked()) gogo_channel_release(handle);
  }
};

namespace {
// Creates a channel of the runtime with this handle (0: none).
std::uint64_t new_channel(std::uint64_t runtime, std::int64_t capacity) {
  detail::check_not_forked();
  gogo_error err{};
  std::uint64_t handle = 0;
  const int rc = gogo_channel_new(runtime, capacity, &handle, &err);
  if (rc != GOGO_OK) detail::throw_status(rc, err, 0);
  return handle;
}
}  // namespace

Channel::Channel(std::int64_t capacity) : state_(std::make_shared<State>()) {
  state_->handle = new_channel(0, capacity);
}

Channel::Channel(const Runtime& runtime, std::int64_t capacity)
    : state_(std::make_shared<State>()) {
  state_->handle = new_channel(runtime.state_->handle, capacity);
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

}  // namespace gogoroutines
