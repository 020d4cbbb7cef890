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
        years = most / (365 * 24 * 3600)
        raise InvalidArgument(
            f"{name} is too large (at most {years:g} years); use None for no limit"
        )
    return number


def int_in(value: object, name: str, lo: int, hi: int, *, or_none: bool = False) -> None:
    """Raise InvalidArgument naming ``name`` unless ``value`` is an int in [lo, hi]
    (or None, with ``or_none``); a bool is not an int here."""
    if value is None and or_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        what = "None or an int" if or_none else "an int"
        raise InvalidArgument(f"{name} must be {what} from {lo} to {hi}, got {value!r}")
