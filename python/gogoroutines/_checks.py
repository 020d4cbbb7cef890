"""Checks of arguments that the Python layer handles itself."""

from __future__ import annotations

import math

from ._loader import go_limits
from .errors import InvalidArgument


def seconds(
    value: object, name: str = "timeout", *, negative_is_zero: bool = False
) -> float | None:
    """Return ``value`` as seconds (None stays None), or raise InvalidArgument naming ``name``.

    With ``negative_is_zero`` a negative value means "do not wait", as the
    timeouts of ``concurrent.futures.wait`` do; otherwise it is an error.
    """
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidArgument(
            f"{name} must be a number of seconds or None, got {type(value).__name__}"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isnan(number):
        raise InvalidArgument(f"{name} must be a number of seconds, got NaN")
    if number < 0 and negative_is_zero:
        return 0.0
    if number < 0:
        raise InvalidArgument(f"{name} must not be negative, got {value!r}")
    most = go_limits().max_timeout_ns / 1e9
    if number > most:
        raise InvalidArgument(
            f"{name} is too large (at most {most:.0f} seconds); use None for no limit"
        )
    return number
