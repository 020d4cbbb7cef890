"""Task: the kinds, waiting, results, cancelling, deadlines, closing, payloads."""

from __future__ import annotations

import array
import concurrent.futures
import os

import pytest

from gogoroutines import (
    ResultDecodeError,
    Status,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    TaskTimedOut,
    WaitTimeout,
)

HANG_GUARD = 30.0


# ---- the kinds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "args", "expected"),
    [
        ("goroutine", {}, "Goroutine completed successfully!"),
        ("task", {"task": "Fetch users"}, "Task 'Fetch users' completed!"),
        ("task", {"task": ""}, "Task '' completed!"),
        ("task", {"task": "naïve ☃"}, "Task 'naïve ☃' completed!"),
        ("delayed", {"delay_ms": 30}, "Callback executed after 30ms"),
        ("delayed", {"delay_ms": 0}, "Callback executed after 0ms"),
        ("sleep", {"seconds": 0.05}, ""),
        ("sleep", {"seconds": 0}, ""),
        ("sleep", {"seconds": 1 / 100}, ""),
        ("echo", {"data": "hello"}, "hello"),
        ("echo", {"data": ""}, ""),
    ],
)
def test_kind_results(rt, kind, args, expected):
    task = rt.go(kind, **args)
    assert task.kind == kind
    assert task.result(HANG_GUARD) == expected
    assert task.result_bytes() == expected.encode()
    assert task.status is Status.COMPLETED
    assert task.done()


def test_task_result_bytes_is_the_utf8_of_the_result(rt):
    task = rt.go("task", task="ü")
    assert task.result_bytes(HANG_GUARD) == "Task 'ü' completed!".encode()


def test_sleep_takes_at_least_its_time(rt):
    import time

    start = time.monotonic()
    assert rt.go("sleep", seconds=0.2).result(HANG_GUARD) == ""
    assert time.monotonic() - start >= 0.19


def test_delayed_takes_at_least_its_time(rt):
    import time

    start = time.monotonic()
    task = rt.go("delayed", delay_ms=150)
    assert task.result(HANG_GUARD) == "Callback executed after 150ms"
    assert time.monotonic() - start >= 0.14


# ---- attributes, status, wait ---------------------------------------------------


def test_task_attributes(rt):
    task = rt.go("sleep", seconds=60)
    assert isinstance(task.id, int)
    assert task.id == 1
    assert task.kind == "sleep"
    assert type(task.status) is Status
    assert task.status is Status.RUNNING
    assert not task.status.done
    assert not task.done()
    assert not task.closed
    assert repr(task) == "<Task 1 'sleep' RUNNING>"


def test_status_enum_values():
    assert {s.name: int(s) for s in Status} == {
        "NOT_FOUND": -1,
        "RUNNING": 0,
        "COMPLETED": 1,
        "FAILED": 2,
        "CANCELLED": 3,
        "QUEUED": 4,
    }
    assert Status(1) is Status.COMPLETED
    assert [s.done for s in Status] == [False, False, True, True, True, False]


def test_wait_zero_only_looks(rt):
    task = rt.go("sleep", seconds=60)
    assert task.wait(0) is False
    assert task.wait(0.0) is False
    assert task.status is Status.RUNNING
    done = rt.go("echo", data="x")
    assert done.wait(0) is True


def test_wait_returns_false_on_timeout_and_leaves_the_task_running(rt):
    task = rt.go("sleep", seconds=60)
    assert task.wait(0.05) is False
    assert task.status is Status.RUNNING


def test_wait_returns_true_when_finished(rt):
    task = rt.go("delayed", delay_ms=20)
    assert task.wait(HANG_GUARD) is True
    assert task.wait() is True
    assert task.status is Status.COMPLETED


def test_wait_without_timeout_waits_for_the_end(rt):
    task = rt.go("sleep", seconds=0.1)
    assert task.wait() is True
    assert task.wait(None) is True
    assert task.result(None) == ""


@pytest.mark.parametrize("method", ["result", "result_bytes"])
def test_result_of_unfinished_task_raises_wait_timeout(rt, method):
    task = rt.go("sleep", seconds=60)
    with pytest.raises(WaitTimeout, match=f"task {task.id}") as info:
        getattr(task, method)(0.05)
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(WaitTimeout):
        getattr(task, method)(0)
    assert task.status is Status.RUNNING  # a timed-out wait does not cancel


def test_result_can_be_read_many_times(rt):
    big = "x" * 10_000
    for task in (rt.go("echo", data="small"), rt.go("echo", data=big), rt.go("goroutine")):
        first = task.result(HANG_GUARD)
        assert task.result() == first
        assert task.result_bytes() == first.encode()
        assert task.wait(0)


# ---- cancel -----------------------------------------------------------------------


def test_cancel_running_task(rt):
    task = rt.go("sleep", seconds=60)
    assert task.cancel() is True
    assert task.status is Status.CANCELLED
    assert task.done()
    assert task.wait(HANG_GUARD) is True
    with pytest.raises(TaskCancelled, match=f"task {task.id}") as info:
        task.result(HANG_GUARD)
    assert isinstance(info.value, concurrent.futures.CancelledError)
    with pytest.raises(TaskCancelled):
        task.result_bytes()
    assert task.cancel() is False  # already cancelled


def test_cancel_wakes_a_waiting_thread(rt):
    import threading

    task = rt.go("sleep", seconds=60)
    caught: list[BaseException] = []

    def waiter() -> None:
        try:
            task.result(HANG_GUARD)
        except BaseException as err:
            caught.append(err)

    thread = threading.Thread(target=waiter)
    thread.start()
    assert task.wait(0.1) is False
    task.cancel()
    thread.join(HANG_GUARD)
    assert not thread.is_alive()
    assert len(caught) == 1
    assert isinstance(caught[0], TaskCancelled)


@pytest.mark.parametrize(
    ("kind", "args"),
    [("echo", {"data": "x"}), ("sleep", {"seconds": 0}), ("echo", {"data": b"y" * 1000})],
)
def test_cancel_after_completion_returns_false(rt, kind, args):
    task = rt.go(kind, **args)
    expected = task.result_bytes(HANG_GUARD)
    assert task.cancel() is False
    assert task.status is Status.COMPLETED
    assert task.result_bytes() == expected


# ---- the task's own deadline --------------------------------------------------------


def test_deadline_fails_the_task_with_task_timed_out(rt):
    task = rt.go("sleep", seconds=60, timeout=0.05)
    assert task.wait(HANG_GUARD) is True
    assert task.status is Status.FAILED
    assert task.done()
    with pytest.raises(TaskTimedOut, match="timed out") as info:
        task.result()
    err = info.value
    assert isinstance(err, TaskFailed)
    assert isinstance(err, TimeoutError)
    assert not isinstance(err, WaitTimeout)
    assert "timed out" in err.go_error
    assert err.go_stack == ""
    with pytest.raises(TaskTimedOut):
        task.result_bytes()
    assert task.cancel() is False


def test_deadline_fails_a_kind_of_the_php_extension_too(rt):
    task = rt.go("delayed", delay_ms=60_000, timeout=0.05)
    with pytest.raises(TaskTimedOut):
        task.result(HANG_GUARD)


def test_deadline_not_reached_completes(rt):
    assert rt.go("sleep", seconds=0.01, timeout=HANG_GUARD).result(HANG_GUARD) == ""
    assert rt.go("echo", data="fast", timeout=1).result() == "fast"
    assert rt.go("goroutine", timeout=HANG_GUARD).result(HANG_GUARD) == (
        "Goroutine completed successfully!"
    )


def test_tiny_positive_deadline_is_accepted(rt):
    task = rt.go("sleep", seconds=60, timeout=1e-12)
    with pytest.raises(TaskTimedOut):
        task.result(HANG_GUARD)


# ---- close ----------------------------------------------------------------------------


def test_closed_task_raises_task_not_found(rt):
    task = rt.go("sleep", seconds=60)
    task.close()
    task.close()  # twice is fine
    assert task.closed
    assert task.status is Status.NOT_FOUND
    assert "CLOSED" in repr(task)
    for call in (task.wait, task.result, task.result_bytes, task.cancel):
        with pytest.raises(TaskNotFound, match=f"task {task.id}") as info:
            call()
        assert isinstance(info.value, KeyError)
        assert info.value.task_id == task.id
        assert str(info.value) == f"task {task.id} is closed"  # not quoted like a KeyError
    assert rt.stats().total == 0


def test_closed_finished_task_raises_task_not_found(rt):
    task = rt.go("echo", data="gone")
    assert task.result() == "gone"
    task.close()
    assert task.status is Status.NOT_FOUND
    assert not task.done()
    with pytest.raises(TaskNotFound):
        task.result()


def test_task_context_manager_closes_it(rt):
    with rt.go("delayed", delay_ms=10) as task:
        assert task.result(HANG_GUARD) == "Callback executed after 10ms"
    assert task.closed
    assert task.status is Status.NOT_FOUND
    with pytest.raises(TaskNotFound):
        task.wait(0)


def test_closing_an_unfinished_task_cancels_it(rt):
    with rt.go("sleep", seconds=60):
        assert rt.stats().active == 1
    s = rt.stats()
    assert (s.total, s.active) == (0, 0)


# ---- payloads -------------------------------------------------------------------------


def test_str_with_nul_bytes_round_trips(rt):
    data = "a\x00b\x00\x00c"
    assert rt.go("echo", data=data).result() == data


def test_bytes_with_nul_bytes_round_trip(rt):
    data = b"\x00\x01\x02\x00\xff\x00"
    assert rt.go("echo", data=data).result_bytes() == data


def test_non_ascii_str_round_trips(rt):
    data = "ü€😀\x00" * 100_000  # a large result: not the small-result fast path
    assert rt.go("echo", data=data).result() == data


def test_echo_returns_its_input_unchanged(rt):
    data = os.urandom(4096)
    task = rt.go("echo", data=data)
    assert task.status is Status.COMPLETED
    assert task.result_bytes() == data


def test_big_payload_round_trips(rt):
    data = os.urandom(100 * 1024 * 1024)
    result = rt.go("echo", data=data).result_bytes(HANG_GUARD)
    assert len(result) == len(data)
    assert result == data


@pytest.mark.parametrize("size", [1, 255, 256, 257, 100_000])
def test_non_utf8_result_raises_result_decode_error(rt, size):
    data = b"\xff" * size
    task = rt.go("echo", data=data)
    with pytest.raises(ResultDecodeError, match=r"result_bytes\(\)") as info:
        task.result()
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    assert task.result_bytes() == data  # the result is still there


@pytest.mark.parametrize(
    "make",
    [bytearray, memoryview, lambda b: memoryview(bytearray(b)), lambda b: memoryview(b)[0:]],
    ids=["bytearray", "memoryview", "memoryview-bytearray", "memoryview-slice"],
)
def test_bytes_like_arguments_are_accepted(rt, make):
    data = b"ab\x00cd\xff"
    assert rt.go("echo", data=make(data)).result_bytes() == data


def test_memoryview_of_an_array_passes_its_raw_bytes(rt):
    values = array.array("i", [1, 2, 3])
    assert rt.go("echo", data=memoryview(values)).result_bytes() == values.tobytes()


def test_bytearray_is_copied_at_spawn(rt):
    buf = bytearray(b"before")
    task = rt.go("echo", data=buf)
    buf[:] = b"AFTER!"
    assert task.result_bytes() == b"before"


@pytest.mark.parametrize("step", [2, -1])
def test_strided_memoryview_passes_its_own_bytes(rt, step):
    # The README: arguments may be "bytes (or any bytes-like object)".
    view = memoryview(b"abcdef")[::step]
    assert rt.go("echo", data=view).result_bytes() == view.tobytes()
