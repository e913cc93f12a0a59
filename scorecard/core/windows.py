"""Windows as functions from a time to bucket keys.

A KPI's value at time T is the merge of the aggregate states of a few buckets; the window decides which. Stream and
replay both key their states by ``bucket(event_time)`` and read ``buckets_at(T)``, so they agree as long as these
functions are pure and exact:

* ``Tumbling(size)`` and ``Rolling(size, step)`` are aligned to the Unix epoch and computed in integer arithmetic
  (``floor(t) // step * step``), never with a float division that could put a boundary event on the wrong side.
* ``Calendar(period, timezone)`` is period-to-date in an IANA timezone, with day/week/month/quarter/year periods and
  weeks starting on Monday. Period starts are local midnights converted with ``zoneinfo``, so a DST day lasts 23
  or 25 hours. Because this runs per event, the boundaries of recently used periods are cached.

Bucket keys are the bucket start in whole epoch seconds (an ``int``): small, exact, sortable, and meaningful in
Redis. ``oldest_needed`` gives the expiry horizon: states older than it can be dropped, keeping the current and
previous window (the window that ends where the current one starts) so "now vs previous" stays answerable.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import ClassVar, Final, Literal, Protocol, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scorecard.core.timeutil import parse_duration

Period: TypeAlias = Literal["day", "week", "month", "quarter", "year"]
PERIODS: Final[tuple[str, ...]] = ("day", "week", "month", "quarter", "year")
WINDOW_KINDS: Final[tuple[str, ...]] = ("tumbling", "calendar", "rolling")

# Periods remembered per Calendar; 1024 days is almost three years of late events before the cache is rebuilt.
_CACHE_LIMIT: Final = 1024

MAX_BUCKETS_PER_WINDOW: Final = 1000
"""Most buckets one window may merge (a rolling window's size / step). The state layer relies on it: a unit's table
record holds up to two windows of buckets per KPI, and a read of a value touches one window of buckets."""
MAX_BUCKETS_PER_UNIT: Final = 20_000
"""Most buckets one window of every KPI may need together (rolling: size / step, tumbling and calendar: 1), checked
on the definition: it bounds a unit's record and what an evaluation or a scrape reads per unit."""
MAX_WINDOW_SECONDS: Final = 104 * 7 * 86400
"""Longest tumbling or rolling window (``104w``, 728 days). Events lie in years 1000-9997 and datetime ends with year
9999: a window of at most two years less a day, plus a day of timezone offset, keeps every span an event or an
evaluation time can produce printable and convertible."""


class WindowError(ValueError):
    """A window that cannot be built from the parameters given; the message names the parameter and the fix."""


class Window(Protocol):
    """What the engine needs from any window; all methods are pure functions of ``t`` (epoch seconds)."""

    @property
    def kind(self) -> str:
        """``"tumbling"``, ``"calendar"`` or ``"rolling"``: what the definition called it."""
        ...

    def bucket(self, t: float) -> int:
        """Start (epoch seconds) of the bucket that contains ``t``; the key an event at ``t`` is stored under."""
        ...

    def buckets_at(self, t: float) -> tuple[int, ...]:
        """The buckets whose merged states are the value at ``t``, oldest first."""
        ...

    def span(self, t: float) -> tuple[int, int]:
        """``(start, end)`` of the window reported for ``t``, end exclusive."""
        ...

    def oldest_needed(self, t: float) -> int:
        """Earliest bucket start needed by the value at ``t`` or by the previous window; older buckets can expire."""
        ...


@dataclass(frozen=True, slots=True)
class Tumbling:
    """Back-to-back windows of ``size`` seconds aligned to the Unix epoch; a time on a boundary opens the new one."""

    size: int
    kind: ClassVar[str] = "tumbling"

    def __post_init__(self) -> None:
        _check_seconds("size", self.size)
        _check_longest("size", self.size)

    def bucket(self, t: float) -> int:
        # floor(t / size) == floor(t) // size for an int size: integer arithmetic, no float division at boundaries
        return math.floor(t) // self.size * self.size

    def buckets_at(self, t: float) -> tuple[int, ...]:
        return (self.bucket(t),)

    def span(self, t: float) -> tuple[int, int]:
        start = self.bucket(t)
        return start, start + self.size

    def oldest_needed(self, t: float) -> int:
        return self.bucket(t) - self.size


@dataclass(frozen=True, slots=True)
class Rolling:
    """The last ``size`` seconds, moving in ``step`` increments: the merge of ``size // step`` epoch-aligned buckets.

    The newest bucket is the one containing the evaluation time, so the value at T covers
    ``[bucket(T) - size + step, bucket(T) + step)``. Events are stored once, in their step bucket, and the rolling
    value is a merge at read time; ``size`` must be a whole multiple of ``step`` for that to cover exactly ``size``.
    """

    size: int
    step: int
    kind: ClassVar[str] = "rolling"

    def __post_init__(self) -> None:
        _check_seconds("size", self.size)
        _check_seconds("step", self.step)
        if self.size % self.step:
            raise WindowError(f"rolling size ({self.size}s) must be a whole multiple of step ({self.step}s)")
        _check_longest("size", self.size)
        if self.count > MAX_BUCKETS_PER_WINDOW:
            raise WindowError(
                f"rolling size / step is {self.count} buckets, more than {MAX_BUCKETS_PER_WINDOW}; use a step of at"
                f" least {smallest_step(self.size)}s"
            )

    @property
    def count(self) -> int:
        """How many step buckets one value merges."""
        return self.size // self.step

    def bucket(self, t: float) -> int:
        return math.floor(t) // self.step * self.step

    def buckets_at(self, t: float) -> tuple[int, ...]:
        newest = self.bucket(t)
        step = self.step
        first = newest - self.size + step
        return tuple(range(first, newest + step, step))

    def span(self, t: float) -> tuple[int, int]:
        newest = self.bucket(t)
        return newest - self.size + self.step, newest + self.step

    def oldest_needed(self, t: float) -> int:
        # previous window = the one ending where the current one starts: size seconds further back
        return self.bucket(t) - 2 * self.size + self.step


@dataclass(slots=True)
class Calendar:
    """Period-to-date windows (day, week from Monday, month, quarter, year) in an IANA timezone.

    ``bucket`` is the epoch second of the local midnight that starts the period. Computing it needs a timezone
    conversion (a few microseconds), too slow per event, so the last period used is checked first and a sorted cache
    of recent periods second (late or out-of-order events usually hit it); only a miss does the zoneinfo work.
    The cache makes an instance cheap but not thread-safe: give each thread its own (Faust and the replay are
    single-threaded, and equality ignores the cache).
    The reported span is the whole period; the value is period-to-date because no later events exist yet (a replay
    evaluated at T must likewise ignore events after T).
    """

    period: Period
    timezone: str = "UTC"
    kind: ClassVar[str] = "calendar"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _current: tuple[int, int] = field(default=(1, 0), init=False, repr=False, compare=False)  # empty at first
    _starts: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _ends: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise WindowError(f"calendar period must be one of {', '.join(PERIODS)}; got {self.period!r}")
        self._zone = _zone(self.timezone)

    def bucket(self, t: float) -> int:
        start, end = self._current
        if start <= t < end:
            return start
        return self._lookup(t)[0]

    def buckets_at(self, t: float) -> tuple[int, ...]:
        return (self.bucket(t),)

    def span(self, t: float) -> tuple[int, int]:
        current = self._current
        if current[0] <= t < current[1]:
            return current
        return self._lookup(t)

    def oldest_needed(self, t: float) -> int:
        return self.bucket(self.bucket(t) - 1)

    def _lookup(self, t: float) -> tuple[int, int]:
        """Find (or compute and remember) the period containing ``t``, and make it the fast-path period."""
        starts = self._starts
        i = bisect_right(starts, t) - 1
        if i >= 0 and t < self._ends[i]:
            start, end = starts[i], self._ends[i]
        else:
            start, end = self._compute(t)
            if len(starts) >= _CACHE_LIMIT:
                starts.clear()
                self._ends.clear()
            i = bisect_right(starts, start)
            starts.insert(i, start)
            self._ends.insert(i, end)
        self._current = (start, end)
        return self._current

    def _compute(self, t: float) -> tuple[int, int]:
        local = datetime.fromtimestamp(math.floor(t), self._zone).date()
        first = _period_start(local, self.period)
        return self._midnight(first), self._midnight(_next_period_start(first, self.period))

    def _midnight(self, day: date) -> int:
        """Epoch of the first instant of ``day`` in the zone.

        ``fold=0`` picks the earlier of two ambiguous midnights, and for a midnight skipped by a DST jump it maps to
        the transition instant itself, which is the first instant of that local day: both are what a period start
        means. Offsets are whole seconds for every IANA zone, so the result is an exact int.
        """
        return int(datetime(day.year, day.month, day.day, tzinfo=self._zone).timestamp())


def _period_start(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())  # Monday is weekday 0
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def _next_period_start(first: date, period: str) -> date:
    if period == "day":
        return first + timedelta(days=1)
    if period == "week":
        return first + timedelta(days=7)
    if period == "year":
        return date(first.year + 1, 1, 1)
    months = 1 if period == "month" else 3
    month_index = first.month - 1 + months
    return date(first.year + month_index // 12, month_index % 12 + 1, 1)


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise WindowError(f"timezone must be an IANA name such as Europe/Berlin, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(f"unknown timezone {name!r}; use an IANA name such as Europe/Berlin or UTC") from None


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise WindowError(f"{name} must be a positive whole number of seconds, got {value!r}")


def _check_longest(name: str, value: int) -> None:
    if value > MAX_WINDOW_SECONDS:
        raise WindowError(f"{name} must be at most {MAX_WINDOW_SECONDS}s (104w), got {value}s")


def smallest_step(size: int) -> int:
    """The smallest step (seconds) that divides ``size`` into at most ``MAX_BUCKETS_PER_WINDOW`` buckets."""
    return next(size // count for count in range(min(size, MAX_BUCKETS_PER_WINDOW), 0, -1) if size % count == 0)


def _seconds(name: str, value: int | str | None, kind: str) -> int:
    """Accept ``900`` or ``"15m"``: the definition file writes durations, the code passes seconds."""
    if value is None:
        raise WindowError(f"a {kind} window needs {name} (e.g. {name}: 1h)")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise WindowError(f"{kind} window {name}: {exc}") from None


def make_window(
    kind: str,
    *,
    size: int | str | None = None,
    step: int | str | None = None,
    period: str | None = None,
    timezone: str = "UTC",
) -> Window:
    """Build a window from plain configuration values; sizes are seconds or durations such as ``"15m"``.

    Parameters that do not apply to ``kind`` are refused (a ``step`` on a tumbling window is a misunderstanding
    worth reporting), except ``timezone``: tumbling and rolling windows are epoch-aligned and ignore it, so a
    scorecard-wide default timezone can be passed to every window.
    """
    if kind == "tumbling":
        _refuse(kind, step=step, period=period)
        return Tumbling(_seconds("size", size, kind))
    if kind == "rolling":
        _refuse(kind, period=period)
        return Rolling(_seconds("size", size, kind), _seconds("step", step, kind))
    if kind == "calendar":
        _refuse(kind, size=size, step=step)
        if period is None:
            raise WindowError(f"a calendar window needs period: one of {', '.join(PERIODS)}")
        if period not in PERIODS:
            raise WindowError(f"calendar period must be one of {', '.join(PERIODS)}; got {period!r}")
        return Calendar(period, timezone)  # type: ignore[arg-type]
    raise WindowError(f"window must be one of {', '.join(WINDOW_KINDS)}; got {kind!r}")


def _refuse(kind: str, **params: object) -> None:
    for name, value in params.items():
        if value is not None:
            raise WindowError(f"{name} does not apply to a {kind} window (got {value!r}); remove it")
