// test_core.cpp: tests of the C++ core, linked against the Go archive and run
// by ctest. A tiny runner: each TEST is a function; CHECK records a failure
// and goes on; the program prints "N passed, M failed" and exits non-zero on
// any failure.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gogoroutines/runtime.hpp"

namespace gg = gogoroutines;

namespace {

struct TestCase {
  const char* name;
  std::function<void()> body;
};
std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
int failures_in_test = 0;

struct Register {
  Register(const char* name, std::function<void()> body) {
    registry().push_back({name, std::move(body)});
  }
};

#define TEST(name)                                    \
  void test_##name();                                 \
  const Register register_##name(#name, test_##name); \
  void test_##name()

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::printf("  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures_in_test;                                                    \
    }                                                                        \
  } while (0)

// CHECK_THROWS(Type, expr, needle): expr throws Type whose what() contains needle.
#define CHECK_THROWS(Type, expr, needle)                                                    \
  do {                                                                                      \
    bool thrown = false;                                                                    \
    try {                                                                                   \
      (void)(expr);                                                                         \
    } catch (const Type& e) {                                                               \
      thrown = std::string(e.what()).find(needle) != std::string::npos;                     \
      if (!thrown) std::printf("  %s:%d: message was: %s\n", __FILE__, __LINE__, e.what()); \
    } catch (const std::exception& e) {                                                     \
      std::printf("  %s:%d: wrong exception: %s\n", __FILE__, __LINE__, e.what());          \
    }                                                                                       \
    if (!thrown) {                                                                          \
      std::printf("  %s:%d: expected %s from %s\n", __FILE__, __LINE__, #Type, #expr);      \
      ++failures_in_test;                                                                   \
    }                                                                                       \
  } while (0)

bool invariant_holds(const gg::Stats& s) {
  return s.total == s.active + s.completed + s.failed + s.cancelled && s.queued <= s.active;
}

}  // namespace

TEST(the_php_extensions_kinds_return_its_strings) {
  gg::Runtime rt;
  gg::Task a = rt.go("goroutine");
  gg::Task b = rt.go("task", gg::Args().str("task", "Fetch users"));
  gg::Task c = rt.go("delayed", gg::Args().integer("delay_ms", 20));
  CHECK(a.result(10.0) == "Goroutine completed successfully!");
  CHECK(b.result(10.0) == "Task 'Fetch users' completed!");
  CHECK(c.result(10.0) == "Callback executed after 20ms");
  CHECK(a.status() == gg::Status::Completed);
  CHECK(a.id() == 1 && b.id() == 2 && c.id() == 3);
  CHECK(c.kind() == "delayed");
}

TEST(echo_keeps_nul_bytes_and_large_payloads) {
  gg::Runtime rt;
  const std::string small("a\0b\0c", 5);
  CHECK(rt.go("echo", gg::Args().bytes("data", small)).result(5.0) == small);
  std::string big(3 * 1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  gg::Task t = rt.go("echo", gg::Args().bytes("data", big, gg::Args::Ownership::View));
  CHECK(t.result(5.0) == big);
  // read_result hands a large result to the sink in one piece.
  std::vector<char> sink_buffer;
  const bool done = t.read_result(5.0, [&](std::size_t n) {
    sink_buffer.resize(n);
    return sink_buffer.data();
  });
  CHECK(done);
  CHECK(std::string(sink_buffer.begin(), sink_buffer.end()) == big);
}

TEST(bad_kinds_and_arguments_throw_naming_them) {
  gg::Runtime rt;
  CHECK_THROWS(gg::UnknownKind, rt.go("nope"), "unknown task kind 'nope'");
  CHECK_THROWS(gg::InvalidArgument, rt.go("nope"), "echo");
  CHECK_THROWS(gg::InvalidArgument, rt.go("sleep"), "'seconds' is required");
  CHECK_THROWS(gg::InvalidArgument, rt.go("sleep", gg::Args().str("seconds", "1")), "'seconds'");
  CHECK_THROWS(gg::InvalidArgument, rt.go("sleep", gg::Args().number("seconds", -1)), "negative");
  CHECK_THROWS(gg::InvalidArgument, rt.go("sleep", gg::Args().number("seconds", NAN)), "NaN");
  CHECK_THROWS(gg::InvalidArgument, rt.go("echo", gg::Args().str("data", "x").integer("extra", 1)),
               "'extra'");
  CHECK_THROWS(gg::InvalidArgument, rt.go("goroutine", gg::Args(), -1.0), "timeout");
  CHECK_THROWS(gg::InvalidArgument, rt.go("goroutine", gg::Args(), 0.0), "timeout");
  CHECK_THROWS(gg::InvalidArgument, rt.go("goroutine", gg::Args(), NAN), "NaN");
  CHECK_THROWS(gg::InvalidArgument, gg::Runtime(-1), "max_concurrency");
  gg::Task t = rt.go("goroutine");
  CHECK_THROWS(gg::InvalidArgument, t.wait(-1.0), "negative");
  CHECK_THROWS(gg::InvalidArgument, t.wait(1e30), "too large");
  CHECK(rt.stats().total == 1);  // nothing half-spawned stays behind
}

TEST(wait_timeout_cancel_and_task_deadline) {
  gg::Runtime rt;
  gg::Task slow = rt.go("sleep", gg::Args().number("seconds", 30));
  CHECK(!slow.wait(0.0));
  CHECK(!slow.wait(0.02));
  CHECK_THROWS(gg::WaitTimeout, slow.result(0.01), "did not finish");
  CHECK(slow.status() == gg::Status::Running);
  CHECK(slow.cancel());
  CHECK(slow.status() == gg::Status::Cancelled);
  CHECK(slow.wait(1.0));
  CHECK(!slow.cancel());  // already finished
  CHECK_THROWS(gg::TaskCancelled, slow.result(1.0), "cancelled");

  gg::Task late = rt.go("sleep", gg::Args().integer("seconds", 30), 0.05);
  CHECK_THROWS(gg::TaskTimedOut, late.result(10.0), "timed out");
  CHECK(late.status() == gg::Status::Failed);
  try {
    late.result(1.0);
  } catch (const gg::TaskFailed& e) {
    CHECK(e.go_error().find("timed out") != std::string::npos);
  }
}

TEST(tasks_release_themselves_and_stats_add_up) {
  gg::Runtime rt;
  {
    std::vector<gg::Task> tasks;
    for (int i = 0; i < 50; ++i) tasks.push_back(rt.go("echo", gg::Args().str("data", "x")));
    for (auto& t : tasks) CHECK(t.result(5.0) == "x");
    const gg::Stats s = rt.stats();
    CHECK(s.total == 50 && s.completed == 50 && s.active == 0);
    CHECK(invariant_holds(s));
    tasks.front().close();
    tasks.front().close();  // twice is fine
    CHECK(tasks.front().status() == gg::Status::NotFound);
    CHECK_THROWS(gg::TaskNotFound, tasks.front().result(0.0), "closed");
    CHECK(rt.stats().total == 49);
  }
  CHECK(rt.stats().total == 0);
  CHECK(rt.stats().to_string().rfind("Total: 0, Active: 0, Completed: 0, Failed: 0, Go Routines: ",
                                     0) == 0);
}

TEST(id_api_like_the_php_extensions) {
  gg::Runtime rt;
  const std::int64_t id = rt.spawn("delayed", gg::Args().integer("delay_ms", 10));
  CHECK(rt.status(id) == gg::Status::Running);
  CHECK(rt.wait(id, 5.0));
  CHECK(rt.result(id, 0.0) == "Callback executed after 10ms");
  rt.release(id);
  rt.release(id);
  CHECK(rt.status(id) == gg::Status::NotFound);
  CHECK_THROWS(gg::TaskNotFound, rt.wait(id, 0.0), "not found");
  CHECK_THROWS(gg::TaskNotFound, rt.result(12345, 0.0), "task 12345");
}

TEST(max_concurrency_queues_the_rest) {
  gg::Runtime rt(2);
  std::vector<gg::Task> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(rt.go("sleep", gg::Args().number("seconds", 0.05)));
  const gg::Stats s = rt.stats();
  CHECK(s.active == 5 && s.queued == 3);
  CHECK(tasks[4].status() == gg::Status::Queued);
  CHECK(tasks[4].cancel());  // a queued task can be cancelled
  for (int i = 0; i < 4; ++i) CHECK(tasks[i].wait(10.0));
  CHECK(tasks[4].status() == gg::Status::Cancelled);
  CHECK(invariant_holds(rt.stats()));
}

TEST(closing_the_runtime_cancels_and_forbids_use) {
  gg::Runtime rt;
  gg::Task t = rt.go("sleep", gg::Args().number("seconds", 30));
  gg::Runtime copy = rt;
  copy.close();
  copy.close();
  CHECK(rt.closed());
  CHECK_THROWS(gg::RuntimeClosed, rt.go("goroutine"), "closed");
  CHECK_THROWS(gg::RuntimeClosed, t.wait(0.0), "closed");
  CHECK_THROWS(gg::RuntimeClosed, rt.stats(), "closed");
}

TEST(threads_share_one_runtime) {
  gg::Runtime rt;
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&rt, &bad, k] {
      for (int i = 0; i < 2000; ++i) {
        const std::string data = std::to_string(k) + ":" + std::to_string(i);
        gg::Task t = rt.go("echo", gg::Args().str("data", data));
        if (t.result(10.0) != data) ++bad[k];
        if (i % 100 == 0 && !invariant_holds(rt.stats())) ++bad[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < 4; ++k) CHECK(bad[k] == 0);
  CHECK(rt.stats().total == 0);
}

TEST(wait_set_hands_back_tags_in_completion_order) {
  gg::Runtime rt;
  gg::Runtime other;
  gg::WaitSet ws;
  gg::Task slow = rt.go("sleep", gg::Args().number("seconds", 0.2));
  gg::Task fast = other.go("sleep", gg::Args().number("seconds", 0.01));
  gg::Task done = rt.go("echo", gg::Args().str("data", "x"));
  ws.watch(slow, 10);
  ws.watch(fast, 20);
  ws.watch(done, 30);
  std::uint64_t tags[8];
  CHECK(ws.take(5.0, tags, 8) >= 1 && tags[0] == 30);  // finished before it was watched
  std::vector<std::uint64_t> order;
  while (order.size() < 2) {
    const std::size_t n = ws.take(5.0, tags, 8);
    CHECK(n > 0);
    if (n == 0) break;
    order.insert(order.end(), tags, tags + n);
  }
  CHECK(order == (std::vector<std::uint64_t>{20, 10}));
  CHECK(ws.take(0.0, tags, 8) == 0);
  CHECK(ws.take(0.01, tags, 8) == 0);
  gg::Task cancelled = rt.go("sleep", gg::Args().number("seconds", 30));
  ws.watch(cancelled, 40);
  cancelled.cancel();
  CHECK(ws.take(5.0, tags, 8) == 1 && tags[0] == 40);
  gg::Task closed = rt.go("echo", gg::Args().str("data", "y"));
  closed.close();
  CHECK_THROWS(gg::TaskNotFound, ws.watch(closed, 50), "closed");
}

TEST(wait_set_fd_becomes_readable) {
  gg::Runtime rt;
  gg::WaitSet ws(true);
  CHECK(ws.fd() >= 0);
  char byte = 0;
  CHECK(read(ws.fd(), &byte, 1) == -1);  // nothing yet (non-blocking)
  gg::Task t = rt.go("sleep", gg::Args().number("seconds", 0.01));
  ws.watch(t, 7);
  pollfd pfd{ws.fd(), POLLIN, 0};
  CHECK(poll(&pfd, 1, 5000) == 1);
  CHECK(read(ws.fd(), &byte, 1) == 1);
  std::uint64_t tag = 0;
  CHECK(ws.take(0.0, &tag, 1) == 1 && tag == 7);
}

TEST(batches_spawn_and_collect_in_one_call) {
  gg::Runtime rt;
  gg::Args items;
  for (int i = 0; i < 100; ++i) items.map("", gg::Args().str("data", "item " + std::to_string(i)));
  items.map("", gg::Args().number("seconds", 30));  // wrong kind of argument for echo
  CHECK_THROWS(gg::InvalidArgument, rt.spawn_many("echo", std::move(items)), "item 100");
  CHECK(rt.stats().total == 0);  // nothing of a bad batch was spawned

  gg::Args good;
  for (int i = 0; i < 100; ++i) good.map("", gg::Args().str("data", std::string(i * 100, 'x')));
  const std::vector<std::int64_t> ids = rt.spawn_many("echo", std::move(good));
  CHECK(ids.size() == 100 && ids.front() == 1 && ids.back() == 100);
  std::vector<gg::Outcome> out;
  std::string buffer;
  std::size_t seen = 0;
  while (seen < ids.size()) {
    const std::size_t n = rt.collect(ids.data() + seen, ids.size() - seen, out, buffer);
    CHECK(n > 0);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(out[i].id == ids[seen + i] && out[i].status == gg::Status::Completed);
      CHECK(out[i].data.size() == (seen + i) * 100);
    }
    seen += n;
  }
  CHECK(rt.stats().total == 0);  // collected tasks are released

  gg::Args slow;
  slow.map("", gg::Args().number("seconds", 30));
  const std::vector<std::int64_t> running = rt.spawn_many("sleep", std::move(slow), 0.01);
  CHECK(rt.wait(running[0], 5.0));
  CHECK(rt.collect(running.data(), 1, out, buffer) == 1 && out[0].timed_out);
}

TEST(lanes_run_fed_items_and_hand_out_outcomes_in_order) {
  gg::Runtime rt;
  gg::Lane lane(rt, "echo", 8, /*ordered=*/true);
  for (int from = 0; from < 300; from += 100) {
    gg::Args items;
    for (int i = from; i < from + 100; ++i) {
      items.map("", gg::Args().str("data", std::string(static_cast<std::size_t>(i) * 700, 'x')));
    }
    lane.feed(std::move(items));
  }
  gg::Args bad;
  bad.map("", gg::Args().number("data", 1));
  CHECK_THROWS(gg::InvalidArgument, lane.feed(std::move(bad)), "item 300");
  std::vector<gg::Outcome> out;
  std::string buffer;
  std::size_t seen = 0;
  while (seen < 300) {
    const std::size_t n = lane.take(5.0, 64, 1, 0.001, out, buffer);
    CHECK(n > 0);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(out[i].status == gg::Status::Completed && out[i].data.size() == (seen + i) * 700);
    }
    seen += n;
  }
  CHECK(lane.take(0, 64, 1, 0, out, buffer) == 0);  // nothing left
  CHECK(rt.stats().total == 0);

  gg::Lane sleepers(rt, "sleep", 2, /*ordered=*/false, 0.05);
  gg::Args naps;
  for (int i = 0; i < 5; ++i) naps.map("", gg::Args().number("seconds", 30));
  sleepers.feed(std::move(naps));
  CHECK(rt.stats().active == 5 && rt.stats().queued == 3);
  std::size_t timed_out = 0;
  while (timed_out < 5) {
    const std::size_t n = sleepers.take(5.0, 8, 1, 0, out, buffer);
    CHECK(n > 0);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) timed_out += out[i].timed_out ? 1 : 0;
  }
  gg::Args more;
  more.map("", gg::Args().number("seconds", 30));
  sleepers.feed(std::move(more));
  sleepers.close();  // cancels it
  CHECK(rt.stats().total == 0);
  CHECK_THROWS(gg::RuntimeClosed, sleepers.take(0, 1, 1, 0, out, buffer), "closed");
  CHECK_THROWS(gg::UnknownKind, gg::Lane(rt, "nope", 1, true), "nope");
  CHECK_THROWS(gg::InvalidArgument, gg::Lane(rt, "echo", 0, true), "concurrency");
}

TEST(channels_carry_items_and_streams) {
  gg::Channel ch(2);
  CHECK(ch.send(std::string("a\0b", 3), false, 1.0));
  CHECK(ch.send("text", true, 1.0));
  CHECK(!ch.send("full", true, 0.01));  // buffer of 2 is full
  CHECK(ch.size() == 2);
  std::optional<gg::Item> item = ch.recv(1.0);
  CHECK(item && item->data == std::string("a\0b", 3) && !item->text);
  ch.close();
  item = ch.recv(1.0);  // what was sent before the close still comes out
  CHECK(item && item->data == "text" && item->text);
  CHECK_THROWS(gg::ChannelClosed, ch.recv(1.0), "closed");
  CHECK_THROWS(gg::ChannelClosed, ch.send("late", true, 1.0), "closed");

  gg::Runtime rt;
  gg::Channel lines;
  gg::Task t =
      rt.go("exec", gg::Args()
                        .list("argv", gg::Args().str("", "printf").str("", "one\ntwo\nthree"))
                        .channel("stream", lines));
  std::vector<std::string> got;
  try {
    while (std::optional<gg::Item> line = lines.recv(5.0)) got.push_back(line->data);
  } catch (const gg::ChannelClosed&) {
  }
  CHECK(got == (std::vector<std::string>{"one", "two", "three"}));
  CHECK(t.result(5.0).empty());

  gg::Channel a, b(1);
  CHECK(b.send("from b", true, 1.0));
  std::size_t index = 99;
  item = gg::Channel::select({&a, &b}, 1.0, index);
  CHECK(item && index == 1 && item->data == "from b");
  item = gg::Channel::select({&a, &b}, 0.01, index);
  CHECK(!item && index == 2);  // timeout
  a.close();
  item = gg::Channel::select({&a, &b}, 1.0, index);
  CHECK(!item && index == 0);  // closed and empty
}

TEST(closing_a_runtime_closes_its_channels) {
  gg::Channel standalone(1);
  std::optional<gg::Channel> owned;
  {
    gg::Runtime rt;
    owned.emplace(rt, 1);
    CHECK(owned->send("kept", true, 1.0));
    rt.close();
    CHECK_THROWS(gg::RuntimeClosed, gg::Channel(rt, 1), "closed");
  }
  // Closed by the runtime: what was sent drains, then the end.
  CHECK(owned->recv(1.0)->data == "kept");
  CHECK_THROWS(gg::ChannelClosed, owned->recv(1.0), "closed");
  CHECK(standalone.send("still open", true, 1.0));
}

TEST(info_lists_go_version_and_kinds) {
  const std::string info = gg::Runtime::info_json();
  // The limits, read through their own export, are those of the document.
  const gg::Limits& limits = gg::limits();
  CHECK(info.find("\"max_value_depth\":" + std::to_string(limits.max_value_depth)) !=
        std::string::npos);
  CHECK(info.find("\"max_timeout_ns\":" + std::to_string(limits.max_timeout_ns)) !=
        std::string::npos);
  CHECK_THROWS(gg::InvalidArgument, gg::detail::timeout_ns(limits.max_timeout_ns / 1e9 * 2, "t"),
               "too large");
  CHECK(info.find("\"go_version\":\"go") != std::string::npos);
  for (const char* kind : {"goroutine", "task", "delayed", "sleep", "echo"}) {
    CHECK(info.find(std::string("\"name\":\"") + kind + "\"") != std::string::npos);
  }
}

int main() {
  int passed = 0;
  int failed = 0;
  for (const TestCase& test : registry()) {
    failures_in_test = 0;
    try {
      test.body();
    } catch (const std::exception& e) {
      std::printf("  uncaught exception: %s\n", e.what());
      ++failures_in_test;
    }
    std::printf("%s %s\n", failures_in_test == 0 ? "PASS" : "FAIL", test.name);
    (failures_in_test == 0 ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
