"""Done-callbacks and ``concurrent.futures.Future`` views of tasks.

One dispatcher thread per process waits, with the GIL released, on a Go-side
completion queue for every task that has callbacks, and runs them as tasks
finish. It is not the main thread, so its wait is one call into Go, not a loop
of short waits: idle, it is never woken. An exception raised by a callback is
logged on the "gogoroutines" logger and never stops the dispatcher.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._loader import load_core
from .errors import TaskCancelled

if TYPE_CHECKING:
    from ._core import Task, WaitSet

__all__ = ["add_done_callback", "future"]

logger = logging.getLogger("gogoroutines")

DoneCallback = Callable[["Task"], object]


class _Dispatcher:
    """The thread that runs done-callbacks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waitset: WaitSet | None = None
        self._pending: dict[int, tuple[Task, DoneCallback]] = {}
        self._next_tag = 0

    def add(self, task: Task, callback: DoneCallback) -> None:
        with self._lock:
            if self._waitset is None:
                self._waitset = load_core().WaitSet()
                threading.Thread(
                    target=self._run,
                    args=(self._waitset,),
                    name="gogoroutines-callbacks",
                    daemon=True,
                ).start()
            tag = self._next_tag
            self._next_tag += 1
            self._pending[tag] = (task, callback)
            try:
                self._waitset.watch([task], [tag])
            except BaseException:
                del self._pending[tag]
                raise

    def _run(self, waitset: WaitSet) -> None:
        while True:
            for tag in waitset.take(None, max=4096):
                with self._lock:
                    task, callback = self._pending.pop(tag)
                try:
                    callback(task)
                except BaseException:  # even SystemExit: the dispatcher serves every task
                    logger.exception("exception in the done-callback %r of %r", callback, task)


_dispatcher = _Dispatcher()


def _call_now(callback: DoneCallback, task: Task) -> None:
    """Run a callback in the caller's thread, as concurrent.futures does: an
    Exception is logged, while KeyboardInterrupt and SystemExit propagate."""
    try:
        callback(task)
    except Exception:
        logger.exception("exception in the done-callback %r of %r", callback, task)


def add_done_callback(task: Task, callback: DoneCallback) -> None:
    """``Task.add_done_callback``: call ``callback(task)`` once the task has finished.

    A task that has finished already gets its callback at once, in the calling
    thread (as ``concurrent.futures.Future.add_done_callback`` does); others
    get it in the dispatcher thread.
    """
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if task.done():
        _call_now(callback, task)
    else:
        _dispatcher.add(task, callback)


def future(task: Task) -> concurrent.futures.Future[str]:
    """``Task.future``: a ``concurrent.futures.Future`` resolved when the task ends.

    Its result is ``task.result()``; a failed task sets the exception
    (``TaskFailed``), a cancelled one cancels the future. Cancelling the
    future cancels the task.
    """
    fut: concurrent.futures.Future[str] = concurrent.futures.Future()

    def settle(t: Task) -> None:
        # InvalidStateError: the future was cancelled meanwhile.
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            try:
                result = t.result(0)
            except TaskCancelled:
                fut.cancel()
            except Exception as err:  # the future's user gets it
                fut.set_exception(err)
            else:
                fut.set_result(result)

    def cancel_task(f: concurrent.futures.Future[str]) -> None:
        if f.cancelled():
            # Mark it notified, as an executor does, so that
            # concurrent.futures.wait and as_completed count it as done.
            f.set_running_or_notify_cancel()
            if not task.closed:
                task.cancel()

    fut.add_done_callback(cancel_task)
    add_done_callback(task, settle)
    return fut
