// errors.hpp: the Python classes the binding uses (those of the pure-Python
// modules gogoroutines._types and gogoroutines.errors) and the one
// translation of C++ exceptions into them.
#pragma once

#include <pybind11/pybind11.h>

#include <exception>
#include <string>

namespace gogoroutines::binding {

namespace py = pybind11;
namespace gg = gogoroutines;

/// Python classes defined in pure Python, fetched once when the module loads
/// (see load_classes). Intentionally leaked: they live as long as the
/// interpreter, and must not be destroyed after it has finalized.
struct PyClasses {
  py::object status;
  py::object json_loads;  ///< json.loads, to turn a task's meta into a dict
  py::object go_error, invalid_argument, unknown_kind, task_not_found, runtime_closed, wait_timeout,
      task_cancelled, task_failed, task_timed_out, fork_error, internal_error, result_decode_error,
      channel_closed;
};
extern PyClasses* classes;

/// Imports gogoroutines._types and gogoroutines.errors and fills `classes`.
void load_classes();

/// Sets the Python error for a C++ exception: gg::Error subclasses map to the
/// classes of gogoroutines.errors (the only place where this is decided);
/// rethrows anything else (pybind11 then handles it).
/// @param error the exception
void translate_exception(std::exception_ptr error);

/// Throws gg::InvalidArgument (gogoroutines.InvalidArgument in Python).
/// @param message what is wrong
[[noreturn]] void throw_invalid(const std::string& message);

/// @param obj a Python object
/// @return the name of its type, for messages
std::string type_name(py::handle obj);

}  // namespace gogoroutines::binding
