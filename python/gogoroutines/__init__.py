"""gogoroutines: run I/O and CPU work on goroutines of an embedded Go runtime.

>>> from gogoroutines import Runtime
>>> with Runtime() as rt:
...     t = rt.go("delayed", delay_ms=20)
...     t.result(timeout=5)
'Callback executed after 20ms'

Importing this package does not start Go: the first ``Runtime()`` (or the
first call of the PHP extension's API, the ``go_*`` functions) does, so a
process may fork freely until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._types import Stats, Status
from .aio import as_completed_async
from .channel import select
from .compat import (
    go_check_status,
    go_cleanup,
    go_get_result,
    go_get_stats,
    go_start_delayed,
    go_start_goroutine,
    go_start_goroutine_with_task,
    go_wait,
)
from .errors import (
    ChannelClosed,
    ForkError,
    GoError,
    InternalError,
    InvalidArgument,
    ResultDecodeError,
    RuntimeClosed,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    TaskTimedOut,
    UnknownKind,
    WaitTimeout,
)
from .group import TaskGroup
from .runtime import Runtime, default_runtime
from .waiting import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    DoneAndNotDoneTasks,
    as_completed,
    wait,
)

if TYPE_CHECKING:
    from ._core import Channel, Task
else:
    from .channel import Channel
    from .task import Task

__version__: str  # an annotation only: __getattr__ supplies the value


def __getattr__(name: str) -> str:
    # __version__ is looked up on first use: importing importlib.metadata costs
    # about 3.4 MB of RSS and half of this package's import time.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("gogoroutines")
    except PackageNotFoundError:  # running from a source tree that is not installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found


__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "Channel",
    "ChannelClosed",
    "DoneAndNotDoneTasks",
    "ForkError",
    "GoError",
    "InternalError",
    "InvalidArgument",
    "ResultDecodeError",
    "Runtime",
    "RuntimeClosed",
    "Stats",
    "Status",
    "Task",
    "TaskCancelled",
    "TaskFailed",
    "TaskGroup",
    "TaskNotFound",
    "TaskTimedOut",
    "UnknownKind",
    "WaitTimeout",
    "__version__",
    "as_completed",
    "as_completed_async",
    "default_runtime",
    "go_check_status",
    "go_cleanup",
    "go_get_result",
    "go_get_stats",
    "go_start_delayed",
    "go_start_goroutine",
    "go_start_goroutine_with_task",
    "go_wait",
    "select",
    "wait",
]
