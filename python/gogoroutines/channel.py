"""Channels: Go channels of ``str`` and ``bytes`` items, shared with tasks.

    ch = rt.channel(capacity=100)
    rt.go("exec", argv=["tail", "-n", "5", "log.txt"], stream=ch)
    for line in ch:          # until the task closes it
        print(line)

``Channel`` here is the public name of the compiled class (registered as its
subclass when the core loads, as for ``Task``), so that importing
gogoroutines does not start Go.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._loader import load_core

if TYPE_CHECKING:
    from ._core import Channel as CoreChannel

__all__ = ["Channel", "select"]


class Channel(abc.ABC):  # noqa: B024 - an interface name, implemented in C++
    """A Go channel of str and bytes items; create one with :meth:`Runtime.channel`.

    ``send(item, timeout=None)`` waits until the item is taken (capacity 0) or
    buffered; ``recv(timeout=None)`` returns the next item, as the type it was
    sent as; both raise :class:`WaitTimeout` when the timeout runs out and
    release the GIL while they wait. ``close()`` makes sends fail with
    :class:`ChannelClosed`; receivers get what is left, then
    :class:`ChannelClosed`. Iterating receives until the channel is closed and
    empty. ``len(ch)`` is the number of buffered items.
    """


def select(
    channels: Iterable[CoreChannel], timeout: float | None = None
) -> tuple[CoreChannel, str | bytes | None]:
    """Receive from whichever channel has an item first.

    Returns ``(channel, item)``; ``item`` is ``None`` when that channel is
    closed and empty. Raises :class:`WaitTimeout` if nothing arrives within
    ``timeout`` seconds.
    """
    chans = list(channels)
    index, item = load_core().select(chans, timeout)
    return chans[index], item
