"""``gogoroutines.dask.map``: fan a kind out over the workers of a Dask cluster.

The client reads the input lazily, cuts it into batches of plain argument
dicts and submits each batch as one Dask task (:func:`_run_batch`, a
module-level function, so nothing of ours is pickled but the arguments and
the results). Each worker process runs its batches with ``Runtime.map`` on one
runtime of its own, created on first use there. Only a bounded number of
batches is submitted and not yet yielded at any time, so a generator of a
hundred million items never sits in the scheduler or in the client's memory.

Dask (``distributed``) is an optional dependency (``pip install
"gogoroutines[dask]"``): importing this module does not import it, and
neither the module nor :func:`map` starts Go in the client process.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import ForkError, GoError, InvalidArgument
from .mapping import ProgressArg, _Progress

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["FORK_HINT", "map", "worker_runtime"]

#: Appended to a ``ForkError`` raised in a Dask worker: how to start workers safely.
FORK_HINT = (
    "In Dask: this worker process was forked from a process in which Go had already "
    "started (Dask's multiprocessing start method is 'fork'). Start workers with the "
    "'spawn' method, Dask's default: "
    "dask.config.set({'distributed.worker.multiprocessing-method': 'spawn'}) before "
    "creating the cluster (or DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD=spawn), "
    "or do not use gogoroutines in the process that starts the workers."
)

_INSTALL_HINT = (
    "gogoroutines.dask needs Dask's distributed scheduler, which is not installed: "
    'pip install "gogoroutines[dask]" (or pip install "dask[distributed]")'
)

# Seconds between two readings of the cluster's size (the default in-flight limit).
_RESIZE_INTERVAL = 2.0

# The plain-data form of an exception: (class name, message, go_error, go_stack).
ErrorData = tuple[str, str, str, str]
# What a batch returns: its results (str, or ErrorData for a failed item) and the
# error that ended the batch early (a bad argument, an unknown kind, ForkError...).
BatchResult = tuple[list[Any], ErrorData | None]


# ---- the worker side -------------------------------------------------------------------

_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def worker_runtime() -> Runtime:
    """Return this process's runtime for Dask batches, creating it on first use.

    It starts Go in the calling process: it is meant for worker processes.
    A process forked after Go started raises :class:`~gogoroutines.ForkError`,
    with :data:`FORK_HINT` appended.
    """
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime.closed:
            from .runtime import Runtime

            try:
                _runtime = Runtime()
            except ForkError as err:
                raise ForkError(f"{err} {FORK_HINT}") from None
        return _runtime


def _error_data(exc: BaseException) -> ErrorData:
    """An exception of gogoroutines as plain, picklable data."""
    return (
        type(exc).__name__,
        str(exc),
        str(getattr(exc, "go_error", "") or ""),
        str(getattr(exc, "go_stack", "") or ""),
    )


def _rebuild(data: ErrorData) -> GoError:
    """The exception that :func:`_error_data` turned into ``data``, re-created."""
    name, message, go_error, go_stack = data
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, GoError)):
        return GoError(f"{name}: {message}")
    if issubclass(cls, errors.TaskFailed):
        return cls(message, go_error, go_stack)
    return cls(message)


class _BatchCancelled(Exception):
    """Raised inside a batch whose Dask task was cancelled, to stop its map."""


def _cancellation_check() -> Callable[[int, int | None], None] | bool:
    """A ``Runtime.map`` progress callback that stops the map once its Dask task is cancelled.

    Dask cannot interrupt a running task: without this, a batch whose client left
    (``break``, an error) would occupy its worker thread until its last item. The
    callback runs whenever items finish, and looks at the task's state in the worker
    at most every 0.2 s. Outside a Dask worker (or with a ``distributed`` whose
    internals differ) it is ``False``: no check.
    """
    try:
        from dask.context import thread_state  # the one distributed sets: .key is the task's
        from distributed import get_worker

        worker = get_worker()
        key = thread_state.key
        tasks = worker.state.tasks
    except Exception:  # not in a worker's task thread, or another distributed
        return False
    last = time.monotonic()

    def check(done: int, total: int | None) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < 0.2:
            return
        last = now
        state = tasks.get(key)
        if state is None or state.state == "cancelled":
            raise _BatchCancelled

    return check


def _run_batch(kind: str, items: list[dict[str, Any]], concurrency: int | None) -> BatchResult:
    """Run one batch in a worker process: the Dask task that :func:`map` submits.

    Failed items come back as :data:`ErrorData`; an error that ends the batch
    (an unknown kind, a bad argument, ``ForkError``) comes back as the second
    element, after the results of the items before it. Any other exception
    propagates, and Dask retries the batch.
    """
    results: list[Any] = []
    try:
        runtime = worker_runtime()
        outcomes = runtime.map(
            kind,
            items,
            concurrency=concurrency,
            return_exceptions=True,
            progress=_cancellation_check(),
        )
        for result in outcomes:
            results.append(_error_data(result) if isinstance(result, BaseException) else result)
    except _BatchCancelled:
        pass  # nobody waits for these results any more; leaving the map cancelled the rest
    except ForkError as err:
        text = str(err)
        return results, _error_data(ForkError(text if FORK_HINT in text else f"{text} {FORK_HINT}"))
    except GoError as err:
        return results, _error_data(err)
    return results, None


# ---- the client side -------------------------------------------------------------------


def _import_distributed() -> Any:
    try:
        return importlib.import_module("distributed")
    except ImportError as err:
        raise ImportError(_INSTALL_HINT, name=err.name) from err


class _Batch:
    __slots__ = ("attempt", "index", "items", "key")

    def __init__(self, index: int, items: list[dict[str, Any]], key: str) -> None:
        self.index = index
        self.items = items
        self.key = key
        self.attempt = 0


def _check_positive(name: str, value: object, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        what = "a positive int or None" if allow_none else "a positive int"
        raise InvalidArgument(f"{name} must be {what}, got {value!r}")


def map(
    client: Any,
    kind: str,
    items: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = 1000,
    concurrency: int | None = None,
    ordered: bool = True,
    return_exceptions: bool = False,
    retries: int = 1,
    progress: ProgressArg = False,
    in_flight: int | None = None,
) -> Iterator[Any]:
    """Run one task of ``kind`` per dict of arguments in ``items`` on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
        A synchronous client of the cluster (a ``LocalCluster`` or an address).
        Its workers need gogoroutines installed; they should be separate
        processes started with the ``'spawn'`` method (Dask's default).
    kind : str
        The task kind, e.g. ``"http"``.
    items : iterable of dict
        The arguments of each task. Read lazily, ``batch_size`` at a time.
    batch_size : int
        Items per Dask task. Each batch runs with ``Runtime.map`` in a worker.
    concurrency : int or None
        At most this many items of a batch run at once in its worker
        (``Runtime.map``'s ``concurrency``; default 1024).
    ordered : bool
        Yield in input order (default), or batch by batch as batches complete
        (items of one batch stay in input order).
    return_exceptions : bool
        Yield a failed item's exception (``TaskFailed``...) instead of raising
        it (which cancels the batches still running).
    retries : int
        How many times a batch is submitted again when it is lost: when its
        function raised outside gogoroutines (Dask's ``retries``), or when the
        workers running it died too often (``KilledWorker``). A worker dying
        mid-batch is handled by Dask, which runs the batch elsewhere.
    progress : bool or callable
        ``True`` shows a tqdm bar if tqdm is installed, else a counter on
        stderr; a callable gets ``(done, total)``. Counted per finished batch.
    in_flight : int or None
        At most this many batches are submitted and not yet yielded (the
        client holds their items, for resubmission). Default: two per worker
        thread of the cluster (at least two), re-read every few seconds.

    Yields
    ------
    str
        Each task's result, as ``Runtime.map`` yields it.

    Raises
    ------
    UnknownKind, InvalidArgument
        A bad kind or argument (raised in the worker, re-raised here).
    ForkError
        The workers were forked from a process that had started Go; the
        message says how to start them with ``'spawn'``.
    ImportError
        Dask's ``distributed`` is not installed.

    Go never starts in the calling process. Leaving the loop early (``break``,
    an exception) cancels the batches still submitted.
    """
    distributed = _import_distributed()
    if getattr(client, "asynchronous", False):
        raise InvalidArgument("gogoroutines.dask.map needs a synchronous distributed.Client")
    _check_positive("batch_size", batch_size, allow_none=False)
    _check_positive("concurrency", concurrency, allow_none=True)
    _check_positive("in_flight", in_flight, allow_none=True)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InvalidArgument(f"retries must be an int >= 0, got {retries!r}")
    total = len(items) if isinstance(items, Sized) else None
    return _map(
        distributed,
        client,
        kind,
        iter(items),
        total,
        batch_size=batch_size,
        concurrency=concurrency,
        ordered=ordered,
        return_exceptions=return_exceptions,
        retries=retries,
        progress=progress,
        in_flight=in_flight,
    )


def _arguments(item: object, index: int, kind: str) -> dict[str, Any]:
    """One item of the input as a plain dict (what is pickled and sent)."""
    if type(item) is dict:
        return item
    if isinstance(item, Mapping):
        return dict(item)
    raise InvalidArgument(
        f"map: item {index} must be a dict of arguments for {kind!r}, got {type(item).__name__}"
    )


def _map(
    distributed: Any,
    client: Any,
    kind: str,
    source: Iterator[Mapping[str, Any]],
    total: int | None,
    *,
    batch_size: int,
    concurrency: int | None,
    ordered: bool,
    return_exceptions: bool,
    retries: int,
    progress: ProgressArg,
    in_flight: int | None,
) -> Iterator[Any]:
    """The generator behind :func:`map`."""
    token = uuid.uuid4().hex[:12]
    completions = distributed.as_completed(loop=client.loop, with_results=True, raise_errors=False)
    pending: dict[Any, _Batch] = {}  # future -> its batch, submitted and not finished
    ready: dict[int, BatchResult] = {}  # batch index -> its results, not yet yielded
    finish_order: deque[int] = deque()  # unordered mode: indices of `ready`, as they came
    next_index = 0  # items read so far
    next_batch = 0  # batches read so far
    next_yield = 0  # ordered mode: the batch to yield next
    exhausted = False
    limit = in_flight or 2
    sized_at = -_RESIZE_INTERVAL
    bar = _Progress(progress, total)

    def submit(batch: _Batch) -> None:
        future = client.submit(
            _run_batch,
            kind,
            batch.items,
            concurrency,
            key=f"{batch.key}-{batch.attempt}",
            retries=retries,
            pure=False,
        )
        pending[future] = batch
        completions.add(future)

    def fill() -> None:
        nonlocal exhausted, next_index, next_batch, limit, sized_at
        if exhausted:
            return
        if in_flight is None and time.monotonic() - sized_at >= _RESIZE_INTERVAL:
            sized_at = time.monotonic()
            limit = max(2, 2 * sum(client.nthreads().values()))
        while not exhausted and len(pending) + len(ready) < limit:
            raw = list(itertools.islice(source, batch_size))
            exhausted = len(raw) < batch_size
            if not raw:
                break
            batch_items = [_arguments(item, next_index + k, kind) for k, item in enumerate(raw)]
            next_index += len(raw)
            submit(_Batch(next_batch, batch_items, f"gogoroutines-map-{token}-{next_batch}"))
            next_batch += 1

    def receive() -> None:
        """Wait for at least one batch to finish; move finished batches into `ready`."""
        for future, outcome in completions.next_batch(block=True):
            batch = pending.pop(future, None)
            if batch is None:
                continue  # cancelled by us
            if future.status == "finished":
                future.release()  # the results are here: the cluster may forget them
                ready[batch.index] = outcome
                finish_order.append(batch.index)
                bar.advance(len(outcome[0]))
                continue
            error = future.exception() if future.status == "error" else None
            # Lost: its workers died too often (KilledWorker), or it was cancelled
            # (the scheduler forgot it, the client reconnected...): run it again.
            lost = error is None or isinstance(error, distributed.KilledWorker)
            if error is None:
                try:
                    future.result()  # raises FutureCancelledError, with the reason
                except Exception as err:
                    error = err
            future.release()  # nothing keeps it alive on the cluster, whatever holds it here
            if lost and batch.attempt < retries:
                batch.attempt += 1
                submit(batch)
                continue
            raise error or RuntimeError(f"batch {batch.index} ended as {future.status!r}")

    def take() -> BatchResult | None:
        nonlocal next_yield
        if ordered:
            outcome = ready.pop(next_yield, None)
            if outcome is not None:
                next_yield += 1
            return outcome
        if finish_order:
            return ready.pop(finish_order.popleft())
        return None

    try:
        while True:
            fill()
            if not pending and not ready:
                return
            outcome = take()
            if outcome is None:
                receive()
                continue
            fill()  # the batch taken freed a place: keep the workers busy while yielding
            results, batch_error = outcome
            for result in results:
                if result.__class__ is tuple:
                    exc = _rebuild(result)
                    if not return_exceptions:
                        raise exc
                    yield exc
                else:
                    yield result
            if batch_error is not None:
                raise _rebuild(batch_error)
    finally:
        if pending:
            with contextlib.suppress(Exception):  # a client closed already: nothing to cancel
                client.cancel(list(pending))
            pending.clear()
        completions.clear()
        bar.close()
