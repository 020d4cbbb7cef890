// waiting.cpp: the part of waiting that needs no template.
#include "waiting.hpp"

#include <unistd.h>

namespace gogoroutines::binding {

void park_if_finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  if (!Py_IsFinalizing()) return;  // public from Python 3.13
#else
  if (!_Py_IsFinalizing()) return;
#endif
  for (;;) pause();
}

}  // namespace gogoroutines::binding
