"""Time-aware targets: which (goal, red_flag) applies to a unit's KPI at T, how far through its period T is, and the
judgement of a value against both (docs/semantics.md, "Time-aware targets").

- The pair in force comes from the unit's override, else the KPI default; either may be a fixed pair or a
  ``Schedule`` read at the window's last second (calendar, tumbling) or at T (rolling).
- A paced KPI (``Kpi.pace_profile``; calendar and tumbling windows only) has the elapsed fraction f of its period
  (``pace.elapsed_fraction``). It is judged on ``value / f`` against the full-period pair, which is the same as
  judging ``value`` against ``G x f`` and ``R x f``; with f = 0 it has no score. ``forecast = value / f`` is where it
  lands at the period's end if the pace holds.

Both the replay and every live reader (status, exporter, board) reach this through ``evaluation.score_units``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scorecard.core.definition import Scorecard
from scorecard.core.pace import Profile, elapsed_fraction
from scorecard.core.schedule import Schedule, targets_instant
from scorecard.core.scoring import NO_DATA, Status, score, status

__all__ = ["Judgement", "KpiTargets", "compile_targets", "judge"]

Written = Schedule | tuple[float, float] | None
"""A unit's targets as the definition gives them: a schedule, a fixed pair, or none."""


@dataclass(frozen=True, slots=True)
class KpiTargets:
    """One KPI's targets for every unit and its pace: what ``score_units`` asks per evaluation."""

    kind: str
    profile: Profile | None
    zone: ZoneInfo
    by_unit: dict[str, Written]

    def elapsed(self, span: tuple[int, int], at: float) -> float | None:
        """f for the window ``span`` at ``at``; None when the KPI is not paced (rolling windows never are)."""
        if self.profile is None or self.kind == "rolling":
            return None
        return elapsed_fraction(self.profile, span[0], span[1], at, self.zone)

    def pair(self, unit: str, span: tuple[int, int], at: float) -> tuple[float, float] | None:
        """The full-period (goal, red_flag) in force for ``unit``; None without targets (or before a schedule)."""
        written = self.by_unit.get(unit)
        if written is None or isinstance(written, tuple):
            return written
        return written.pair_at(targets_instant(self.kind, span, at), self.zone)


def compile_targets(scorecard: Scorecard, units: Iterable[str]) -> dict[str, KpiTargets]:
    """Every KPI's ``KpiTargets`` (file order), looked up once for all ``units``."""
    zone = scorecard.tz
    unit_ids = tuple(units)
    return {
        kpi.id: KpiTargets(
            kpi.window.kind,
            kpi.pace_profile,
            zone,
            {unit: scorecard.schedule_for(kpi.id, unit) for unit in unit_ids},
        )
        for kpi in scorecard.kpis
    }


@dataclass(frozen=True, slots=True)
class Judgement:
    """A value judged against its targets: the to-date thresholds, the full-period ones, f, forecast, score."""

    goal: float
    red_flag: float
    period_goal: float
    period_red_flag: float
    elapsed: float | None
    forecast: float | None
    score: float | None
    status: Status


def judge(value: float | None, pair: tuple[float, float], elapsed: float | None) -> Judgement:
    """Judge ``value`` against the full-period ``pair`` with the elapsed fraction ``elapsed`` (None: not paced).

    Paced, the score is ``score(value / f; G, R)`` and the thresholds shown are ``G x f`` and ``R x f``; at f = 0
    there is no score (``no_data``) and no forecast.
    """
    goal, red_flag = pair
    if elapsed is None:
        return Judgement(
            goal, red_flag, goal, red_flag, None, None, score(value, goal, red_flag), status(value, goal, red_flag)
        )
    to_date_goal = goal * elapsed + 0.0  # + 0.0 turns -0.0 into 0.0
    to_date_red_flag = red_flag * elapsed + 0.0
    if elapsed <= 0 or value is None:
        return Judgement(to_date_goal, to_date_red_flag, goal, red_flag, elapsed, None, None, NO_DATA)
    pace_value = value / elapsed
    return Judgement(
        to_date_goal,
        to_date_red_flag,
        goal,
        red_flag,
        elapsed,
        pace_value,
        score(pace_value, goal, red_flag),
        status(pace_value, goal, red_flag),
    )


def forecast(value: float | None, elapsed: float | None) -> float | None:
    """``value / f`` for a paced KPI with f > 0 (also for a unit scored from its children), else None."""
    if value is None or elapsed is None or elapsed <= 0:
        return None
    return value / elapsed
