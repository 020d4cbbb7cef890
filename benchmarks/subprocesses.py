"""Case "subprocesses": many short runs of ``true`` at concurrency 16.

Every contender captures the child's stdout and stderr through pipes (the
``exec`` kind always does) and checks its exit status:

- gogoroutines: ``rt.map("exec", [{"argv": ["true"]}, ...], concurrency=16)``;
- ``subprocess.run`` in a ``ThreadPoolExecutor(16)``;
- ``asyncio.create_subprocess_exec`` under an ``asyncio.Semaphore(16)``.

The reference is whichever Python alternative is faster (its median).
"""

from __future__ import annotations

import asyncio
import subprocess
from concurrent.futures import ThreadPoolExecutor

from gogoroutines import Runtime

from .harness import (
    CaseResult,
    Config,
    Contender,
    at_least,
    fmt_per_item,
    fmt_rate,
    interleaved,
    ratio_of,
    speed_rows,
)

CONCURRENCY = 16
ARGV = ["true"]
GOGO = 'gogoroutines rt.map("exec", concurrency=16)'
THREADS = "subprocess.run, ThreadPoolExecutor(16)"
ASYNCIO = "asyncio.create_subprocess_exec, Semaphore(16)"


def gogoroutines_exec(rt: Runtime, n: int) -> None:
    items = ({"argv": ARGV} for _ in range(n))
    count = 0
    for out in rt.map("exec", items, concurrency=CONCURRENCY, timeout=300):
        if out != "":
            raise AssertionError(f"unexpected output {out!r}")
        count += 1
    if count != n:
        raise AssertionError(f"{count} runs, want {n}")


def thread_pool(n: int) -> None:
    def once(_: int) -> None:
        subprocess.run(ARGV, capture_output=True, check=True, timeout=60)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for _ in pool.map(once, range(n)):
            pass


def asyncio_exec(n: int) -> None:
    async def main() -> None:
        sem = asyncio.Semaphore(CONCURRENCY)

        async def once() -> None:
            async with sem:
                proc = await asyncio.create_subprocess_exec(
                    *ARGV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                await proc.communicate()
                if proc.returncode != 0:
                    raise subprocess.CalledProcessError(proc.returncode or 0, ARGV)

        await asyncio.wait_for(asyncio.gather(*(once() for _ in range(n))), 300)

    asyncio.run(main())


def contenders(rt: Runtime, n: int) -> dict[str, Contender]:
    return {
        GOGO: lambda: gogoroutines_exec(rt, n),
        THREADS: lambda: thread_pool(n),
        ASYNCIO: lambda: asyncio_exec(n),
    }


def run(cfg: Config) -> CaseResult:
    n = 200 if cfg.quick else 2_000
    rounds = cfg.pick_rounds(5)
    case = f"subprocesses {n:,} x `true`, concurrency 16"
    with Runtime() as rt:
        samples = interleaved("subprocesses", contenders(rt, n), rounds, budget=120)
    python = [name for name in (THREADS, ASYNCIO) if samples[name].median is not None]
    reference = min(python, key=lambda name: samples[name].median or 0) if python else GOGO

    def rate(m: float) -> str:
        return f"{fmt_per_item(m / n)} per run, {fmt_rate(n / m, 'runs/s')}"

    rows = speed_rows(case, samples, reference, rate)
    targets = [
        at_least(
            case,
            "exec tasks >= 1.2x the faster Python alternative",
            ratio_of(samples, GOGO, reference) if reference != GOGO else None,
            1.2,
        )
    ]
    data = {
        "n": n,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "reference": reference,
        "contenders": {k: v.to_json() for k, v in samples.items()},
    }
    return CaseResult("subprocesses", rows, targets, [], data)
