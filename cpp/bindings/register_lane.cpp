// register_lane.cpp: gogoroutines._core.Lane, the items of one map run by Go
// (gogoroutines.mapping drives it).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "errors.hpp"
#include "gogoroutines/runtime.hpp"
#include "register.hpp"
#include "waiting.hpp"

namespace gogoroutines::binding {

namespace {

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
// handed out, each converted by outcome_value (a str for a completed item's
// result, else a tuple), and how many are tuples (0 lets the caller yield the
// list as it is). No outcomes means the timeout ran out.
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
  interruptible_wait(
      timeout,
      [&](gg::Timeout limit) {
        count = self.lane.take(limit, max, min_ready, linger, self.outcomes, self.buffer);
        return count > 0;
      },
      /*look_first=*/false);
  py::list out(count);
  std::size_t others = 0;
  for (std::size_t i = 0; i < count; ++i) {
    bool plain = false;
    py::object value = outcome_value(self.outcomes[i], plain);
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), value.release().ptr());  // steals it
    if (!plain) ++others;
  }
  return py::make_tuple(std::move(out), others);
}

}  // namespace

void register_lane(py::module_& m) {
  py::class_<PyLane>(m, "Lane", "The items of one map, run by Go (see gogoroutines.mapping).")
      .def(py::init([](const gg::Runtime& rt, py::handle kind, std::int64_t concurrency,
                       bool ordered, py::handle timeout) {
             return std::make_unique<PyLane>(rt, std::string(kind_name(kind)), concurrency, ordered,
                                             task_timeout(timeout));
           }),
           py::arg("runtime"), py::arg("kind"), py::arg("concurrency"), py::arg("ordered"),
           py::arg("timeout") = py::none())
      .def("feed", &lane_feed, py::arg("items"))
      .def("take", &lane_take, py::arg("timeout") = py::none(), py::arg("max") = 4096,
           py::arg("min_ready") = 1, py::arg("linger") = 0.0)
      .def("close", [](PyLane& self) { self.lane.close(); });
}

}  // namespace gogoroutines::binding
