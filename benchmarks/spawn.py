"""Case "spawn": many trivial tasks end to end, per-task API against the alternatives.

Each contender starts N tasks that return a short string, then waits for each,
reads its result and releases it; the time covers all of that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from gogoroutines import Runtime

PAYLOAD = "x"


def gogoroutines_per_task(rt: Runtime, n: int) -> None:
    """rt.go() per task, then wait(), result() and close() on each."""
    tasks = [rt.go("echo", data=PAYLOAD) for _ in range(n)]
    for t in tasks:
        t.wait()
        if t.result() != PAYLOAD:
            raise AssertionError("wrong result")
        t.close()


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


def contenders(rt: Runtime, n: int) -> dict[str, Callable[[], None]]:
    """The contenders of this case, each a call doing the whole job once."""
    return {
        "gogoroutines (per-task API)": lambda: gogoroutines_per_task(rt, n),
        "asyncio create_task + gather": lambda: asyncio_tasks(n),
        "ThreadPoolExecutor(8)": lambda: thread_pool(n),
    }
