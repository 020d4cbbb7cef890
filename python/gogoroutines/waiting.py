"""Waiting on many tasks: ``wait`` and ``as_completed``, as in ``concurrent.futures``.

Both watch the tasks with one Go-side completion queue (a ``WaitSet``): tasks
report their own completion the moment it happens, and the calling thread
sleeps in Go with the GIL released — no polling loop, no thread per task.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from ._checks import seconds
from ._loader import load_core
from ._types import Status
from .errors import InvalidArgument, WaitTimeout

if TYPE_CHECKING:
    from ._core import Task, WaitSet

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "DoneAndNotDoneTasks",
    "as_completed",
    "wait",
]

# The values of concurrent.futures' constants, so that either set may be passed.
FIRST_COMPLETED = "FIRST_COMPLETED"
FIRST_EXCEPTION = "FIRST_EXCEPTION"
ALL_COMPLETED = "ALL_COMPLETED"


class DoneAndNotDoneTasks(NamedTuple):
    """What :func:`wait` returns: the finished tasks and the others."""

    done: set[Task]
    not_done: set[Task]


def _deadline(timeout: float | None) -> float | None:
    checked = seconds(timeout, negative_is_zero=True)
    return None if checked is None else time.monotonic() + checked


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def wait(
    tasks: Iterable[Task], timeout: float | None = None, return_when: str = ALL_COMPLETED
) -> DoneAndNotDoneTasks:
    """Wait for tasks to finish, like :func:`concurrent.futures.wait`.

    Parameters
    ----------
    tasks : iterable of Task
        The tasks (of any runtimes); duplicates count once.
    timeout : float or None
        Seconds to wait at most; ``None`` waits without limit.
    return_when : str
        ``FIRST_COMPLETED``, ``FIRST_EXCEPTION`` (a task failed; cancelled
        tasks do not count, as in ``concurrent.futures``) or ``ALL_COMPLETED``.

    Returns
    -------
    DoneAndNotDoneTasks
        ``(done, not_done)``: two sets of tasks.
    """
    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):
        raise InvalidArgument(
            f"return_when must be FIRST_COMPLETED, FIRST_EXCEPTION or "
            f"ALL_COMPLETED, got {return_when!r}"
        )
    deadline = _deadline(timeout)
    order = list(set(tasks))
    done: set[Task] = set()
    if not order:
        return DoneAndNotDoneTasks(done, set())
    waitset = load_core().WaitSet()
    try:
        waitset.watch(order, range(len(order)))
        newly = [order[i] for i in waitset.take(0, max=len(order))]  # finished already
        while True:
            done.update(newly)
            if len(done) == len(order):
                break
            if return_when == FIRST_COMPLETED and done:
                break
            if return_when == FIRST_EXCEPTION and any(t.status == Status.FAILED for t in newly):
                break
            remaining = _remaining(deadline)
            if remaining == 0:
                break
            newly = [order[i] for i in waitset.take(remaining, max=len(order))]
            if not newly:
                break  # the timeout ran out
    finally:
        waitset.close()
    # Not set(order) - done: that builds a set of every task first, the
    # largest object of a big wait (4 MB for 100,000 tasks), only to empty it.
    return DoneAndNotDoneTasks(done, {t for t in order if t not in done})


def as_completed(tasks: Iterable[Task], timeout: float | None = None) -> Iterator[Task]:
    """Yield tasks as they finish, like :func:`concurrent.futures.as_completed`.

    Finished tasks come first, then each as it completes. If ``timeout``
    seconds (counted from the call) pass before all have finished, the
    iterator raises :class:`WaitTimeout` (a ``TimeoutError``).
    """
    deadline = _deadline(timeout)
    order = list(set(tasks))
    waitset = load_core().WaitSet()
    waitset.watch(order, range(len(order)))
    return _completions(waitset, order, deadline)


def _completions(waitset: WaitSet, order: list[Task], deadline: float | None) -> Iterator[Task]:
    yielded = 0
    try:
        while yielded < len(order):
            tags = waitset.take(_remaining(deadline), max=len(order))
            if not tags:
                raise WaitTimeout(f"{len(order) - yielded} (of {len(order)}) tasks unfinished")
            for i in tags:
                yielded += 1
                yield order[i]
    finally:
        waitset.close()
