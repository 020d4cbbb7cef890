"""The exceptions of gogoroutines.

One base, :class:`GoError`; each subclass also derives from the built-in
exception a Python user would catch for the same situation. The compiled core
raises these classes (its mapping from C++ errors lives in one place,
``cpp/bindings/errors.cpp``); this module imports no compiled code.
"""

from __future__ import annotations

import concurrent.futures
import re

__all__ = [
    "ChannelClosed",
    "ForkError",
    "GoError",
    "InternalError",
    "InvalidArgument",
    "ResultDecodeError",
    "RuntimeClosed",
    "TaskCancelled",
    "TaskFailed",
    "TaskNotFound",
    "TaskTimedOut",
    "UnknownKind",
    "WaitTimeout",
]


class GoError(Exception):
    """Base of every error raised by gogoroutines."""


class InvalidArgument(GoError, ValueError):
    """A bad argument: a task kind's argument, a timeout, a concurrency limit."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(python_words(message), *args)


# Go writes the types in its messages in neutral words (a C++ caller reads them
# too: go/kind/args.go); a Python caller reads the names of Python's types.
_PYTHON_TYPE_PHRASES = {
    "a string or bytes": "str or bytes",
    "a map of string to string": "a dict of str to str",
    "a list of strings": "a list of str",
    "a number": "a number (int or float)",
    "a string": "a str",
    "a channel": "a Channel",
}
_PYTHON_VALUE_TYPES = {"string": "str", "map": "dict", "none": "None", "channel": "Channel"}
_TYPE_PHRASE = re.compile(
    r"\b(must be )(" + "|".join(re.escape(p) for p in _PYTHON_TYPE_PHRASES) + r")(?=[,;:]|$)"
)
_VALUE_TYPE = re.compile(r"\b(got |item \d+ is |maps to )(string|map|none|channel)\b")


def python_words(message: str) -> str:
    """``message`` from Go, with its type words as a Python user names the types."""
    if not isinstance(message, str):
        return message
    message = _TYPE_PHRASE.sub(lambda m: m[1] + _PYTHON_TYPE_PHRASES[m[2]], message)
    message = message.replace("list of strings", "list of str")
    return _VALUE_TYPE.sub(lambda m: m[1] + _PYTHON_VALUE_TYPES[m[2]], message)


class UnknownKind(InvalidArgument):
    """The task kind passed to ``go()`` is not registered."""


class TaskNotFound(GoError, KeyError):
    """No such task in this runtime: never spawned, or already closed."""

    def __init__(self, message: str, task_id: int | None = None) -> None:
        super().__init__(message)
        self.task_id = task_id

    def __str__(self) -> str:
        # KeyError's __str__ would show the message in quotes.
        return str(self.args[0]) if self.args else ""


class RuntimeClosed(GoError, RuntimeError):
    """The runtime was closed and cannot be used any more."""


class WaitTimeout(GoError, TimeoutError):
    """A wait for a task ran out of time while the task was still running."""


class TaskCancelled(GoError, concurrent.futures.CancelledError):
    """The task was cancelled before it finished."""


class TaskFailed(GoError):
    """The task failed in Go.

    Attributes
    ----------
    go_error : str
        The error reported by Go.
    go_stack : str
        The Go stack of the goroutine when the task panicked, else ``""``.
    """

    def __init__(self, message: str, go_error: str = "", go_stack: str = "") -> None:
        super().__init__(message)
        self.go_error = go_error or message
        self.go_stack = go_stack


class TaskTimedOut(TaskFailed, TimeoutError):
    """The task failed because its own ``timeout`` passed."""


class ResultDecodeError(GoError, ValueError):
    """``result()`` found a result that is not UTF-8; use ``result_bytes()``."""


class ChannelClosed(GoError, RuntimeError):
    """A send on a closed channel, or a receive on a closed channel left empty."""


class ForkError(GoError, RuntimeError):
    """Used in a process forked after the Go runtime had started."""


class InternalError(GoError, RuntimeError):
    """A bug inside gogoroutines; please report it with the message."""
