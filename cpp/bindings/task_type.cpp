// task_type.cpp: gogoroutines._core.Task written against the CPython API.
//
// A fan-out creates, queries and drops one Task per item, so this type is the
// hottest path between Python and Go. pybind11's generic class machinery
// costs about half a microsecond per object (an instance registry, a separate
// heap holder, generic argument dispatch); this type stores the gg::Task
// inside the Python object, parses its one optional argument by hand and is
// not tracked by the garbage collector (it holds no Python references).
#include "task_type.hpp"

#include <cxxabi.h>
#include <structmember.h>

#include <cmath>
#include <cstddef>
#include <new>
#include <string>

#include "convert.hpp"
#include "errors.hpp"
#include "waiting.hpp"

namespace gogoroutines::binding {

namespace {

// The Python-visible prefix of the object, standard-layout so that the
// offset of the weak reference list is well defined.
struct TaskHead {
  PyObject_HEAD PyObject* weakrefs;
};

struct TaskObject {
  TaskHead head;
  gg::Task task;
};

PyTypeObject* task_type = nullptr;

gg::Task& task_of(PyObject* self) { return reinterpret_cast<TaskObject*>(self)->task; }

// Runs body, turning a C++ exception into the matching Python exception.
template <class Body>
PyObject* guarded(Body&& body) {  // not noexcept: see the forced unwind below
  try {
    return body();
  } catch (abi::__forced_unwind&) {
    throw;  // a thread ended by pthread_exit() (see without_gil) must unwind
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    try {
      translate_exception(std::current_exception());  // gg::Error and subclasses
    } catch (const std::bad_alloc&) {
      PyErr_NoMemory();
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception in gogoroutines");
    }
  }
  return nullptr;
}

// Parses the single optional argument `timeout` (None, int or float) of
// wait(), result() and result_bytes(), given positionally or by keyword.
bool parse_timeout(const char* method, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                   std::optional<double>& timeout) {
  PyObject* value = nargs > 0 ? args[0] : nullptr;
  if (nargs > 1) {
    PyErr_Format(PyExc_TypeError, "Task.%s() takes at most 1 argument (%zd given)", method, nargs);
    return false;
  }
  const Py_ssize_t nkw = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nkw; ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    if (value != nullptr || PyUnicode_CompareWithASCIIString(name, "timeout") != 0) {
      PyErr_Format(PyExc_TypeError, "Task.%s() got an unexpected keyword argument %R", method,
                   name);
      return false;
    }
    value = args[nargs + i];
  }
  timeout.reset();
  if (value == nullptr || value == Py_None) return true;
  if (PyFloat_Check(value)) {
    timeout = PyFloat_AS_DOUBLE(value);
  } else if (PyLong_Check(value) && !PyBool_Check(value)) {
    const double seconds = PyLong_AsDouble(value);
    if (seconds == -1.0 && PyErr_Occurred()) {
      if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return false;
      PyErr_Clear();  // larger than any float: the core reports it as too large
      timeout = HUGE_VAL;
      return true;
    }
    timeout = seconds;
  } else {
    PyErr_Format(PyExc_TypeError, "Task.%s(): timeout must be a number of seconds or None, not %s",
                 method, Py_TYPE(value)->tp_name);
    return false;
  }
  return true;
}

void task_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  if (reinterpret_cast<TaskObject*>(self)->head.weakrefs != nullptr) {
    PyObject_ClearWeakRefs(self);
  }
  task_of(self).~Task();  // releases the task from its runtime if still open
  type->tp_free(self);
  Py_DECREF(type);  // instances of heap types own a reference to their type
}

PyObject* task_wait(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  std::optional<double> timeout;
  if (!parse_timeout("wait", args, nargs, kwnames, timeout)) return nullptr;
  return guarded([&] { return PyBool_FromLong(wait(task_of(self), timeout)); });
}

PyObject* task_result(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  std::optional<double> timeout;
  if (!parse_timeout("result", args, nargs, kwnames, timeout)) return nullptr;
  return guarded([&] {
    const gg::Task& task = task_of(self);
    return result_text(task, task.id(), timeout).release().ptr();
  });
}

PyObject* task_result_bytes(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
  std::optional<double> timeout;
  if (!parse_timeout("result_bytes", args, nargs, kwnames, timeout)) return nullptr;
  return guarded([&] {
    const gg::Task& task = task_of(self);
    return result_bytes(task, task.id(), timeout).release().ptr();
  });
}

PyObject* task_done(PyObject* self, PyObject*) {
  return guarded([&] { return PyBool_FromLong(task_of(self).done()); });
}

PyObject* task_cancel(PyObject* self, PyObject*) {
  return guarded([&] { return PyBool_FromLong(task_of(self).cancel()); });
}

PyObject* task_close(PyObject* self, PyObject*) {
  task_of(self).close();
  Py_RETURN_NONE;
}

// Calls function `name` of the pure-Python module `module` with self (and arg).
PyObject* call_python(const char* module, const char* name, PyObject* self,
                      PyObject* arg = nullptr) {
  return guarded([&] {
    py::object fn = py::module_::import(module).attr(name);
    py::object out = arg == nullptr ? fn(py::handle(self)) : fn(py::handle(self), py::handle(arg));
    return out.release().ptr();
  });
}

PyObject* task_await(PyObject* self) { return call_python("gogoroutines.aio", "await_task", self); }

PyObject* task_future(PyObject* self, PyObject*) {
  return call_python("gogoroutines.callbacks", "future", self);
}

PyObject* task_add_done_callback(PyObject* self, PyObject* fn) {
  return call_python("gogoroutines.callbacks", "add_done_callback", self, fn);
}

PyObject* task_enter(PyObject* self, PyObject*) { return Py_NewRef(self); }

PyObject* task_exit(PyObject* self, PyObject*) {
  task_of(self).close();
  Py_RETURN_NONE;
}

PyObject* task_get_id(PyObject* self, void*) { return PyLong_FromLongLong(task_of(self).id()); }

PyObject* task_get_kind(PyObject* self, void*) {
  const std::string& kind = task_of(self).kind();
  return PyUnicode_FromStringAndSize(kind.data(), static_cast<Py_ssize_t>(kind.size()));
}

PyObject* task_get_status(PyObject* self, void*) {
  return guarded(
      [&] { return classes->status(static_cast<int>(task_of(self).status())).release().ptr(); });
}

PyObject* task_get_meta(PyObject* self, void*) {
  return guarded([&] {
    const std::optional<std::string> json = task_of(self).meta_json();
    if (!json) return PyDict_New();  // unfinished: nothing to report yet
    return classes->json_loads(py::str(*json)).release().ptr();
  });
}

PyObject* task_get_closed(PyObject* self, void*) { return PyBool_FromLong(task_of(self).closed()); }

PyObject* task_repr(PyObject* self) {
  return guarded([&] {
    const gg::Task& task = task_of(self);
    std::string state = "CLOSED";
    if (!task.closed() && !task.runtime().closed()) state = gg::to_string(task.status());
    const std::string text =
        "<Task " + std::to_string(task.id()) + " '" + task.kind() + "' " + state + ">";
    return PyUnicode_FromStringAndSize(text.data(), static_cast<Py_ssize_t>(text.size()));
  });
}

// The C API wants function pointers of the generic PyCFunction type.
template <class F>
PyCFunction as_cfunction(F f) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

PyMethodDef task_methods[] = {
    {"wait", as_cfunction(task_wait), METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\nWait until the task finishes; return False if "
     "`timeout` seconds pass first. The GIL is released while waiting."},
    {"result", as_cfunction(task_result), METH_FASTCALL | METH_KEYWORDS,
     "result($self, /, timeout=None)\n--\n\nWait for the task and return its result as str "
     "(UTF-8)."},
    {"result_bytes", as_cfunction(task_result_bytes), METH_FASTCALL | METH_KEYWORDS,
     "result_bytes($self, /, timeout=None)\n--\n\nWait for the task and return its result as "
     "bytes."},
    {"done", task_done, METH_NOARGS, "Whether the task is completed, failed or cancelled."},
    {"cancel", task_cancel, METH_NOARGS,
     "Cancel the task; return True if it was unfinished and is now cancelled."},
    {"close", task_close, METH_NOARGS, "Release the task from its runtime (idempotent)."},
    {"future", task_future, METH_NOARGS,
     "A concurrent.futures.Future resolved with result() when the task ends; cancelling it "
     "cancels the task."},
    {"add_done_callback", task_add_done_callback, METH_O,
     "Call fn(task) once the task has finished (at once if it has); exceptions are logged."},
    {"__enter__", task_enter, METH_NOARGS, nullptr},
    {"__exit__", task_exit, METH_VARARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef task_getset[] = {
    {"id", task_get_id, nullptr, "The task id: from 1, never reused in its runtime.", nullptr},
    {"kind", task_get_kind, nullptr, "The task kind, e.g. 'sleep'.", nullptr},
    {"status", task_get_status, nullptr, "The task's Status (NOT_FOUND once closed).", nullptr},
    {"closed", task_get_closed, nullptr, "Whether close() was called.", nullptr},
    {"meta", task_get_meta, nullptr,
     "Metadata of the finished task as a dict (e.g. an HTTP status or an exit code); empty "
     "while it runs.",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMemberDef task_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(TaskHead, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

}  // namespace

PyObject* create_task_type() {
  static PyType_Slot slots[] = {
      {Py_tp_dealloc, reinterpret_cast<void*>(task_dealloc)},
      {Py_tp_repr, reinterpret_cast<void*>(task_repr)},
      {Py_am_await, reinterpret_cast<void*>(task_await)},
      {Py_tp_methods, task_methods},
      {Py_tp_getset, task_getset},
      {Py_tp_members, task_members},
      {Py_tp_doc,
       const_cast<char*>("A task running on a goroutine. Created by Runtime.go(); closing it "
                         "(or letting it be garbage-collected) releases it from its runtime.")},
      {0, nullptr},
  };
  static PyType_Spec spec = {
      "gogoroutines._core.Task",
      static_cast<int>(sizeof(TaskObject)),
      0,
      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
      slots,
  };
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr) throw py::error_already_set();
  task_type = reinterpret_cast<PyTypeObject*>(type);
  Py_INCREF(type);  // kept for wrap_task for the life of the process
  return type;
}

const gg::Task* task_from(py::handle obj) {
  if (task_type == nullptr || Py_TYPE(obj.ptr()) != task_type) return nullptr;
  return &task_of(obj.ptr());
}

py::object wrap_task(gg::Task&& task) {
  PyObject* obj = task_type->tp_alloc(task_type, 0);
  if (obj == nullptr) throw py::error_already_set();
  new (&reinterpret_cast<TaskObject*>(obj)->task) gg::Task(std::move(task));
  return py::reinterpret_steal<py::object>(obj);
}

}  // namespace gogoroutines::binding
