"""From aggregate states to the scorecard: roll-up, values, scores, statuses and the JSON report.

Evaluation is split in two steps because the live service and the replay hold different data:

(a) ``subtree_states``: roll the *own* states of every unit (what ``Engine`` keeps, one record per unit) up the org
    tree in post-order, giving each unit the merge of its whole subtree, only for the buckets needed. The stream
    does the same incrementally into Redis.
(b) ``score_units`` / ``report``: from subtree states alone, the value of every KPI at T, its score and status, the
    rule-5 roll-up of scores for units without a goal, perspective and overall scores, and the JSON report.
    ``scorecard status`` (reading subtree states from Redis) calls this step and prints the very same JSON.

``evaluate`` chains both and is what the replay prints.

Rules (docs/semantics.md):

- The value of a KPI at T merges the buckets ``window.buckets_at(T)`` of the unit's subtree; every accepted event
  of those buckets counts, also one timed after T (the stream cannot un-see an event, and it must equal the replay).
- Score 0-10 and status against the unit's (goal, red_flag) in force (``scorecard.core.targets``: a fixed pair or
  a schedule's); a paced KPI is judged on ``value / f``, f being the elapsed share of its period. Without a goal,
  the score is the weighted mean (unit weights) of the children's scores for that KPI, ignoring children without
  one, and the status follows that score; the value (and, paced, f and the forecast) are still reported.
- A perspective score is the weighted mean (KPI weights) of the unit's KPI scores in it, the overall score the
  weighted mean (perspective weights) of the perspective scores; missing scores are ignored, never zero.

The report lists every unit (definition pre-order), every perspective and every KPI (definition order): the order of
the YAML file reads better than sorted keys and is just as stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from scorecard.core.aggregates import State
from scorecard.core.definition import Scorecard
from scorecard.core.engine import OUTCOMES, BucketKey, CompiledKpi, compile_kpis
from scorecard.core.hierarchy import OrgTree
from scorecard.core.scoring import status_from_score, weighted_mean
from scorecard.core.targets import compile_targets, forecast, judge
from scorecard.core.timeutil import format_time

__all__ = [
    "KpiResult",
    "UnitResult",
    "buckets_at",
    "dumps",
    "evaluate",
    "report",
    "score_units",
    "subtree_states",
]

States = Mapping[str, Mapping[BucketKey, State]]
"""Unit id -> (KPI id, bucket start) -> state; own states (per unit) or subtree states (per subtree)."""

_NO_STATES: Final[Mapping[BucketKey, State]] = {}


# ------------------------------------------------------------------------------------------------ (a) roll-up


def buckets_at(
    scorecard: Scorecard, at: float, kpis: Mapping[str, CompiledKpi] | None = None
) -> dict[str, tuple[int, ...]]:
    """The buckets each KPI's value at ``at`` merges (one for tumbling and calendar, size/step for rolling)."""
    compiled = kpis if kpis is not None else compile_kpis(scorecard)
    return {kpi_id: c.window.buckets_at(at) for kpi_id, c in compiled.items()}


def subtree_states(
    scorecard: Scorecard,
    tree: OrgTree,
    own: States,
    buckets: Mapping[str, Iterable[int]],
    kpis: Mapping[str, CompiledKpi] | None = None,
) -> dict[str, dict[BucketKey, State]]:
    """Merge own states up the tree (post-order): each unit gets its own events plus all its descendants'.

    Only the (KPI, bucket) pairs in ``buckets`` are built (every one of them, empty when no event fell in it), so
    the cost is units x KPIs x buckets needed, whatever the history kept. Inputs are never modified.
    """
    compiled = kpis if kpis is not None else compile_kpis(scorecard)
    wanted = [(kpi_id, tuple(bucket_list)) for kpi_id, bucket_list in buckets.items()]
    out: dict[str, dict[BucketKey, State]] = {}
    for unit in tree.postorder():
        mine = own.get(unit, _NO_STATES)
        children = [out[child] for child in tree.children(unit)]
        merged: dict[BucketKey, State] = {}
        for kpi_id, bucket_list in wanted:
            aggregation = compiled[kpi_id].aggregation
            for bucket in bucket_list:
                key = (kpi_id, bucket)
                state = aggregation.new()
                found = mine.get(key)
                if found is not None:
                    aggregation.merge_into(state, found)
                for child in children:
                    aggregation.merge_into(state, child[key])
                merged[key] = state
        out[unit] = merged
    return out


# ----------------------------------------------------------------------------------------------- (b) scoring


@dataclass(frozen=True, slots=True)
class KpiResult:
    """One KPI at one unit: value, the targets that apply (None when none), score and status, and the window.

    ``goal`` and ``red_flag`` are the thresholds the status was judged against (to date for a paced KPI),
    ``period_goal`` and ``period_red_flag`` the full-period pair, ``elapsed`` the share f of the period (None when
    not paced) and ``forecast`` the value at the period's end if the pace holds (None when not paced or f = 0).
    """

    value: float | None
    goal: float | None
    red_flag: float | None
    score: float | None
    status: str
    window: tuple[int, int]
    period_goal: float | None = None
    period_red_flag: float | None = None
    elapsed: float | None = None
    forecast: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "goal": self.goal,
            "red_flag": self.red_flag,
            "period_goal": self.period_goal,
            "period_red_flag": self.period_red_flag,
            "elapsed": self.elapsed,
            "forecast": self.forecast,
            "score": self.score,
            "status": self.status,
            "window": {"start": format_time(self.window[0]), "end": format_time(self.window[1])},
        }


@dataclass(frozen=True, slots=True)
class UnitResult:
    """One unit: overall score and status, a score per perspective, a result per KPI (definition order)."""

    score: float | None
    status: str
    perspectives: dict[str, float | None]
    kpis: dict[str, KpiResult]

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "status": self.status,
            "perspectives": dict(self.perspectives),
            "kpis": {kpi_id: result.to_json() for kpi_id, result in self.kpis.items()},
        }


def score_units(
    scorecard: Scorecard,
    tree: OrgTree,
    subtree: States,
    at: float,
    kpis: Mapping[str, CompiledKpi] | None = None,
) -> dict[str, UnitResult]:
    """Every unit's results at ``at`` from subtree states alone (missing states count as empty windows).

    Units are scored in post-order so a goal-less unit finds its children's scores ready; the result is returned in
    pre-order (the definition's order).
    """
    compiled = kpis if kpis is not None else compile_kpis(scorecard)
    spans = {kpi_id: c.window.span(at) for kpi_id, c in compiled.items()}
    needed = buckets_at(scorecard, at, compiled)
    targets = compile_targets(scorecard, tree.units)
    elapsed = {kpi_id: targets[kpi_id].elapsed(spans[kpi_id], at) for kpi_id in compiled}
    kpi_results: dict[str, dict[str, KpiResult]] = {}
    for unit in tree.postorder():
        states = subtree.get(unit, _NO_STATES)
        results: dict[str, KpiResult] = {}
        for kpi_id, c in compiled.items():
            aggregation = c.aggregation
            merged = aggregation.new()
            for bucket in needed[kpi_id]:
                found = states.get((kpi_id, bucket))
                if found is not None:
                    aggregation.merge_into(merged, found)
            value = aggregation.value(merged)
            span, f = spans[kpi_id], elapsed[kpi_id]
            pair = targets[kpi_id].pair(unit, span, at)
            if pair is not None:
                j = judge(value, pair, f)
                results[kpi_id] = KpiResult(
                    value, j.goal, j.red_flag, j.score, j.status, span, *pair, j.elapsed, j.forecast
                )
            else:
                children = tree.children(unit)
                rolled = weighted_mean((kpi_results[child][kpi_id].score, tree.weight(child)) for child in children)
                results[kpi_id] = KpiResult(
                    value, None, None, rolled, status_from_score(rolled), span, None, None, f, forecast(value, f)
                )
        kpi_results[unit] = results
    out: dict[str, UnitResult] = {}
    members = {p.id: [(k.id, k.weight) for k in scorecard.kpis_of(p.id)] for p in scorecard.perspectives}
    for unit in tree.units:
        results = kpi_results[unit]
        perspectives = {
            p_id: weighted_mean((results[k_id].score, weight) for k_id, weight in kpis)
            for p_id, kpis in members.items()
        }
        overall = weighted_mean((perspectives[p.id], p.weight) for p in scorecard.perspectives)
        out[unit] = UnitResult(overall, status_from_score(overall), perspectives, results)
    return out


def report(
    scorecard: Scorecard,
    tree: OrgTree,
    subtree: States,
    at: float,
    counts: Mapping[str, int],
    kpis: Mapping[str, CompiledKpi] | None = None,
) -> dict[str, Any]:
    """The JSON report (as a dict) at ``at`` from subtree states; ``counts`` are event outcomes (missing = 0)."""
    units = score_units(scorecard, tree, subtree, at, kpis)
    return {
        "at": format_time(at),
        "events": {outcome.value: int(counts.get(outcome.value, 0)) for outcome in OUTCOMES},
        "units": {unit: result.to_json() for unit, result in units.items()},
    }


def evaluate(
    scorecard: Scorecard,
    tree: OrgTree,
    own: States,
    at: float,
    counts: Mapping[str, int],
) -> dict[str, Any]:
    """Own states -> subtree states for the buckets needed at ``at`` -> the JSON report (as a dict)."""
    compiled = compile_kpis(scorecard)
    subtree = subtree_states(scorecard, tree, own, buckets_at(scorecard, at, compiled), compiled)
    return report(scorecard, tree, subtree, at, counts, compiled)


def dumps(document: Mapping[str, Any]) -> bytes:
    """The report as JSON text: orjson, two-space indent, key order as built, a final newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
