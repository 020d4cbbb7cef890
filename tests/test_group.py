"""Runtime.group(): tasks that succeed or fail together, as with asyncio.TaskGroup."""

from __future__ import annotations

import select
import signal
import sys
import time

import pytest

import gogoroutines as g
from gogoroutines import InvalidArgument, Status, TaskFailed, TaskGroup, TaskTimedOut

if sys.version_info >= (3, 11):
    import builtins

    ExceptionGroup = builtins.ExceptionGroup
else:  # pragma: no cover - Python 3.10
    from exceptiongroup import ExceptionGroup

HANG_GUARD = 30.0
LONG = 30.0  # a task that would run this long unless cancelled


def test_group_returns_normally_when_every_task_completes(rt):
    with rt.group() as group:
        assert isinstance(group, TaskGroup)
        sleepers = [group.go("sleep", seconds=0.2) for _ in range(3)]
        echo = group.go("echo", data="hello")
        program = group.go("exec", argv=["sh", "-c", "sleep 0.2; echo done"])
    # Leaving the block waited for all of them.
    assert [t.status for t in group.tasks] == [Status.COMPLETED] * 5
    assert [t.result(0) for t in sleepers] == ["", "", ""]
    assert echo.result(0) == "hello"
    assert program.result(0) == "done\n"


def test_an_empty_group(rt):
    with rt.group() as group:
        pass
    assert group.tasks == []


def test_tasks_lists_the_tasks_in_spawn_order(rt):
    with rt.group() as group:
        a = group.go("echo", data="a")
        b = group.go("sleep", seconds=0.05)
        listed = group.tasks
        assert listed == [a, b]
        listed.append("not a task")  # a copy: the group is not changed
        assert group.tasks == [a, b]
        c = group.go("echo", data="c")
    assert group.tasks == [a, b, c]
    assert all(isinstance(t, g.Task) for t in group.tasks)


def test_first_failure_cancels_the_rest_and_raises_an_exception_group(rt):
    started = time.monotonic()
    with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
        sleeper = group.go("sleep", seconds=LONG)
        program = group.go("exec", argv=["sleep", str(LONG)])
        failing = group.go("exec", argv=["false"])
    elapsed = time.monotonic() - started
    assert elapsed < LONG / 2, f"the group took {elapsed:.1f} s: the rest was not cancelled"
    assert type(info.value) is ExceptionGroup
    assert sleeper.status is Status.CANCELLED
    assert program.status is Status.CANCELLED
    assert failing.status is Status.FAILED
    (error,) = info.value.exceptions
    assert type(error) is TaskFailed
    assert "exited with code 1" in str(error)
    assert info.value.subgroup(TaskFailed) is not None


def test_a_task_timing_out_is_a_failure(rt):
    with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
        timed_out = group.go("sleep", seconds=LONG, timeout=0.1)
        sleeper = group.go("sleep", seconds=LONG)
    (error,) = info.value.exceptions
    assert isinstance(error, TaskTimedOut)
    assert timed_out.status is Status.FAILED
    assert sleeper.status is Status.CANCELLED


def test_an_exception_of_the_block_cancels_the_tasks_and_joins_the_group(rt):
    boom = ValueError("boom")
    with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
        sleeper = group.go("sleep", seconds=LONG)
        raise boom
    assert info.value.exceptions == (boom,)
    assert sleeper.status is Status.CANCELLED


def test_a_bad_argument_in_the_block_cancels_the_others(rt):
    with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
        sleeper = group.go("sleep", seconds=LONG)
        group.go("echo")  # data is required: InvalidArgument at once
    (error,) = info.value.exceptions
    assert isinstance(error, InvalidArgument)
    assert sleeper.status is Status.CANCELLED
    assert group.tasks == [sleeper]


def test_the_block_exception_and_a_task_failure_are_both_reported(rt):
    boom = RuntimeError("boom")
    with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
        failing = group.go("exec", argv=["sh", "-c", "exit 4"])
        assert failing.wait(HANG_GUARD)
        raise boom
    errors = info.value.exceptions
    assert len(errors) == 2
    assert errors[0] is boom
    assert isinstance(errors[1], TaskFailed)
    assert "code 4" in str(errors[1])


def test_several_failures_are_all_reported(rt):
    # Three tasks fail (by their deadline) while the thread in the block holds the GIL: the
    # group's done-callbacks cannot run before all three failed, so nothing is cancelled
    # before failing and all three must be reported.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60)
    try:
        with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
            failing = [group.go("sleep", seconds=LONG, timeout=0.1) for _ in range(3)]
            sleeper = group.go("sleep", seconds=LONG)
            end = time.monotonic() + 1.0
            while time.monotonic() < end:  # busy: keeps the GIL
                pass
    finally:
        sys.setswitchinterval(interval)
    assert [t.status for t in failing] == [Status.FAILED] * 3
    assert sleeper.status is Status.CANCELLED
    errors = info.value.exceptions
    assert len(errors) == 3
    assert all(isinstance(e, TaskTimedOut) for e in errors)
    assert "3 of 4" in str(info.value)


def test_failures_of_different_programs_are_all_reported(rt):
    # The same with programs failing together (exit codes 1, 2, 3) while the GIL is held.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60)
    try:
        with pytest.raises(ExceptionGroup) as info, rt.group() as group:  # noqa: PT012
            for code in (1, 2, 3):
                group.go("exec", argv=["sh", "-c", f"sleep 0.2; exit {code}"])
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                pass
    finally:
        sys.setswitchinterval(interval)
    messages = sorted(str(e) for e in info.value.exceptions)
    assert len(messages) == 3
    for code, message in zip((1, 2, 3), messages, strict=True):
        assert f"code {code}" in message


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_in_the_block_propagates_as_is_after_cancelling(rt, exc_type):
    raised = exc_type()
    with pytest.raises(exc_type) as info, rt.group() as group:  # noqa: PT012
        sleeper = group.go("sleep", seconds=LONG)
        program = group.go("exec", argv=["sleep", str(LONG)])
        raise raised
    assert info.value is raised
    assert sleeper.status is Status.CANCELLED
    assert program.status is Status.CANCELLED


def test_go_after_the_block_raises_runtime_error(rt):
    with rt.group() as group:
        group.go("echo", data="x")
    with pytest.raises(RuntimeError):
        group.go("echo", data="too late")
    assert len(group.tasks) == 1


def test_go_after_a_failed_block_raises_runtime_error(rt):
    with pytest.raises(ExceptionGroup), rt.group() as group:
        group.go("exec", argv=["false"])
    with pytest.raises(RuntimeError):
        group.go("echo", data="too late")
    assert rt.stats().active == 0


def test_a_task_cancelled_by_hand_is_not_a_failure(rt):
    with rt.group() as group:
        sleeper = group.go("sleep", seconds=LONG)
        other = group.go("sleep", seconds=0.1)
        assert sleeper.cancel()
    assert sleeper.status is Status.CANCELLED
    assert other.status is Status.COMPLETED


def test_a_task_closed_inside_the_block_does_not_break_the_group(rt):
    with rt.group() as group:
        other = group.go("sleep", seconds=0.2)
        with group.go("echo", data="x") as task:  # Task.__exit__ closes it
            assert task.result(HANG_GUARD) == "x"
    assert other.status is Status.COMPLETED


def test_groups_are_independent(rt):
    with rt.group() as calm:
        survivor = calm.go("sleep", seconds=0.3)
        with pytest.raises(ExceptionGroup), rt.group() as failing:  # noqa: PT012
            failing.go("exec", argv=["false"])
            failing.go("sleep", seconds=LONG)
    assert survivor.status is Status.COMPLETED


# ---- Ctrl-C ------------------------------------------------------------------------------

CTRL_C = """
import signal
import gogoroutines as g

signal.signal(signal.SIGINT, signal.default_int_handler)

rt = g.Runtime()
try:
    with rt.group() as group:
        group.go("sleep", seconds=60)
        group.go("exec", argv=["sleep", "60"])
        print("waiting", flush=True)  # the block ends: the group waits for its tasks
    print("returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
except BaseException as err:
    print("other", type(err).__name__, flush=True)
print(*[t.status.name for t in group.tasks], flush=True)
"""


def read_line(proc, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def test_ctrl_c_while_the_group_waits_cancels_and_propagates(start_script):
    proc = start_script(CTRL_C)
    assert read_line(proc, HANG_GUARD) == "waiting\n"
    time.sleep(0.3)  # let the child wait at the end of the block
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)  # a hang guard: 60 s if Ctrl-C were ignored
    assert proc.returncode == 0, out + err
    assert out.splitlines() == ["KeyboardInterrupt caught", "CANCELLED CANCELLED"]
    assert err == ""
