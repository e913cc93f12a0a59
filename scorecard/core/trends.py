"""KPI trends for the report: the scorecard evaluated again at past windows, by the shared evaluation code.

A trend point is one whole window of a KPI. The window before the one reported at T is the one containing
``span(T).start - 1`` (tumbling and calendar: the previous bucket or period; rolling: the ``size`` seconds that end
where the current value starts), so stepping back that way gives the previous windows without overlap, for every
window kind, with nothing but ``Window.span``. Nothing here scores: each point is read from a report built by
``scorecard.core.evaluation`` at that time (from a replay here, ``replay_trends``; from Redis in
``scorecard.redis.live.live_trends``), so a point is exactly what the scorecard showed, or would have shown, at the
end of that window.

History is what the source still holds. A past window none of whose buckets exist anywhere (before the first
event of a replay; expired from Redis, which keeps the current and the previous window) would read as an empty
window, a 0 for sums and counts, which is not what happened, so the trend starts at the oldest window with at least
one bucket held. Later empty windows are real (no event in them) and stay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from scorecard.core.definition import Scorecard
from scorecard.core.engine import BucketKey, CompiledKpi, compile_kpis
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import ReplayResult

__all__ = ["TrendPoint", "Trends", "collect_trends", "past_times", "replay_trends"]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One window of one KPI at one unit: its span (epoch seconds, end exclusive) and what the report said."""

    start: int
    end: int
    value: float | None
    score: float | None
    status: str


Trends: TypeAlias = dict[str, dict[str, list[TrendPoint]]]
"""Unit id -> KPI id -> points, oldest first; the last point is the window reported at the evaluation time."""

EvaluateAt: TypeAlias = Callable[[float], Mapping[str, Any]]
"""A report (the JSON dict of ``evaluation.report``) at a given time."""

Held: TypeAlias = Callable[[set[BucketKey]], set[BucketKey]]
"""Of the (KPI, bucket) keys asked, the ones the source still holds (has seen an event in)."""


def past_times(kpis: Mapping[str, CompiledKpi], at: float, previous: int) -> dict[str, list[float]]:
    """Per KPI, the evaluation times of the ``previous`` windows before the one containing ``at``, oldest first.

    Each time is the last whole second of its window, where the value of that window is complete.
    """
    out: dict[str, list[float]] = {}
    for kpi_id, compiled in kpis.items():
        times: list[float] = []
        when = at
        for _ in range(previous):
            when = float(compiled.window.span(when)[0] - 1)
            times.append(when)
        out[kpi_id] = times[::-1]
    return out


def collect_trends(
    scorecard: Scorecard,
    at: float,
    previous: int,
    evaluate_at: EvaluateAt,
    held: Held,
    current: Mapping[str, Any] | None = None,
) -> Trends:
    """Every unit's and KPI's points: up to ``previous`` past windows (from the oldest one held) plus the current.

    Reports are built once per distinct time and shared by the KPIs whose windows end then; ``current`` (the report
    at ``at``, when the caller already has it) saves one evaluation.
    """
    if previous < 0:
        raise ValueError(f"previous must be 0 or more windows, got {previous}")
    compiled = compile_kpis(scorecard)
    times = _held_times(compiled, past_times(compiled, at, previous), held)
    reports: dict[float, Mapping[str, Any]] = {} if current is None else {at: current}
    for when in sorted({t for kpi_times in times.values() for t in kpi_times} | {at}):
        if when not in reports:
            reports[when] = evaluate_at(when)
    trends: Trends = {}
    for unit in OrgTree.from_scorecard(scorecard).units:
        trends[unit] = {
            kpi_id: [_point(reports[when], when, unit, kpi_id, c) for when in (*times[kpi_id], at)]
            for kpi_id, c in compiled.items()
        }
    return trends


def _held_times(
    kpis: Mapping[str, CompiledKpi], times: Mapping[str, list[float]], held: Held
) -> dict[str, list[float]]:
    """Drop, per KPI, the leading past windows whose buckets the source holds none of (see the module docstring)."""
    buckets = {(kpi_id, t): kpis[kpi_id].window.buckets_at(t) for kpi_id, kpi_times in times.items() for t in kpi_times}
    found = held({(kpi_id, bucket) for (kpi_id, _), bucket_list in buckets.items() for bucket in bucket_list})
    out: dict[str, list[float]] = {}
    for kpi_id, kpi_times in times.items():
        first = next(
            (i for i, t in enumerate(kpi_times) if any((kpi_id, b) in found for b in buckets[(kpi_id, t)])),
            len(kpi_times),
        )
        out[kpi_id] = kpi_times[first:]
    return out


def _point(report: Mapping[str, Any], when: float, unit: str, kpi_id: str, compiled: CompiledKpi) -> TrendPoint:
    result = report["units"][unit]["kpis"][kpi_id]
    start, end = compiled.window.span(when)
    return TrendPoint(start, end, result["value"], result["score"], result["status"])


# ------------------------------------------------------------------------------------------------ the sources


def replay_trends(result: ReplayResult, at: float, previous: int, current: Mapping[str, Any] | None = None) -> Trends:
    """Trends from a replay: every bucket is kept, so history reaches back to the first accepted event."""
    seen = {key for state in result.states.values() for key in state.aggregates}
    return collect_trends(result.scorecard, at, previous, result.evaluate, seen.intersection, current)
