"""wait() and as_completed(): the semantics of their concurrent.futures namesakes.

Most tests build one scenario twice, with concurrent.futures (a ThreadPoolExecutor
running time.sleep-based functions) and with gogoroutines tasks, and check that
both give the user exactly the same answer.
"""

from __future__ import annotations

import concurrent.futures as cf
import random
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import gogoroutines as g
from gogoroutines import Runtime, Status, TaskFailed, TaskTimedOut, WaitTimeout

HANG_GUARD = 30.0

# ---- scenarios --------------------------------------------------------------------------
#
# An item of a scenario is (outcome, at): outcome is "ok", "fail", "cancel" or "never";
# at is None for an item already settled when the scenario is handed over, else the
# number of seconds after which it settles.

Item = tuple[str, "float | None"]

OK_DONE: Item = ("ok", None)
FAIL_DONE: Item = ("fail", None)
CANCEL_DONE: Item = ("cancel", None)
NEVER: Item = ("never", None)


def ok(at: float) -> Item:
    return ("ok", at)


def fail(at: float) -> Item:
    return ("fail", at)


def cancel(at: float) -> Item:
    return ("cancel", at)


class Backend:
    """Builds scenarios and waits on them; one subclass per library."""

    name: str

    def __init__(self) -> None:
        self.timers: list[threading.Timer] = []

    def later(self, at: float, fn: Callable[[], object]) -> None:
        timer = threading.Timer(at, fn)
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def build(self, items: list[Item]) -> list[Any]:
        things = [self.make(outcome, at) for outcome, at in items]
        for thing, (outcome, at) in zip(things, items, strict=True):
            if at is None and outcome != "never":
                self.settle(thing)
        return things

    def make(self, outcome: str, at: float | None) -> Any:
        raise NotImplementedError

    def settle(self, thing: Any) -> None:
        raise NotImplementedError

    def wait(self, things: Iterable[Any], **kwargs: Any) -> tuple[set[Any], set[Any]]:
        raise NotImplementedError

    def as_completed(self, things: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        raise NotImplementedError

    FIRST_COMPLETED: str
    FIRST_EXCEPTION: str
    ALL_COMPLETED: str

    def close(self) -> None:
        for timer in self.timers:
            timer.cancel()
        for timer in self.timers:
            timer.join(HANG_GUARD)


def _cf_ok(at: float) -> str:
    time.sleep(at)
    return "ok"


def _cf_fail(at: float) -> str:
    time.sleep(at)
    raise RuntimeError("boom")


class FuturesBackend(Backend):
    """concurrent.futures: the reference."""

    name = "concurrent.futures"
    FIRST_COMPLETED = cf.FIRST_COMPLETED
    FIRST_EXCEPTION = cf.FIRST_EXCEPTION
    ALL_COMPLETED = cf.ALL_COMPLETED

    def __init__(self) -> None:
        super().__init__()
        self.pool = cf.ThreadPoolExecutor(max_workers=16)
        self.stop = threading.Event()

    def make(self, outcome: str, at: float | None) -> cf.Future[Any]:
        if outcome == "ok":
            return self.pool.submit(_cf_ok, at or 0)
        if outcome == "fail":
            return self.pool.submit(_cf_fail, at or 0)
        if outcome == "never":
            return self.pool.submit(self.stop.wait, HANG_GUARD)
        # What an executor does to a future cancelled before it ran.
        fut: cf.Future[Any] = cf.Future()

        def do_cancel() -> None:
            fut.cancel()
            fut.set_running_or_notify_cancel()

        if at is None:
            do_cancel()
        else:
            self.later(at, do_cancel)
        return fut

    def settle(self, thing: cf.Future[Any]) -> None:
        cf.wait([thing], timeout=HANG_GUARD)
        assert thing.done()

    def wait(self, things: Iterable[Any], **kwargs: Any) -> tuple[set[Any], set[Any]]:
        return cf.wait(things, **kwargs)

    def as_completed(self, things: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        return cf.as_completed(things, **kwargs)

    def close(self) -> None:
        super().close()
        self.stop.set()
        self.pool.shutdown(wait=True)


class TasksBackend(Backend):
    """gogoroutines tasks: sleep tasks; failures by an expiring timeout or `exec false`."""

    name = "gogoroutines"
    FIRST_COMPLETED = g.FIRST_COMPLETED
    FIRST_EXCEPTION = g.FIRST_EXCEPTION
    ALL_COMPLETED = g.ALL_COMPLETED

    def __init__(self) -> None:
        super().__init__()
        self.rt = Runtime()

    def make(self, outcome: str, at: float | None) -> g.Task:
        if outcome == "ok":
            if at is None:
                return self.rt.go("echo", data="ok")
            return self.rt.go("sleep", seconds=at)
        if outcome == "fail":
            if at is None:
                return self.rt.go("exec", argv=["false"])
            return self.rt.go("sleep", seconds=HANG_GUARD * 2, timeout=at)
        task = self.rt.go("sleep", seconds=HANG_GUARD * 2)
        if outcome == "cancel":
            if at is None:
                task.cancel()
            else:
                self.later(at, task.cancel)
        return task

    def settle(self, thing: g.Task) -> None:
        assert thing.wait(HANG_GUARD)

    def wait(self, things: Iterable[Any], **kwargs: Any) -> tuple[set[Any], set[Any]]:
        result = g.wait(things, **kwargs)
        assert isinstance(result, g.DoneAndNotDoneTasks)
        return result

    def as_completed(self, things: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        return g.as_completed(things, **kwargs)

    def close(self) -> None:
        super().close()
        self.rt.close()


@pytest.fixture(params=[FuturesBackend, TasksBackend], ids=["futures", "tasks"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The same scenario built with concurrent.futures and with gogoroutines tasks."""
    b = request.param()
    yield b
    b.close()


def indices(things: list[Any], subset: Iterable[Any]) -> set[int]:
    position = {thing: i for i, thing in enumerate(things)}
    return {position[thing] for thing in subset}


# ---- wait -------------------------------------------------------------------------------

ALL, FIRST, FIRST_EXC = "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"

WAIT_CASES = [
    pytest.param(
        [ok(0.05), fail(0.1), cancel(0.1), OK_DONE, FAIL_DONE, CANCEL_DONE],
        {},
        {0, 1, 2, 3, 4, 5},
        id="all-completed-by-default",
    ),
    pytest.param([OK_DONE, ok(0.05), NEVER], {"timeout": 0.5}, {0, 1}, id="all-completed-timeout"),
    pytest.param([NEVER, NEVER, ok(0.1)], {"return_when": FIRST}, {2}, id="first-completed"),
    pytest.param(
        [NEVER, OK_DONE, ok(0.5)], {"return_when": FIRST}, {1}, id="first-completed-already"
    ),
    pytest.param(
        [NEVER, cancel(0.1)], {"return_when": FIRST}, {1}, id="first-completed-by-a-cancel"
    ),
    pytest.param(
        [NEVER, fail(0.1)], {"return_when": FIRST}, {1}, id="first-completed-by-a-failure"
    ),
    pytest.param(
        [NEVER, NEVER], {"return_when": FIRST, "timeout": 0.2}, set(), id="first-completed-timeout"
    ),
    pytest.param(
        [OK_DONE, NEVER, fail(0.1)], {"return_when": FIRST_EXC}, {0, 2}, id="first-exception"
    ),
    pytest.param(
        [FAIL_DONE, NEVER, ok(0.5)],
        {"return_when": FIRST_EXC},
        {0},
        id="first-exception-already",
    ),
    pytest.param(
        [CANCEL_DONE, cancel(0.05), ok(0.3)],
        {"return_when": FIRST_EXC},
        {0, 1, 2},
        id="first-exception-ignores-cancelled",
    ),
    pytest.param(
        [ok(0.05), OK_DONE, ok(0.1)],
        {"return_when": FIRST_EXC},
        {0, 1, 2},
        id="first-exception-without-failures",
    ),
    pytest.param(
        [CANCEL_DONE, OK_DONE, NEVER],
        {"return_when": FIRST_EXC, "timeout": 0.2},
        {0, 1},
        id="first-exception-timeout",
    ),
    *[
        pytest.param(
            [OK_DONE, FAIL_DONE, CANCEL_DONE, NEVER, NEVER],
            {"return_when": when, "timeout": 0},
            {0, 1, 2},
            id=f"timeout-0-{when}",
        )
        for when in (ALL, FIRST, FIRST_EXC)
    ],
    *[
        pytest.param(
            [NEVER, ok(0.3)],
            {"return_when": when, "timeout": 0},
            set(),
            id=f"timeout-0-nothing-done-{when}",
        )
        for when in (ALL, FIRST, FIRST_EXC)
    ],
    pytest.param([OK_DONE, NEVER], {"timeout": -1}, {0}, id="negative-timeout"),
]


@pytest.mark.parametrize(("items", "kwargs", "expected_done"), WAIT_CASES)
def test_wait_matches_concurrent_futures(backend, items, kwargs, expected_done):
    if "return_when" in kwargs:
        kwargs = {**kwargs, "return_when": getattr(backend, kwargs["return_when"])}
    things = backend.build(items)
    done, not_done = backend.wait(things, **kwargs)
    assert isinstance(done, set)
    assert isinstance(not_done, set)
    assert indices(things, done) == expected_done
    assert indices(things, not_done) == set(range(len(items))) - expected_done
    for thing in done:
        assert thing.done()


def test_wait_counts_duplicates_once(backend):
    things = backend.build([OK_DONE, ok(0.05), NEVER])
    a, b, c = things
    done, not_done = backend.wait(iter([a, b, a, c, b, a]), timeout=0.5)
    assert done == {a, b}
    assert not_done == {c}
    done, not_done = backend.wait([a, a, a], return_when=backend.FIRST_COMPLETED)
    assert (done, not_done) == ({a}, set())


@pytest.mark.parametrize("kwargs", [{}, {"timeout": 0}, {"return_when": FIRST}])
def test_wait_on_nothing_returns_two_empty_sets(backend, kwargs):
    assert backend.wait([], **kwargs) == (set(), set())
    assert backend.wait(iter(()), **kwargs) == (set(), set())


def test_wait_result_is_a_named_tuple(rt):
    task = rt.go("echo", data="x")
    result = g.wait([task], timeout=HANG_GUARD)
    done, not_done = result
    assert result.done == done == {task}
    assert result.not_done == not_done == set()
    assert result._fields == cf.wait([]).__class__._fields == ("done", "not_done")


def test_constants_are_those_of_concurrent_futures(rt):
    assert (g.FIRST_COMPLETED, g.FIRST_EXCEPTION, g.ALL_COMPLETED) == (
        cf.FIRST_COMPLETED,
        cf.FIRST_EXCEPTION,
        cf.ALL_COMPLETED,
    )
    never, done = rt.go("sleep", seconds=60), rt.go("echo", data="x")
    assert done.wait(HANG_GUARD)
    result = g.wait([never, done], timeout=HANG_GUARD, return_when=cf.FIRST_COMPLETED)
    assert result == ({done}, {never})


@pytest.mark.parametrize("bad", ["SOME_COMPLETED", "", None, 1])
def test_wait_rejects_an_unknown_return_when(backend, bad):
    never = backend.build([NEVER])
    with pytest.raises(ValueError, match=r"(?i)return"):
        backend.wait(never, timeout=0, return_when=bad)


def test_wait_first_exception_counts_a_timed_out_task_as_failed(rt):
    never = rt.go("sleep", seconds=60)
    timed_out = rt.go("sleep", seconds=60, timeout=0.05)
    done, not_done = g.wait([never, timed_out], timeout=HANG_GUARD, return_when=g.FIRST_EXCEPTION)
    assert (done, not_done) == ({timed_out}, {never})
    with pytest.raises(TaskTimedOut):
        timed_out.result()
    assert never.status is Status.RUNNING  # waiting never cancels


def test_wait_leaves_unfinished_tasks_running(rt):
    tasks = [rt.go("sleep", seconds=60) for _ in range(3)]
    done, not_done = g.wait(tasks, timeout=0.05)
    assert done == set()
    assert not_done == set(tasks)
    assert {t.status for t in tasks} == {Status.RUNNING}


# ---- as_completed -------------------------------------------------------------------------


def test_as_completed_yields_finished_first_then_in_completion_order(backend):
    things = backend.build([ok(0.6), OK_DONE, FAIL_DONE, ok(0.1), cancel(0.35)])
    order = [indices(things, [t]).pop() for t in backend.as_completed(things, timeout=HANG_GUARD)]
    assert len(order) == 5
    assert set(order[:2]) == {1, 2}  # finished already: first, in any order
    assert order[2:] == [3, 4, 0]


def test_as_completed_timeout_after_yielding_what_finished(backend):
    things = backend.build([OK_DONE, ok(0.05), NEVER])
    got = []
    with pytest.raises(TimeoutError, match=r"^1 \(of 3\) (futures|tasks) unfinished$") as info:
        got.extend(backend.as_completed(things, timeout=0.5))  # keeps what came before
    assert [indices(things, [t]).pop() for t in got] == [0, 1]
    if backend.name == "gogoroutines":
        assert isinstance(info.value, WaitTimeout)
        assert isinstance(info.value, g.GoError)


@pytest.mark.parametrize("timeout", [0, -1])
def test_as_completed_timeout_zero_yields_the_finished_then_raises(backend, timeout):
    things = backend.build([OK_DONE, CANCEL_DONE, NEVER, ok(0.3), FAIL_DONE])
    got: list[Any] = []
    with pytest.raises(TimeoutError, match=r"^2 \(of 5\) (futures|tasks) unfinished$"):
        got.extend(backend.as_completed(things, timeout=timeout))
    assert indices(things, got) == {0, 1, 4}
    assert len(got) == 3


def test_as_completed_timeout_zero_with_everything_finished_does_not_raise(backend):
    things = backend.build([OK_DONE, FAIL_DONE, CANCEL_DONE])
    assert set(backend.as_completed(things, timeout=0)) == set(things)


def test_as_completed_counts_duplicates_once(backend):
    things = backend.build([OK_DONE, ok(0.05), fail(0.1)])
    a, b, c = things
    got = list(backend.as_completed([c, a, b, a, c, a], timeout=HANG_GUARD))
    assert got == [a, b, c]


def test_as_completed_with_nothing_yields_nothing(backend):
    assert list(backend.as_completed([])) == []
    assert list(backend.as_completed([], timeout=0)) == []


def test_as_completed_follows_the_delays_of_2000_tasks(rt):
    rng = random.Random(20240611)
    delays = [rng.uniform(0, 0.5) for _ in range(2000)]
    start = time.monotonic()
    by_task = {rt.go("sleep", seconds=d): d for d in delays}
    spawning = time.monotonic() - start
    order = [by_task[t] for t in g.as_completed(by_task, timeout=HANG_GUARD)]
    assert sorted(order) == sorted(delays)  # each task exactly once
    # Ties: a task may only come before one with a shorter delay when the two delays are
    # closer than the scheduling noise plus the time it took to spawn them all. The noise
    # of Go's timers and scheduler is 15-40 ms on an idle 2-core machine, 50-200 ms with
    # CPU hogs beside it: 20 ms would be flaky. Random order gives inversions of ~0.5 s.
    tolerance = 0.15 + spawning
    latest = 0.0
    out_of_order = []
    for d in order:
        if d < latest - tolerance:
            out_of_order.append((latest, d))
        latest = max(latest, d)
    assert out_of_order == []
    # And overall: the yield positions follow the ranks of the delays (Spearman's rho).
    rank = {d: r for r, d in enumerate(sorted(delays))}
    n = len(order)
    rho = 1 - 6 * sum((rank[d] - i) ** 2 for i, d in enumerate(order)) / (n * (n * n - 1))
    assert rho > 0.95
    assert all(t.status is Status.COMPLETED for t in by_task)


def test_wait_and_as_completed_take_more_than_65536_tasks(rt):
    # More than one batch of the completion queue (65,536 tags at a time).
    tasks = [rt.go("echo", data="x") for _ in range(70_000)]
    done, not_done = g.wait(tasks, timeout=HANG_GUARD)
    assert (len(done), not_done) == (70_000, set())
    assert len(set(g.as_completed(tasks, timeout=HANG_GUARD))) == 70_000


def test_as_completed_yields_failed_and_cancelled_tasks_without_raising(rt):
    failed = rt.go("exec", argv=["false"])
    cancelled = rt.go("sleep", seconds=60)
    threading.Timer(0.05, cancelled.cancel).start()
    got = list(g.as_completed([failed, cancelled], timeout=HANG_GUARD))
    assert set(got) == {failed, cancelled}
    with pytest.raises(TaskFailed, match="exited with code 1"):
        failed.result()
    assert cancelled.status is Status.CANCELLED


def test_leaving_as_completed_early_leaves_the_tasks_running(rt):
    first = rt.go("echo", data="first")
    others = [rt.go("sleep", seconds=0.2) for _ in range(3)]
    for task in g.as_completed([first, *others], timeout=HANG_GUARD):
        assert task is first
        break
    assert {t.status for t in others} == {Status.RUNNING}
    assert set(g.as_completed(others, timeout=HANG_GUARD)) == set(others)
    assert [t.result() for t in others] == ["", "", ""]


# ---- tasks of several runtimes ---------------------------------------------------------------


def test_wait_and_as_completed_take_tasks_of_several_runtimes(rt):
    with Runtime() as other, Runtime(max_concurrency=1) as limited:
        mine = rt.go("sleep", seconds=0.05)
        theirs = other.go("echo", data="other")
        queued = [limited.go("sleep", seconds=0.05) for _ in range(3)]  # two wait their turn
        default = g.default_runtime().go("sleep", seconds=0.05)
        never = other.go("sleep", seconds=60)
        everything = [mine, never, *queued, theirs, default]

        done, not_done = g.wait(everything, timeout=0)
        assert theirs in done
        assert never in not_done

        done, not_done = g.wait(set(everything) - {never}, timeout=HANG_GUARD)
        assert not_done == set()
        done, not_done = g.wait(everything, return_when=g.FIRST_EXCEPTION, timeout=0.1)
        assert not_done == {never}  # no failure: FIRST_EXCEPTION waits for all

        got = []
        with pytest.raises(WaitTimeout, match=r"^1 \(of 7\) tasks unfinished$"):
            got.extend(g.as_completed(everything, timeout=0.3))
        assert set(got) == set(everything) - {never}
        assert [t.result() for t in queued] == ["", "", ""]


def test_closing_a_runtime_wakes_a_wait_on_its_tasks(rt):
    other = Runtime()
    mine, theirs = rt.go("sleep", seconds=60), other.go("sleep", seconds=60)
    closer = threading.Timer(0.1, other.close)
    closer.start()
    try:
        done, not_done = g.wait([mine, theirs], timeout=HANG_GUARD, return_when=g.FIRST_COMPLETED)
    finally:
        closer.join(HANG_GUARD)
    assert (done, not_done) == ({theirs}, {mine})
    assert mine.status is Status.RUNNING


def test_cancelling_a_task_wakes_as_completed(rt):
    tasks = [rt.go("sleep", seconds=60) for _ in range(3)]
    canceller = threading.Timer(0.1, tasks[1].cancel)
    canceller.start()
    iterator = g.as_completed(tasks, timeout=HANG_GUARD)
    try:
        assert next(iterator) is tasks[1]
    finally:
        iterator.close()
        canceller.join(HANG_GUARD)
    assert tasks[1].status is Status.CANCELLED
    assert tasks[0].status is Status.RUNNING


# ---- Ctrl-C -------------------------------------------------------------------------------

CTRL_C = """
import signal, sys
import gogoroutines as g

# Python leaves SIGINT ignored when it starts ignored (a background job of a
# non-interactive shell); handle it as an interactive interpreter does.
signal.signal(signal.SIGINT, signal.default_int_handler)

rt = g.Runtime()
tasks = [rt.go("sleep", seconds=60) for _ in range(3)]
finished = rt.go("echo", data="finished")
finished.wait(20)
try:
    print("waiting", flush=True)  # inside the try: a Ctrl-C from here on is caught
    if sys.argv[1] == "wait":
        outcome = g.wait(tasks)
    elif sys.argv[1] == "wait-first":
        outcome = g.wait(tasks, timeout=60, return_when=g.FIRST_COMPLETED)
    else:
        outcome = [t.result() for t in g.as_completed([finished, *tasks], timeout=60)]
    print("returned", repr(outcome), flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
# The interrupted wait left the tasks as they were, and waiting again works.
print(*sorted({t.status.name for t in tasks}), flush=True)
print(len(g.wait([finished, *tasks], timeout=0).done), flush=True)
"""


def read_line(proc, timeout: float) -> str:
    """One line of the child's stdout, or "" if none comes within timeout."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


@pytest.mark.parametrize("how", ["wait", "wait-first", "as_completed"])
def test_ctrl_c_interrupts_wait_and_as_completed(start_script, how):
    proc = start_script(CTRL_C, how)
    assert read_line(proc, HANG_GUARD) == "waiting\n"
    time.sleep(0.2)  # let the child enter the wait
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)  # a hang guard: 60 s if Ctrl-C were ignored
    assert proc.returncode == 0, out + err
    assert out.splitlines() == ["KeyboardInterrupt caught", "RUNNING", "1"]
    assert err == ""
