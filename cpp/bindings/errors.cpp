// errors.cpp: C++ exceptions of the core turned into the Python exceptions of
// gogoroutines.errors, in one place.
#include "errors.hpp"

#include "convert.hpp"
#include "gogoroutines/errors.hpp"

namespace gogoroutines::binding {

PyClasses* classes = nullptr;

void load_classes() {
  py::module_ types = py::module_::import("gogoroutines._types");
  py::module_ errors = py::module_::import("gogoroutines.errors");
  classes = new PyClasses{
      types.attr("Status"),         py::module_::import("json").attr("loads"),
      errors.attr("GoError"),       errors.attr("InvalidArgument"),
      errors.attr("UnknownKind"),   errors.attr("TaskNotFound"),
      errors.attr("RuntimeClosed"), errors.attr("WaitTimeout"),
      errors.attr("TaskCancelled"), errors.attr("TaskFailed"),
      errors.attr("TaskTimedOut"),  errors.attr("ForkError"),
      errors.attr("InternalError"), errors.attr("ResultDecodeError"),
      errors.attr("ChannelClosed"),
  };
}

void throw_invalid(const std::string& message) { throw gg::InvalidArgument(message); }

std::string type_name(py::handle obj) {
  return py::str(py::type::of(obj).attr("__name__")).cast<std::string>();
}

namespace {
// Raises cls with the whole message of e (NUL bytes included).
void raise(const py::object& cls, const gg::Error& e) {
  const std::string& message = e.message();
  PyObject* text =
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace");
  if (text == nullptr) return;  // MemoryError is set
  PyErr_SetObject(cls.ptr(), text);
  Py_DECREF(text);
}
}  // namespace

void translate_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const gg::TaskFailed& e) {
    const py::object& cls = dynamic_cast<const gg::TaskTimedOut*>(&e) != nullptr
                                ? classes->task_timed_out
                                : classes->task_failed;
    py::object instance = cls(text_of(e.message()), py::arg("go_error") = text_of(e.go_error()),
                              py::arg("go_stack") = text_of(e.go_stack()));
    PyErr_SetObject(cls.ptr(), instance.ptr());
  } catch (const gg::TaskNotFound& e) {
    py::object instance =
        classes->task_not_found(text_of(e.message()), py::arg("task_id") = e.task_id());
    PyErr_SetObject(classes->task_not_found.ptr(), instance.ptr());
  } catch (const gg::UnknownKind& e) {
    raise(classes->unknown_kind, e);
  } catch (const gg::InvalidArgument& e) {
    raise(classes->invalid_argument, e);
  } catch (const gg::RuntimeClosed& e) {
    raise(classes->runtime_closed, e);
  } catch (const gg::WaitTimeout& e) {
    raise(classes->wait_timeout, e);
  } catch (const gg::TaskCancelled& e) {
    raise(classes->task_cancelled, e);
  } catch (const gg::ChannelClosed& e) {
    raise(classes->channel_closed, e);
  } catch (const gg::ForkError& e) {
    raise(classes->fork_error, e);
  } catch (const gg::InternalError& e) {
    raise(classes->internal_error, e);
  } catch (const gg::Error& e) {
    raise(classes->go_error, e);
  }
}

}  // namespace gogoroutines::binding
