// register_runtime.cpp: gogoroutines._core.Runtime, a table of tasks, with the
// id-based calls the PHP extension's API builds on.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "convert.hpp"
#include "errors.hpp"
#include "gogoroutines/runtime.hpp"
#include "register.hpp"
#include "task_type.hpp"
#include "waiting.hpp"

namespace gogoroutines::binding {

namespace {

py::object go(gg::Runtime& rt, py::handle kind_obj, py::handle timeout, const py::dict& kwargs) {
  const std::string_view kind = kind_name(kind_obj);
  const std::optional<double> seconds = task_timeout(timeout);
  return wrap_task(
      with_args(kind, kwargs, [&](const gg::Args& args) { return rt.go(kind, args, seconds); }));
}

std::int64_t spawn(gg::Runtime& rt, py::handle kind_obj, py::handle timeout,
                   const py::dict& kwargs) {
  const std::string_view kind = kind_name(kind_obj);
  const std::optional<double> seconds = task_timeout(timeout);
  return with_args(kind, kwargs,
                   [&](const gg::Args& args) { return rt.spawn(kind, args, seconds); });
}

py::tuple stats_tuple(const gg::Stats& s) {
  return py::make_tuple(s.total, s.active, s.queued, s.completed, s.failed, s.cancelled,
                        s.goroutines);
}

}  // namespace

void register_runtime(py::module_& m) {
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

  m.def("info_json", &gg::Runtime::info_json, "JSON: Go version, GOMAXPROCS, task kinds.");
}

}  // namespace gogoroutines::binding
