"""``gogoroutines.Task``: the public name of the compiled task type.

The real class, ``gogoroutines._core.Task``, lives in the compiled core, and
loading the core starts the Go runtime. So that ``import gogoroutines`` (and
``from gogoroutines import *``) leaves Go stopped, the public name is this
abstract class; the compiled class is registered as its subclass when the core
loads, so ``isinstance(task, gogoroutines.Task)`` holds for every task.
Type checkers see the compiled class itself (see ``__init__.py``).
"""

from __future__ import annotations

import abc

__all__ = ["Task"]


class Task(abc.ABC):  # noqa: B024 - an interface name, implemented in C++
    """A task running on a goroutine, created by :meth:`Runtime.go`.

    Attributes and methods: ``id``, ``kind``, ``status``, ``closed``,
    ``done()``, ``wait(timeout=None) -> bool``, ``result(timeout=None) -> str``,
    ``result_bytes(timeout=None) -> bytes``, ``cancel() -> bool``, ``close()``;
    a context manager that closes the task on exit. Closing it, or letting it
    be garbage-collected, releases it from its runtime.
    """
