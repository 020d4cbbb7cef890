"""The PHP extension's API: the ``go_*`` functions of the PHP extension this
project ports, unchanged in meaning.

A PHP script using the extension ports by dropping ``$`` and turning ``echo``
into ``print``: the functions take and return the same values, work on bare
integer ids, and run on one process-wide runtime (:func:`default_runtime`).
Ids must be released with :func:`go_cleanup`, as in PHP.
"""

from __future__ import annotations

import math

from ._checks import seconds
from ._types import Status
from .errors import TaskCancelled, TaskFailed, TaskNotFound, WaitTimeout
from .runtime import default_runtime

__all__ = [
    "go_check_status",
    "go_cleanup",
    "go_get_result",
    "go_get_stats",
    "go_start_delayed",
    "go_start_goroutine",
    "go_start_goroutine_with_task",
    "go_wait",
]


def go_start_goroutine() -> int:
    """Start a goroutine that completes after 100 ms; return its id."""
    return default_runtime()._core.spawn("goroutine", None, {})


def go_start_goroutine_with_task(task: str) -> int:
    """Start a goroutine for ``task`` that completes after 200 ms; return its id."""
    return default_runtime()._core.spawn("task", None, {"task": task})


def go_start_delayed(delay_ms: int) -> int:
    """Start a goroutine that completes after ``delay_ms`` milliseconds; return its id."""
    return default_runtime()._core.spawn("delayed", None, {"delay_ms": delay_ms})


# Ids are int64 in Go; anything else names no task.
_ID_RANGE = range(-(2**63), 2**63)


def _known(id: object) -> bool:
    """Whether ``id`` can name a task; a non-int is a TypeError, as in PHP's strict mode."""
    if not isinstance(id, int) or isinstance(id, bool):
        raise TypeError(f"a goroutine id must be an int, got {type(id).__name__}")
    return id in _ID_RANGE


def go_check_status(id: int) -> int:
    """Return -1 if the id is unknown, 0 while running, 1 once completed.

    (2 means failed and 3 cancelled; the PHP extension's tasks never are.)
    """
    if not _known(id):
        return int(Status.NOT_FOUND)
    status = Status(default_runtime()._core.status(id))
    # A plain int, printed as PHP printed it on every Python version.
    return int(Status.RUNNING if status is Status.QUEUED else status)


# What the PHP extension's go_get_result returns for an id it does not know.
_NOT_FOUND_MESSAGE = "Error: Goroutine not found"


def go_get_result(id: int) -> str:
    """Return the result of a finished goroutine, or an error message.

    The message is the goroutine's error if it failed or was cancelled, and
    ``"Error: Goroutine not found"`` (what the PHP extension returns) for an
    unknown or cleaned-up id: like the extension, this never raises for those.
    Raises :class:`WaitTimeout` if the goroutine is still running: call
    :func:`go_wait` first.
    """
    if not _known(id):
        return _NOT_FOUND_MESSAGE
    try:
        return default_runtime()._core.result(id, 0.0)
    except TaskNotFound:
        return _NOT_FOUND_MESSAGE
    except (TaskFailed, TaskCancelled) as err:
        return str(err)
    except WaitTimeout:
        raise WaitTimeout(f"goroutine {id} is still running; call go_wait({id}) first") from None


def go_wait(id: int, timeout_ms: int = 5000) -> bool:
    """Wait up to ``timeout_ms`` milliseconds; True if the goroutine finished.

    False on timeout or for an unknown id, as in PHP. The GIL is released
    while waiting and Ctrl-C interrupts it.
    """
    if not _known(id):
        return False
    timeout = seconds(max(timeout_ms, 0) / 1000.0 if timeout_ms < 2**1000 else math.inf)
    try:
        return default_runtime()._core.wait(id, timeout)
    except KeyError:
        return False


def go_cleanup(id: int) -> None:
    """Release the goroutine's resources (unknown ids are ignored)."""
    if _known(id):
        default_runtime()._core.release(id)


def go_get_stats() -> str:
    """Return ``"Total: T, Active: A, Completed: C, Failed: F, Go Routines: G"``."""
    return str(default_runtime().stats())
