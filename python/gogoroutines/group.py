"""``Runtime.group()``: a set of tasks that succeed or fail together.

    with rt.group() as g:
        g.go("http", url=a)
        g.go("http", url=b)
    # here every task has finished; if any failed, the others were cancelled
    # at once and the block raised an ExceptionGroup of the failures.

Modelled on ``asyncio.TaskGroup``: the first failure cancels the rest; an
exception raised by the block itself cancels the tasks too and joins the
group; KeyboardInterrupt and SystemExit cancel the tasks and propagate as they are.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._types import Status
from .errors import RuntimeClosed, TaskFailed
from .waiting import wait

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import ExceptionGroup

if TYPE_CHECKING:
    from ._core import Task
    from .runtime import Runtime

__all__ = ["TaskGroup"]


class TaskGroup:
    """Tasks spawned with :meth:`go` inside a ``with`` block, waited for at its end."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._tasks: list[Task] = []
        self._lock = threading.Lock()
        self._failed = False  # a task failed: the others are being cancelled
        self._exited = False

    def go(self, kind: str, /, *, timeout: float | None = None, **args: Any) -> Task:
        """Start a task in the group (see :meth:`Runtime.go`)."""
        with self._lock:
            if self._exited:
                raise RuntimeError("this group's with-block has ended; it takes no more tasks")
            if self._failed:
                raise RuntimeError("a task of this group failed; it takes no more tasks")
            task = self._runtime.go(kind, timeout=timeout, **args)
            self._tasks.append(task)
        task.add_done_callback(self._on_done)
        return task

    @property
    def tasks(self) -> list[Task]:
        """The group's tasks, in spawn order."""
        with self._lock:
            return list(self._tasks)

    def cancel(self) -> None:
        """Cancel every unfinished task of the group."""
        if self._runtime.closed:
            return  # closing the runtime cancelled them all
        for task in self.tasks:
            if not task.closed and not task.done():
                task.cancel()

    def _on_done(self, task: Task) -> None:
        try:
            failed = task.status == Status.FAILED
        except RuntimeClosed:
            return  # the runtime was closed (e.g. at exit): nothing left to cancel
        if failed:
            with self._lock:
                first = not self._failed
                self._failed = True
            if first:
                self.cancel()

    def __enter__(self) -> TaskGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._exited = True
        if exc is not None:
            self.cancel()
        try:
            wait([t for t in self.tasks if not t.closed])  # closed ones: the block's business
        except BaseException:
            self.cancel()  # Ctrl-C while waiting: leave nothing running
            raise
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return  # propagates unchanged
        errors: list[Exception] = []
        if isinstance(exc, Exception):
            errors.append(exc)
        for task in self.tasks:
            if not task.closed and task.status == Status.FAILED:
                try:
                    task.result(0)
                except TaskFailed as err:
                    errors.append(err)
        if errors:
            failed = len(errors) - (1 if isinstance(exc, Exception) else 0)
            raise ExceptionGroup(
                f"{failed} of {len(self._tasks)} tasks of the group failed", errors
            )
