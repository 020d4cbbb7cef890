"""asyncio support: ``await task`` and :func:`as_completed_async`.

Each event loop gets one Go-side completion queue (a ``WaitSet``) with a pipe
that the loop watches with ``loop.add_reader``: Go writes a byte when a
watched task finishes, the loop wakes and resolves the matching futures. No
thread per await and no polling; it works with any loop that implements
``add_reader`` (the default loop, uvloop).
"""

from __future__ import annotations

import asyncio
import collections
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
        # Only while tasks are watched does the loop hold this watcher (through
        # its reader callback); the watcher holds the loop only weakly, so that
        # a finished loop, and with it the watcher and its pipe, can go.
        self._loop = weakref.ref(loop)
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
            self._running_loop().add_reader(self._fd, self._on_readable)
            self._reading = True
        return tag

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        if loop is None:  # pragma: no cover - a watcher is only used inside its loop
            raise RuntimeError("the event loop of this watcher is gone")
        return loop

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
        # Go writes one byte when completions start to pile up, not one per
        # completion: take until none is left.
        while tags := self._waitset.take(0, max=65536):
            for tag in tags:
                callback = self._callbacks.pop(tag, None)
                if callback is not None:
                    callback()
        self._stop_reading_if_idle()

    def _stop_reading_if_idle(self) -> None:
        if self._reading and not self._callbacks:
            loop = self._loop()
            if loop is not None and not loop.is_closed():
                loop.remove_reader(self._fd)
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
    ready: collections.deque[Task] = collections.deque()
    arrived = asyncio.Event()

    def arrive(task: Task) -> Callable[[], None]:
        def callback() -> None:
            ready.append(task)
            arrived.set()

        return callback

    watcher = _watcher()
    tags = []
    for task in order:  # finished ones first, as concurrent.futures does
        if task.done():
            ready.append(task)
        else:
            tags.append(watcher.watch(task, arrive(task)))
    try:
        for yielded in range(len(order)):
            if not ready:
                arrived.clear()
                remaining = None if deadline is None else max(deadline - loop.time(), 0)
                try:
                    await asyncio.wait_for(arrived.wait(), remaining)
                except asyncio.TimeoutError:
                    raise WaitTimeout(
                        f"{len(order) - yielded} (of {len(order)}) tasks unfinished"
                    ) from None
            yield ready.popleft()
    finally:
        for tag in tags:
            watcher.forget(tag)
