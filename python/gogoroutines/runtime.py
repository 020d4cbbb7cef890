"""The Runtime: a table of tasks run on goroutines."""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._checks import int_in, seconds
from ._loader import go_limits, load_core
from ._types import Stats
from .group import TaskGroup
from .mapping import DEFAULT_CONCURRENCY, ProgressArg, map_kind

if TYPE_CHECKING:
    from ._core import Channel as CoreChannel
    from ._core import Runtime as _CoreRuntime
    from ._core import Task

__all__ = ["Runtime", "default_runtime"]


class Runtime:
    """A table of tasks run on goroutines of the embedded Go runtime.

    Parameters
    ----------
    max_concurrency : int or None
        At most this many of the runtime's tasks run at once; the rest wait
        their turn in spawn order (status ``QUEUED``). ``None``: no limit.

    Use it as a context manager: leaving the block closes it, which cancels
    and releases every task it still holds.

    >>> with Runtime() as rt:
    ...     rt.go("delayed", delay_ms=10).result(timeout=5)
    'Callback executed after 10ms'
    """

    __slots__ = ("__weakref__", "_core")

    _core: _CoreRuntime

    def __init__(self, max_concurrency: int | None = None) -> None:
        if max_concurrency is not None:
            int_in(max_concurrency, "max_concurrency", 1, go_limits().max_concurrency)
        self._core = load_core().Runtime(max_concurrency or 0)
        _live.add(self)

    def go(self, kind: str, /, *, timeout: float | None = None, **args: Any) -> Task:
        """Start a task of ``kind`` with the kind's keyword arguments.

        Parameters
        ----------
        kind : str
            The task kind, e.g. ``"sleep"``; ``python -m gogoroutines`` lists them.
        timeout : float or None
            The task's own deadline in seconds, counted from its start. When it
            passes the task's work is cancelled and the task fails with
            :class:`~gogoroutines.TaskTimedOut` (also a ``TimeoutError``).
        **args
            The kind's arguments: str, bytes, int, float, bool, None, list or dict.

        Returns
        -------
        Task
            The running task.

        Raises
        ------
        UnknownKind, InvalidArgument
            At once, naming the kind or argument that is wrong (both are
            ``ValueError``).
        RuntimeClosed
            If the runtime was closed.
        """
        return self._core.go(kind, timeout, args)

    def map(
        self,
        kind: str,
        items: Iterable[Mapping[str, Any]],
        *,
        concurrency: int | None = None,
        ordered: bool = True,
        timeout: float | None = None,
        return_exceptions: bool = False,
        progress: ProgressArg = False,
    ) -> Iterator[Any]:
        """Run one task of ``kind`` per dict of arguments in ``items``; yield the results.

        Parameters
        ----------
        kind : str
            The task kind.
        items : iterable of dict
            The arguments of each task. Read lazily: a generator of millions of
            items runs in bounded memory.
        concurrency : int or None
            At most this many items run at once (within the runtime's own
            ``max_concurrency``), at most 2**20. Default: the runtime's
            ``max_concurrency`` (capped at 2**20), else 1024. The input is
            read ahead of what was yielded by at most
            ``concurrency + max(concurrency, 256)`` items, so that Go starts
            the next item as soon as one ends.
        ordered : bool
            Yield in input order (default) or in completion order.
        timeout : float or None
            Seconds, from the call, for the whole map; when they pass the
            iterator raises :class:`WaitTimeout` and cancels what still runs.
        return_exceptions : bool
            Yield a failed item's exception (``TaskFailed``...) instead of
            raising it (which cancels the rest).
        progress : bool or callable
            ``True`` shows a tqdm bar if tqdm is installed, else a counter on
            stderr; a callable gets ``(done, total)`` (``total`` is None for
            inputs without ``len()``).

        Yields
        ------
        str
            Each task's result (as ``Task.result()`` returns it).

        Leaving the loop early (``break``, an exception, Ctrl-C) cancels the
        tasks still running.
        """
        most = go_limits().max_lane_concurrency
        int_in(concurrency, "concurrency", 1, most, or_none=True)
        # By default as many as the runtime runs at once (a lane runs at most `most`).
        limit = concurrency or min(self.max_concurrency or DEFAULT_CONCURRENCY, most)
        timeout = seconds(timeout, negative_is_zero=True)
        return map_kind(
            self._core,
            kind,
            items,
            concurrency=limit,
            ordered=ordered,
            timeout=timeout,
            return_exceptions=return_exceptions,
            progress=progress,
        )

    def channel(self, capacity: int = 0) -> CoreChannel:
        """Return a new :class:`Channel` holding up to ``capacity`` items.

        With capacity 0 every send waits for a receiver, as in Go. Tasks of
        the ``exec`` and ``http`` kinds stream into a channel given as their
        ``stream`` argument, and close it when they end. Closing the runtime
        closes its channels.
        """
        int_in(capacity, "capacity", 0, go_limits().max_channel_capacity)
        channel: CoreChannel = load_core().Channel(capacity, self._core)  # closed with it, in Go
        return channel

    def group(self) -> TaskGroup:
        """Return a :class:`TaskGroup`: ``with rt.group() as g: g.go(...)``.

        Leaving the block waits for every task of the group. The first failure
        cancels the rest, and the block raises an ``ExceptionGroup`` of the
        failures.
        """
        return TaskGroup(self)

    def stats(self) -> Stats:
        """Return a consistent snapshot of the task table's counters."""
        return Stats._make(self._core.stats())

    @property
    def max_concurrency(self) -> int | None:
        """The concurrency limit given at construction, or None."""
        return self._core.max_concurrency or None

    @property
    def closed(self) -> bool:
        """Whether the runtime was closed."""
        return self._core.closed

    def close(self) -> None:
        """Cancel and release every task of the runtime; it cannot be used afterwards.

        Closing twice does nothing.
        """
        self._core.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<Runtime closed>"
        s = self.stats()
        return f"<Runtime total={s.total} active={s.active} queued={s.queued}>"


# Every open runtime, closed at interpreter exit: closing cancels its tasks and
# kills the process groups of its exec tasks, which would otherwise outlive us.
_live: weakref.WeakSet[Runtime] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for runtime in list(_live):
        runtime.close()


_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """Return the process-wide runtime of the PHP extension's API (the ``go_*`` functions).

    It is created on first use (which starts the Go runtime) and lives until
    the process exits.
    """
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Runtime()
        return _default
