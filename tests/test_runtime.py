"""Runtime: construction, closing, ids, stats, max_concurrency, versions."""

from __future__ import annotations

import gc
import importlib.metadata
import re
import time

import pytest

import gogoroutines
from gogoroutines import (
    GoError,
    InvalidArgument,
    Runtime,
    RuntimeClosed,
    Stats,
    Status,
)

HANG_GUARD = 30.0
STATS_RE = re.compile(r"Total: \d+, Active: \d+, Completed: \d+, Failed: \d+, Go Routines: \d+")


def assert_invariant(s: Stats) -> None:
    assert s.total == s.active + s.completed + s.failed + s.cancelled
    assert 0 <= s.queued <= s.active


def wait_until(predicate, timeout: float = HANG_GUARD, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# ---- versions ---------------------------------------------------------------


def test_version_matches_installed_metadata():
    assert gogoroutines.__version__ == importlib.metadata.version("gogoroutines")


def test_compiled_core_has_the_same_version_as_the_package():
    from gogoroutines._loader import load_core

    assert load_core().__version__ == gogoroutines.__version__


# ---- construction and closing -----------------------------------------------


def test_new_runtime_is_open_and_empty():
    with Runtime() as r:
        assert not r.closed
        assert r.max_concurrency is None
        s = r.stats()
        assert isinstance(s, Stats)
        assert s[:6] == (0, 0, 0, 0, 0, 0)
        assert s.goroutines >= 1  # process-wide, never zero while Go runs


def test_context_manager_returns_the_runtime_and_closes_it():
    with Runtime() as r:
        assert isinstance(r, Runtime)
        assert r.go("echo", data="hi").result() == "hi"
    assert r.closed
    assert repr(r) == "<Runtime closed>"


def test_context_manager_does_not_swallow_exceptions():
    runtimes: list[Runtime] = []

    def body() -> None:
        with Runtime() as r:
            runtimes.append(r)
            r.go("sleep", seconds=60)
            raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        body()
    assert runtimes[0].closed


def test_closed_runtime_raises_runtime_closed_everywhere():
    r = Runtime()
    task = r.go("sleep", seconds=60)
    cached = r.go("echo", data="done")  # finished during its spawn
    r.close()
    r.close()  # twice is fine
    assert r.closed
    calls = [
        lambda: r.go("echo", data="x"),
        r.stats,
        lambda: task.status,
        task.done,
        task.wait,
        task.result,
        task.result_bytes,
        task.cancel,
        lambda: cached.status,
        cached.result,
        cached.wait,
    ]
    for call in calls:
        with pytest.raises(RuntimeClosed, match="closed") as info:
            call()
        assert isinstance(info.value, RuntimeError)
        assert isinstance(info.value, GoError)
    task.close()  # closing a task of a closed runtime is fine
    assert task.closed


def test_close_cancels_the_goroutines_of_its_tasks():
    with Runtime() as observer:
        base = observer.stats().goroutines
        r = Runtime()
        # exec runs on a goroutine per task (sleep would be a timer, with none).
        tasks = [r.go("exec", argv=["sleep", "60"]) for _ in range(20)]
        assert wait_until(lambda: observer.stats().goroutines >= base + 20)
        r.close()
        assert wait_until(lambda: observer.stats().goroutines <= base), (
            f"goroutines still running after close: {observer.stats().goroutines} > {base}"
        )
        del tasks


def test_close_wakes_waiting_threads():
    import threading

    r = Runtime()
    task = r.go("sleep", seconds=60)
    outcomes: list[object] = []

    def waiter() -> None:
        try:
            outcomes.append(task.wait(HANG_GUARD))
        except RuntimeClosed as err:
            outcomes.append(err)

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    r.close()
    for t in threads:
        t.join(HANG_GUARD)
        assert not t.is_alive()
    assert len(outcomes) == 3
    for outcome in outcomes:
        assert outcome is True or isinstance(outcome, RuntimeClosed)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, False, "2", [2]])
def test_max_concurrency_must_be_a_positive_int_or_none(value):
    with pytest.raises(InvalidArgument, match="max_concurrency") as info:
        Runtime(max_concurrency=value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [2**31, 2**40])
def test_absurd_max_concurrency_is_invalid(value):
    with pytest.raises(InvalidArgument, match="max_concurrency"):
        Runtime(max_concurrency=value)


def test_max_concurrency_beyond_64_bits_is_invalid_argument():
    with pytest.raises(InvalidArgument, match="max_concurrency"):
        Runtime(max_concurrency=2**63)


def test_max_concurrency_is_reported():
    with Runtime(max_concurrency=3) as r:
        assert r.max_concurrency == 3
    with Runtime(None) as r:
        assert r.max_concurrency is None


def test_max_concurrency_queues_the_extra_tasks():
    with Runtime(max_concurrency=2) as r:
        tasks = [r.go("sleep", seconds=0.5) for _ in range(5)]
        s = r.stats()
        assert s.queued == 3
        assert s.active == 5
        assert_invariant(s)
        assert tasks[4].status is Status.QUEUED
        assert not tasks[4].done()
        assert tasks[0].status in (Status.RUNNING, Status.COMPLETED)
        for t in tasks:
            assert t.result(HANG_GUARD) == ""
            assert t.status is Status.COMPLETED
        s = r.stats()
        assert (s.total, s.active, s.queued, s.completed) == (5, 0, 0, 5)


def test_cancelled_queued_task_never_runs_and_frees_its_turn():
    with Runtime(max_concurrency=1) as r:
        first = r.go("sleep", seconds=60)
        queued = r.go("sleep", seconds=60)
        last = r.go("echo", data="after")
        assert first.status is Status.RUNNING
        assert queued.status is Status.QUEUED
        assert last.status is Status.QUEUED  # an instant kind waits its turn too
        assert last.wait(0.05) is False
        assert queued.cancel() is True
        assert queued.status is Status.CANCELLED
        assert first.cancel() is True  # frees the only slot: `last` runs next
        assert last.result(HANG_GUARD) == "after"
        assert queued.status is Status.CANCELLED  # it never ran
        s = r.stats()
        assert (s.completed, s.cancelled, s.active, s.queued) == (1, 2, 0, 0)


def test_task_deadline_counts_from_the_start_not_the_spawn():
    with Runtime(max_concurrency=1) as r:
        blocker = r.go("sleep", seconds=1.0)
        late = r.go("sleep", seconds=0, timeout=0.5)  # queued for about 1 s
        assert late.status is Status.QUEUED
        assert blocker.result(HANG_GUARD) == ""
        assert late.result(HANG_GUARD) == ""
        assert late.status is Status.COMPLETED


# ---- ids ----------------------------------------------------------------------


def test_ids_start_at_one_per_runtime_and_are_never_reused():
    with Runtime() as a, Runtime() as b:
        first = [a.go("echo", data=str(i)) for i in range(3)]
        assert [t.id for t in first] == [1, 2, 3]
        for t in first:
            t.close()
        assert a.go("echo", data="x").id == 4
        assert b.go("echo", data="x").id == 1


# ---- stats --------------------------------------------------------------------


def test_stats_counts_every_state_and_formats_like_php(rt):
    done = [rt.go("echo", data="a"), rt.go("sleep", seconds=0)]
    failed = rt.go("sleep", seconds=60, timeout=0.01)
    cancelled = rt.go("sleep", seconds=60)
    running = rt.go("sleep", seconds=60)
    for t in done:
        t.result(HANG_GUARD)
    assert failed.wait(HANG_GUARD)
    assert cancelled.cancel()
    s = rt.stats()
    assert isinstance(s, tuple)
    assert s._fields == (
        "total",
        "active",
        "queued",
        "completed",
        "failed",
        "cancelled",
        "goroutines",
    )
    assert (s.total, s.active, s.queued, s.completed, s.failed, s.cancelled) == (5, 1, 0, 2, 1, 1)
    assert_invariant(s)
    assert str(s) == f"Total: 5, Active: 1, Completed: 2, Failed: 1, Go Routines: {s.goroutines}"
    assert STATS_RE.fullmatch(str(s))
    assert repr(rt) == "<Runtime total=5 active=1 queued=0>"
    running.close()
    s = rt.stats()
    assert (s.total, s.active) == (4, 0)


def test_stats_str_exact_format():
    s = Stats(total=7, active=2, queued=1, completed=3, failed=1, cancelled=1, goroutines=9)
    assert str(s) == "Total: 7, Active: 2, Completed: 3, Failed: 1, Go Routines: 9"


def test_closing_tasks_removes_them_from_stats(rt):
    tasks = [rt.go("echo", data=str(i)) for i in range(300)]  # more than one release batch
    tasks += [rt.go("sleep", seconds=60) for _ in range(3)]
    assert rt.stats().total == 303
    for t in tasks:
        t.close()
    s = rt.stats()
    assert (s.total, s.active, s.completed, s.cancelled) == (0, 0, 0, 0)


def test_garbage_collected_task_is_released(rt):
    task = rt.go("sleep", seconds=60)
    assert rt.stats().total == 1
    del task
    gc.collect()
    s = rt.stats()
    assert (s.total, s.active) == (0, 0)


def test_task_keeps_working_when_its_runtime_object_is_gone():
    task = Runtime().go("delayed", delay_ms=20)
    gc.collect()
    assert task.result(HANG_GUARD) == "Callback executed after 20ms"
    assert task.status is Status.COMPLETED


def test_tasks_of_different_runtimes_are_separate():
    with Runtime() as a, Runtime() as b:
        ta = a.go("sleep", seconds=60)
        tb = b.go("echo", data="b")
        assert a.stats().total == 1
        assert b.stats().total == 1
        a.close()
        assert tb.result() == "b"
        assert b.stats().completed == 1
        with pytest.raises(RuntimeClosed):
            ta.result()


# ---- default runtime ----------------------------------------------------------


def test_default_runtime_is_shared_and_recreated_after_close(php_api):
    first = gogoroutines.default_runtime()
    assert gogoroutines.default_runtime() is first
    first.close()
    second = gogoroutines.default_runtime()
    assert second is not first
    assert not second.closed
    assert second.go("echo", data="ok").result() == "ok"


def test_task_class_is_exported():
    with Runtime() as r:
        assert isinstance(r.go("echo", data=""), gogoroutines.Task)
    with pytest.raises(AttributeError):
        _ = gogoroutines.NoSuchThing  # type: ignore[attr-defined]
