// waiting.cpp: the parts of waiting that need no template.
#include "waiting.hpp"

#include <unistd.h>

namespace gogoroutines::binding {

unsigned long main_thread_ident = 0;

void remember_main_thread() {
  main_thread_ident =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
}

void park_if_finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  if (!Py_IsFinalizing()) return;  // public from Python 3.13
#else
  if (!_Py_IsFinalizing()) return;
#endif
  for (;;) pause();
}

}  // namespace gogoroutines::binding
