"""``Runtime.map``: fan a kind out over an iterable of argument dicts.

Items are read lazily, spawned and collected in batches (one call into Go
for a whole batch each way), with at most ``concurrency`` items between
"read" and "yielded", so memory stays bounded however long the input is.
Leaving early (``break``, an exception, Ctrl-C, the generator being
garbage-collected) cancels whatever is still running.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from ._types import Status
from .errors import (
    InvalidArgument,
    ResultDecodeError,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    TaskTimedOut,
    WaitTimeout,
)

if TYPE_CHECKING:
    from ._core import Runtime as CoreRuntime
    from ._core import WaitSet

__all__ = ["DEFAULT_CONCURRENCY", "map_kind"]

# In-flight items when neither the call nor the runtime sets a limit.
DEFAULT_CONCURRENCY = 1024

_COMPLETED = int(Status.COMPLETED)

ProgressArg = bool | Callable[[int, int | None], object]


def _arguments(item: object, index: int, kind: str) -> dict[str, Any]:
    """One item of the input as the dict of arguments the core takes."""
    if isinstance(item, dict):
        return item
    if isinstance(item, Mapping):
        return dict(item)
    raise InvalidArgument(
        f"map: item {index} must be a dict of arguments for {kind!r}, got {type(item).__name__}"
    )


def _spawn_batch(
    core: CoreRuntime, kind: str, batch: list[dict[str, Any]], first_index: int
) -> list[int]:
    """Spawn a batch; a bad item's error names its index in the whole input."""
    try:
        return core.spawn_many(kind, None, batch)
    except InvalidArgument as err:
        # The core numbers items within the batch ("item 5: ..."); the user
        # numbers them in the input.
        match = re.match(r"item (\d+): (.*)", str(err), re.DOTALL)
        if match is None:
            raise
        index = first_index + int(match.group(1))
        raise type(err)(f"map: item {index}: {match.group(2)}") from None


def _outcome(task_id: int, status: int, timed_out: bool, value: str | bytes) -> Any:
    """The result of one collected task, or the exception it ended with."""
    if status == Status.COMPLETED:
        if isinstance(value, bytes):
            return ResultDecodeError(f"the result of task {task_id} is not valid UTF-8")
        return value
    if status == Status.FAILED:
        return (TaskTimedOut if timed_out else TaskFailed)(str(value))
    if status == Status.CANCELLED:
        return TaskCancelled(f"task {task_id} was cancelled")
    return TaskNotFound(f"task {task_id} vanished before its result was read", task_id)


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


def map_kind(
    core: CoreRuntime,
    waitset: WaitSet,
    kind: str,
    items: Iterable[Mapping[str, Any]],
    *,
    concurrency: int,
    ordered: bool,
    timeout: float | None,
    return_exceptions: bool,
    progress: ProgressArg,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Iterator[Any]:
    """The generator behind ``Runtime.map`` (see there)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    source = iter(items)
    index_of: dict[int, int] = {}  # id of a task in flight -> its item's index
    finished: dict[int, Any] = {}  # ordered mode: index -> outcome, not yet yielded
    next_index = 0  # index of the next item to read
    next_yield = 0  # ordered mode: index of the next item to yield
    exhausted = False
    bar = _Progress(progress, total)
    try:
        while True:
            room = concurrency - len(index_of) - len(finished)
            if not exhausted and room > 0:
                raw = list(itertools.islice(source, room))
                exhausted = len(raw) < room
                batch = [
                    item if item.__class__ is dict else _arguments(item, next_index + k, kind)
                    for k, item in enumerate(raw)
                ]
                if prepare is not None:  # on copies: the caller's dicts stay as they were
                    batch = [prepare(dict(item)) for item in batch]
                if batch:
                    ids = _spawn_batch(core, kind, batch, next_index)
                    waitset.watch_ids(core, ids, ids)
                    for offset, task_id in enumerate(ids):
                        index_of[task_id] = next_index + offset
                    next_index += len(ids)
            if not index_of and not finished:
                if exhausted:
                    return
                continue
            if index_of:
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                ready = waitset.take(remaining, max=len(index_of))
                if not ready:
                    raise WaitTimeout(f"map: {len(index_of)} tasks unfinished after {timeout} s")
                outcomes = core.collect(ready)
                while len(outcomes) < len(ready):  # collect stops when its buffer is full
                    outcomes += core.collect(ready[len(outcomes) :])
                bar.advance(len(outcomes))
                for task_id, status, timed_out, value in outcomes:
                    if status == _COMPLETED and value.__class__ is str:
                        result: Any = value  # the common case, kept cheap
                    else:
                        result = _outcome(task_id, status, timed_out, value)
                    index = index_of.pop(task_id)
                    if ordered:
                        finished[index] = result
                    elif isinstance(result, BaseException) and not return_exceptions:
                        raise result
                    else:
                        yield result
            while next_yield in finished:
                result = finished.pop(next_yield)
                next_yield += 1
                if isinstance(result, BaseException) and not return_exceptions:
                    raise result
                yield result
    finally:
        if index_of and not core.closed:
            core.release_many(list(index_of))  # cancels what still runs
        waitset.close()
        bar.close()
