// register_channel.cpp: gogoroutines._core.Channel, a Go channel of str and
// bytes items, and select() over several.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convert.hpp"
#include "errors.hpp"
#include "gogoroutines/runtime.hpp"
#include "register.hpp"
#include "waiting.hpp"

namespace gogoroutines::binding {

namespace {

py::object channel_recv(const gg::Channel& ch, std::optional<double> timeout) {
  std::optional<gg::Item> item;
  const bool got = interruptible_wait(timeout, [&](gg::Timeout limit) {
    item = ch.recv(limit);
    return item.has_value();
  });
  if (!got) throw gg::WaitTimeout("Channel.recv() found no item before the timeout");
  return item_object(*item);
}

void channel_send(const gg::Channel& ch, py::handle item, std::optional<double> timeout) {
  std::string copy;
  const auto [data, text] = channel_item(item, copy);
  if (!interruptible_wait(timeout, [&](gg::Timeout limit) { return ch.send(data, text, limit); })) {
    throw gg::WaitTimeout("Channel.send() could not send before the timeout");
  }
}

py::tuple select(const py::sequence& channels, std::optional<double> timeout) {
  std::vector<const gg::Channel*> list;
  for (py::handle ch : channels) {
    if (!py::isinstance<gg::Channel>(ch)) {
      throw_invalid("select() takes Channels, got " + type_name(ch));
    }
    list.push_back(&ch.cast<const gg::Channel&>());
  }
  std::size_t index = list.size();
  std::optional<gg::Item> item;
  const bool answered = interruptible_wait(timeout, [&](gg::Timeout limit) {
    item = gg::Channel::select(list, limit, index);
    return index < list.size();
  });
  if (!answered) throw gg::WaitTimeout("select() found no item before the timeout");
  return py::make_tuple(index, item ? item_object(*item) : py::none());
}

}  // namespace

void register_channel(py::module_& m) {
  py::class_<gg::Channel>(m, "Channel", "A Go channel of str and bytes items.")
      // With a runtime, the channel is the runtime's: closing it closes the channel.
      .def(py::init([](std::int64_t capacity, const gg::Runtime* runtime) {
             return runtime != nullptr ? gg::Channel(*runtime, capacity) : gg::Channel(capacity);
           }),
           py::arg("capacity") = 0, py::arg("runtime") = py::none())
      .def("send", &channel_send, py::arg("item"), py::arg("timeout") = py::none())
      .def("recv", &channel_recv, py::arg("timeout") = py::none())
      .def("close", &gg::Channel::close)
      .def("__len__", &gg::Channel::size)
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__",
           [](const gg::Channel& ch) {
             try {
               return channel_recv(ch, std::nullopt);
             } catch (const gg::ChannelClosed&) {
               throw py::stop_iteration();
             }
           })
      .def("__repr__", [](const gg::Channel& ch) {
        return "<Channel " + std::to_string(ch.handle()) + " with " + std::to_string(ch.size()) +
               " waiting>";
      });

  m.def("select", &select, py::arg("channels"), py::arg("timeout") = py::none());
}

}  // namespace gogoroutines::binding
