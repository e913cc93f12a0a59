"""Pace profiles and the elapsed fraction f of a period: how far through its period a period-to-date KPI should be.

A ``sum`` or ``count`` on a calendar or tumbling window grows through its period, so judging it against the full
period's goal makes every period start red. Instead it is judged against where it should be by now: the share f of
the period's *counted* seconds that have passed (docs/semantics.md, "Time-aware targets").

- ``LINEAR`` counts every second: f = (T - S) / (E - S).
- ``Weekly(days, hours)`` counts only the seconds whose local wall-clock time (in the scorecard's timezone) falls
  on one of ``days`` and, when given, inside ``hours``. Seconds are real seconds, so a DST day has 23 or 25 hours of
  them, a local hour repeated by a fall-back counts twice and one skipped by a spring-forward not at all.
- ``None`` (no profile) means the KPI is not paced.

Everything here is a pure function of epoch seconds and a ``ZoneInfo``; nothing reads the clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final, TypeAlias
from zoneinfo import ZoneInfo

__all__ = [
    "DAY_NAMES",
    "LINEAR",
    "Linear",
    "Profile",
    "Weekly",
    "active_seconds",
    "elapsed_fraction",
    "parse_hours",
]

DAY_NAMES: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as the definition writes them, in ``date.weekday()`` order (Monday is 0)."""

_HOURS_RE: Final = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Linear:
    """Every second of the period counts."""


LINEAR: Final = Linear()


@dataclass(frozen=True, slots=True)
class Weekly:
    """Only seconds on ``days`` (``date.weekday()`` numbers) and inside local ``hours`` (minutes since midnight,
    start inclusive, end exclusive; ``(0, 1440)`` is the whole day) count."""

    days: frozenset[int]
    hours: tuple[int, int] = (0, 1440)


Profile: TypeAlias = Linear | Weekly


def parse_hours(text: str) -> tuple[int, int]:
    """``"08:00-18:00"`` as minutes since local midnight ``(480, 1080)``; ``24:00`` may end the range.

    Raises ``ValueError`` with what is expected: a range within one day, start before end (a night shift across
    midnight is two ranges, which one profile does not express).
    """
    match = _HOURS_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected local hours like '08:00-18:00', got {text!r}")
    h0, m0, h1, m1 = (int(part) for part in match.groups())
    start, end = h0 * 60 + m0, h1 * 60 + m1
    if h0 > 23 or m0 > 59 or m1 > 59 or end > 1440:
        raise ValueError(f"expected times from 00:00 to 24:00, got {text!r}")
    if start >= end:
        raise ValueError(f"expected the start before the end within one day, got {text!r}")
    return start, end


def active_seconds(profile: Profile, start: float, end: float, zone: ZoneInfo) -> float:
    """Real seconds in ``[start, end)`` that ``profile`` counts, with wall-clock times read in ``zone``."""
    if end <= start:
        return 0.0
    if isinstance(profile, Linear):
        return end - start
    total = 0.0
    for low, high in _counted_intervals(profile, start, end, zone):
        total += max(0.0, min(high, end) - max(low, start))
    return total


def elapsed_fraction(profile: Profile, start: int, end: int, at: float, zone: ZoneInfo) -> float:
    """f = active(S, T) / active(S, E) for the period ``[start, end)`` evaluated at ``at``, clamped to [0, 1].

    A period in which the profile counts no second at all has f = 1: there is nothing to pace, so the KPI is judged
    against its full-period targets.
    """
    if at <= start:
        return 0.0 if active_seconds(profile, start, end, zone) > 0 else 1.0
    if at >= end:
        return 1.0
    whole = _period_seconds(profile, start, end, zone)
    if whole <= 0:
        return 1.0
    return min(1.0, max(0.0, active_seconds(profile, start, at, zone) / whole))


@lru_cache(maxsize=256)
def _period_seconds(profile: Profile, start: int, end: int, zone: ZoneInfo) -> float:
    """A whole period's counted seconds: the same for every evaluation inside it, so computed once."""
    return active_seconds(profile, start, end, zone)


def _counted_intervals(profile: Weekly, start: float, end: float, zone: ZoneInfo) -> list[tuple[float, float]]:
    """The epoch intervals ``[low, high)`` of every local day touching ``[start, end)`` that the profile counts."""
    first = datetime.fromtimestamp(math.floor(start), zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(math.ceil(end), zone).date() + timedelta(days=1)
    out = []
    day = first
    while day <= last:
        if day.weekday() in profile.days:
            out.append((_local(day, profile.hours[0], zone), _local(day, profile.hours[1], zone)))
        day += timedelta(days=1)
    return out


def _local(day: date, minutes: int, zone: ZoneInfo) -> float:
    """Epoch of local wall-clock ``minutes`` after midnight of ``day``; 1440 is the next day's midnight.

    ``fold=0`` takes the first of two repeated wall times and maps a skipped one to the transition instant, so an
    interval over a fall-back hour holds both of its real hours and one over a skipped hour holds none.
    """
    if minutes >= 1440:
        day, minutes = day + timedelta(days=1), minutes - 1440
    moment = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    stamp = moment.timestamp()
    # A skipped wall time (spring forward) with fold=0 reads with the offset before the jump, which lands after the
    # transition; the transition instant itself is what "the first instant at or after that wall time" means.
    back = datetime.fromtimestamp(stamp, zone).replace(tzinfo=None)
    if back != moment.replace(tzinfo=None):
        stamp = _transition_before(stamp, zone)
    return stamp


def _transition_before(stamp: float, zone: ZoneInfo) -> float:
    """The DST transition instant shortly before ``stamp`` (a gap is at most a few hours wide): bisect on offsets."""
    high = stamp
    low = stamp - 4 * 3600
    offset_high = datetime.fromtimestamp(high, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_high:
            high = middle
        else:
            low = middle
    return high
