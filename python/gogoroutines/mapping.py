"""``Runtime.map``: fan a kind out over an iterable of argument dicts.

Items are read lazily and handed to a Go lane in batches; Go runs them, at
most ``concurrency`` at once, and hands their outcomes back in batches (one
call into Go for a whole batch each way). At most ``concurrency +
max(concurrency, 256)`` items are between "read" and "yielded", so memory
stays bounded however long the input is.
Leaving early (``break``, an exception, Ctrl-C, the generator being
garbage-collected) cancels whatever is still running.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from ._loader import load_core
from ._types import Status
from .errors import (
    GoError,
    InvalidArgument,
    ResultDecodeError,
    TaskFailed,
    TaskTimedOut,
    WaitTimeout,
)

if TYPE_CHECKING:
    from ._core import Lane
    from ._core import Runtime as CoreRuntime

__all__ = ["DEFAULT_CONCURRENCY", "map_kind"]

# In-flight items when neither the call nor the runtime sets a limit.
DEFAULT_CONCURRENCY = 1024

ProgressArg = bool | Callable[[int, int | None], object]


def _feed(lane: Lane, batch: list[dict[str, Any]]) -> None:
    """Feed a batch; a bad item's error names its index in the whole input."""
    try:
        lane.feed(batch)
    except InvalidArgument as err:
        raise type(err)(f"map: {err}") from None


def _failure(task_id: int, status: int, timed_out: bool, value: str | bytes) -> GoError:
    """The exception of an item that did not complete with a str result.

    A lane hands out only completed and failed items (closing it drops the
    rest): a completed one here has a result that is not UTF-8.
    """
    if status == Status.COMPLETED:
        return ResultDecodeError(f"the result of task {task_id} is not valid UTF-8")
    return (TaskTimedOut if timed_out else TaskFailed)(str(value))


class _Progress:
    """Reports (done, total) to a callable, a tqdm bar, or a line on stderr."""

    def __init__(self, progress: ProgressArg, total: int | None) -> None:
        self.done = 0
        self._total = total
        self._callback: Callable[[int, int | None], object] | None = None
        self._bar: Any = None
        self._stream: TextIO | None = None
        self._last = 0.0
        if callable(progress):
            self._callback = progress
        elif progress:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped]

                self._bar = tqdm(total=total, unit="task")
            except ImportError:
                self._stream = sys.stderr

    def advance(self, n: int) -> None:
        if n == 0:
            return
        self.done += n
        if self._callback is not None:
            self._callback(self.done, self._total)
        elif self._bar is not None:
            self._bar.update(n)
        elif self._stream is not None:
            now = time.monotonic()
            if now - self._last >= 0.1 or self.done == self._total:
                self._last = now
                of = f"/{self._total}" if self._total is not None else ""
                self._stream.write(f"\r{self.done}{of} done")
                self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._stream is not None:
            of = f"/{self._total}" if self._total is not None else ""
            self._stream.write(f"\r{self.done}{of} done\n")  # the final count, always
            self._stream.flush()


def _read_ahead(concurrency: int) -> int:
    """How many items, beyond those running, the map keeps fed to Go at most.

    Go starts them as running items end, without waiting for the Python
    thread, which tops them up once half of them have been taken: so it is
    woken once per ``read_ahead // 2`` outcomes (or ``_LINGER`` after the
    first is ready), however low the concurrency.
    """
    return max(concurrency, 256)


# Once an outcome is ready, how long Go may hold it back for others to join
# it, so that the Python thread is woken once per batch, not once per item.
_LINGER = 0.001


def map_kind(
    core: CoreRuntime,
    kind: str,
    items: Iterable[Mapping[str, Any]],
    *,
    concurrency: int,
    ordered: bool,
    timeout: float | None,
    return_exceptions: bool,
    progress: ProgressArg,
) -> Iterator[Any]:
    """The generator behind ``Runtime.map`` (see there).

    The items run in a Go lane (``_core.Lane``): Go keeps ``concurrency`` of
    them running and starts the next fed item as one ends, with no call from
    here, so the Python thread only feeds batches of arguments and takes
    batches of outcomes. It reads at most ``concurrency + max(concurrency,
    256)`` items ahead of what it has yielded: ``concurrency`` running, the
    rest ready to start or finished.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    source = iter(items)
    window = concurrency + _read_ahead(concurrency)  # items read and not yet yielded, at most
    feed_at = max(1, _read_ahead(concurrency) // 2)  # feed (and wake) once this many are free
    outstanding = 0  # items fed and not yet yielded
    next_index = 0  # index of the next item to read
    exhausted = False
    lane = load_core().Lane(core, kind, concurrency, ordered)  # first: an unknown kind raises here
    bar = _Progress(progress, total)
    try:
        while True:
            room = window - outstanding
            if not exhausted and (room >= feed_at or outstanding == 0):
                batch: list[Any] = list(itertools.islice(source, room))
                exhausted = len(batch) < room
                # The core checks and converts the items: each must be a mapping.
                if batch:
                    _feed(lane, batch)
                    outstanding += len(batch)
                    next_index += len(batch)
            if outstanding == 0:
                if exhausted:
                    return
                continue
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            outcomes, failures = lane.take(remaining, window, feed_at, _LINGER)
            if not outcomes:
                raise WaitTimeout(f"map: {outstanding} tasks unfinished after {timeout} s")
            outstanding -= len(outcomes)
            bar.advance(len(outcomes))
            if not failures:
                yield from outcomes  # all results: the common case, kept cheap
                continue
            for outcome in outcomes:
                if outcome.__class__ is str:
                    yield outcome
                    continue
                failure = _failure(*outcome)
                if not return_exceptions:
                    raise failure
                yield failure
    finally:
        lane.close()  # cancels what still runs
        bar.close()
