// module.cpp: the gogoroutines._core extension module.
//
// This layer only adapts the C++ core to Python: it converts arguments and
// results (convert.cpp), releases the GIL around every call that can block
// and, in the main thread, waits in short slices so that Ctrl-C is answered
// (waiting.hpp), and maps
// C++ exceptions to the Python classes of gogoroutines.errors (errors.cpp).
// Each bound class has its file: task_type.cpp, register_runtime.cpp,
// register_waitset.cpp, register_lane.cpp, register_channel.cpp. The logic
// lives in the C++ core and in Go.
#include <pybind11/pybind11.h>

#include "errors.hpp"
#include "register.hpp"
#include "task_type.hpp"
#include "waiting.hpp"

namespace py = pybind11;
namespace binding = gogoroutines::binding;

PYBIND11_MODULE(_core, m) {
  m.doc() = R"pbdoc(
    The compiled core of gogoroutines: the Go runtime and the C++ core bound
    to Python. Use the public API in the gogoroutines package instead.
  )pbdoc";

  binding::load_classes();
  binding::remember_main_thread();
  py::register_exception_translator(&binding::translate_exception);

  m.add_object("Task", py::reinterpret_steal<py::object>(binding::create_task_type()));
  binding::register_runtime(m);
  binding::register_waitset(m);
  binding::register_lane(m);
  binding::register_channel(m);
  m.attr("__version__") = GOGOROUTINES_VERSION;
}
