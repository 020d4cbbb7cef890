"""Case "hashing": sha256 of many files, on goroutines against hashlib and pure Go.

The files (random bytes) are written once into the scratch directory before
the first round and stay in the page cache, so the case measures hashing and
reading from memory, not the disk. Every contender reads in 1 MiB chunks and
every digest is checked against the one computed when the file was written.
Pure Go hashes all the files once untimed, then again timed (its buffers and
heap warm, as the in-process contenders' are).
hashlib releases the GIL while it hashes a large buffer, so two threads can
use both cores.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gogoroutines import Runtime

from .harness import (
    CaseResult,
    Config,
    Contender,
    at_least,
    fmt_rate,
    interleaved,
    log,
    ratio_of,
    speed_rows,
)

CHUNK = 1 << 20
GOGO = 'gogoroutines rt.map("hash", path=...)'
ONE_THREAD = "hashlib, 1 thread"
TWO_THREADS = "hashlib, ThreadPoolExecutor(2)"
PURE_GO = "pure Go (goroutine per file)"


def make_files(directory: Path, count: int, size: int) -> dict[str, str]:
    """Write ``count`` files of ``size`` random bytes; return path -> sha256 hex digest."""
    directory.mkdir(parents=True, exist_ok=True)
    digests = {}
    for i in range(count):
        path = directory / f"f{i:03d}.bin"
        data = os.urandom(size)
        path.write_bytes(data)
        digests[str(path)] = hashlib.sha256(data).hexdigest()
    return digests


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while k := f.readinto(buf):
            h.update(view[:k])
    return h.hexdigest()


def _verify(got: list[str], expected: dict[str, str]) -> None:
    if got != list(expected.values()):
        raise AssertionError("wrong digest")


def contenders(rt: Runtime, expected: dict[str, str], gobench: Any) -> dict[str, Contender]:
    paths = list(expected)

    def gogo() -> None:
        _verify(list(rt.map("hash", [{"path": p} for p in paths], timeout=300)), expected)

    def one_thread() -> None:
        _verify([sha256_file(p) for p in paths], expected)

    def two_threads() -> None:
        with ThreadPoolExecutor(2) as pool:
            _verify(list(pool.map(sha256_file, paths)), expected)

    def pure_go() -> dict[str, Any]:
        out = gobench.run("hash", "-warmup", 1, *paths, timeout=300)
        _verify(out["digests"], expected)
        return out

    out: dict[str, Contender] = {
        GOGO: gogo,
        ONE_THREAD: one_thread,
        TWO_THREADS: two_threads,
    }
    if gobench is not None:
        out[PURE_GO] = pure_go
    return out


def run(cfg: Config) -> CaseResult:
    count, size = (8, 1 << 20) if cfg.quick else (64, 4 << 20)
    rounds = cfg.pick_rounds(7)
    mib = count * size / (1 << 20)
    case = f"hashing sha256 of {count} files x {size >> 20} MiB"
    log(f"  hashing: writing {count} files of {size >> 20} MiB ...")
    expected = make_files(cfg.scratch / "hash", count, size)
    notes = []
    if cfg.gobench is None:
        notes.append("hashing: pure Go skipped (no Go toolchain)")
    with Runtime() as rt:
        samples = interleaved("hashing", contenders(rt, expected, cfg.gobench), rounds, budget=90)
    rows = speed_rows(case, samples, TWO_THREADS, lambda m: fmt_rate(mib / m, "MiB/s"))
    targets = [
        at_least(case, "hash tasks >= 0.95x pure Go", ratio_of(samples, GOGO, PURE_GO), 0.95),
    ]
    data = {
        "files": count,
        "file_bytes": size,
        "rounds": rounds,
        "reference": TWO_THREADS,
        "contenders": {k: v.to_json() for k, v in samples.items()},
    }
    return CaseResult("hashing", rows, targets, notes, data)
