// channel.hpp: Channel, a Go channel shared by this program and its tasks.
//
//     gogoroutines::Channel ch(16);
//     gogoroutines::Task t = rt.go("exec", gogoroutines::Args()
//                                             .list("argv", gogoroutines::Args().str("", "ls"))
//                                             .channel("stream", ch));
//     while (std::optional<gogoroutines::Item> item = ch.recv(5.0)) { ... }  // until closed
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gogoroutines/timeout.hpp"

namespace gogoroutines {

class Runtime;

/// One value received from a Channel: bytes, and whether they were sent as text.
struct Item {
  std::string data;   ///< the item's bytes
  bool text = false;  ///< whether they were sent as text (UTF-8)
};

/// A Go channel shared by this program and its tasks: send and receive items
/// with timeouts, close it, select over several. Copies share the channel.
/// Tasks of kinds that stream (exec, http) send into it and close it at the end.
class Channel {
 public:
  /// A channel of no runtime: it is closed by close() only.
  /// @param capacity how many items it buffers; 0: a send waits for a receiver
  /// @throw InvalidArgument for a negative or too large capacity, ForkError
  explicit Channel(std::int64_t capacity = 0);
  /// A channel of runtime: closing the runtime closes it too.
  /// @param runtime the runtime that closes it
  /// @param capacity how many items it buffers; 0: a send waits for a receiver
  /// @throw InvalidArgument for a negative or too large capacity, RuntimeClosed, ForkError
  explicit Channel(const Runtime& runtime, std::int64_t capacity = 0);
  /// @param data the item's bytes
  /// @param text whether they are text (come out as text)
  /// @param timeout seconds to wait; 0 only tries; std::nullopt waits for ever
  /// @return false if the timeout ran out first
  /// @throw ChannelClosed if the channel is closed
  bool send(std::string_view data, bool text, Timeout timeout = std::nullopt) const;
  /// @param timeout seconds to wait; 0 only tries; std::nullopt waits for ever
  /// @return the item, or std::nullopt if the timeout ran out first
  /// @throw ChannelClosed once the channel is closed and empty
  std::optional<Item> recv(Timeout timeout = std::nullopt) const;
  /// Closes the channel: sends fail, receives drain what is left. Idempotent.
  void close() const;
  /// @return how many items wait in the buffer
  std::size_t size() const;
  /// @return the handle Go knows the channel by
  std::uint64_t handle() const noexcept;
  /// Receives from the first of channels to have an item.
  /// @param channels the channels
  /// @param timeout seconds to wait
  /// @param index set to the index of the channel that answered
  /// @return its item; std::nullopt with index set if that channel is closed
  ///         and empty; std::nullopt with index == channels.size() on timeout
  /// @throw InvalidArgument if channels is empty
  static std::optional<Item> select(const std::vector<const Channel*>& channels, Timeout timeout,
                                    std::size_t& index);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gogoroutines
