"""Durations and timestamps, parsed one way everywhere.

The definition file, the events and the CLI all speak about time; keeping the parsing in one module means
`1h` or `2026-11-27T10:15:00Z` can never mean two different things in two places.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Final

# Prometheus's duration syntax (model.ParseDuration): units from years to milliseconds, each at most once, largest
# first, so `1h30m`, `90s` and `500ms` read as Prometheus reads them. A year is 365 days, as there.
_DURATION_UNITS: Final = (
    ("y", 365 * 86400_000),
    ("w", 7 * 86400_000),
    ("d", 86400_000),
    ("h", 3600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)
_DURATION_RE = re.compile(
    r"^\s*" + "".join(rf"(?:(?P<{unit}>[0-9]+){unit})?" for unit, _ms in _DURATION_UNITS) + r"\s*$"
)
_DURATION_EXAMPLES: Final = "30s, 15m, 1h30m, 7d or 2w"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# More digits than this is no duration anyone means (10**12 s is 31,000 years), and reading a number of thousands
# of digits costs time: refused before converting.
_MAX_DURATION_DIGITS: Final = 12

EVENT_TIME_MIN: Final = -30610224000
"""1000-01-01T00:00:00Z: the earliest time an event (or an evaluation time such as ``--at``) may have."""
EVENT_TIME_END: Final = 253339228800
"""9998-01-01T00:00:00Z, excluded: event times lie in years 1000-9997 (UTC), so that every window, timezone shift and
"next period" computed from them stays within datetime's years 1-9999 (see the duration limits in
``scorecard.core.definition``)."""


class TimeFormatError(ValueError):
    """A duration or timestamp that cannot be read; the message says what is expected."""


class DurationRangeError(TimeFormatError):
    """A duration written with more digits than any meaningful one; callers with a tighter bound say theirs."""


def parse_duration(text: str | int) -> int:
    """Return a duration such as ``15m``, ``1h30m``, ``7d`` or ``2w`` (``duration_milliseconds``) in whole seconds.

    A bare integer counts as seconds. Durations are whole seconds because windows are aligned to the Unix epoch
    and every bucket boundary must be an exact integer.
    """
    if isinstance(text, bool):
        raise TimeFormatError(f"expected a duration like {_DURATION_EXAMPLES}, got {text!r}")
    if isinstance(text, int):
        if text <= 0:
            raise TimeFormatError(f"expected a positive duration, got {text}")
        if text >= 10**_MAX_DURATION_DIGITS:
            raise DurationRangeError(
                f"expected a duration of at most {_MAX_DURATION_DIGITS} digits, got {short_value(text)}"
            )
        return text
    if not isinstance(text, str):
        raise TimeFormatError(f"expected a duration like {_DURATION_EXAMPLES}, got {short_value(text)}")
    milliseconds = duration_milliseconds(text)
    if milliseconds <= 0:
        raise TimeFormatError(f"expected a positive duration, got {short_value(text)}")
    if milliseconds % 1000:
        raise TimeFormatError(f"expected whole seconds here, got {short_value(text)}")
    return milliseconds // 1000


def duration_milliseconds(text: str) -> int:
    """Return a Prometheus-style duration (``500ms``, ``90s``, ``1h30m``, ``2w``) in milliseconds; ``0s`` is 0.

    The one reader of duration text: definitions (through ``parse_duration``, whole seconds) and every CLI option
    taking a duration use it, so a duration Prometheus accepts means the same everywhere.
    """
    match = _DURATION_RE.match(text)
    if not match or not any(match.groupdict().values()):
        raise TimeFormatError(f"expected a duration like {_DURATION_EXAMPLES}, got {short_value(text)}")
    total = 0
    for unit, size in _DURATION_UNITS:
        amount = match.group(unit)
        if amount is None:
            continue
        digits = amount.lstrip("0") or "0"
        if len(digits) > _MAX_DURATION_DIGITS:
            raise DurationRangeError(_too_many_digits(text))
        total += int(digits) * size
    return total


def _too_many_digits(value: object) -> str:
    return f"expected a duration of at most {_MAX_DURATION_DIGITS} digits, got {short_value(value)}"


def short_value(value: object) -> str:
    """A value for a message, cut so that a huge input never makes a huge message."""
    if isinstance(value, int) and value.bit_length() > 128:
        shown = "a very large number"
    elif isinstance(value, str | int | float | type(None)):
        shown = repr(value)
    else:
        shown = f"a {type(value).__name__}"
    return shown if len(shown) <= 40 else shown[:37] + "..."


def format_duration(seconds: float) -> str:
    """Render seconds in the largest unit that divides them exactly (``86400`` -> ``1d``; ``0.5`` -> ``500ms``)."""
    if seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    seconds = int(seconds)
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


def parse_time_text(text: str) -> float:
    """A time typed on a command line: epoch seconds (``1795774560``, ``1.7e9``) or RFC 3339 text."""
    return parse_time(float(text)) if _is_number(text) else parse_time(text)


def check_event_time(epoch: float, shown: str | None = None) -> float:
    """Return ``epoch`` when it lies in the event time range (years 1000-9997 UTC), else raise TimeFormatError.

    Evaluation times (``--at``) share the events' range: every window, period and report field is computable for
    them, and no time outside it can hold an event anyway. ``shown`` is the time as the user wrote it.
    """
    if EVENT_TIME_MIN <= epoch < EVENT_TIME_END:
        return epoch
    numeric = shown is None or _is_number(shown)
    hint = "; milliseconds? divide by 1000" if epoch >= EVENT_TIME_END and numeric else ""
    raise TimeFormatError(
        f"expected a time in years 1000-9997 UTC (epoch seconds {EVENT_TIME_MIN} to {EVENT_TIME_END - 1}), the range"
        f" events may have; got {short_value(shown) if shown is not None else f'{epoch:g}'}{hint}"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_time(epoch: float) -> str:
    """Render epoch seconds as RFC 3339 in UTC, with a ``Z`` and no fraction when it is whole.

    ``isoformat`` rather than ``strftime("%Y")``: the C library writes year 999 as ``999``, which is not RFC 3339
    and does not parse back; ``isoformat`` always writes four digits.
    """
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    timespec = "seconds" if epoch == int(epoch) else "milliseconds"
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")
