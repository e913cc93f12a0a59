"""The plan of a simulation: which leaf units emit which event types, at what rate, with which field values.

``Planner`` reads the definition, not a list of event types, so it follows the definition when KPIs change:

1. *Who emits what.* Each KPI gets home units (leaves): the siblings of the leaves it has targets for (a target on
   ``sales-apac`` means sales leaves measure it), else the subtree of the unit whose owner owns the KPI or its
   objective, else every leaf. A leaf emits the event types of the KPIs it is home to.
2. *How good each unit is.* Each leaf draws a level (spread over 0.15-0.9 so that levels differ), jittered per
   KPI; the level is a target score on the 0-10 scale, turned into the value that scores it with the unit's goal
   and red flag (``red_flag - d + 0.3 * score * d``, the inverse of ``scoring.score``).
3. *Knobs that reach that value.* Per unit and event type there is a daily rate, a match probability per ``where``
   and a value distribution per field. Counts set rates (or match probabilities), averages, minima, maxima and NPS
   set value distributions, sums set mean amounts, ratios set their numerator from the expected denominator. Values
   are calibrated on the part of each KPI's window that the generated period covers at its end.

Everything is drawn from the generator the caller passes, so the same seed gives the same plan.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.engine import Engine, compile_kpis
from scorecard.core.hierarchy import OrgTree
from scorecard.core.pace import elapsed_fraction

DAY: Final = 86400.0
_LEVELS: Final = (0.15, 0.3, 0.5, 0.7, 0.85, 0.9)
# Levels are target scores / 10: below 1/3 is red, above 2/3 green. Sibling ladders run between these two.
_SPREAD_LOW: Final = 0.12
_SPREAD_HIGH: Final = 0.9
_SHARE_LOW: Final = 0.3  # a filtered count (urgent tickets) keeps its share of the events within these bounds
_SHARE_HIGH: Final = 0.6
_EVENTS_PER_WINDOW: Final = 8  # the least an average, a minimum or a ratio reads per window


@dataclass
class Dist:
    """How a numeric field is drawn: around ``center``; min/max skew it, nps draws 0-10 answers."""

    kind: str  # "normal", "above" (for min), "below" (for max), "nps"
    center: float
    spread: float
    low: float | None = 0.0
    high: float | None = None

    def mean(self) -> float:
        if self.kind == "above":
            return self.center + self.spread
        if self.kind == "below":
            return self.center - self.spread
        return self.center

    def draw(self, rng: random.Random) -> float | int:
        if self.kind == "nps":
            return nps_answer(rng, self.center)
        if self.kind == "above":
            x = self.center + rng.expovariate(1 / self.spread) if self.spread > 0 else self.center
        elif self.kind == "below":
            x = self.center - rng.expovariate(1 / self.spread) if self.spread > 0 else self.center
        else:
            x = rng.gauss(self.center, self.spread)
        if self.low is not None:
            x = max(self.low, x)
        if self.high is not None:
            x = min(self.high, x)
        return round(x, 2)


@dataclass
class Profile:
    """One event type at one unit: its rate and the knobs that shape its fields."""

    rate: float  # events per day on average
    rate_fixed: bool = False
    conditions: list[tuple[dict[str, Any], float]] = field(default_factory=list)  # where -> match probability
    dists: list[tuple[dict[str, Any], str, Dist]] = field(default_factory=list)  # (where, field, distribution)

    def probability(self, where: Mapping[str, Any]) -> float:
        if not where:
            return 1.0
        for known, p in self.conditions:
            if known == where:
                return p
        return 0.5

    def dist(self, where: Mapping[str, Any], name: str) -> Dist | None:
        for known, field_name, dist in self.dists:
            if known == where and field_name == name:
                return dist
        return None

    def set_condition(self, where: Mapping[str, Any], p: float) -> None:
        if where and not any(known == where for known, _ in self.conditions):
            self.conditions.append((dict(where), min(1.0, max(0.0, p))))


@dataclass(frozen=True)
class Term:
    """One source of a KPI: a plain source (role "value") or a ratio side."""

    role: str
    event: str
    field: str | None
    where: dict[str, Any]
    aggregation: str


def kpi_terms(kpi: Kpi) -> list[Term]:
    if kpi.aggregation == "ratio":
        assert kpi.numerator is not None and kpi.denominator is not None
        return [
            Term(side, term.event, term.field, dict(term.where), term.aggregation)
            for side, term in (("numerator", kpi.numerator), ("denominator", kpi.denominator))
        ]
    assert kpi.source is not None
    return [Term("value", kpi.source.event, kpi.source.field, dict(kpi.source.where), kpi.aggregation)]


class Planner:
    """Builds the per-(unit, type) profiles so that each KPI lands near each home unit's level."""

    def __init__(
        self,
        scorecard: Scorecard,
        start: float,
        end: float,
        events_per_day: float,
        rng: random.Random,
        *,
        spread_siblings: bool = False,
        jitter: float = 0.2,
        exact_counts: bool = False,
    ):
        self.scorecard = scorecard
        self.tree = OrgTree.from_scorecard(scorecard)
        self.rng = rng
        self.jitter = jitter
        self.exact_counts = exact_counts  # off in generate_events, whose committed example predates it
        self.compiled = compile_kpis(scorecard)
        self.leaves = [u for u in self.tree.units if self.tree.is_leaf(u)]
        levels = [_LEVELS[i % len(_LEVELS)] for i in range(len(self.leaves))]
        rng.shuffle(levels)
        self.level = dict(zip(self.leaves, levels, strict=True))
        self.volume = {u: rng.uniform(0.6, 1.4) for u in self.leaves}
        if spread_siblings:  # drawn after the defaults, so generate_events keeps its exact output
            self.level = self._sibling_levels()
        self.homes = {kpi.id: self._homes(kpi) for kpi in scorecard.kpis}
        self.elapsed = {kpi_id: self._elapsed(kpi_id, start, end) for kpi_id in self.compiled}
        self.window_days = {kpi_id: self._window_days(kpi_id, end) for kpi_id in self.compiled}
        self.profiles: dict[tuple[str, str], Profile] = {}
        for kpi in scorecard.kpis:
            for unit in self.homes[kpi.id]:
                for term in kpi_terms(kpi):
                    self.profiles.setdefault((unit, term.event), Profile(self.volume[unit]))
        self.events_per_day = events_per_day

    # ---- who and how good

    def _homes(self, kpi: Kpi) -> list[str]:
        tree = self.tree
        overridden = [u for u in kpi.targets if u in tree and tree.is_leaf(u)]
        if overridden:
            parents = {tree.parent(u) or u for u in overridden}
            return [u for u in self.leaves if any(p in tree.ancestors(u) for p in parents)]
        if not any(u in tree and not tree.is_leaf(u) for u in kpi.targets):
            owners = {kpi.owner}
            if kpi.objective is not None:
                owners.add(self.scorecard.objective(kpi.objective).owner)
            owners.discard(None)
            for unit in tree.units:
                if tree.unit(unit).owner in owners:
                    return [u for u in self.leaves if unit in tree.ancestors(u)]
        return list(self.leaves)

    def _sibling_levels(self) -> dict[str, float]:
        """Levels spread within each group of sibling leaves: one poor and one good team under every parent.

        A shuffled draw over all leaves can leave three sibling teams all amber; spreading the ladder per parent
        makes every KPI measured by sibling teams show red and green side by side, the demo's point.
        """
        groups: dict[str | None, list[str]] = {}
        for unit in self.leaves:
            groups.setdefault(self.tree.parent(unit), []).append(unit)
        level: dict[str, float] = {}
        for members in groups.values():
            if len(members) == 1:
                ladder = [self.rng.choice(_LEVELS)]
            else:
                step = (_SPREAD_HIGH - _SPREAD_LOW) / (len(members) - 1)
                ladder = [_SPREAD_LOW + i * step for i in range(len(members))]
                self.rng.shuffle(ladder)
            level.update(zip(members, ladder, strict=True))
        return level

    def _elapsed(self, kpi_id: str, start: float, end: float) -> float:
        """Days over which the KPI's value should reach the unit's target value, at the rate the plan sets.

        Unpaced: the part of the KPI's window (at the end of the period) that the generated events cover. Paced (a
        sum or count judged against the elapsed share f of its period): that part divided by f at the end, so the
        value to date is the target times f, on pace; when the events cover the period from its start (a linear
        profile), that is the whole window and a steady team is on pace at every point of the period.
        """
        compiled = self.compiled[kpi_id]
        span_start, span_end = compiled.window.span(end - 1)
        covered = max(1 / 24, (min(end, span_end) - max(start, span_start)) / DAY)
        profile = compiled.kpi.pace_profile
        if profile is None or compiled.window.kind == "rolling":
            return covered
        f = elapsed_fraction(profile, span_start, span_end, min(end, span_end), self.scorecard.tz)
        return covered / f if f > 0 else (span_end - span_start) / DAY

    def _window_days(self, kpi_id: str, end: float) -> float:
        span_start, span_end = self.compiled[kpi_id].window.span(end - 1)
        return (span_end - span_start) / DAY

    def target_value(self, kpi: Kpi, unit: str) -> float:
        """The value that would score this unit's level, clamped to what the aggregation can produce."""
        goal, red_flag = self._targets(kpi, unit)
        level = min(0.98, max(0.02, self.level[unit] + self.rng.uniform(-self.jitter, self.jitter)))
        d = goal - red_flag
        value = red_flag - d + 3 * level * d
        if kpi.aggregation == "nps":
            return min(100.0, max(-100.0, value))
        if min(goal, red_flag) >= 0:
            value = max(0.0, value)
        if kpi.unit == "%":
            value = min(100.0, value)
        return value

    def _targets(self, kpi: Kpi, unit: str) -> tuple[float, float]:
        found = self.scorecard.targets_for(kpi.id, unit)
        if found is not None:
            return found
        pairs = [(t.goal, t.red_flag) for t in kpi.targets.values() if t.goal is not None and t.red_flag is not None]
        if pairs:
            return sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)
        return 10.0, 5.0

    # ---- the knobs

    def plan(self) -> dict[tuple[str, str], Profile]:
        kpis = self.scorecard.kpis
        for kpi in kpis:
            if kpi.aggregation == "count":
                self._count(kpi)
        self._rescale()
        for kpi in kpis:
            if kpi.aggregation in ("avg", "min", "max", "nps"):
                self._distribution(kpi)
        for kpi in kpis:
            if kpi.aggregation == "sum":
                self._sum(kpi)
        for kpi in kpis:
            if kpi.aggregation == "ratio":
                self._ratio(kpi)
        self._complete()
        return self.profiles

    def _count(self, kpi: Kpi) -> None:
        (term,) = kpi_terms(kpi)
        for unit in self.homes[kpi.id]:
            self._reach_count(unit, term, self.target_value(kpi, unit) / self.elapsed[kpi.id])

    def _reach_count(self, unit: str, term: Term, per_day: float) -> None:
        """Make ``per_day`` matching events a day: by the rate when there is no filter, else by the match odds."""
        profile = self.profiles[(unit, term.event)]
        if not term.where:
            if not profile.rate_fixed:
                profile.rate, profile.rate_fixed = per_day, True
            return
        share = per_day / profile.rate if profile.rate > 0 else 1.0
        if not profile.rate_fixed and not _SHARE_LOW <= share <= 1.0:
            # keep a plausible share of matching events (urgent among tickets) by moving the rate instead
            share = _SHARE_HIGH if share > 1.0 else _SHARE_LOW
            profile.rate, profile.rate_fixed = per_day / share, True
        elif self.exact_counts:
            # the share only holds at this rate: left free, ``_rescale`` would multiply the count with the volume
            profile.rate_fixed = True
        profile.set_condition(term.where, share)

    def _rescale(self) -> None:
        """Share ``events_per_day`` among the rates no count has fixed, in proportion to unit volumes."""
        fixed = sum(p.rate for p in self.profiles.values() if p.rate_fixed)
        free = [p for p in self.profiles.values() if not p.rate_fixed]
        total = sum(p.rate for p in free)
        if not free or total <= 0:
            return
        factor = max(self.events_per_day - fixed, 0.2 * self.events_per_day) / total
        for profile in free:
            profile.rate *= factor

    def _ensure_volume(self, kpi: Kpi, unit: str, event_type: str) -> None:
        """Give an average, extreme or ratio enough events in one window to mean something (a few a shift)."""
        profile = self.profiles[(unit, event_type)]
        if not profile.rate_fixed:
            profile.rate = max(profile.rate, _EVENTS_PER_WINDOW / self.window_days[kpi.id])

    def _distribution(self, kpi: Kpi) -> None:
        (term,) = kpi_terms(kpi)
        assert term.field is not None
        for unit in self.homes[kpi.id]:
            self._ensure_volume(kpi, unit, term.event)
            profile = self.profiles[(unit, term.event)]
            if profile.dist(term.where, term.field) is not None:
                continue
            value = self.target_value(kpi, unit)
            low, high = self._bounds(kpi)
            spread = abs(value) * 0.12 + 0.05
            kind = {"min": "above", "max": "below", "nps": "nps"}.get(kpi.aggregation, "normal")
            if kpi.aggregation in ("min", "max"):
                spread = abs(value) * 0.08 + 0.5
            profile.dists.append((term.where, term.field, Dist(kind, value, spread, low, high)))
            profile.set_condition(term.where, 0.6)

    def _bounds(self, kpi: Kpi) -> tuple[float | None, float | None]:
        pairs = [self._targets(kpi, unit) for unit in self.homes[kpi.id]]
        low = 0.0 if all(min(p) >= 0 for p in pairs) else None
        return low, (100.0 if kpi.unit == "%" else None)

    def _sum(self, kpi: Kpi) -> None:
        (term,) = kpi_terms(kpi)
        for unit in self.homes[kpi.id]:
            self._reach_sum(unit, term, self.target_value(kpi, unit), self.elapsed[kpi.id], self._bounds(kpi))

    def _reach_sum(
        self, unit: str, term: Term, total: float, days: float, bounds: tuple[float | None, float | None]
    ) -> None:
        """Choose the mean amount so that the expected total over ``days`` is ``total``."""
        assert term.field is not None
        profile = self.profiles[(unit, term.event)]
        if profile.dist(term.where, term.field) is not None:
            return
        share = profile.probability(term.where)
        known = 0.0
        if not term.where:  # conditional amounts (e.g. online orders) are already set; solve for the others
            for where, name, dist in profile.dists:
                if name == term.field and where:
                    p = profile.probability(where)
                    known += p * dist.mean()
                    share -= p
        share = max(share, 0.05)
        mean = (total / (profile.rate * days) - known) / share if profile.rate > 0 else 0.0
        mean = max(mean, 0.01)
        profile.dists.append((term.where, term.field, Dist("normal", mean, mean * 0.25, bounds[0], bounds[1])))

    def _ratio(self, kpi: Kpi) -> None:
        numerator, denominator = kpi_terms(kpi)
        multiplier = kpi.multiplier or 1.0
        days = self.elapsed[kpi.id]
        for unit in self.homes[kpi.id]:
            self._ensure_volume(kpi, unit, denominator.event)
            ratio = self.target_value(kpi, unit)
            den = self._expected(unit, denominator, days)
            wanted = ratio * den / multiplier
            if numerator.aggregation == "count":
                if numerator.event != denominator.event and not numerator.where:
                    num_profile = self.profiles[(unit, numerator.event)]
                    num_profile.rate_fixed = False
                self._reach_count(unit, numerator, wanted / days)
            else:
                num_profile = self.profiles[(unit, numerator.event)]
                if numerator.event != denominator.event and not num_profile.rate_fixed:
                    num_profile.rate = 0.1 * self.profiles[(unit, denominator.event)].rate
                    num_profile.rate_fixed = True
                self._reach_sum(unit, numerator, wanted, days, (0.0, None))

    def _expected(self, unit: str, term: Term, days: float) -> float:
        """The expected value of a ratio side (a count or a sum) over ``days``, creating a default amount if none."""
        profile = self.profiles[(unit, term.event)]
        profile.set_condition(term.where, 0.6)
        count = profile.rate * days * profile.probability(term.where)
        if term.aggregation == "count":
            return count
        assert term.field is not None
        dist = self._field_dist(profile, term.where, term.field)
        return count * dist.mean()

    def _field_dist(self, profile: Profile, where: Mapping[str, Any], name: str) -> Dist:
        """The distribution used for a field under ``where``: its own, else the field's default (created if none)."""
        dist = profile.dist(where, name) or profile.dist({}, name)
        if dist is None:
            dist = Dist("normal", 100.0, 25.0)
            profile.dists.append(({}, name, dist))
        return dist

    def _complete(self) -> None:
        """Every filter gets odds and every field a KPI reads gets values, at every unit emitting the type."""
        for (_, event_type), profile in self.profiles.items():
            for kpi in self.scorecard.kpis:
                for term in kpi_terms(kpi):
                    if term.event != event_type:
                        continue
                    profile.set_condition(term.where, 0.5)
                    if term.field is not None and profile.dist({}, term.field) is None:
                        typical = kpi.goal if kpi.goal is not None else 10.0
                        kind = "nps" if kpi.aggregation == "nps" else "normal"
                        center = 20.0 if kind == "nps" else abs(typical)
                        profile.dists.append(({}, term.field, Dist(kind, center, abs(center) * 0.2 + 0.1)))


def nps_answer(rng: random.Random, nps: float) -> int:
    """A 0-10 answer such that promoters - detractors averages ``nps`` percent (one fifth are passives)."""
    passives = 0.2 if abs(nps) <= 80 else 1 - abs(nps) / 100
    promoters = (1 - passives + nps / 100) / 2
    x = rng.random()
    if x < promoters:
        return rng.choice((9, 10))
    if x < promoters + passives:
        return rng.choice((7, 8))
    return rng.choice((0, 2, 3, 4, 5, 5, 6, 6, 6))


@dataclass
class Plan:
    """A planned definition: the profiles in a fixed order, each type's grace, the planner (leaves, levels, homes)."""

    planner: Planner
    profiles: list[tuple[tuple[str, str], Profile]]
    graces: dict[str, int]


def make_plan(planner: Planner) -> Plan:
    profiles = sorted(planner.plan().items())
    engine = Engine(planner.scorecard)  # the engine's own rule for a type's grace, so "late" means late
    graces = {event_type: engine.grace_of(event_type) or 0 for (_, event_type), _ in profiles}
    return Plan(planner, profiles, graces)
