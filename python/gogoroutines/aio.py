"""asyncio support: ``await task`` and :func:`as_completed_async`.

Each event loop gets one Go-side completion queue (a ``WaitSet``) with a pipe
that the loop watches with ``loop.add_reader``: Go writes a byte when a
watched task finishes, the loop wakes and resolves the matching futures. No
thread per await and no polling; it works with any loop that implements
``add_reader`` (the default loop, uvloop).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

from ._loader import load_core
from .errors import WaitTimeout

if TYPE_CHECKING:
    from ._core import Task

__all__ = ["as_completed_async", "await_task"]


class _LoopWatcher:
    """The completion queue of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waitset = load_core().WaitSet(with_fd=True)
        self._fd = self._waitset.fd
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next_tag = 0
        self._reading = False
        weakref.finalize(self, self._waitset.close)

    def watch(self, task: Task, callback: Callable[[], None]) -> int:
        """Call ``callback()`` in the loop once ``task`` finishes; return a tag to forget it."""
        tag = self._next_tag
        self._next_tag += 1
        self._waitset.watch([task], [tag])
        self._callbacks[tag] = callback
        if not self._reading:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True
        return tag

    def forget(self, tag: int) -> None:
        """Drop the callback of ``tag`` (its task may still finish later)."""
        self._callbacks.pop(tag, None)
        self._stop_reading_if_idle()

    def _on_readable(self) -> None:
        try:
            while os.read(self._fd, 4096):
                pass
        except BlockingIOError:
            pass  # drained
        for tag in self._waitset.take(0, max=65536):
            callback = self._callbacks.pop(tag, None)
            if callback is not None:
                callback()
        self._stop_reading_if_idle()

    def _stop_reading_if_idle(self) -> None:
        if self._reading and not self._callbacks:
            self._loop.remove_reader(self._fd)
            self._reading = False


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWatcher] = (
    weakref.WeakKeyDictionary()
)


def _watcher() -> _LoopWatcher:
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(loop)
    if watcher is None:
        watcher = _watchers[loop] = _LoopWatcher(loop)
    return watcher


async def _finished(task: Task) -> None:
    """Return once ``task`` has finished; cancelling the caller cancels the task."""
    if task.done():
        return
    watcher = _watcher()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    tag = watcher.watch(task, wake)
    try:
        await future
    except asyncio.CancelledError:
        watcher.forget(tag)
        task.cancel()
        raise


async def _result(task: Task) -> str:
    await _finished(task)
    return task.result(0)


def await_task(task: Task) -> Generator[Any, None, str]:
    """``Task.__await__``: wait for the task without blocking the loop; return ``result()``."""
    return _result(task).__await__()


def _enqueue(queue: asyncio.Queue[Task], task: Task) -> Callable[[], None]:
    return lambda: queue.put_nowait(task)


async def as_completed_async(
    tasks: Iterable[Task], timeout: float | None = None
) -> AsyncIterator[Task]:
    """Yield tasks as they finish, without blocking the event loop.

    ``async for task in as_completed_async(tasks): ...``. Finished tasks come
    first. If ``timeout`` seconds pass before all have finished, raises
    :class:`WaitTimeout` (a ``TimeoutError``). Leaving the loop early stops
    watching; the tasks themselves go on.
    """
    order = list(dict.fromkeys(tasks))
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    finished: asyncio.Queue[Task] = asyncio.Queue()
    watcher = _watcher()
    tags = [watcher.watch(t, _enqueue(finished, t)) for t in order]
    try:
        for yielded in range(len(order)):
            remaining = None if deadline is None else max(deadline - loop.time(), 0)
            try:
                task = await asyncio.wait_for(finished.get(), remaining)
            except asyncio.TimeoutError:
                raise WaitTimeout(
                    f"{len(order) - yielded} (of {len(order)}) tasks unfinished"
                ) from None
            yield task
    finally:
        for tag in tags:
            watcher.forget(tag)
