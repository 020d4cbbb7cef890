// limits.cpp: the limits of the Go engine, read once.
#include "gogoroutines/limits.hpp"

namespace gogoroutines {

const Limits& limits() {
  static const Limits read = [] {
    Limits l{};
    gogo_info_limits(&l);  // cannot fail: it only copies constants
    return l;
  }();
  return read;
}

}  // namespace gogoroutines
