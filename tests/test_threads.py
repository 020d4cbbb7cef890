"""Python threads sharing a runtime and tasks; the GIL is released while waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

import gogoroutines
from conftest import wakeups
from gogoroutines import ChannelClosed, Runtime, RuntimeClosed, Status, TaskCancelled

HANG_GUARD = 30.0


def run_threads(target, count: int) -> list[BaseException]:
    """Run target(index) on count threads; return the exceptions they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(index: int) -> None:
        try:
            barrier.wait(HANG_GUARD)
            target(index)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD)
        assert not t.is_alive(), "a thread hung"
    return errors


def test_threads_share_one_runtime(rt):
    rounds = 40
    seen_ids: list[list[int]] = [[] for _ in range(6)]

    def worker(index: int) -> None:
        for i in range(rounds):
            data = f"thread {index} round {i}"
            echo = rt.go("echo", data=data)
            delayed = rt.go("delayed", delay_ms=i % 3)
            sleeper = rt.go("sleep", seconds=60)
            seen_ids[index] += [echo.id, delayed.id, sleeper.id]
            assert echo.result() == data
            assert delayed.result(HANG_GUARD) == f"Callback executed after {i % 3}ms"
            assert sleeper.cancel() is True
            s = rt.stats()
            assert s.total == s.active + s.completed + s.failed + s.cancelled
            assert 0 <= s.queued <= s.active
            for task in (echo, delayed, sleeper):
                task.close()

    assert run_threads(worker, 6) == []
    ids = [i for per_thread in seen_ids for i in per_thread]
    assert len(ids) == 6 * rounds * 3
    assert len(set(ids)) == len(ids)  # never reused, even under contention
    assert sorted(ids) == list(range(1, len(ids) + 1))
    s = rt.stats()
    assert (s.total, s.active, s.queued) == (0, 0, 0)


def test_threads_share_one_task(rt):
    task = rt.go("delayed", delay_ms=100)
    results: list[str] = []

    def reader(index: int) -> None:
        if index % 2:
            assert task.wait(HANG_GUARD)
        results.append(task.result(HANG_GUARD))

    assert run_threads(reader, 8) == []
    assert results == ["Callback executed after 100ms"] * 8


def test_cancel_from_another_thread_wakes_all_waiters(rt):
    task = rt.go("sleep", seconds=60)
    outcomes: list[object] = []
    lock = threading.Lock()

    def body(index: int) -> None:
        if index == 0:
            time.sleep(0.1)
            assert task.cancel() is True
            return
        try:
            task.result(HANG_GUARD)
        except TaskCancelled as err:
            with lock:
                outcomes.append(err)

    assert run_threads(body, 5) == []
    assert len(outcomes) == 4
    assert task.status is Status.CANCELLED


def test_concurrent_close_of_the_same_task(rt):
    tasks = [rt.go("sleep", seconds=60) for _ in range(50)]

    def closer(index: int) -> None:
        for task in tasks:
            task.close()

    assert run_threads(closer, 4) == []
    assert all(t.closed for t in tasks)
    assert rt.stats().total == 0


def test_closing_the_runtime_while_threads_use_it():
    r = Runtime()
    stop = threading.Event()

    def user(index: int) -> None:
        if index == 0:
            time.sleep(0.1)
            r.close()
            stop.set()
            return
        while not stop.is_set():
            try:
                with r.go("delayed", delay_ms=1) as t:
                    t.result(HANG_GUARD)
                r.stats()
            except RuntimeClosed:
                return

    assert run_threads(user, 4) == []
    assert r.closed


# ---- waits in a thread other than the main one ---------------------------------------------------
# Python runs signal handlers in the main thread only, so only there does a wait come back
# every 50 ms to answer Ctrl-C. Another thread waits in Go in one piece: it is not woken while
# there is nothing to do, and is woken at once when there is.


def waits_in_a_thread(r: Runtime, how: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """(wait, end): a wait of `how` that blocks without limit, and what ends it."""
    if how == "Channel.recv":
        ch = r.channel()
        return ch.recv, ch.close
    if how == "Runtime.map":
        return lambda: list(r.map("sleep", [{"seconds": 60}])), r.close
    task = r.go("sleep", seconds=60)
    wait = {
        "Task.wait": task.wait,
        "Task.result": lambda: task.result(3600),
        "gogoroutines.wait": lambda: gogoroutines.wait([task]),
        "as_completed": lambda: list(gogoroutines.as_completed([task])),
    }[how]
    return wait, task.cancel


@pytest.mark.parametrize(
    ("how", "ended_by"),
    [
        ("Task.wait", None),
        ("Task.result", TaskCancelled),
        ("gogoroutines.wait", None),
        ("as_completed", None),
        ("Channel.recv", ChannelClosed),
        ("Runtime.map", RuntimeClosed),
    ],
)
def test_a_wait_in_another_thread_sleeps_until_there_is_something_to_do(how, ended_by):
    r = Runtime()
    try:
        wait, end = waits_in_a_thread(r, how)
        raised: list[BaseException] = []

        def body() -> None:
            try:
                wait()
            except BaseException as err:
                raised.append(err)

        thread = threading.Thread(target=body)
        thread.start()
        time.sleep(0.2)  # into the wait
        before = wakeups(thread)
        time.sleep(1.0)
        woken = wakeups(thread) - before
        assert thread.is_alive()
        end()
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), "the wait was not woken"
        assert woken < 5  # waits in 50 ms slices woke it 20 times a second
        assert [type(err) for err in raised] == ([ended_by] if ended_by else [])
    finally:
        r.close()


def test_other_threads_run_while_waiting(rt):
    task = rt.go("sleep", seconds=60)
    count = 0
    started = threading.Event()
    stop = threading.Event()

    def counter() -> None:
        nonlocal count
        started.set()
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        assert started.wait(HANG_GUARD)
        before = count
        assert task.wait(1.0) is False
        progress = count - before
    finally:
        stop.set()
        thread.join(HANG_GUARD)
    # A second of free GIL counts into the millions; held, the counter would barely move.
    assert progress > 100_000, f"the counter thread only advanced {progress} times"


@pytest.mark.parametrize("method", ["result", "result_bytes"])
def test_other_threads_run_while_reading_a_result(rt, method):
    task = rt.go("sleep", seconds=0.5)
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        getattr(task, method)(HANG_GUARD)
    finally:
        stop.set()
        thread.join(HANG_GUARD)
    assert ticks > 20, f"the ticker thread only ran {ticks} times in 0.5 s"
