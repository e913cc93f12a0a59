"""What each KPI, and each child unit below it, contributes to a unit's overall score (docs/semantics.md, section 7).

For unit U, a KPI k with a score in perspective p contributes ``c(U, k) = (w_p / W_P) x (w_k / W_p) x s(U, k)``:
w_p is p's weight, W_P the sum of the weights of U's perspectives that have a score, w_k the KPI's weight and W_p
the sum of the weights of p's KPIs that have a score at U. The overall score is the sum of the contributions; a
perspective's share is the sum over its KPIs; a KPI in no perspective contributes nothing. Where U's score for k is
the weighted mean of its children's (rule 5), the factor ``A = (w_p / W_P) x (w_k / W_p)`` is passed down: each
child with a score gets ``A x (w_child / W_c) x s(child, k)``, recursively down to the units whose own targets
scored k.

**Exact arithmetic.** Everything here is a ``fractions.Fraction``, so every sum of the contract holds with ``==``.
The leaves of the recursion are the scores the scorecard computed against targets (each float taken exactly), and a
rolled-up score is recomputed as the exact weighted mean of its children's exact scores. The scorecard's own scores
are floats rounded once per weighted mean (``scoring.weighted_mean``), so they differ from these exact scores by
rounding only: at most ``FLOAT_TOLERANCE`` points. The input is the report's per-unit KPI results (``KpiScore``), so
a replay, Redis and Prometheus' history are explained by the same code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from scorecard.core.definition import Scorecard
from scorecard.core.hierarchy import OrgTree

__all__ = [
    "FLOAT_TOLERANCE",
    "Contributions",
    "FloatContributions",
    "KpiScore",
    "Share",
    "UnitScores",
    "contributions",
    "scores_from_report",
]

FLOAT_TOLERANCE: Final = 1e-9
"""Largest difference, in score points, between an exact score here and the float the scorecard reports: each
weighted mean rounds to within a few units in the last place of a number at most 10, and the org tree is at most 32
levels deep, so the true bound is below 1e-12; 1e-9 leaves room and is still far below any displayed digit."""

ZERO: Final = Fraction(0)


@dataclass(frozen=True, slots=True)
class KpiScore:
    """One KPI at one unit as the report has it: the value, the targets that applied (None: rolled up from the
    children, rule 5) and the score (None: no score)."""

    value: float | None
    goal: float | None
    red_flag: float | None
    score: float | None

    @property
    def rolled_up(self) -> bool:
        """True when the score is the weighted mean of the children's (no goal applied at this unit)."""
        return self.goal is None


UnitScores = Mapping[str, Mapping[str, KpiScore]]
"""Unit id -> KPI id -> its result; units missing here (for instance below the exporter's ``max_depth``) are
unknown, and a unit whose children are all unknown is treated as a leaf."""


def scores_from_report(document: Mapping[str, Any]) -> dict[str, dict[str, KpiScore]]:
    """The ``KpiScore`` of every unit and KPI of a JSON report (the shape ``replay`` and ``status`` print)."""
    return {
        unit: {
            kpi_id: KpiScore(kpi.get("value"), kpi.get("goal"), kpi.get("red_flag"), kpi.get("score"))
            for kpi_id, kpi in result["kpis"].items()
        }
        for unit, result in document["units"].items()
    }


@dataclass(frozen=True, slots=True)
class Share:
    """The part of one contribution that comes from one unit of the subtree: ``value`` is that unit's share of
    ``c(U, k)``; ``children`` split it further (empty where the unit's own targets scored k)."""

    unit: str
    value: Fraction
    children: tuple[Share, ...] = ()


@dataclass(frozen=True, slots=True)
class Contributions:
    """Exact contributions at every known unit.

    ``kpis[u][k]`` is ``c(u, k)`` for every KPI of a perspective with a score at u (absent: contributes 0);
    ``factors[u][k]`` the factor ``A`` of that KPI; ``exact[u][k]`` the exact score (absent: no score);
    ``perspective_of[k]`` the perspective a KPI counts in (None: in none).
    """

    scorecard: Scorecard
    tree: OrgTree
    scores: UnitScores
    exact: dict[str, dict[str, Fraction]]
    kpis: dict[str, dict[str, Fraction]]
    factors: dict[str, dict[str, Fraction]]
    perspective_of: dict[str, str | None]

    def overall(self, unit: str) -> Fraction | None:
        """The exact overall score: the sum of the unit's contributions (None without any score)."""
        mine = self.kpis.get(unit, {})
        return sum(mine.values(), ZERO) if mine else None

    def perspective(self, unit: str, perspective_id: str) -> Fraction:
        """A perspective's share of the overall score: the sum of its KPIs' contributions."""
        mine = self.kpis.get(unit, {})
        return sum((c for k, c in mine.items() if self.perspective_of[k] == perspective_id), ZERO)

    def known_children(self, unit: str) -> tuple[str, ...]:
        return tuple(child for child in self.tree.children(unit) if child in self.scores)

    def shares(self, unit: str, kpi_id: str) -> tuple[Share, ...]:
        """``c(unit, k, child)`` for every child with a score, each split down its own subtree: empty where the
        unit's own targets scored k, or it has no contribution for k. The children's values sum to ``c(unit, k)``."""
        factor = self.factors.get(unit, {}).get(kpi_id)
        if factor is None:
            return ()
        return self._split(unit, kpi_id, factor)

    def _split(self, unit: str, kpi_id: str, factor: Fraction) -> tuple[Share, ...]:
        result = self.scores[unit].get(kpi_id)
        if result is None or not result.rolled_up:
            return ()
        weighted = [
            (child, Fraction(self.tree.weight(child)), self.exact[child][kpi_id])
            for child in self.known_children(unit)
            if kpi_id in self.exact[child] and self.tree.weight(child) > 0
        ]
        total = sum((w for _, w, _ in weighted), ZERO)
        if not weighted or total == 0:
            return ()
        out: list[Share] = []
        for child, weight, exact in weighted:
            child_factor = factor * weight / total
            out.append(Share(child, child_factor * exact, self._split(child, kpi_id, child_factor)))
        return tuple(out)


def contributions(scorecard: Scorecard, tree: OrgTree, scores: UnitScores) -> Contributions:
    """Exact scores and contributions of every unit in ``scores`` (children before parents, so a rolled-up score
    finds its children's exact scores ready)."""
    exact: dict[str, dict[str, Fraction]] = {}
    for unit in tree.postorder():
        if unit not in scores:
            continue
        known = [child for child in tree.children(unit) if child in scores]
        exact[unit] = {}
        for kpi_id, result in scores[unit].items():
            value = _exact_score(tree, exact, known, kpi_id, result)
            if value is not None:
                exact[unit][kpi_id] = value
    perspective_of = {
        kpi.id: (p.id if (p := scorecard.perspective_of(kpi.id)) is not None else None) for kpi in scorecard.kpis
    }
    members = [
        (Fraction(p.weight), [(k.id, Fraction(k.weight)) for k in scorecard.kpis_of(p.id)])
        for p in scorecard.perspectives
    ]
    kpis: dict[str, dict[str, Fraction]] = {}
    factors: dict[str, dict[str, Fraction]] = {}
    for unit, mine in exact.items():
        scored = []
        for p_weight, kpi_weights in members:
            present = [(k, w) for k, w in kpi_weights if k in mine and w > 0]
            total = sum((w for _, w in present), ZERO)
            if present and total > 0 and p_weight > 0:
                scored.append((p_weight, present, total))
        all_weights = sum((p_weight for p_weight, _, _ in scored), ZERO)
        kpis[unit], factors[unit] = {}, {}
        for p_weight, present, total in scored:
            for kpi_id, weight in present:
                factor = p_weight / all_weights * weight / total
                factors[unit][kpi_id] = factor
                kpis[unit][kpi_id] = factor * mine[kpi_id]
    return Contributions(scorecard, tree, scores, exact, kpis, factors, perspective_of)


class FloatContributions:
    """``c(U, k)`` of one unit in floats, from its KPI scores alone: what the exporter publishes on every scrape.

    The same formula as ``contributions`` with the unit's reported float scores (a rolled-up one taken as it is), so
    each contribution is within ``FLOAT_TOLERANCE`` of the exact one and a unit's contributions sum to its reported
    score within the same tolerance. The definition's perspective and KPI weights are read once.
    """

    __slots__ = ("_groups",)

    def __init__(self, scorecard: Scorecard) -> None:
        self._groups = tuple(
            (p.weight, tuple((k.id, k.weight) for k in scorecard.kpis_of(p.id))) for p in scorecard.perspectives
        )

    def of(self, scores: Mapping[str, float | None]) -> dict[str, float]:
        """KPI id -> contribution for every KPI with a score in a perspective (the others contribute nothing)."""
        scored = []
        for p_weight, kpi_weights in self._groups:
            present = [(k, w, s) for k, w in kpi_weights if (s := scores.get(k)) is not None]
            if present:
                scored.append((p_weight, present, math.fsum(w for _, w, _ in present)))
        all_weights = math.fsum(p_weight for p_weight, _, _ in scored)
        out: dict[str, float] = {}
        for p_weight, present, total in scored:
            share = p_weight / all_weights
            for kpi_id, weight, value in present:
                out[kpi_id] = share * (weight / total) * value
        return out


def _exact_score(
    tree: OrgTree, exact: Mapping[str, Mapping[str, Fraction]], known: list[str], kpi_id: str, result: KpiScore
) -> Fraction | None:
    """The float score taken exactly where targets applied (or the children are unknown); else the exact weighted
    mean of the children's exact scores, ignoring children without one (rule 5)."""
    if result.score is None:
        return None
    if not result.rolled_up or not known:
        return Fraction(result.score)
    pairs = [
        (Fraction(tree.weight(child)), exact[child][kpi_id])
        for child in known
        if kpi_id in exact[child] and tree.weight(child) > 0
    ]
    total = sum((w for w, _ in pairs), ZERO)
    if total == 0:
        return Fraction(result.score)
    return sum((w * s for w, s in pairs), ZERO) / total
