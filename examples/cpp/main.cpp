// main.cpp: the C++ core of gogoroutines used as Python uses it: spawn tasks by
// kind with named arguments, wait, read results and stats, and handle errors
// through the one exception hierarchy (gogoroutines/errors.hpp).
//
// In Python the first three tasks read:
//     with Runtime() as rt:
//         t = rt.go("delayed", delay_ms=50)
//         e = rt.go("echo", data="hello from C++")
//         h = rt.go("hash", data="abc", algorithm="sha256")
#include <cstdio>
#include <string>
#include <vector>

#include "gogoroutines/runtime.hpp"

namespace gg = gogoroutines;

int main() {
  std::printf("gogoroutines %s\n", GOGOROUTINES_VERSION);
  gg::Runtime rt;  // a table of tasks; the Go runtime starts with the first one

  // Spawn three tasks; each Task releases itself from the table when destroyed.
  std::vector<gg::Task> tasks;
  tasks.push_back(rt.go("delayed", gg::Args().integer("delay_ms", 50)));
  tasks.push_back(rt.go("echo", gg::Args().str("data", "hello from C++")));
  tasks.push_back(rt.go("hash", gg::Args().str("data", "abc").str("algorithm", "sha256")));
  for (const gg::Task& t : tasks) {
    t.wait(5.0);  // true once finished; result() also waits
    std::printf("%s #%lld: %s\n", t.kind().c_str(), static_cast<long long>(t.id()),
                t.result(5.0).c_str());
  }
  std::printf("%s\n", rt.stats().to_string().c_str());

  int unexpected = 0;
  // A bad argument is rejected at spawn: UnknownKind is an InvalidArgument.
  try {
    rt.go("no_such_kind");
    ++unexpected;
  } catch (const gg::InvalidArgument& e) {
    std::printf("InvalidArgument: %s\n", e.what());
  }
  // Work that fails raises TaskFailed when its result is read.
  try {
    rt.go("read_file", gg::Args().str("path", "/nonexistent/gogoroutines-example")).result(5.0);
    ++unexpected;
  } catch (const gg::TaskFailed& e) {
    std::printf("TaskFailed: %s\n", e.go_error().c_str());
  }
  // A wait that runs out throws WaitTimeout; the task keeps running until cancelled.
  gg::Task slow = rt.go("sleep", gg::Args().number("seconds", 30));
  try {
    slow.result(0.05);
    ++unexpected;
  } catch (const gg::WaitTimeout& e) {
    std::printf("WaitTimeout: %s\n", e.what());
  }
  std::printf("cancelled: %s\n", slow.cancel() ? "yes" : "no");
  // Every error derives from gogoroutines::Error.
  try {
    slow.result(5.0);
    ++unexpected;
  } catch (const gg::Error& e) {
    std::printf("Error: %s\n", e.what());
  }

  slow.close();
  for (gg::Task& t : tasks) t.close();
  std::printf("%s\n", rt.stats().to_string().c_str());
  rt.close();
  std::printf(unexpected == 0 ? "ok\n" : "UNEXPECTED: %d errors were not raised\n", unexpected);
  return unexpected == 0 ? 0 : 1;
}
