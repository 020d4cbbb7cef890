// lane.hpp: Lane, the items of one map, run by Go and handed back in batches.
//
//     gogoroutines::Lane lane(rt, "echo", /*concurrency=*/64, /*ordered=*/true);
//     gogoroutines::Args items;
//     for (int i = 0; i < 1000; ++i) {
//       items.map("", gogoroutines::Args().str("data", std::to_string(i)));
//     }
//     lane.feed(std::move(items));
//     std::vector<gogoroutines::Outcome> out;
//     std::string buffer;
//     lane.take(5.0, 1000, 1000, 0.0, out, buffer);  // out[i].data == std::to_string(i)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gogoroutines/args.hpp"
#include "gogoroutines/runtime.hpp"
#include "gogoroutines/task.hpp"
#include "gogoroutines/timeout.hpp"

namespace gogoroutines {

/// The items of one map, run by Go: fed in batches of argument maps, run at
/// most `concurrency` at once (a finishing item starts the next fed one with
/// no call from here), their outcomes taken in batches, in input order or as
/// they finish. Items are not tasks of the table: they have no handle, and
/// each outcome is handed out once. They count in the runtime's stats and
/// share its max_concurrency. Move-only; closing (or destroying) it cancels
/// what still runs. One thread at a time may use it.
class Lane {
 public:
  /// @param runtime the runtime to run the items on (kept alive by the lane)
  /// @param kind the task kind of every item
  /// @param concurrency how many items run at once, at most (>= 1)
  /// @param ordered take() hands outcomes out in input order, else as the
  ///        items finish
  /// @param item_timeout each item's own deadline in seconds, or none
  /// @throw UnknownKind, InvalidArgument, RuntimeClosed
  Lane(const Runtime& runtime, std::string_view kind, std::int64_t concurrency, bool ordered,
       Timeout item_timeout = std::nullopt);
  /// Takes over other's lane; other is left closed.
  /// @param other the lane to move from
  Lane(Lane&& other) noexcept;
  /// Closes this lane, then takes over other's; other is left closed.
  /// @param other the lane to move from
  /// @return *this
  Lane& operator=(Lane&& other) noexcept;
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;
  /// Closes the lane: see close().
  ~Lane();

  /// Adds items after those fed before. Every item is validated first: a bad
  /// one adds nothing.
  /// @param items one map entry (Args::map) of arguments per item; moved in
  /// @throw InvalidArgument naming the item's index in the whole input and
  ///        the argument, RuntimeClosed
  void feed(Args items);
  /// Waits until an outcome is ready or the timeout passes, then (to batch
  /// wake-ups) until min_ready are ready, nothing runs, or linger seconds
  /// have passed since the first was ready.
  /// @param timeout seconds; 0 only looks; std::nullopt waits for ever
  /// @param max at most this many outcomes (>= 1)
  /// @param min_ready how many outcomes are worth waiting for once one is ready
  /// @param linger how long, at most, to wait for them (seconds)
  /// @param out the outcomes (id only names an item in messages); their data
  ///        views buffer, valid until the next take()
  /// @param buffer holds the data; reused across calls, grown when needed
  /// @return how many outcomes; 0 if the timeout ran out
  /// @throw RuntimeClosed (the lane or its runtime is closed), InvalidArgument
  std::size_t take(Timeout timeout, std::size_t max, std::size_t min_ready, double linger,
                   std::vector<Outcome>& out, std::string& buffer);
  /// Closes the lane: running items are cancelled, the rest dropped. Idempotent.
  void close() noexcept;

 private:
  Runtime runtime_;
  std::uint64_t handle_ = 0;
  std::size_t buffer_wanted_ = 0;  // the size take() gives the buffer next
};

}  // namespace gogoroutines
