// register_runtime.cpp: gogoroutines._core.Runtime, a table of tasks, with the
// id-based calls the PHP extension's API builds on.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convert.hpp"
#include "errors.hpp"
#include "gogoroutines/runtime.hpp"
#include "register.hpp"
#include "task_type.hpp"
#include "waiting.hpp"

namespace gogoroutines::binding {

namespace {

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

  m.def("info_json", &gg::Runtime::info_json, "JSON: Go version, GOMAXPROCS, task kinds.");
}

}  // namespace gogoroutines::binding
