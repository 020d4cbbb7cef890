"""The exception classes, and the errors raised for bad kinds, arguments and timeouts."""

from __future__ import annotations

import concurrent.futures
import math

import pytest

import gogoroutines
from gogoroutines import (
    ForkError,
    GoError,
    InternalError,
    InvalidArgument,
    ResultDecodeError,
    RuntimeClosed,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    TaskTimedOut,
    UnknownKind,
    WaitTimeout,
)

# ---- the hierarchy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (InvalidArgument, (ValueError,)),
        (UnknownKind, (InvalidArgument, ValueError)),
        (TaskNotFound, (KeyError, LookupError)),
        (RuntimeClosed, (RuntimeError,)),
        (WaitTimeout, (TimeoutError, OSError)),
        (TaskCancelled, (concurrent.futures.CancelledError,)),
        (TaskFailed, ()),
        (TaskTimedOut, (TaskFailed, TimeoutError)),
        (ResultDecodeError, (ValueError,)),
        (ForkError, (RuntimeError,)),
        (InternalError, (RuntimeError,)),
    ],
)
def test_error_hierarchy(cls, bases):
    assert issubclass(cls, GoError)
    assert issubclass(GoError, Exception)
    for base in bases:
        assert issubclass(cls, base), f"{cls.__name__} is not a {base.__name__}"


def test_timeouts_are_distinguishable():
    assert not issubclass(WaitTimeout, TaskFailed)
    assert not issubclass(TaskTimedOut, WaitTimeout)
    assert not issubclass(TaskCancelled, TaskFailed)


def test_every_error_is_exported():
    names = {name for name in gogoroutines.__all__ if name.endswith(("Error", "Closed"))}
    names |= {
        n for n in gogoroutines.__all__ if n.startswith("Task") and n not in ("Task", "TaskGroup")
    }
    names |= {"InvalidArgument", "UnknownKind", "WaitTimeout"}
    for name in names:
        assert issubclass(getattr(gogoroutines, name), GoError), name


def test_task_failed_attributes():
    err = TaskFailed("boom")
    assert err.go_error == "boom"
    assert err.go_stack == ""
    err = TaskFailed("task 1 failed", go_error="boom", go_stack="goroutine 1 [running]:")
    assert str(err) == "task 1 failed"
    assert err.go_error == "boom"
    assert err.go_stack == "goroutine 1 [running]:"


def test_task_not_found_str_is_not_quoted():
    err = TaskNotFound("task 3 is closed", task_id=3)
    assert str(err) == "task 3 is closed"
    assert err.task_id == 3


# ---- kinds ----------------------------------------------------------------------------


def test_unknown_kind(rt):
    with pytest.raises(UnknownKind, match="'no_such_kind'") as info:
        rt.go("no_such_kind")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    for kind in ("goroutine", "task", "delayed", "sleep", "echo"):
        assert kind in message  # it lists the known kinds
    assert rt.stats().total == 0


def test_kind_is_positional_only_and_args_are_keywords(rt):
    with pytest.raises(TypeError):
        rt.go(kind="echo", data="x")
    with pytest.raises(TypeError):
        rt.go("echo", "x")


# ---- arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "args", "named", "words"),
    [
        ("echo", {"data": object()}, "data", "unsupported type object"),
        ("echo", {"data": {1, 2}}, "data", "unsupported type set"),
        ("echo", {"data": 2**64}, "data", "64-bit"),
        ("echo", {"data": -(2**63) - 1}, "data", "64-bit"),
        ("echo", {"data": "lone \ud800 surrogate"}, "data", "surrogate"),
        ("echo", {"data": 1}, "data", "str or bytes"),
        ("echo", {"data": ["a"]}, "data", "str or bytes"),
        ("echo", {"data": {1: "a"}}, "data", "str keys"),
        ("echo", {"data": [[[[[[[[[["deep"]]]]]]]]]]}, "data", "nested too deeply"),
        ("echo", {}, "data", "required"),
        ("echo", {"data": None}, "data", "required"),
        ("echo", {"data": "x", "extra": 1}, "extra", "unexpected"),
        ("goroutine", {"task": "x"}, "task", "takes no arguments"),
        ("task", {}, "task", "required"),
        ("task", {"task": b"bytes"}, "task", "str"),
        ("task", {"task": 3}, "task", "str"),
        ("delayed", {}, "delay_ms", "required"),
        ("delayed", {"delay_ms": -1}, "delay_ms", "negative"),
        ("delayed", {"delay_ms": 1.5}, "delay_ms", "int"),
        ("delayed", {"delay_ms": "100"}, "delay_ms", "int"),
        ("delayed", {"delay_ms": 2**64}, "delay_ms", "64-bit"),
        ("delayed", {"delay_ms": 2**62}, "delay_ms", "too large"),
        ("sleep", {}, "seconds", "required"),
        ("sleep", {"seconds": "1"}, "seconds", "int or float"),
        ("sleep", {"seconds": math.nan}, "seconds", "NaN"),
        ("sleep", {"seconds": -0.5}, "seconds", "negative"),
        ("sleep", {"seconds": 1e30}, "seconds", "too large"),
        ("sleep", {"seconds": math.inf}, "seconds", "too large"),
        ("sleep", {"seconds": 1, "unit": "ms"}, "unit", "unexpected"),
    ],
)
def test_bad_arguments_raise_invalid_argument_naming_them(rt, kind, args, named, words):
    with pytest.raises(InvalidArgument) as info:
        rt.go(kind, **args)
    assert type(info.value) is InvalidArgument
    message = str(info.value)
    assert f"'{named}'" in message
    assert words in message
    assert message.startswith(f"{kind}: ")
    assert rt.stats().total == 0  # nothing was spawned


def test_bad_argument_is_raised_at_once_even_for_long_tasks(rt):
    # The error comes from go() itself, not later from the task.
    with pytest.raises(InvalidArgument, match="'extra'"):
        rt.go("sleep", seconds=3600, extra=True)


def test_none_means_the_default_and_bool_is_not_an_int(rt):
    with pytest.raises(InvalidArgument, match="'delay_ms'"):
        rt.go("delayed", delay_ms=True)
    with pytest.raises(InvalidArgument, match="'seconds'"):
        rt.go("sleep", seconds=None)


def test_int_and_float_subclasses_are_accepted(rt):
    import enum

    class Ms(enum.IntEnum):
        TEN = 10

    assert rt.go("delayed", delay_ms=Ms.TEN).result(30) == "Callback executed after 10ms"
    assert rt.go("sleep", seconds=2**62 // 2**62).result(30) == ""


def test_str_subclass_is_accepted(rt):
    class Name(str):
        pass

    assert rt.go("echo", data=Name("sub")).result() == "sub"


# ---- timeouts ---------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, 0.0, -1, -1e-9, math.nan, 1e30, math.inf])
def test_bad_task_deadline_raises_invalid_argument(rt, timeout):
    with pytest.raises(InvalidArgument, match="timeout"):
        rt.go("sleep", seconds=0, timeout=timeout)
    assert rt.stats().total == 0


@pytest.mark.parametrize("timeout", [-1, -0.001, math.nan, 1e30, math.inf])
@pytest.mark.parametrize("method", ["wait", "result", "result_bytes"])
def test_bad_wait_timeout_raises_invalid_argument(rt, method, timeout):
    task = rt.go("sleep", seconds=60)
    with pytest.raises(InvalidArgument, match="timeout"):
        getattr(task, method)(timeout)
    done = rt.go("echo", data="x")  # even when there is nothing to wait for
    with pytest.raises(InvalidArgument, match="timeout"):
        getattr(done, method)(timeout)


@pytest.mark.parametrize("timeout", [math.nan, 1e30])
def test_bad_go_wait_timeout_raises_invalid_argument(php_api, timeout):
    task_id = gogoroutines.go_start_goroutine()
    with pytest.raises(InvalidArgument, match="timeout"):
        gogoroutines.go_wait(task_id, timeout * 1000)
    gogoroutines.go_cleanup(task_id)


def test_huge_but_valid_wait_timeout_is_accepted(rt):
    task = rt.go("echo", data="x")
    assert task.wait(365 * 24 * 3600.0) is True
    assert task.result(365 * 24 * 3600.0) == "x"


@pytest.mark.parametrize(
    "args",
    [{"bad\ud800name": "x"}, {"data": {"key\ud800": "x"}}],
    ids=["argument-name", "dict-key"],
)
def test_lone_surrogate_in_a_name_is_invalid_argument(rt, args):
    with pytest.raises(InvalidArgument, match="surrogate"):
        rt.go("echo", **args)


# A name that is not valid UTF-8 (a str with a lone surrogate) through every way of spawning.
SPAWNS = {
    "Runtime.go": lambda rt, kind, args: rt.go(kind, **args),
    "Runtime.map": lambda rt, kind, args: list(rt.map(kind, [args])),
    "TaskGroup.go": lambda rt, kind, args: rt.group().go(kind, **args),
}


@pytest.mark.parametrize("spawn", SPAWNS)
def test_lone_surrogate_in_a_kind_name_is_unknown_kind(rt, spawn):
    with pytest.raises(UnknownKind, match="surrogate") as info:
        SPAWNS[spawn](rt, "ec\ud800ho", {"data": "x"})
    assert "'ec\\ud800ho'" in str(info.value)  # named as Python shows it
    assert isinstance(info.value, InvalidArgument)
    assert rt.stats().total == 0


@pytest.mark.parametrize("spawn", SPAWNS)
def test_lone_surrogate_in_an_argument_name_is_invalid_argument(rt, spawn):
    with pytest.raises(InvalidArgument, match="surrogate"):
        SPAWNS[spawn](rt, "echo", {"data": "x", "bad\ud800name": "y"})
    assert rt.stats().total == 0


@pytest.mark.parametrize("spawn", SPAWNS)
def test_a_kind_that_is_not_a_str_is_a_type_error(rt, spawn):
    with pytest.raises(TypeError, match="int"):
        SPAWNS[spawn](rt, 42, {"data": "x"})


def test_too_many_arguments(rt):
    args = {f"arg{i}": i for i in range(100)}
    with pytest.raises(InvalidArgument, match="at most 64 arguments"):
        rt.go("echo", data="x", **args)


def test_error_message_with_nul_is_complete(rt):
    with pytest.raises(UnknownKind) as info:
        rt.go("echo\x00")
    assert "known kinds: " in str(info.value)
