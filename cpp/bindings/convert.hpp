// convert.hpp: conversions between Python objects and the C++ core's values:
// task arguments (viewing the Python objects' memory), timeouts, text and
// results from Go, channel items.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "errors.hpp"
#include "gogoroutines/runtime.hpp"

namespace gogoroutines::binding {

/// Text from Go as a Python str (invalid UTF-8, e.g. from a file name, is replaced).
/// @param text UTF-8 text
/// @return the str
py::str text_of(std::string_view text);

/// Holds buffers of bytes-like arguments (bytearray, memoryview), contiguous
/// copies of strided ones, and dict copies of batch items that are other
/// mappings, until the spawn that reads them returns.
struct BufferKeeper {
  std::list<py::buffer_info> views;
  std::list<std::string> copies;
  std::list<py::dict> mappings;
};

/// A task kind's name as the C++ core takes it: a view of the str's UTF-8.
/// @param kind a Python object
/// @return the UTF-8 bytes of the str, valid as long as kind lives
/// @throw gg::UnknownKind for a str that is not encodable as UTF-8 (no kind
///        has such a name); py::type_error for anything but a str
std::string_view kind_name(py::handle kind);

/// The entries of a dict of named arguments for a task of `kind` (keyword
/// arguments, or one item of a batch: `where` prefixes messages then) as Args
/// viewing the Python objects, which `buffers` and the caller keep alive.
/// @throw gg::InvalidArgument for a name or value that cannot be converted
gg::Args named_args(std::string_view kind, py::handle dict, const std::string& where,
                    BufferKeeper& buffers);

/// Converts keyword arguments for a task of `kind` and calls fn(args) while
/// the Python objects they view are alive.
template <class Fn>
auto with_args(std::string_view kind, const py::dict& kwargs, Fn&& fn) {
  BufferKeeper buffers;
  const gg::Args args = named_args(kind, kwargs, "", buffers);
  return fn(args);
}

/// A batch of argument dicts (Lane.feed) as one map entry per item; the item
/// numbers in messages are offset by first_index.
gg::Args to_batch(std::string_view kind, const py::list& items, BufferKeeper& buffers,
                  std::int64_t first_index);

/// @param value a task's `timeout` argument: None, or a number of seconds
/// @return the timeout (a huge int becomes HUGE_VAL, which the core rejects)
/// @throw gg::InvalidArgument for anything else
std::optional<double> task_timeout(py::handle value);

/// An item for Channel.send(): a view of a str (as text) or bytes; other
/// bytes-like objects are copied into `copy`, since they may change while the
/// GIL is released.
/// @return the item's bytes and whether they are text
std::pair<std::string_view, bool> channel_item(py::handle item, std::string& copy);

/// @return a received item as the type it was sent as: str for text, else bytes
py::object item_object(const gg::Item& item);

/// The one conversion of an outcome (a finished task or map item: status and
/// data, as gg::Lane::take and gg::Runtime::collect report them) to a Python
/// value: the result as str if it completed with UTF-8 text (the common case,
/// kept cheap); else the tuple (id, status, timed_out, value), value being a
/// failure's message as str (invalid UTF-8 replaced), or the data as bytes if
/// a completed result is not UTF-8 (gogoroutines.mapping turns such a tuple
/// into its exception).
/// @param o the outcome
/// @param plain set to whether the value is a completed result's str
/// @return the value
py::object outcome_value(const gg::Outcome& o, bool& plain);

/// A result sink (see gg::Runtime::read_result) that creates a bytes object
/// of the result's size, so that the result is copied straight into it.
struct BytesSink {
  py::object bytes;
  char* operator()(std::size_t n) {
    bytes = py::reinterpret_steal<py::object>(
        PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(n)));
    if (!bytes) throw py::error_already_set();
    return PyBytes_AS_STRING(bytes.ptr());
  }
};

/// A result sink for a result wanted as str: decode() turns it into one.
struct TextSink {
  std::unique_ptr<char[]> buffer;
  std::size_t size = 0;
  char* operator()(std::size_t n) {
    buffer.reset(new char[n > 0 ? n : 1]);
    size = n;
    return buffer.get();
  }
  /// @param task_id the task, for the message of the error
  /// @return the result as str
  /// @throw py::error_already_set with ResultDecodeError if it is not UTF-8
  py::object decode(std::int64_t task_id) const;
};

}  // namespace gogoroutines::binding
