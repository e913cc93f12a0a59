"""What moved a unit's score between two evaluations, and why (docs/semantics.md, section 7).

``delta(U, k) = c_T1(U, k) - c_T0(U, k)``, a KPI without a contribution at one end counting 0 there, so the deltas of
a unit sum exactly to the change of its exact overall score (``scorecard.core.contributions``; a unit with no score at
one end counts 0 there too). Each moved KPI says why, by comparing its two results:

- ``gained_score`` / ``lost_score``: it had a score at one end only;
- ``thresholds_changed``: the goal or red flag that applied differ (a phased target, a pace, an edited definition);
- ``value_changed``: its value differs;
- ``children_changed``: rolled up from the children at both ends, and some child's contribution moved;
- ``weights_changed``: none of the above, so its share moved because another KPI or perspective of the unit gained
  or lost a score (the W_P and W_p of the formula).

The explanation is a tree: perspectives, their KPIs, and below each KPI the child units whose shares moved
(recursively), every level sorted by the size of its move, largest first, ties in definition order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Final

from scorecard.core.contributions import ZERO, Contributions, KpiScore, Share

__all__ = [
    "REASONS",
    "ChildMove",
    "Explanation",
    "KpiMove",
    "PerspectiveMove",
    "explain",
]

REASONS: Final = (
    "gained_score",
    "lost_score",
    "thresholds_changed",
    "value_changed",
    "children_changed",
    "weights_changed",
)


@dataclass(frozen=True, slots=True)
class ChildMove:
    """A child unit's share of a KPI's contribution at both ends, and the moves of its own children."""

    unit: str
    before: Fraction
    after: Fraction
    children: tuple[ChildMove, ...] = ()

    @property
    def delta(self) -> Fraction:
        return self.after - self.before

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "before": float(self.before),
            "after": float(self.after),
            "delta": float(self.delta),
            "children": [child.to_json() for child in self.children],
        }


@dataclass(frozen=True, slots=True)
class KpiMove:
    """One KPI's contribution at both ends, why it moved, and the child units it moved through."""

    kpi: str
    perspective: str | None
    before: Fraction
    after: Fraction
    reasons: tuple[str, ...]
    was: KpiScore | None
    now: KpiScore | None
    children: tuple[ChildMove, ...] = ()

    @property
    def delta(self) -> Fraction:
        return self.after - self.before

    def to_json(self) -> dict[str, Any]:
        def result(item: KpiScore | None) -> dict[str, Any] | None:
            if item is None:
                return None
            return {"value": item.value, "goal": item.goal, "red_flag": item.red_flag, "score": item.score}

        return {
            "kpi": self.kpi,
            "before": float(self.before),
            "after": float(self.after),
            "delta": float(self.delta),
            "reasons": list(self.reasons),
            "was": result(self.was),
            "now": result(self.now),
            "children": [child.to_json() for child in self.children],
        }


@dataclass(frozen=True, slots=True)
class PerspectiveMove:
    """A perspective's share of the overall score at both ends, and its KPIs' moves."""

    perspective: str
    before: Fraction
    after: Fraction
    kpis: tuple[KpiMove, ...]

    @property
    def delta(self) -> Fraction:
        return self.after - self.before

    def to_json(self) -> dict[str, Any]:
        return {
            "perspective": self.perspective,
            "before": float(self.before),
            "after": float(self.after),
            "delta": float(self.delta),
            "kpis": [kpi.to_json() for kpi in self.kpis],
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one unit's overall score moved from ``before`` to ``after`` (exact; None: no score at that end)."""

    unit: str
    before: Fraction | None
    after: Fraction | None
    perspectives: tuple[PerspectiveMove, ...]

    @property
    def delta(self) -> Fraction:
        return (self.after or ZERO) - (self.before or ZERO)

    def kpi_moves(self) -> list[KpiMove]:
        """Every KPI move of every perspective, largest first."""
        return sorted((k for p in self.perspectives for k in p.kpis), key=lambda k: -abs(k.delta))

    def top(self, count: int) -> Explanation:
        """The ``count`` KPIs that moved most (unmoved ones never), in the perspectives holding them, each with at
        most ``count`` child units per level: the top movers. The perspectives keep their whole share."""
        keep = {id(k) for k in self.kpi_moves()[:count] if k.delta != 0}
        perspectives = []
        for p in self.perspectives:
            kpis = tuple(_cut(k, count) for k in p.kpis if id(k) in keep)
            if kpis:
                perspectives.append(PerspectiveMove(p.perspective, p.before, p.after, kpis))
        return Explanation(self.unit, self.before, self.after, tuple(perspectives))

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "before": None if self.before is None else float(self.before),
            "after": None if self.after is None else float(self.after),
            "delta": float(self.delta),
            "perspectives": [p.to_json() for p in self.perspectives],
        }


def explain(before: Contributions, after: Contributions, unit: str) -> Explanation:
    """What moved ``unit``'s score from the ``before`` evaluation to the ``after`` one: every perspective and KPI
    that contributes at either end, moved or not (a caller cuts to the top movers), largest move first."""
    scorecard = after.scorecard
    perspectives: list[PerspectiveMove] = []
    for perspective in scorecard.perspectives:
        moves = []
        for kpi in scorecard.kpis_of(perspective.id):
            c0 = before.kpis.get(unit, {}).get(kpi.id)
            c1 = after.kpis.get(unit, {}).get(kpi.id)
            if c0 is None and c1 is None:
                continue
            was = before.scores.get(unit, {}).get(kpi.id)
            now = after.scores.get(unit, {}).get(kpi.id)
            children = _child_moves(before.shares(unit, kpi.id), after.shares(unit, kpi.id))
            moves.append(
                KpiMove(
                    kpi.id,
                    perspective.id,
                    c0 or ZERO,
                    c1 or ZERO,
                    _reasons(c0, c1, was, now, children),
                    was,
                    now,
                    children,
                )
            )
        if moves:
            perspectives.append(
                PerspectiveMove(
                    perspective.id,
                    before.perspective(unit, perspective.id),
                    after.perspective(unit, perspective.id),
                    tuple(_largest_first(moves)),
                )
            )
    return Explanation(unit, before.overall(unit), after.overall(unit), tuple(_largest_first(perspectives)))


def _cut(move: Any, count: int) -> Any:
    """A KPI or child move with at most ``count`` children per level."""
    return replace(move, children=tuple(_cut(child, count) for child in move.children[:count]))


def _largest_first(items: list[Any]) -> list[Any]:
    """Sorted by the size of the move, largest first; ``sorted`` is stable, so ties keep definition order."""
    return sorted(items, key=lambda item: -abs(item.delta))


def _child_moves(before: tuple[Share, ...], after: tuple[Share, ...]) -> tuple[ChildMove, ...]:
    """Pair the shares of the two ends by unit (a missing share counts 0), keeping only the ones that moved."""
    was = {share.unit: share for share in before}
    now = {share.unit: share for share in after}
    order = [share.unit for share in after] + [unit for unit in was if unit not in now]
    moves = []
    for unit in order:
        old, new = was.get(unit), now.get(unit)
        move = ChildMove(
            unit,
            old.value if old is not None else ZERO,
            new.value if new is not None else ZERO,
            _child_moves(old.children if old else (), new.children if new else ()),
        )
        if move.delta != 0:
            moves.append(move)
    return tuple(_largest_first(moves))


def _reasons(
    c0: Fraction | None,
    c1: Fraction | None,
    was: KpiScore | None,
    now: KpiScore | None,
    children: tuple[ChildMove, ...],
) -> tuple[str, ...]:
    """Why one KPI's contribution differs between the ends (empty when it did not move)."""
    if c0 == c1:
        return ()
    if c0 is None:
        return ("gained_score",)
    if c1 is None:
        return ("lost_score",)
    reasons = []
    if was is not None and now is not None:
        if (was.goal, was.red_flag) != (now.goal, now.red_flag):
            reasons.append("thresholds_changed")
        if was.value != now.value:
            reasons.append("value_changed")
        if was.rolled_up and now.rolled_up and children:
            reasons.append("children_changed")
    return tuple(reasons) or ("weights_changed",)
