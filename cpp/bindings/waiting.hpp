// waiting.hpp: waiting for Go with the GIL released and Ctrl-C answered
// (interruptible_wait, the one place the binding waits), and results read
// into Python objects.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "convert.hpp"
#include "errors.hpp"
#include "gogoroutines/runtime.hpp"

namespace gogoroutines::binding {

/// Longest time the GIL stays released in one wait of the main thread:
/// signals (Ctrl-C) are checked between slices, so this bounds how late
/// KeyboardInterrupt comes.
constexpr double kWaitSlice = 0.05;

/// The ident (PyThread_get_thread_ident) of the interpreter's main thread,
/// the only thread where Python runs signal handlers; set by
/// remember_main_thread() when the module loads.
extern unsigned long main_thread_ident;

/// Sets main_thread_ident from threading.main_thread(), which is right even
/// if the module is first imported in another thread.
void remember_main_thread();

/// Blocks the calling thread for ever if the interpreter is finalizing: it
/// must not take the GIL back (see without_gil); the process is exiting.
void park_if_finalizing() noexcept;

/// Runs fn() with the GIL released and returns its result.
///
/// Not py::gil_scoped_release: when the interpreter finalizes while a daemon
/// thread waits here, re-acquiring the GIL ends that thread with
/// pthread_exit(), whose forced unwinding must not pass through a destructor
/// (destructors are noexcept: the process would abort). So the GIL is taken
/// back in ordinary code, and a thread that finds the interpreter finalizing
/// never touches Python again.
template <class Fn>
auto without_gil(Fn&& fn) -> decltype(fn()) {
  PyThreadState* state = PyEval_SaveThread();
  try {
    auto result = fn();
    park_if_finalizing();
    PyEval_RestoreThread(state);
    return result;
  } catch (...) {
    park_if_finalizing();
    PyEval_RestoreThread(state);
    throw;
  }
}

/// The one wait of the binding: waits until wait_once(timeout) reports done,
/// with the GIL released.
///
/// The main thread waits in slices of at most kWaitSlice and runs Python's
/// signal handlers in between, so that Ctrl-C raises KeyboardInterrupt
/// promptly. Any other thread cannot receive signals (Python runs their
/// handlers in the main thread only), so it waits in one call into Go for the
/// whole timeout, however long: an idle thread (the done-callback
/// dispatcher, a worker blocked on a task) is not woken until there is
/// something to do.
///
/// With look_first, the first look is made with the GIL held and no wait:
/// most waits in a fan-out find the task already finished, and skipping the
/// GIL hand-off makes them cheap. (A timeout of 0 always looks once, and only
/// looks.)
/// @param timeout seconds, or std::nullopt for no limit
/// @param wait_once waits up to its argument (a gg::Timeout); true once done
/// @param look_first whether to look once with the GIL held first
/// @return whether wait_once reported done before the timeout ran out
template <class WaitOnce>
bool interruptible_wait(std::optional<double> timeout, WaitOnce&& wait_once,
                        bool look_first = true) {
  gg::detail::timeout_ns(timeout, "timeout");  // reject NaN, negative, huge
  const bool only_look = timeout && *timeout <= 0;
  if (look_first || only_look) {
    if (wait_once(gg::Timeout(0.0))) return true;
    if (only_look) return false;
  }
  if (PyThread_get_thread_ident() != main_thread_ident) {
    return without_gil([&] { return wait_once(gg::Timeout(timeout)); });
  }
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (;;) {
    double slice = kWaitSlice;
    if (timeout) {
      const double remaining =
          *timeout - std::chrono::duration<double>(clock::now() - start).count();
      if (remaining <= 0) return false;
      slice = std::min(slice, remaining);
    }
    if (without_gil([&] { return wait_once(gg::Timeout(slice)); })) return true;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

/// A task named by runtime and id, for the id-based API of the PHP extension:
/// it offers the wait() and read_result() of gg::Task.
struct TaskRef {
  const gg::Runtime& rt;
  std::int64_t id;
  bool wait(gg::Timeout timeout) const { return rt.wait(id, timeout); }
  template <class Sink>
  bool read_result(gg::Timeout timeout, Sink& sink) const {
    return rt.read_result(id, timeout, sink);
  }
};

/// Waits for a task (a gg::Task or a TaskRef; see interruptible_wait).
/// @return whether it finished before the timeout ran out
template <class Target>
bool wait(const Target& task, std::optional<double> timeout) {
  return interruptible_wait(timeout, [&](gg::Timeout t) { return task.wait(t); });
}

/// Waits for the task (see interruptible_wait), then reads its result into sink.
/// @throw gg::WaitTimeout if it did not finish in time
template <class Target, class Sink>
void read_result(const Target& task, std::int64_t id, std::optional<double> timeout, Sink& sink) {
  gg::detail::timeout_ns(timeout, "timeout");
  if (task.read_result(0.0, sink)) return;  // finished already: no wait, no GIL hand-off
  if (!wait(task, timeout) || !task.read_result(0.0, sink)) {
    throw gg::WaitTimeout("task " + std::to_string(id) + " did not finish before the timeout");
  }
}

/// @return the task's result as str (ResultDecodeError if it is not UTF-8)
template <class Target>
py::object result_text(const Target& task, std::int64_t id, std::optional<double> timeout) {
  TextSink sink;
  read_result(task, id, timeout, sink);
  return sink.decode(id);
}

/// @return the task's result as bytes
template <class Target>
py::object result_bytes(const Target& task, std::int64_t id, std::optional<double> timeout) {
  BytesSink sink;
  read_result(task, id, timeout, sink);
  return sink.bytes;
}

}  // namespace gogoroutines::binding
