"""Durations and timestamps, parsed one way everywhere.

The definition file, the events and the CLI all speak about time; keeping the parsing in one module means
`1h` or `2026-11-27T10:15:00Z` can never mean two different things in two places.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_DURATION_RE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class TimeFormatError(ValueError):
    """A duration or timestamp that cannot be read; the message says what is expected."""


def parse_duration(text: str | int) -> int:
    """Return a duration such as ``15m``, ``1h``, ``7d`` or ``2w`` in whole seconds.

    A bare integer counts as seconds. Durations are whole seconds because windows are aligned to the Unix epoch
    and every bucket boundary must be an exact integer.
    """
    if isinstance(text, bool):
        raise TimeFormatError(f"expected a duration like 15m, 1h or 7d, got {text!r}")
    if isinstance(text, int):
        if text <= 0:
            raise TimeFormatError(f"expected a positive duration, got {text}")
        return text
    if not isinstance(text, str):
        raise TimeFormatError(f"expected a duration like 15m, 1h or 7d, got {text!r}")
    match = _DURATION_RE.match(text)
    if not match:
        raise TimeFormatError(f"expected a duration like 30s, 15m, 1h, 7d or 2w, got {text!r}")
    amount = int(match.group(1))
    if amount <= 0:
        raise TimeFormatError(f"expected a positive duration, got {text!r}")
    return amount * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """Render seconds in the largest unit that divides them exactly (``86400`` -> ``1d``)."""
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_time(value: object) -> float:
    """Return an event or CLI time as epoch seconds.

    Accepts RFC 3339 text with an explicit offset (``Z`` or ``+01:00``) or a number of epoch seconds. A time without
    an offset is refused: guessing a timezone would silently shift events across window boundaries.
    """
    if isinstance(value, bool):
        raise TimeFormatError(f"expected RFC 3339 time with offset or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise TimeFormatError(f"expected a finite epoch time, got {value!r}")
        return float(value)
    if not isinstance(value, str) or not value:
        raise TimeFormatError(f"expected RFC 3339 time with offset or epoch seconds, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimeFormatError(f"expected RFC 3339 time like 2026-11-27T10:15:00Z, got {value!r}") from None
    if parsed.tzinfo is None:
        raise TimeFormatError(f"time {value!r} has no offset; add Z or +HH:MM")
    return parsed.timestamp()


def format_time(epoch: float) -> str:
    """Render epoch seconds as RFC 3339 in UTC, with a ``Z`` and no fraction when it is whole.

    ``isoformat`` rather than ``strftime("%Y")``: the C library writes year 999 as ``999``, which is not RFC 3339
    and does not parse back; ``isoformat`` always writes four digits.
    """
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    timespec = "seconds" if epoch == int(epoch) else "milliseconds"
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")
