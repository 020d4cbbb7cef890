// module.cpp: the gogoroutines._core extension module.
//
// This layer only adapts the C++ core to Python: it converts arguments and
// results, releases the GIL around every call that can block, waits in short
// slices so that Ctrl-C is answered, and maps C++ exceptions to the Python
// classes of gogoroutines.errors. The logic lives in the C++ core and in Go.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "gogoroutines/runtime.hpp"
#include "task_type.hpp"

namespace gogoroutines::binding {

PyClasses* classes = nullptr;

namespace {

using Own = gg::Args::Ownership;

// Text from Go as a Python str (invalid UTF-8, e.g. from a file name, is replaced).
py::str text_of(const std::string& text) {
  PyObject* str =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
  if (str == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(str);
}

[[noreturn]] void throw_invalid(const std::string& message) { throw gg::InvalidArgument(message); }

// Holds buffers of bytes-like arguments (bytearray, memoryview), contiguous
// copies of strided ones, and dict copies of batch items that are other
// mappings, until the spawn that reads them returns.
struct BufferKeeper {
  std::list<py::buffer_info> views;
  std::list<std::string> copies;
  std::list<py::dict> mappings;  // batch items that were other mappings, as dicts
};

// Converts one Python value to an argument, viewing (not copying) the memory
// of str and bytes objects: Go copies it before the spawn returns.
void add_value(gg::Args& args, std::string_view name, py::handle value, std::string_view kind,
               BufferKeeper& buffers, int depth);

gg::Args to_items(py::handle container, std::string_view name, std::string_view kind,
                  BufferKeeper& buffers, int depth) {
  gg::Args items;
  if (PyDict_Check(container.ptr())) {
    items.reserve(static_cast<std::size_t>(PyDict_Size(container.ptr())));
    for (auto entry : py::reinterpret_borrow<py::dict>(container)) {
      if (!PyUnicode_Check(entry.first.ptr())) {
        throw_invalid(std::string(kind) + ": argument '" + std::string(name) +
                      "' must have str keys, got " +
                      py::str(py::type::of(entry.first)).cast<std::string>());
      }
      Py_ssize_t len = 0;
      const char* key = PyUnicode_AsUTF8AndSize(entry.first.ptr(), &len);
      if (key == nullptr) {
        PyErr_Clear();
        throw_invalid(std::string(kind) + ": argument '" + std::string(name) +
                      "' has a key that is not encodable as UTF-8 (it contains lone surrogates)");
      }
      add_value(items, std::string_view(key, static_cast<std::size_t>(len)), entry.second, kind,
                buffers, depth + 1);
    }
  } else {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(container);
    items.reserve(seq.size());
    for (py::handle item : seq) add_value(items, name, item, kind, buffers, depth + 1);
  }
  return items;
}

void add_value(gg::Args& args, std::string_view name, py::handle value, std::string_view kind,
               BufferKeeper& buffers, int depth) {
  PyObject* obj = value.ptr();
  const auto where = [&] { return std::string(kind) + ": argument '" + std::string(name) + "'"; };
  if (depth > 8) throw_invalid(where() + " is nested too deeply");
  if (obj == Py_None) {
    args.none(name, Own::View);
  } else if (PyBool_Check(obj)) {
    args.boolean(name, obj == Py_True, Own::View);
  } else if (PyLong_Check(obj)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow != 0) throw_invalid(where() + " does not fit in a 64-bit integer");
    args.integer(name, v, Own::View);
  } else if (PyFloat_Check(obj)) {
    args.number(name, PyFloat_AS_DOUBLE(obj), Own::View);
  } else if (PyUnicode_Check(obj)) {
    Py_ssize_t len = 0;
    const char* text = PyUnicode_AsUTF8AndSize(obj, &len);
    if (text == nullptr) {
      PyErr_Clear();
      throw_invalid(where() + " is not encodable as UTF-8 (it contains lone surrogates)");
    }
    args.str(name, std::string_view(text, static_cast<std::size_t>(len)), Own::View);
  } else if (PyBytes_Check(obj)) {
    args.bytes(
        name,
        std::string_view(PyBytes_AS_STRING(obj), static_cast<std::size_t>(PyBytes_GET_SIZE(obj))),
        Own::View);
  } else if (PyObject_CheckBuffer(obj)) {
    py::buffer_info& info =
        buffers.views.emplace_back(py::reinterpret_borrow<py::buffer>(value).request());
    const std::size_t size = static_cast<std::size_t>(info.size * info.itemsize);
    if (PyBuffer_IsContiguous(info.view(), 'C')) {
      args.bytes(name, std::string_view(static_cast<const char*>(info.ptr), size), Own::View);
    } else {  // a strided view: gather its bytes in order first
      std::string& copy = buffers.copies.emplace_back(size, '\0');
      if (PyBuffer_ToContiguous(copy.data(), info.view(), static_cast<Py_ssize_t>(size), 'C') !=
          0) {
        throw py::error_already_set();
      }
      args.bytes(name, copy, Own::View);
    }
  } else if (PyList_Check(obj) || PyTuple_Check(obj)) {
    args.list(name, to_items(value, name, kind, buffers, depth), Own::View);
  } else if (PyDict_Check(obj)) {
    args.map(name, to_items(value, name, kind, buffers, depth), Own::View);
  } else if (py::isinstance<gg::Channel>(value)) {
    args.channel(name, value.cast<const gg::Channel&>(), Own::View);
  } else {
    throw_invalid(where() + " has unsupported type " +
                  py::str(py::type::of(value).attr("__name__")).cast<std::string>() +
                  " (expected str, bytes, int, float, bool, None, list or dict)");
  }
}

// The entries of a dict of named arguments for a task of `kind` (keyword
// arguments, or one item of a batch: `where` prefixes messages then) as Args
// viewing the Python objects, which `buffers` and the caller keep alive.
gg::Args named_args(std::string_view kind, py::handle dict, const std::string& where,
                    BufferKeeper& buffers) {
  gg::Args args;
  args.reserve(static_cast<std::size_t>(PyDict_GET_SIZE(dict.ptr())));
  for (auto entry : py::reinterpret_borrow<py::dict>(dict)) {
    Py_ssize_t len = 0;
    const char* name = PyUnicode_Check(entry.first.ptr())
                           ? PyUnicode_AsUTF8AndSize(entry.first.ptr(), &len)
                           : nullptr;
    if (name == nullptr) {
      PyErr_Clear();
      throw_invalid(std::string(kind) + ": " + where +
                    "an argument name is not a str encodable as UTF-8 (no lone surrogates)");
    }
    add_value(args, std::string_view(name, static_cast<std::size_t>(len)), entry.second, kind,
              buffers, 0);
  }
  return args;
}

// Converts keyword arguments for a task of `kind` and calls fn(args) while the
// Python objects they view are alive.
template <class Fn>
auto with_args(std::string_view kind, const py::dict& kwargs, Fn&& fn) {
  BufferKeeper buffers;
  const gg::Args args = named_args(kind, kwargs, "", buffers);
  return fn(args);
}

// A task's `timeout` argument: None, or a number of seconds.
std::optional<double> task_timeout(py::handle value) {
  if (value.is_none()) return std::nullopt;
  if (PyFloat_Check(value.ptr())) return PyFloat_AS_DOUBLE(value.ptr());
  if (PyLong_Check(value.ptr()) && !PyBool_Check(value.ptr())) {
    const double seconds = PyLong_AsDouble(value.ptr());
    if (seconds == -1.0 && PyErr_Occurred()) {
      if (!PyErr_ExceptionMatches(PyExc_OverflowError)) throw py::error_already_set();
      PyErr_Clear();  // larger than any float: the core reports it as too large
      return HUGE_VAL;
    }
    return seconds;
  }
  throw_invalid("timeout must be a number of seconds or None, got " +
                py::str(py::type::of(value).attr("__name__")).cast<std::string>());
}

py::object go(gg::Runtime& rt, std::string_view kind, py::handle timeout, const py::dict& kwargs) {
  const std::optional<double> seconds = task_timeout(timeout);
  return wrap_task(
      with_args(kind, kwargs, [&](const gg::Args& args) { return rt.go(kind, args, seconds); }));
}

std::int64_t spawn(gg::Runtime& rt, std::string_view kind, py::handle timeout,
                   const py::dict& kwargs) {
  const std::optional<double> seconds = task_timeout(timeout);
  return with_args(kind, kwargs,
                   [&](const gg::Args& args) { return rt.spawn(kind, args, seconds); });
}

// A batch of argument dicts (Lane.feed) as one map entry per
// item; the item numbers in messages are offset by first_index.
gg::Args to_batch(std::string_view kind, const py::list& items, BufferKeeper& buffers,
                  std::int64_t first_index) {
  gg::Args batch;
  batch.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    py::handle item = items[i];
    if (!PyDict_Check(item.ptr())) {
      const py::object mapping = py::module_::import("collections.abc").attr("Mapping");
      if (!py::isinstance(item, mapping)) {
        throw_invalid(std::string(kind) + ": item " + std::to_string(first_index + i) +
                      " must be a dict of arguments, got " +
                      py::str(py::type::of(item).attr("__name__")).cast<std::string>());
      }
      item = buffers.mappings.emplace_back(py::reinterpret_borrow<py::object>(item));
    }
    batch.map("", named_args(kind, item, "item " + std::to_string(first_index + i) + ": ", buffers),
              Own::View);
  }
  return batch;
}

std::vector<std::int64_t> to_ids(const py::sequence& ids) {
  std::vector<std::int64_t> out(ids.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = ids[i].cast<std::int64_t>();
  return out;
}

// Runtime.collect(ids): [(id, status, timed_out, value)] for the finished
// prefix of ids, releasing them. value is the result as str (bytes if it is
// not UTF-8) or a failed task's error message.
py::list collect(const gg::Runtime& rt, const py::sequence& ids) {
  const std::vector<std::int64_t> list = to_ids(ids);
  std::vector<gg::Outcome> outcomes;
  std::string buffer;
  const std::size_t n = rt.collect(list.data(), list.size(), outcomes, buffer);
  py::list out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const gg::Outcome& o = outcomes[i];
    PyObject* value =
        PyUnicode_DecodeUTF8(o.data.data(), static_cast<Py_ssize_t>(o.data.size()),
                             o.status == gg::Status::Completed ? "strict" : "replace");
    if (value == nullptr) {
      PyErr_Clear();
      value = PyBytes_FromStringAndSize(o.data.data(), static_cast<Py_ssize_t>(o.data.size()));
      if (value == nullptr) throw py::error_already_set();
    }
    out[i] = py::make_tuple(o.id, static_cast<int>(o.status), o.timed_out,
                            py::reinterpret_steal<py::object>(value));
  }
  return out;
}

// A lane (see gg::Lane) as Python's Runtime.map drives it, with the buffers
// its takes reuse.
struct PyLane {
  PyLane(const gg::Runtime& rt, std::string kind_name, std::int64_t concurrency, bool ordered,
         std::optional<double> timeout)
      : kind(std::move(kind_name)), lane(rt, kind, concurrency, ordered, timeout) {}
  std::string kind;
  gg::Lane lane;
  std::int64_t fed = 0;  // for the item numbers of conversion errors
  std::mutex taking;     // buffers and outcomes belong to one take at a time
  std::vector<gg::Outcome> outcomes;
  std::string buffer;
};

// Lane.feed(items): adds a batch of argument dicts.
void lane_feed(PyLane& self, const py::list& items) {
  BufferKeeper buffers;
  gg::Args batch = to_batch(self.kind, items, buffers, self.fed);
  self.lane.feed(std::move(batch));
  self.fed += static_cast<std::int64_t>(items.size());
}

// Lane.take(timeout, max, min_ready, linger): (outcomes, others): the outcomes
// handed out, each a str (a completed item's result) or, for anything else,
// a tuple (id, status, timed_out, value) as Runtime.collect() reports it, and
// how many are such tuples (0 lets the caller yield the list as it is). No
// outcomes means the timeout ran out.
py::tuple lane_take(PyLane& self, std::optional<double> timeout, std::size_t max,
                    std::size_t min_ready, double linger) {
  if (max == 0) throw_invalid("max must be at least 1");
  std::unique_lock<std::mutex> taking(self.taking, std::defer_lock);
  without_gil([&] {
    taking.lock();
    return true;
  });
  std::size_t count = 0;
  // No first look with the GIL held: that look could not wait for min_ready,
  // and batching wake-ups is the point of a lane.
  wait_in_slices(
      timeout,
      [&](double slice) {
        count = self.lane.take(slice, max, min_ready, linger, self.outcomes, self.buffer);
        return count > 0;
      },
      /*look_first=*/false);
  py::list out(count);
  std::size_t others = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const gg::Outcome& o = self.outcomes[i];
    const auto size = static_cast<Py_ssize_t>(o.data.size());
    PyObject* value = PyUnicode_DecodeUTF8(
        o.data.data(), size, o.status == gg::Status::Completed ? "strict" : "replace");
    if (value != nullptr && o.status == gg::Status::Completed) {
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), value);  // steals it
      continue;
    }
    if (value == nullptr) {
      PyErr_Clear();
      value = PyBytes_FromStringAndSize(o.data.data(), size);
      if (value == nullptr) throw py::error_already_set();
    }
    out[i] = py::make_tuple(o.id, static_cast<int>(o.status), o.timed_out,
                            py::reinterpret_steal<py::object>(value));
    ++others;
  }
  return py::make_tuple(std::move(out), others);
}

// WaitSet.watch(tasks, tags): watches Task objects, in runs of one runtime.
void watch_tasks(gg::WaitSet& ws, const py::sequence& tasks, const py::sequence& tags) {
  const std::size_t n = tasks.size();
  if (tags.size() != n) throw_invalid("watch() needs one tag per task");
  std::vector<std::int64_t> ids;
  std::vector<std::uint64_t> run_tags;
  const gg::Runtime* run_runtime = nullptr;
  const auto flush = [&] {
    if (!ids.empty()) ws.watch(*run_runtime, ids.data(), run_tags.data(), ids.size());
    ids.clear();
    run_tags.clear();
  };
  for (std::size_t i = 0; i < n; ++i) {
    py::object item = tasks[i];
    const gg::Task* task = task_from(item);
    if (task == nullptr) {
      throw_invalid("watch() takes Task objects, got " +
                    py::str(py::type::of(item).attr("__name__")).cast<std::string>());
    }
    if (task->closed()) {
      throw gg::TaskNotFound(task->id(), "task " + std::to_string(task->id()) + " is closed");
    }
    if (run_runtime != nullptr && !run_runtime->same_as(task->runtime())) flush();
    run_runtime = &task->runtime();
    ids.push_back(task->id());
    run_tags.push_back(tags[i].cast<std::uint64_t>());
  }
  flush();
}

// WaitSet.take(timeout, max): tags of finished tasks, waiting in slices.
py::list take_tags(gg::WaitSet& ws, std::optional<double> timeout, std::size_t max) {
  if (max == 0) throw_invalid("max must be at least 1");
  std::vector<std::uint64_t> tags(std::min<std::size_t>(max, 65536));
  std::size_t count = 0;
  wait_in_slices(timeout, [&](double slice) {
    count = ws.take(slice, tags.data(), tags.size());
    return count > 0;
  });
  py::list out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = py::int_(tags[i]);
  return out;
}

// An item for Channel.send(): a view of a str (as text) or bytes; other
// bytes-like objects are copied into `copy`, since they may change while the
// GIL is released.
std::pair<std::string_view, bool> channel_item(py::handle item, std::string& copy) {
  PyObject* obj = item.ptr();
  if (PyUnicode_Check(obj)) {
    Py_ssize_t len = 0;
    const char* text = PyUnicode_AsUTF8AndSize(obj, &len);
    if (text == nullptr) {
      PyErr_Clear();
      throw_invalid("Channel.send(): the str is not encodable as UTF-8 (lone surrogates)");
    }
    return {std::string_view(text, static_cast<std::size_t>(len)), true};
  }
  if (PyBytes_Check(obj)) {
    return {
        std::string_view(PyBytes_AS_STRING(obj), static_cast<std::size_t>(PyBytes_GET_SIZE(obj))),
        false};
  }
  if (PyObject_CheckBuffer(obj)) {
    py::object bytes = py::reinterpret_steal<py::object>(PyBytes_FromObject(obj));
    if (!bytes) throw py::error_already_set();
    copy.assign(PyBytes_AS_STRING(bytes.ptr()),
                static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.ptr())));
    return {copy, false};
  }
  throw_invalid("Channel.send() takes str or bytes, got " +
                py::str(py::type::of(item).attr("__name__")).cast<std::string>());
}

// A received item as the type it was sent as: str for text, else bytes.
py::object item_object(const gg::Item& item) {
  if (item.text) return text_of(item.data);
  return py::bytes(item.data);
}

py::object channel_recv(const gg::Channel& ch, std::optional<double> timeout) {
  std::optional<gg::Item> item;
  const bool got = wait_in_slices(timeout, [&](double slice) {
    item = ch.recv(slice);
    return item.has_value();
  });
  if (!got) throw gg::WaitTimeout("Channel.recv() found no item before the timeout");
  return item_object(*item);
}

py::tuple stats_tuple(const gg::Stats& s) {
  return py::make_tuple(s.total, s.active, s.queued, s.completed, s.failed, s.cancelled,
                        s.goroutines);
}

}  // namespace

// Raises cls with the whole message of e (NUL bytes included).
static void raise(const py::object& cls, const gg::Error& e) {
  const std::string& message = e.message();
  PyObject* text =
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace");
  if (text == nullptr) return;  // MemoryError is set
  PyErr_SetObject(cls.ptr(), text);
  Py_DECREF(text);
}

void park_if_finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  if (!Py_IsFinalizing()) return;  // public from Python 3.13
#else
  if (!_Py_IsFinalizing()) return;
#endif
  for (;;) pause();
}

void translate_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const gg::TaskFailed& e) {
    const py::object& cls = dynamic_cast<const gg::TaskTimedOut*>(&e) != nullptr
                                ? classes->task_timed_out
                                : classes->task_failed;
    py::object instance = cls(text_of(e.message()), py::arg("go_error") = text_of(e.go_error()),
                              py::arg("go_stack") = text_of(e.go_stack()));
    PyErr_SetObject(cls.ptr(), instance.ptr());
  } catch (const gg::TaskNotFound& e) {
    py::object instance =
        classes->task_not_found(text_of(e.message()), py::arg("task_id") = e.task_id());
    PyErr_SetObject(classes->task_not_found.ptr(), instance.ptr());
  } catch (const gg::UnknownKind& e) {
    raise(classes->unknown_kind, e);
  } catch (const gg::InvalidArgument& e) {
    raise(classes->invalid_argument, e);
  } catch (const gg::RuntimeClosed& e) {
    raise(classes->runtime_closed, e);
  } catch (const gg::WaitTimeout& e) {
    raise(classes->wait_timeout, e);
  } catch (const gg::TaskCancelled& e) {
    raise(classes->task_cancelled, e);
  } catch (const gg::ChannelClosed& e) {
    raise(classes->channel_closed, e);
  } catch (const gg::ForkError& e) {
    raise(classes->fork_error, e);
  } catch (const gg::InternalError& e) {
    raise(classes->internal_error, e);
  } catch (const gg::Error& e) {
    raise(classes->go_error, e);
  }
}

}  // namespace gogoroutines::binding

using namespace gogoroutines::binding;  // NOLINT: the module body below uses it throughout

PYBIND11_MODULE(_core, m) {
  m.doc() = R"pbdoc(
    The compiled core of gogoroutines: the Go runtime and the C++ core bound
    to Python. Use the public API in the gogoroutines package instead.
  )pbdoc";

  py::module_ types = py::module_::import("gogoroutines._types");
  py::module_ errors = py::module_::import("gogoroutines.errors");
  classes = new PyClasses{
      types.attr("Status"),         py::module_::import("json").attr("loads"),
      errors.attr("GoError"),       errors.attr("InvalidArgument"),
      errors.attr("UnknownKind"),   errors.attr("TaskNotFound"),
      errors.attr("RuntimeClosed"), errors.attr("WaitTimeout"),
      errors.attr("TaskCancelled"), errors.attr("TaskFailed"),
      errors.attr("TaskTimedOut"),  errors.attr("ForkError"),
      errors.attr("InternalError"), errors.attr("ResultDecodeError"),
      errors.attr("ChannelClosed"),
  };
  py::register_exception_translator(&translate_exception);

  m.add_object("Task", py::reinterpret_steal<py::object>(create_task_type()));

  py::class_<gg::Runtime>(m, "Runtime", "A table of tasks run on goroutines.")
      .def(py::init<std::int64_t>(), py::arg("max_concurrency") = 0)
      .def("go", &go, py::arg("kind"), py::arg("timeout"), py::arg("args"))
      .def("spawn", &spawn, py::arg("kind"), py::arg("timeout"), py::arg("args"))
      .def("status",
           [](const gg::Runtime& rt, std::int64_t id) { return static_cast<int>(rt.status(id)); })
      .def(
          "wait",
          [](const gg::Runtime& rt, std::int64_t id, std::optional<double> timeout) {
            return wait(TaskRef{rt, id}, timeout);
          },
          py::arg("id"), py::arg("timeout") = py::none())
      .def(
          "result",
          [](const gg::Runtime& rt, std::int64_t id, std::optional<double> timeout) {
            return result_text(TaskRef{rt, id}, id, timeout);
          },
          py::arg("id"), py::arg("timeout") = py::none())
      .def(
          "result_bytes",
          [](const gg::Runtime& rt, std::int64_t id, std::optional<double> timeout) {
            return result_bytes(TaskRef{rt, id}, id, timeout);
          },
          py::arg("id"), py::arg("timeout") = py::none())
      .def("cancel", &gg::Runtime::cancel, py::arg("id"))
      .def("release", &gg::Runtime::release, py::arg("id"))
      .def("collect", &collect, py::arg("ids"))
      .def(
          "release_many",
          [](const gg::Runtime& rt, const py::sequence& ids) {
            const std::vector<std::int64_t> list = to_ids(ids);
            rt.release_many(list.data(), list.size());
          },
          py::arg("ids"))
      .def("stats", [](const gg::Runtime& rt) { return stats_tuple(rt.stats()); })
      .def("close",
           [](gg::Runtime& rt) {
             without_gil([&] {
               rt.close();
               return 0;
             });
           })
      .def_property_readonly("closed", &gg::Runtime::closed)
      .def_property_readonly("max_concurrency", &gg::Runtime::max_concurrency);

  py::class_<gg::WaitSet>(m, "WaitSet", "Completions of watched tasks, in the order they happen.")
      .def(py::init<bool>(), py::arg("with_fd") = false)
      .def_property_readonly("fd", &gg::WaitSet::fd)
      .def("watch", &watch_tasks, py::arg("tasks"), py::arg("tags"))
      .def(
          "watch_ids",
          [](gg::WaitSet& ws, const gg::Runtime& rt, const py::sequence& ids,
             const py::sequence& tags) {
            const std::vector<std::int64_t> id_list = to_ids(ids);
            std::vector<std::uint64_t> tag_list(tags.size());
            if (tag_list.size() != id_list.size())
              throw_invalid("watch_ids() needs one tag per id");
            for (std::size_t i = 0; i < tag_list.size(); ++i) {
              tag_list[i] = tags[i].cast<std::uint64_t>();
            }
            ws.watch(rt, id_list.data(), tag_list.data(), id_list.size());
          },
          py::arg("runtime"), py::arg("ids"), py::arg("tags"))
      .def("take", &take_tags, py::arg("timeout") = py::none(), py::arg("max") = 1024)
      .def("close", &gg::WaitSet::close);

  py::class_<PyLane>(m, "Lane", "The items of one map, run by Go (see gogoroutines.mapping).")
      .def(py::init([](const gg::Runtime& rt, std::string kind, std::int64_t concurrency,
                       bool ordered, py::handle timeout) {
             return std::make_unique<PyLane>(rt, std::move(kind), concurrency, ordered,
                                             task_timeout(timeout));
           }),
           py::arg("runtime"), py::arg("kind"), py::arg("concurrency"), py::arg("ordered"),
           py::arg("timeout") = py::none())
      .def("feed", &lane_feed, py::arg("items"))
      .def("take", &lane_take, py::arg("timeout") = py::none(), py::arg("max") = 4096,
           py::arg("min_ready") = 1, py::arg("linger") = 0.0)
      .def("close", [](PyLane& self) { self.lane.close(); });

  py::class_<gg::Channel>(m, "Channel", "A Go channel of str and bytes items.")
      .def(py::init<std::int64_t>(), py::arg("capacity") = 0)
      .def(
          "send",
          [](const gg::Channel& ch, py::handle item, std::optional<double> timeout) {
            std::string copy;
            const auto [data, text] = channel_item(item, copy);
            if (!wait_in_slices(timeout,
                                [&](double slice) { return ch.send(data, text, slice); })) {
              throw gg::WaitTimeout("Channel.send() could not send before the timeout");
            }
          },
          py::arg("item"), py::arg("timeout") = py::none())
      .def("recv", &channel_recv, py::arg("timeout") = py::none())
      .def("close", &gg::Channel::close)
      .def("__len__", &gg::Channel::size)
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__",
           [](const gg::Channel& ch) {
             try {
               return channel_recv(ch, std::nullopt);
             } catch (const gg::ChannelClosed&) {
               throw py::stop_iteration();
             }
           })
      .def("__repr__", [](const gg::Channel& ch) {
        return "<Channel " + std::to_string(ch.handle()) + " with " + std::to_string(ch.size()) +
               " waiting>";
      });

  m.def(
      "select",
      [](const py::sequence& channels, std::optional<double> timeout) {
        std::vector<const gg::Channel*> list;
        for (py::handle ch : channels) {
          if (!py::isinstance<gg::Channel>(ch)) {
            throw_invalid("select() takes Channels, got " +
                          py::str(py::type::of(ch).attr("__name__")).cast<std::string>());
          }
          list.push_back(&ch.cast<const gg::Channel&>());
        }
        std::size_t index = list.size();
        std::optional<gg::Item> item;
        const bool answered = wait_in_slices(timeout, [&](double slice) {
          item = gg::Channel::select(list, slice, index);
          return index < list.size();
        });
        if (!answered) throw gg::WaitTimeout("select() found no item before the timeout");
        return py::make_tuple(index, item ? item_object(*item) : py::none());
      },
      py::arg("channels"), py::arg("timeout") = py::none());

  m.def("info_json", &gg::Runtime::info_json, "JSON: Go version, GOMAXPROCS, task kinds.");
  m.attr("__version__") = GOGOROUTINES_VERSION;
}
