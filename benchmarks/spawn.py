"""Case "spawn": many trivial tasks end to end, against the alternatives.

Each contender starts N tasks that return a short string, waits for each,
reads and checks its result and releases it; the time covers all of that.
The batch path hands the whole input to ``Runtime.map("echo", ...)``. Pure Go
starts N goroutines that each store the string in a result slice, waits on a
``sync.WaitGroup`` and checks the slice (timed inside the Go process, after
one untimed warm-up run, as the Python contenders run in a warm process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gogoroutines import Runtime

from .harness import (
    CaseResult,
    Config,
    Contender,
    at_least,
    at_most,
    fmt_per_item,
    interleaved,
    ratio_of,
    speed_rows,
)

PAYLOAD = "x"
PER_TASK = "gogoroutines per-task API (rt.go + wait + result + close)"
BATCH = 'gogoroutines batch path (rt.map("echo", ...))'
ASYNCIO = "asyncio create_task + gather"
THREADS = "ThreadPoolExecutor(8)"
PURE_GO = "pure Go (goroutines + WaitGroup)"


def gogoroutines_per_task(rt: Runtime, n: int) -> None:
    """rt.go() per task, then wait(), result() and close() on each."""
    tasks = [rt.go("echo", data=PAYLOAD) for _ in range(n)]
    for t in tasks:
        t.wait()
        if t.result() != PAYLOAD:
            raise AssertionError("wrong result")
        t.close()


def gogoroutines_batch(rt: Runtime, n: int) -> None:
    """Runtime.map over n argument dicts (read lazily), checking each result."""
    count = 0
    for result in rt.map("echo", ({"data": PAYLOAD} for _ in range(n)), timeout=120):
        if result != PAYLOAD:
            raise AssertionError("wrong result")
        count += 1
    if count != n:
        raise AssertionError(f"{count} results, want {n}")


async def _echo(data: str) -> str:
    return data


def asyncio_tasks(n: int) -> None:
    """asyncio.create_task() per task, then gather() and read each result."""

    async def main() -> None:
        tasks = [asyncio.create_task(_echo(PAYLOAD)) for _ in range(n)]
        await asyncio.gather(*tasks)
        for t in tasks:
            if t.result() != PAYLOAD:
                raise AssertionError("wrong result")

    asyncio.run(main())


def thread_pool(n: int, workers: int = 8) -> None:
    """ThreadPoolExecutor.submit() per task, then result() on each future."""
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(str, PAYLOAD) for _ in range(n)]
        for f in futures:
            if f.result() != PAYLOAD:
                raise AssertionError("wrong result")


def contenders(rt: Runtime, n: int, gobench: Any = None) -> dict[str, Contender]:
    """The contenders of this case, each a call doing the whole job once."""
    out: dict[str, Callable[[], Any]] = {
        PER_TASK: lambda: gogoroutines_per_task(rt, n),
        BATCH: lambda: gogoroutines_batch(rt, n),
        ASYNCIO: lambda: asyncio_tasks(n),
        THREADS: lambda: thread_pool(n),
    }
    if gobench is not None:
        out[PURE_GO] = lambda: gobench.run("spawn", "-n", n, "-warmup", 1, timeout=120)
    return out


def run(cfg: Config) -> CaseResult:
    n = 10_000 if cfg.quick else 100_000
    rounds = cfg.pick_rounds(7)
    case = f"spawn {n:,} trivial tasks"
    notes = []
    if cfg.gobench is None:
        notes.append("spawn: pure Go skipped (no Go toolchain)")
    with Runtime() as rt:
        samples = interleaved("spawn", contenders(rt, n, cfg.gobench), rounds, budget=90)
    rows = speed_rows(case, samples, ASYNCIO, lambda m: fmt_per_item(m / n) + " per task")
    targets = [
        at_least(case, "per-task API >= 5x asyncio", ratio_of(samples, PER_TASK, ASYNCIO), 5),
        at_least(case, "batch path >= 10x asyncio", ratio_of(samples, BATCH, ASYNCIO), 10),
        at_most(
            case,
            "batch path within 2x of pure Go (time ratio <= 2)",
            ratio_of(samples, PURE_GO, BATCH),
            2,
        ),
    ]
    data = {
        "n": n,
        "rounds": rounds,
        "reference": ASYNCIO,
        "contenders": {k: v.to_json() for k, v in samples.items()},
    }
    return CaseResult("spawn", rows, targets, notes, data)
