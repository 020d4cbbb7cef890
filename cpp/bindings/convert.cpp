// convert.cpp: Python objects to task arguments, timeouts and channel items,
// and text and results from Go to Python objects.
#include "convert.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace gogoroutines::binding {

namespace {

using Own = gg::Args::Ownership;

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
  if (depth > gg::limits().max_value_depth) throw_invalid(where() + " is nested too deeply");
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
    throw_invalid(where() + " has unsupported type " + type_name(value) +
                  " (expected str, bytes, int, float, bool, None, list or dict)");
  }
}

}  // namespace

py::str text_of(std::string_view text) {
  PyObject* str =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
  if (str == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(str);
}

std::string_view kind_name(py::handle kind) {
  if (!PyUnicode_Check(kind.ptr())) {
    throw py::type_error("the task kind must be a str, got " + type_name(kind));
  }
  Py_ssize_t len = 0;
  const char* name = PyUnicode_AsUTF8AndSize(kind.ptr(), &len);
  if (name == nullptr) {
    PyErr_Clear();
    throw gg::UnknownKind("unknown task kind " + py::repr(kind).cast<std::string>() +
                          ": not encodable as UTF-8 (it contains lone surrogates)");
  }
  return std::string_view(name, static_cast<std::size_t>(len));
}

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
                      " must be a dict of arguments, got " + type_name(item));
      }
      item = buffers.mappings.emplace_back(py::reinterpret_borrow<py::object>(item));
    }
    batch.map("", named_args(kind, item, "item " + std::to_string(first_index + i) + ": ", buffers),
              Own::View);
  }
  return batch;
}

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
  throw_invalid("timeout must be a number of seconds or None, got " + type_name(value));
}

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
  throw_invalid("Channel.send() takes str or bytes, got " + type_name(item));
}

py::object item_object(const gg::Item& item) {
  if (item.text) return text_of(item.data);
  return py::bytes(item.data);
}

py::object outcome_value(const gg::Outcome& o, bool& plain) {
  const auto size = static_cast<Py_ssize_t>(o.data.size());
  const bool completed = o.status == gg::Status::Completed;
  PyObject* value = PyUnicode_DecodeUTF8(o.data.data(), size, completed ? "strict" : "replace");
  plain = value != nullptr && completed;
  if (plain) return py::reinterpret_steal<py::object>(value);
  if (value == nullptr) {
    PyErr_Clear();
    value = PyBytes_FromStringAndSize(o.data.data(), size);
    if (value == nullptr) throw py::error_already_set();
  }
  return py::make_tuple(o.id, static_cast<int>(o.status), o.timed_out,
                        py::reinterpret_steal<py::object>(value));
}

py::object TextSink::decode(std::int64_t task_id) const {
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

}  // namespace gogoroutines::binding
