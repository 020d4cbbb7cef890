// task_type.hpp: gogoroutines._core.Task, the Python handle of a gg::Task.
#pragma once

#include <pybind11/pybind11.h>

#include "gogoroutines/runtime.hpp"

namespace gogoroutines::binding {

/// Creates the Task type; call once, at module initialization.
/// @return a new reference to the type object
PyObject* create_task_type();

/// @param obj a Python object
/// @return the task inside obj if it is a Task, else nullptr
const gogoroutines::Task* task_from(pybind11::handle obj);

/// Wraps a task in a new Python Task object, taking ownership of it.
/// @param task the task, moved in
/// @return the new Python object
pybind11::object wrap_task(gogoroutines::Task&& task);

}  // namespace gogoroutines::binding
