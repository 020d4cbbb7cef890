"""Task.add_done_callback and Task.future(): tasks seen as concurrent.futures."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import logging
import random
import threading
import time

import pytest

import gogoroutines as g
from conftest import wakeups
from gogoroutines import Runtime, Status, TaskCancelled, TaskFailed, TaskTimedOut

HANG_GUARD = 30.0


class Recorder:
    """A done-callback that records its calls and the thread each ran in."""

    def __init__(self, expected: int = 1) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[g.Task, str, Status]] = []
        self.expected = expected
        self.all_called = threading.Event()

    def __call__(self, task: g.Task) -> None:
        with self.lock:
            self.calls.append((task, threading.current_thread().name, task.status))
            if len(self.calls) >= self.expected:
                self.all_called.set()

    def wait(self) -> None:
        assert self.all_called.wait(HANG_GUARD), f"{len(self.calls)} of {self.expected} calls"


# ---- add_done_callback ----------------------------------------------------------------------


def test_callback_runs_once_the_task_finishes(rt):
    task = rt.go("sleep", seconds=0.1)
    seen: list[object] = []
    called = threading.Event()

    def callback(t: g.Task) -> None:
        seen.extend([t, t.done(), t.status, t.result(0), threading.current_thread()])
        called.set()

    assert task.add_done_callback(callback) is None
    assert called.wait(HANG_GUARD)
    assert seen[:4] == [task, True, Status.COMPLETED, ""]
    assert seen[0] is task
    assert seen[4] is not threading.current_thread()  # not called in the caller's thread


def test_callback_of_a_finished_task_runs_at_once_in_the_calling_thread(rt):
    task = rt.go("echo", data="x")
    assert task.wait(HANG_GUARD)
    record = Recorder()
    task.add_done_callback(record)
    assert record.calls == [(task, threading.current_thread().name, Status.COMPLETED)]


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda rt: rt.go("exec", argv=["false"]), Status.FAILED),
        (lambda rt: rt.go("sleep", seconds=60, timeout=0.05), Status.FAILED),
        (lambda rt: rt.go("sleep", seconds=60), Status.CANCELLED),
    ],
    ids=["failed", "timed-out", "cancelled"],
)
def test_callback_runs_for_failed_and_cancelled_tasks(rt, make, status):
    task = make(rt)
    record = Recorder()
    task.add_done_callback(record)
    if status is Status.CANCELLED:
        task.cancel()
    record.wait()
    assert record.calls == [(task, record.calls[0][1], status)]


def test_closing_an_unfinished_task_runs_its_callbacks(rt):
    task = rt.go("sleep", seconds=60)
    record = Recorder()
    task.add_done_callback(record)
    task.close()
    record.wait()
    assert [c[0] for c in record.calls] == [task]


def test_callbacks_of_one_task_run_in_the_order_they_were_added(rt):
    task = rt.go("sleep", seconds=0.1)
    order: list[int] = []
    done = threading.Event()
    for i in range(100):
        task.add_done_callback(lambda t, i=i: order.append(i))
    task.add_done_callback(lambda t: done.set())
    assert done.wait(HANG_GUARD)
    assert order == list(range(100))


def test_callback_exception_is_logged_and_later_callbacks_still_run(rt, caplog):
    caplog.set_level(logging.ERROR, logger="gogoroutines")
    task = rt.go("sleep", seconds=0.05)
    later = rt.go("sleep", seconds=0.2)

    def broken(t: g.Task) -> None:
        raise ValueError("broken callback")

    record = Recorder(expected=2)
    task.add_done_callback(broken)
    task.add_done_callback(record)
    later.add_done_callback(broken)
    later.add_done_callback(record)
    record.wait()
    assert [c[0] for c in record.calls] == [task, later]
    errors = [r for r in caplog.records if r.name == "gogoroutines"]
    assert len(errors) == 2
    for r in errors:
        assert r.levelno == logging.ERROR
        assert r.exc_info is not None
        assert isinstance(r.exc_info[1], ValueError)
        assert "broken callback" in caplog.text
    # The dispatcher is still alive.
    again = Recorder()
    rt.go("sleep", seconds=0.01).add_done_callback(again)
    again.wait()


def test_exception_in_the_callback_of_a_finished_task_is_logged_not_raised(rt, caplog):
    caplog.set_level(logging.ERROR, logger="gogoroutines")
    task = rt.go("echo", data="x")
    assert task.wait(HANG_GUARD)

    def broken(t: g.Task) -> None:
        raise RuntimeError("broken at once")

    task.add_done_callback(broken)  # does not raise
    [record] = [r for r in caplog.records if r.name == "gogoroutines"]
    assert record.levelno == logging.ERROR
    assert isinstance(record.exc_info[1], RuntimeError)


def test_a_callback_raising_system_exit_does_not_kill_the_dispatcher(run_script):
    # In a child: a dead dispatcher would break every later test of this process.
    proc = run_script(
        """
        import logging, sys, threading
        import gogoroutines as g
        logging.basicConfig(stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
        rt = g.Runtime()
        task = rt.go("sleep", seconds=0.05)
        task.add_done_callback(lambda t: sys.exit(3))
        task.wait(20)
        ran = threading.Event()
        rt.go("sleep", seconds=0.05).add_done_callback(lambda t: ran.set())
        print("later callback ran:", ran.wait(3), flush=True)
        """
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "later callback ran: True"
    assert lines[0].startswith("gogoroutines ERROR exception in the done-callback")
    assert "SystemExit: 3" in proc.stdout  # logged with its traceback


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_ctrl_c_in_a_callback_run_at_once_propagates_as_with_concurrent_futures(rt, error):
    def interrupted(_: object) -> None:
        raise error

    fut: cf.Future[str] = cf.Future()
    fut.set_result("x")
    with pytest.raises(error):
        fut.add_done_callback(interrupted)  # the reference behaviour

    task = rt.go("echo", data="x")
    assert task.wait(HANG_GUARD)
    with pytest.raises(error):
        task.add_done_callback(interrupted)


def test_callback_may_add_callbacks(rt):
    first, second = rt.go("sleep", seconds=0.05), rt.go("sleep", seconds=0.2)
    finished = rt.go("echo", data="x")
    assert finished.wait(HANG_GUARD)
    record = Recorder(expected=3)

    def chain(t: g.Task) -> None:
        record(t)
        second.add_done_callback(record)
        finished.add_done_callback(record)

    first.add_done_callback(chain)
    record.wait()
    assert [c[0] for c in record.calls] == [first, finished, second]


def test_add_done_callback_rejects_what_is_not_callable(rt):
    task = rt.go("echo", data="x")
    with pytest.raises(TypeError, match="callable"):
        task.add_done_callback("not a function")
    with pytest.raises(TypeError):
        task.add_done_callback()


def test_10000_tasks_each_callback_runs_exactly_once(rt):
    n = 10_000
    rng = random.Random(7)
    record = Recorder(expected=n)
    tasks = [
        rt.go("echo", data=str(i)) if i % 3 == 0 else rt.go("sleep", seconds=rng.uniform(0, 0.2))
        for i in range(n)
    ]
    for task in tasks:
        task.add_done_callback(record)
    record.wait()
    counts = collections.Counter(id(c[0]) for c in record.calls)
    assert len(counts) == n
    assert set(counts.values()) == {1}
    assert {c[2] for c in record.calls} == {Status.COMPLETED}


def test_callbacks_added_from_many_threads_each_run_once():
    per_thread, threads = 1500, 4
    record = Recorder(expected=per_thread * threads)
    with Runtime() as rt:
        errors: list[BaseException] = []

        def add(index: int) -> None:
            try:
                for i in range(per_thread):
                    kind = ("echo", {"data": "x"}) if i % 2 else ("sleep", {"seconds": 0.01})
                    rt.go(kind[0], **kind[1]).add_done_callback(record)
            except BaseException as err:
                errors.append(err)

        workers = [threading.Thread(target=add, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(HANG_GUARD)
        assert errors == []
        record.wait()
    assert len(record.calls) == per_thread * threads
    assert len({id(c[0]) for c in record.calls}) == per_thread * threads


def test_an_idle_dispatcher_sleeps_until_a_task_finishes(rt):
    # The dispatcher waits in Go in one piece (only the main thread waits in slices, to
    # answer Ctrl-C): while nothing finishes, it is not woken at all.
    first = Recorder()
    rt.go("sleep", seconds=0.01).add_done_callback(first)
    first.wait()
    [dispatcher] = [t for t in threading.enumerate() if t.name == "gogoroutines-callbacks"]
    pending = Recorder()
    task = rt.go("sleep", seconds=60)
    task.add_done_callback(pending)
    time.sleep(0.1)
    before = wakeups(dispatcher)
    time.sleep(1.0)
    assert wakeups(dispatcher) - before < 5  # waits in 50 ms slices woke it 20 times a second
    task.cancel()
    pending.wait()  # a task that finishes wakes it at once
    assert pending.calls[0][1:] == ("gogoroutines-callbacks", Status.CANCELLED)


def test_program_using_callbacks_exits_cleanly(run_script):
    proc = run_script(
        """
        import threading
        import gogoroutines as g
        rt = g.Runtime()
        ran = threading.Event()
        rt.go("sleep", seconds=0.05).add_done_callback(lambda t: ran.set())
        assert ran.wait(20)
        rt.go("sleep", seconds=60).add_done_callback(print)  # still pending at exit
        fut = rt.go("sleep", seconds=60).future()
        print("bye", flush=True)
        """
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "bye\n", "")


# ---- future() -----------------------------------------------------------------------------------


def test_future_resolves_with_the_result(rt):
    pending = rt.go("delayed", delay_ms=50)
    finished = rt.go("echo", data="ready ☃")
    assert finished.wait(HANG_GUARD)
    for task, expected in ((pending, "Callback executed after 50ms"), (finished, "ready ☃")):
        fut = task.future()
        assert isinstance(fut, cf.Future)
        assert fut.result(timeout=HANG_GUARD) == expected
        assert fut.done()
        assert not fut.cancelled()
        assert fut.exception() is None
        assert task.result() == expected
    assert finished.future().done()  # a finished task's future is resolved at once


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda rt: rt.go("exec", argv=["false"]), TaskFailed, "exited with code 1"),
        (lambda rt: rt.go("sleep", seconds=60, timeout=0.05), TaskTimedOut, "timed out"),
    ],
    ids=["failed", "timed-out"],
)
def test_future_of_a_failed_task_holds_the_exception(rt, make, error, message):
    task = make(rt)
    fut = task.future()
    with pytest.raises(error, match=message):
        fut.result(timeout=HANG_GUARD)
    assert isinstance(fut.exception(), error)
    assert not fut.cancelled()
    assert task.future().exception(timeout=HANG_GUARD).__class__ is error  # already failed


def test_cancelled_task_cancels_the_future(rt):
    task = rt.go("sleep", seconds=60)
    fut = task.future()
    assert task.cancel() is True
    with pytest.raises(cf.CancelledError):
        fut.result(timeout=HANG_GUARD)
    assert fut.cancelled()
    assert fut.done()
    later = task.future()  # of a task cancelled already
    assert later.cancelled()
    with pytest.raises(cf.CancelledError):
        later.result(timeout=0)
    with pytest.raises(TaskCancelled):
        task.result()


def test_cancelling_the_future_cancels_the_task(rt):
    task = rt.go("sleep", seconds=60)
    fut = task.future()
    assert fut.cancel() is True
    assert fut.cancelled()
    assert task.wait(HANG_GUARD)
    assert task.status is Status.CANCELLED


def test_cancelling_the_future_of_a_finished_task_does_nothing(rt):
    task = rt.go("echo", data="kept")
    fut = task.future()
    assert fut.result(timeout=HANG_GUARD) == "kept"
    assert fut.cancel() is False
    assert task.status is Status.COMPLETED
    assert fut.result() == "kept"


def test_future_done_callbacks_run(rt):
    fut = rt.go("sleep", seconds=0.05).future()
    seen: list[str] = []
    called = threading.Event()
    fut.add_done_callback(lambda f: (seen.append(f.result()), called.set()))
    assert called.wait(HANG_GUARD)
    assert seen == [""]


def test_futures_work_with_concurrent_futures_wait_and_as_completed(rt):
    ok = rt.go("sleep", seconds=0.05).future()
    finished = rt.go("echo", data="first")
    assert finished.wait(HANG_GUARD)
    first = finished.future()
    failing = rt.go("sleep", seconds=60, timeout=0.1).future()
    never = rt.go("sleep", seconds=60).future()

    done, not_done = cf.wait([ok, never], timeout=HANG_GUARD, return_when=cf.FIRST_COMPLETED)
    assert (done, not_done) == ({ok}, {never})
    done, not_done = cf.wait([failing, never], timeout=HANG_GUARD, return_when=cf.FIRST_EXCEPTION)
    assert (done, not_done) == ({failing}, {never})

    got = []
    with pytest.raises(TimeoutError, match=r"1 \(of 4\) futures unfinished"):
        got.extend(cf.as_completed([never, failing, ok, first], timeout=0.3))
    assert set(got) == {first, ok, failing}
    assert got[0] is not never


@pytest.mark.parametrize("how", ["cancelled-before", "cancelled-after", "future-cancelled"])
def test_cancelled_futures_count_as_done_for_concurrent_futures_wait(rt, how):
    task = rt.go("sleep", seconds=60)
    if how == "cancelled-before":
        task.cancel()
    fut = task.future()
    if how == "cancelled-after":
        task.cancel()
    elif how == "future-cancelled":
        fut.cancel()
    assert task.wait(HANG_GUARD)
    # Bounded waits: a few seconds are plenty for an already-cancelled future.
    done, not_done = cf.wait([fut], timeout=2)
    assert (done, not_done) == ({fut}, set())
    assert list(cf.as_completed([fut], timeout=2)) == [fut]
