"""A trend for a paced sum or count: how one team's value to date falls behind (or runs ahead of) its paced red flag.

A paced KPI is judged on ``value / f`` (docs/semantics.md, section 8), f being the elapsed share of its period. Moving
the field's values, as ``Trend`` does for an average, barely moves a month's sum; two mechanisms do:

- **burst** (lower is better, e.g. urgent tickets): extra events of the team over the ramp, enough that the value to
  date passes the paced red flag R x f (plus a goal-to-red-flag distance) by the ramp's end. It crosses within the
  ramp whatever the window, a month or a day.
- **silence** (higher is better, e.g. revenue): the team's events of that type stop. The value to date V stays put
  while f grows, so ``V / f`` reaches R when f = V / R; on pace V = f0 x P (P the team's full-period pace), so
  after ``f0 x P / R - f0`` of the period. For a month that is hours or days (a sum cannot go back down without negative
  amounts); for a tumbling window of an hour or two it is minutes. ``crosses_after`` says when, from the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from scorecard.core.pace import Profile as PaceProfile
from scorecard.core.pace import elapsed_fraction

BEYOND: Final = 1.0
"""A burst aims the value to date at the paced (red flag + this x (red flag - goal)) at the end of the ramp."""


@dataclass(frozen=True)
class PacedTrend:
    """One paced sum or count at one unit, driven across its paced red flag from the live start.

    ``mode`` is ``"burst"`` (``extra`` additional events, spread evenly over ``ramp`` seconds) or ``"silence"`` (the
    unit's events of ``event`` stop from the live start). ``crosses_after`` is the planned crossing, in seconds.
    """

    kpi: str
    unit: str
    event: str
    where: dict[str, Any]
    aggregation: str
    goal: float
    red_flag: float
    mode: str
    extra: int
    ramp: float
    crosses_after: float

    def extra_at(self, second: int) -> int:
        """Burst events to add in this second of the live phase (none for a silence or after the ramp)."""
        if self.mode != "burst" or second < 0 or second >= self.ramp:
            return 0
        return math.floor(self.extra * (second + 1) / self.ramp) - math.floor(self.extra * second / self.ramp)

    @property
    def silenced(self) -> bool:
        return self.mode == "silence"

    def describe(self, display_unit: str | None = None) -> str:
        unit = f" {display_unit}" if display_unit else ""
        how = (
            f"{self.extra} extra events over {self.ramp:.0f}s"
            if self.mode == "burst"
            else f"its {self.event} events stop"
        )
        return (
            f"{self.kpi} at {self.unit} ({self.aggregation}, paced): {how}; its value to date crosses the paced red"
            f" flag (period red flag {self.red_flag:.4g}{unit}) about {_about(self.crosses_after)} into the live run"
        )


def _about(seconds: float) -> str:
    """A rough duration a reader takes in at once: 68s, 51 min, 2.6 days."""
    if seconds < 600:
        return f"{seconds:.0f}s"
    if seconds < 2 * 86400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 86400:.1f} days"


def paced_trend(
    *,
    kpi: str,
    unit: str,
    event: str,
    where: dict[str, Any],
    aggregation: str,
    goal: float,
    red_flag: float,
    pace: float,
    value_now: float,
    per_event: float,
    span: tuple[int, int],
    profile: PaceProfile,
    zone: ZoneInfo,
    start: float,
    ramp: float,
) -> PacedTrend | None:
    """The trend for a team whose full-period pace is ``pace`` and whose value to date at ``start`` is ``value_now``.

    ``per_event`` is what one event adds (1 for a count, the field's mean for a sum). None when the trend cannot
    cross in the current period (a silence whose crossing would come after the period's end, a team already red).
    """
    span_start, span_end = span

    def f(at: float) -> float:
        return elapsed_fraction(profile, span_start, span_end, at, zone)

    f0, f_end = f(start), f(start + ramp)
    if red_flag > goal:  # lower is better: a burst
        target = f_end * (red_flag + BEYOND * (red_flag - goal))
        flowing = pace * (f_end - f0)  # what the team's normal events add over the ramp
        needed = target - value_now - flowing
        if needed <= 0 or per_event <= 0:
            return None
        extra = math.ceil(needed / per_event)
        short = max(0.0, red_flag * f_end - value_now - flowing)
        crosses = ramp * short / (extra * per_event)
        return PacedTrend(kpi, unit, event, where, aggregation, goal, red_flag, "burst", extra, ramp, crosses)
    if value_now <= 0 or red_flag <= 0 or f0 <= 0:
        return None
    f_cross = value_now / red_flag  # value_now / f = red_flag
    if f_cross <= f0 or f_cross >= 1:
        return None
    low, high = start, float(span_end)
    for _ in range(60):  # f is monotonic in time: bisect for the moment it reaches f_cross
        middle = (low + high) / 2
        low, high = (middle, high) if f(middle) < f_cross else (low, middle)
    return PacedTrend(kpi, unit, event, where, aggregation, goal, red_flag, "silence", 0, ramp, high - start)
