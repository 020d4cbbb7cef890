"""Shared fixtures of the gogoroutines test suite."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import gogoroutines
from gogoroutines import Runtime

# A hang guard, never a performance expectation: the machine is shared and noisy.
HANG_GUARD = 30.0

RunScript = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def rt() -> Iterator[Runtime]:
    """A fresh runtime, closed after the test."""
    runtime = Runtime()
    yield runtime
    runtime.close()


@pytest.fixture
def seed() -> Iterator[None]:
    """A fresh default runtime for the go_* functions (ids start at 1 again)."""
    gogoroutines.default_runtime().close()
    yield
    gogoroutines.default_runtime().close()


def child_env() -> dict[str, str]:
    """The environment of a child Python: no inherited warning or startup tweaks."""
    env = dict(os.environ)
    for name in ("PYTHONWARNINGS", "PYTHONSTARTUP", "PYTHONINSPECT"):
        env.pop(name, None)
    return env


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented Python source to a new file under tmp_path and return its path."""
    counter = itertools.count()

    def write(source: str) -> Path:
        path = tmp_path / f"script_{next(counter)}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_script(write_script: Callable[[str], Path], tmp_path: Path) -> RunScript:
    """Run Python source in a new interpreter; returns the CompletedProcess (text)."""

    def run(
        source: str, *args: str, timeout: float = HANG_GUARD
    ) -> subprocess.CompletedProcess[str]:
        path = write_script(source)
        return subprocess.run(
            [sys.executable, str(path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=child_env(),
            check=False,
        )

    return run


@pytest.fixture
def start_script(
    write_script: Callable[[str], Path], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start Python source in a new interpreter with piped output; killed if left running."""
    started: list[subprocess.Popen[str]] = []

    def start(source: str, *args: str) -> subprocess.Popen[str]:
        path = write_script(source)
        proc = subprocess.Popen(
            [sys.executable, str(path), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=child_env(),
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=HANG_GUARD)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
