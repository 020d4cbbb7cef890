// common.hpp: what the two halves of the binding share: the Python classes
// of the pure-Python modules, exception translation, and waiting for and
// reading results with the GIL released and Ctrl-C answered.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "gogoroutines/runtime.hpp"

namespace gogoroutines::binding {

namespace py = pybind11;
namespace gg = gogoroutines;

// Longest time the GIL stays released in one wait: signals (Ctrl-C) are
// checked between slices, so this bounds how late KeyboardInterrupt comes.
constexpr double kWaitSlice = 0.05;

// Python classes defined in pure Python (gogoroutines._types and .errors),
// fetched once when the module loads. Intentionally leaked: they live as long
// as the interpreter, and must not be destroyed after it has finalized.
struct PyClasses {
  py::object status;
  py::object json_loads;  // json.loads, to turn a task's meta into a dict
  py::object go_error, invalid_argument, unknown_kind, task_not_found, runtime_closed, wait_timeout,
      task_cancelled, task_failed, task_timed_out, fork_error, internal_error, result_decode_error,
      channel_closed;
};
extern PyClasses* classes;

// Blocks the calling thread for ever if the interpreter is finalizing: it
// must not take the GIL back (see without_gil); the process is exiting.
void park_if_finalizing() noexcept;

// Sets the Python error for a C++ exception (gg::Error subclasses map to the
// classes of gogoroutines.errors; py::error_already_set is restored).
void translate_exception(std::exception_ptr error);

// Runs fn() with the GIL released and returns its result.
//
// Not py::gil_scoped_release: when the interpreter finalizes while a daemon
// thread waits here, re-acquiring the GIL ends that thread with
// pthread_exit(), whose forced unwinding must not pass through a destructor
// (destructors are noexcept: the process would abort). So the GIL is taken
// back in ordinary code, and a thread that finds the interpreter finalizing
// never touches Python again.
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

// Waits until wait_once(slice) reports the task finished, releasing the GIL
// for at most kWaitSlice at a time and running Python's signal handlers in
// between, so that Ctrl-C raises KeyboardInterrupt promptly. With look_first,
// the first look is made with the GIL held and no wait: most waits in a
// fan-out find the task already finished, and skipping the GIL hand-off
// makes them cheap. (A timeout of 0 always looks once, and only looks.)
template <class WaitOnce>
bool wait_in_slices(std::optional<double> timeout, WaitOnce&& wait_once, bool look_first = true) {
  gg::detail::timeout_ns(timeout, "timeout");  // reject NaN, negative, huge
  if ((look_first || (timeout && *timeout <= 0)) && wait_once(0.0)) return true;
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
    if (without_gil([&] { return wait_once(slice); })) return true;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

// Result sinks: each receives the result size and returns memory to copy it
// into, so that Go writes straight into the Python object's buffer.
struct BytesSink {
  py::object bytes;
  char* operator()(std::size_t n) {
    bytes = py::reinterpret_steal<py::object>(
        PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(n)));
    if (!bytes) throw py::error_already_set();
    return PyBytes_AS_STRING(bytes.ptr());
  }
};

struct TextSink {
  std::unique_ptr<char[]> buffer;
  std::size_t size = 0;
  char* operator()(std::size_t n) {
    buffer.reset(new char[n > 0 ? n : 1]);
    size = n;
    return buffer.get();
  }
  py::object decode(std::int64_t task_id) const {
    PyObject* text = PyUnicode_DecodeUTF8(buffer.get(), static_cast<Py_ssize_t>(size), "strict");
    if (text != nullptr) return py::reinterpret_steal<py::object>(text);
    py::error_already_set cause;  // the UnicodeDecodeError, fetched and cleared
    py::object error = classes->result_decode_error(
        "the result of task " + std::to_string(task_id) + " is not valid UTF-8 (" +
        std::string(cause.what()) + "); use result_bytes() to get the raw bytes");
    PyException_SetCause(error.ptr(), cause.value().inc_ref().ptr());
    PyErr_SetObject(classes->result_decode_error.ptr(), error.ptr());
    throw py::error_already_set();
  }
};

// A task named by runtime and id, for the id-based API of the PHP extension:
// it offers the wait() and read_result() of gg::Task.
struct TaskRef {
  const gg::Runtime& rt;
  std::int64_t id;
  bool wait(gg::Timeout timeout) const { return rt.wait(id, timeout); }
  template <class Sink>
  bool read_result(gg::Timeout timeout, Sink& sink) const {
    return rt.read_result(id, timeout, sink);
  }
};

template <class Target>
bool wait(const Target& task, std::optional<double> timeout) {
  return wait_in_slices(timeout, [&](double slice) { return task.wait(slice); });
}

// Waits for the task (see wait_in_slices), then reads its result into sink.
template <class Target, class Sink>
void read_result(const Target& task, std::int64_t id, std::optional<double> timeout, Sink& sink) {
  gg::detail::timeout_ns(timeout, "timeout");
  if (task.read_result(0.0, sink)) return;  // finished already: no wait, no GIL hand-off
  if (!wait(task, timeout) || !task.read_result(0.0, sink)) {
    throw gg::WaitTimeout("task " + std::to_string(id) + " did not finish before the timeout");
  }
}

template <class Target>
py::object result_text(const Target& task, std::int64_t id, std::optional<double> timeout) {
  TextSink sink;
  read_result(task, id, timeout, sink);
  return sink.decode(id);
}

template <class Target>
py::object result_bytes(const Target& task, std::int64_t id, std::optional<double> timeout) {
  BytesSink sink;
  read_result(task, id, timeout, sink);
  return sink.bytes;
}

}  // namespace gogoroutines::binding
