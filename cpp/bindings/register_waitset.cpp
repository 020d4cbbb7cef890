// register_waitset.cpp: gogoroutines._core.WaitSet, the completions of watched
// tasks in the order they happen (gogoroutines.waiting, .callbacks, .aio).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "gogoroutines/runtime.hpp"
#include "register.hpp"
#include "task_type.hpp"
#include "waiting.hpp"

namespace gogoroutines::binding {

namespace {

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
    if (task == nullptr) throw_invalid("watch() takes Task objects, got " + type_name(item));
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

// WaitSet.take(timeout, max): tags of finished tasks (see interruptible_wait).
py::list take_tags(gg::WaitSet& ws, std::optional<double> timeout, std::size_t max) {
  if (max == 0) throw_invalid("max must be at least 1");
  std::vector<std::uint64_t> tags(std::min<std::size_t>(max, 65536));
  std::size_t count = 0;
  interruptible_wait(timeout, [&](gg::Timeout limit) {
    count = ws.take(limit, tags.data(), tags.size());
    return count > 0;
  });
  py::list out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = py::int_(tags[i]);
  return out;
}

}  // namespace

void register_waitset(py::module_& m) {
  py::class_<gg::WaitSet>(m, "WaitSet", "Completions of watched tasks, in the order they happen.")
      .def(py::init<bool>(), py::arg("with_fd") = false)
      .def_property_readonly("fd", &gg::WaitSet::fd)
      .def("watch", &watch_tasks, py::arg("tasks"), py::arg("tags"))
      .def("take", &take_tags, py::arg("timeout") = py::none(), py::arg("max") = 1024)
      .def("close", &gg::WaitSet::close);
}

}  // namespace gogoroutines::binding
