"""Plain value types of the public API (no compiled code, no Go runtime)."""

from __future__ import annotations

import enum
from typing import NamedTuple


class Status(enum.IntEnum):
    """Where a task is in its life (the values of the PHP extension, extended)."""

    NOT_FOUND = -1
    """No such task: never spawned, or closed."""
    RUNNING = 0
    COMPLETED = 1
    FAILED = 2
    CANCELLED = 3
    QUEUED = 4
    """Waiting for a free slot under the runtime's ``max_concurrency``."""

    @property
    def done(self) -> bool:
        """Whether the status is final (completed, failed or cancelled)."""
        return self in (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class Stats(NamedTuple):
    """A consistent snapshot of a runtime's task table.

    ``total == active + completed + failed + cancelled`` always holds, and
    ``queued`` counts the active tasks still waiting for a slot; the items of a
    running ``Runtime.map`` count as tasks. ``goroutines`` counts the
    goroutines of the whole Go runtime (not only this runtime's), less the idle
    workers kept pooled for the next tasks: it is not the process's goroutine
    count (``runtime.NumGoroutine()`` in Go).
    """

    total: int
    active: int
    queued: int
    completed: int
    failed: int
    cancelled: int
    goroutines: int

    def __str__(self) -> str:
        # Exactly the format of the PHP extension's go_get_stats().
        return (
            f"Total: {self.total}, Active: {self.active}, Completed: {self.completed}, "
            f"Failed: {self.failed}, Go Routines: {self.goroutines}"
        )
