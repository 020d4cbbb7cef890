// register.hpp: the functions that add each bound class to the _core module
// (one file each: register_runtime.cpp, register_waitset.cpp,
// register_lane.cpp, register_channel.cpp; the Task type is task_type.cpp).
#pragma once

#include <pybind11/pybind11.h>

namespace gogoroutines::binding {

/// Adds Runtime and info_json() to the module.
void register_runtime(pybind11::module_& m);
/// Adds WaitSet to the module.
void register_waitset(pybind11::module_& m);
/// Adds Lane to the module.
void register_lane(pybind11::module_& m);
/// Adds Channel and select() to the module.
void register_channel(pybind11::module_& m);

}  // namespace gogoroutines::binding
