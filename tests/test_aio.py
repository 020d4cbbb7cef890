"""asyncio: ``await task`` and as_completed_async, on the default loop and on uvloop."""

from __future__ import annotations

import asyncio
import gc
import os
import select
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

import gogoroutines as g
from gogoroutines import (
    Runtime,
    Status,
    TaskCancelled,
    TaskFailed,
    TaskTimedOut,
    WaitTimeout,
)

HANG_GUARD = 30.0

T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run[Any]:
    """Run a coroutine to completion on a new loop: the default one, or uvloop's."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.run  # type: ignore[no-any-return]
    return asyncio.run


async def collect(iterator: AsyncIterator[T], into: list[T]) -> None:
    """Append what an async iterator yields to into, up to an exception."""
    async for item in iterator:
        into.append(item)


async def guard(awaitable: Awaitable[T], seconds: float = HANG_GUARD) -> T:
    """A hang guard around an await, never a performance expectation."""
    return await asyncio.wait_for(awaitable, seconds)


# ---- await task -------------------------------------------------------------------------


def test_await_returns_the_result(run, rt):
    async def main() -> list[str]:
        finished = rt.go("echo", data="already")
        assert finished.wait(HANG_GUARD)
        return [
            await guard(rt.go("echo", data="hello ☃")),
            await guard(rt.go("sleep", seconds=0.05)),
            await guard(rt.go("delayed", delay_ms=20)),
            await guard(finished),
        ]

    results = run(main())
    assert results == ["hello ☃", "", "Callback executed after 20ms", "already"]
    assert all(type(r) is str for r in results)


def test_await_does_not_block_the_loop(run, rt):
    async def main() -> tuple[str, int]:
        task = rt.go("sleep", seconds=0.3)
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.ensure_future(ticker())
        try:
            result = await guard(task)
        finally:
            stop = True
            await ticking
        return result, ticks

    result, ticks = run(main())
    assert result == ""
    assert ticks > 10  # the other coroutine kept running meanwhile (thousands, really)


def test_another_coroutine_can_cancel_the_awaited_task(run, rt):
    # Only possible if the loop keeps running while a coroutine awaits the task.
    async def main() -> None:
        task = rt.go("sleep", seconds=60)

        async def canceller() -> None:
            await asyncio.sleep(0.05)
            task.cancel()

        cancelling = asyncio.ensure_future(canceller())
        with pytest.raises(TaskCancelled):
            await guard(task)
        await cancelling

    run(main())


def test_await_raises_the_task_failure(run, rt):
    async def main() -> None:
        with pytest.raises(TaskFailed, match="exited with code 1") as info:
            await guard(rt.go("exec", argv=["false"]))
        assert not isinstance(info.value, TaskTimedOut)
        with pytest.raises(TaskTimedOut, match="timed out"):
            await guard(rt.go("sleep", seconds=60, timeout=0.05))
        finished = rt.go("exec", argv=["sh", "-c", "exit 3"])
        assert finished.wait(HANG_GUARD)
        with pytest.raises(TaskFailed, match="exited with code 3"):
            await guard(finished)
        cancelled = rt.go("sleep", seconds=60)
        cancelled.cancel()
        with pytest.raises(TaskCancelled):
            await guard(cancelled)

    run(main())


def test_await_a_task_many_times_and_from_many_coroutines(run, rt):
    async def main() -> None:
        task = rt.go("sleep", seconds=0.1)
        results = await guard(asyncio.gather(*(task for _ in range(5)), task, task))
        assert results == [""] * 7
        assert await guard(task) == ""
        assert task.status is Status.COMPLETED

    run(main())


def test_cancelling_the_awaiting_coroutine_cancels_the_task(run, rt):
    async def main() -> None:
        task = rt.go("sleep", seconds=60)

        async def waiter() -> str:
            return await task

        waiting = asyncio.ensure_future(waiter())
        await asyncio.sleep(0.05)
        assert task.status is Status.RUNNING
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert task.status is Status.CANCELLED

        # The usual way to put a limit on an await: wait_for cancels it on timeout.
        slow = rt.go("sleep", seconds=60)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(slow, 0.05)
        assert slow.status is Status.CANCELLED

    run(main())


def test_cancelling_one_of_many_awaits_leaves_the_others(run, rt):
    async def main() -> None:
        tasks = [rt.go("sleep", seconds=0.2) for _ in range(4)]
        waiters = [asyncio.ensure_future(guard(t)) for t in tasks]
        await asyncio.sleep(0.05)
        waiters[2].cancel()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert results[:2] == ["", ""]
        assert results[3] == ""
        assert isinstance(results[2], asyncio.CancelledError)
        assert [t.status for t in tasks] == [
            Status.COMPLETED,
            Status.COMPLETED,
            Status.CANCELLED,
            Status.COMPLETED,
        ]

    run(main())


def test_50000_awaited_tasks(run):
    n = 50_000

    async def one(rt: Runtime, i: int) -> str:
        if i % 2:
            return await rt.go("sleep", seconds=0.01)  # unfinished when awaited
        return await rt.go("echo", data=str(i))

    async def main() -> list[str]:
        with Runtime() as rt:
            return await guard(asyncio.gather(*(one(rt, i) for i in range(n))))

    results = run(main())
    assert results == ["" if i % 2 else str(i) for i in range(n)]


def test_event_loops_in_several_threads_await_tasks(run, rt):
    async def main(index: int) -> list[str]:
        tasks = [rt.go("sleep", seconds=0.05) for _ in range(50)]
        echoes = [await guard(rt.go("echo", data=f"{index}-{i}")) for i in range(20)]
        return [*await guard(asyncio.gather(*tasks)), *echoes]

    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            results[index] = run(main(index))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD)
        assert not t.is_alive()
    assert errors == []
    for i in range(4):
        assert results[i] == [""] * 50 + [f"{i}-{k}" for k in range(20)]


def test_no_thread_per_await(run, rt):
    async def main() -> tuple[int, int]:
        before = threading.active_count()
        tasks = [rt.go("sleep", seconds=0.3) for _ in range(1000)]
        gathering = asyncio.ensure_future(guard(asyncio.gather(*tasks)))
        await asyncio.sleep(0.05)  # every await has started
        during = threading.active_count()
        assert await gathering == [""] * 1000
        return before, during

    before, during = run(main())
    assert during <= before + 1


def test_running_many_event_loops_leaks_no_file_descriptors(run, rt):
    async def main() -> str:
        return await guard(rt.go("sleep", seconds=0.01))

    def open_fds() -> int:
        gc.collect()
        return len(os.listdir(f"/proc/{os.getpid()}/fd"))

    assert run(main()) == ""  # anything created once per process is there now
    before = open_fds()
    for _ in range(50):
        assert run(main()) == ""
    assert open_fds() - before < 10


# ---- as_completed_async --------------------------------------------------------------------


def test_as_completed_async_yields_finished_first_then_in_completion_order(run, rt):
    async def main() -> None:
        slow = rt.go("sleep", seconds=0.5)
        finished = rt.go("echo", data="done")
        failed = rt.go("exec", argv=["false"])
        soon = rt.go("sleep", seconds=0.1)
        cancelled = rt.go("sleep", seconds=60)
        assert finished.wait(HANG_GUARD)
        assert failed.wait(HANG_GUARD)
        asyncio.get_running_loop().call_later(0.3, cancelled.cancel)
        got = [t async for t in g.as_completed_async([slow, finished, failed, soon, cancelled])]
        assert set(got[:2]) == {finished, failed}
        assert got[2:] == [soon, cancelled, slow]
        assert cancelled.status is Status.CANCELLED
        with pytest.raises(TaskFailed):
            await failed

    run(main())


def test_as_completed_async_raises_wait_timeout(run, rt):
    async def main() -> None:
        finished = rt.go("echo", data="done")
        soon = rt.go("sleep", seconds=0.05)
        never = rt.go("sleep", seconds=60)
        assert finished.wait(HANG_GUARD)
        got = []
        with pytest.raises(WaitTimeout, match=r"^1 \(of 3\) tasks unfinished$") as info:
            await collect(g.as_completed_async([finished, never, soon], timeout=0.5), got)
        assert isinstance(info.value, TimeoutError)
        assert got == [finished, soon]
        assert never.status is Status.RUNNING  # running out of time cancels nothing

    run(main())


def test_as_completed_async_timeout_zero_yields_the_finished_first(run, rt):
    async def main() -> None:
        finished = [rt.go("echo", data=str(i)) for i in range(3)]
        never = rt.go("sleep", seconds=60)
        for task in finished:
            assert task.wait(HANG_GUARD)
        got = []
        with pytest.raises(WaitTimeout, match=r"^1 \(of 4\) tasks unfinished$"):
            await collect(g.as_completed_async([*finished, never], timeout=0), got)
        assert set(got) == set(finished)

    run(main())


def test_as_completed_async_counts_duplicates_once_and_takes_empty_input(run, rt):
    async def main() -> None:
        a, b = rt.go("echo", data="a"), rt.go("sleep", seconds=0.05)
        assert [t async for t in g.as_completed_async([a, b, a, b, a], timeout=HANG_GUARD)] == [
            a,
            b,
        ]
        assert [t async for t in g.as_completed_async([])] == []
        assert [t async for t in g.as_completed_async(iter(()), timeout=0)] == []

    run(main())


def test_as_completed_async_takes_tasks_of_several_runtimes(run, rt):
    async def main() -> None:
        with Runtime() as other, Runtime(max_concurrency=1) as limited:
            tasks = [
                rt.go("sleep", seconds=0.2),
                other.go("sleep", seconds=0.1),
                *(limited.go("sleep", seconds=0.01) for _ in range(3)),
            ]
            got = [t async for t in g.as_completed_async(tasks, timeout=HANG_GUARD)]
            assert set(got) == set(tasks)
            assert got[-1] is tasks[0]

    run(main())


def test_leaving_as_completed_async_early_leaves_the_tasks_running(run, rt):
    async def main() -> None:
        first = rt.go("echo", data="first")
        others = [rt.go("sleep", seconds=0.2) for _ in range(3)]
        iterator = g.as_completed_async([first, *others], timeout=HANG_GUARD)
        async for task in iterator:
            assert task is first
            break
        await iterator.aclose()
        assert {t.status for t in others} == {Status.RUNNING}
        assert await guard(asyncio.gather(*others)) == ["", "", ""]

    run(main())


def test_more_than_65536_completions_while_the_loop_is_busy():
    n = 70_000

    async def main() -> int:
        with Runtime(max_concurrency=1) as rt:
            gate = rt.go("sleep", seconds=60)
            tasks = [rt.go("echo", data="x") for _ in range(n)]  # queued behind the gate
            iterator = g.as_completed_async(tasks)
            first = asyncio.ensure_future(iterator.__anext__())
            await asyncio.sleep(0.1)  # the iterator watches every task
            gate.cancel()
            # Keep the loop busy while every task finishes.
            deadline = time.monotonic() + HANG_GUARD
            while rt.stats().active and time.monotonic() < deadline:
                time.sleep(0.02)
            got = 1 if await guard(first) in tasks else 0
            try:
                while True:
                    # Every task has finished: each one is ready at once. A hang guard.
                    await asyncio.wait_for(iterator.__anext__(), 3)
                    got += 1
            except StopAsyncIteration:
                pass
            except asyncio.TimeoutError:
                pass
            finally:
                await iterator.aclose()
            return got

    assert asyncio.run(main()) == n


# ---- Ctrl-C ---------------------------------------------------------------------------------

CTRL_C = """
import asyncio, signal, sys
import gogoroutines as g

signal.signal(signal.SIGINT, signal.default_int_handler)
if sys.argv[1] == "uvloop":
    import uvloop
    runner = uvloop.run
else:
    runner = asyncio.run

rt = g.Runtime()
task = rt.go("sleep", seconds=60)
other = rt.go("sleep", seconds=60)

async def main():
    print("waiting", flush=True)
    if sys.argv[2] == "await":
        return await task
    return [t async for t in g.as_completed_async([task], timeout=60)]

try:
    print("returned", repr(runner(main())), flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
print(task.status.name, other.status.name, flush=True)
"""


def read_line(proc, timeout: float) -> str:
    """One line of the child's stdout, or "" if none comes within timeout."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


@pytest.mark.parametrize(
    ("how", "status"),
    [("await", "CANCELLED"), ("as_completed_async", "RUNNING")],
)
def test_ctrl_c_in_asyncio_run(start_script, run, how, status):
    loop = "uvloop" if run is not asyncio.run else "asyncio"
    proc = start_script(CTRL_C, loop, how)
    assert read_line(proc, HANG_GUARD) == "waiting\n"
    time.sleep(0.2)  # let the child enter the wait
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)  # a hang guard: 60 s if Ctrl-C were ignored
    assert proc.returncode == 0, out + err
    # The awaiting coroutine was cancelled, and with it the awaited task; iterating
    # as_completed_async cancels nothing.
    assert out.splitlines() == ["KeyboardInterrupt caught", f"{status} RUNNING"]
    assert err == ""
