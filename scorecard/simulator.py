"""A deterministic generator of realistic example events for any scorecard definition.

Demos, examples and benchmarks need events that exercise every KPI of a definition and produce a scorecard worth
looking at: some units green, some red. ``generate_events`` reads the definition, not a hard-coded list of event
types, so it follows the definition when KPIs change:

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
4. *Time.* Events follow business hours in the scorecard timezone (busy 8:00-18:00, quiet at night, half as busy
   at weekends) with Poisson counts per hour, in time order.
5. *Trouble.* A few duplicates (the same event again a little later), late events (older than their type's grace),
   invalid events (missing id, bad time, unknown unit, a text where a number is expected, an NPS of 11) and, on
   request, events of a type no KPI reads.

Everything is drawn from one ``random.Random(seed)``: the same arguments give the same events, byte for byte.
``python -m scorecard.simulator DEFINITION`` writes JSON Lines to stdout (``--help`` for the options).

``Simulation`` is the producer behind ``scorecard simulate`` (docs/simulator.md): the same plan, with levels spread
within each group of sibling teams, history up to a start time (``backfill()``) and then an endless live stream at a
given rate (``live(rate)``) in which the types that counts and sums read keep their daily rates, the other types fill
the rate, and one KPI of one unit (a ``Trend``) drifts across its red flag in the first two minutes. It only
generates; ``streams/simulate.py`` paces the events on the wall clock and sends them.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import orjson

from scorecard.core.definition import Kpi, Scorecard, load_scorecard
from scorecard.core.engine import Engine, compile_kpis
from scorecard.core.hierarchy import OrgTree
from scorecard.core.scoring import SCORE_RED_FLAG, score
from scorecard.core.timeutil import format_time, parse_time

__all__ = ["SimulatedEvent", "Simulation", "Trend", "Trouble", "generate_events", "main"]

DAY: Final = 86400.0
# Relative activity per local hour: busy office hours, a shoulder morning and evening, a quiet night.
_HOURS: Final = [0.2] * 6 + [1.0, 1.0] + [3.0] * 10 + [1.0, 1.0, 1.0] + [0.2] * 3
_HOUR_WEIGHT: Final = [w * 24 / sum(_HOURS) for w in _HOURS]  # mean 1 over a day
_WEEKDAY_WEIGHT: Final = [1.15] * 5 + [0.625] * 2  # mean 1 over a week
_LEVELS: Final = (0.15, 0.3, 0.5, 0.7, 0.85, 0.9)
# Levels are target scores / 10: below 1/3 is red, above 2/3 green. Sibling ladders run between these two.
_SPREAD_LOW: Final = 0.12
_SPREAD_HIGH: Final = 0.9
_SHARE_LOW: Final = 0.3  # a filtered count (urgent tickets) keeps its share of the events within these bounds
_SHARE_HIGH: Final = 0.6
_EVENTS_PER_WINDOW: Final = 8  # the least an average, a minimum or a ratio reads per window
_IGNORED_TYPES: Final = ("page_viewed", "badge_scanned", "email_opened")
_OTHER_TEXT: Final = {"online": "store", "urgent": "normal", "high": "normal", "low": "normal", "yes": "no"}


# --------------------------------------------------------------------------------------------------- the plan


@dataclass
class _Dist:
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
            return _nps_answer(rng, self.center)
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
class _Profile:
    """One event type at one unit: its rate and the knobs that shape its fields."""

    rate: float  # events per day on average
    rate_fixed: bool = False
    conditions: list[tuple[dict[str, Any], float]] = field(default_factory=list)  # where -> match probability
    dists: list[tuple[dict[str, Any], str, _Dist]] = field(default_factory=list)  # (where, field, distribution)

    def probability(self, where: Mapping[str, Any]) -> float:
        if not where:
            return 1.0
        for known, p in self.conditions:
            if known == where:
                return p
        return 0.5

    def dist(self, where: Mapping[str, Any], name: str) -> _Dist | None:
        for known, field_name, dist in self.dists:
            if known == where and field_name == name:
                return dist
        return None

    def set_condition(self, where: Mapping[str, Any], p: float) -> None:
        if where and not any(known == where for known, _ in self.conditions):
            self.conditions.append((dict(where), min(1.0, max(0.0, p))))


@dataclass(frozen=True)
class _Term:
    """One source of a KPI: a plain source (role "value") or a ratio side."""

    role: str
    event: str
    field: str | None
    where: dict[str, Any]
    aggregation: str


def _terms(kpi: Kpi) -> list[_Term]:
    if kpi.aggregation == "ratio":
        assert kpi.numerator is not None and kpi.denominator is not None
        return [
            _Term(side, term.event, term.field, dict(term.where), term.aggregation)
            for side, term in (("numerator", kpi.numerator), ("denominator", kpi.denominator))
        ]
    assert kpi.source is not None
    return [_Term("value", kpi.source.event, kpi.source.field, dict(kpi.source.where), kpi.aggregation)]


class _Planner:
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
        self.profiles: dict[tuple[str, str], _Profile] = {}
        for kpi in scorecard.kpis:
            for unit in self.homes[kpi.id]:
                for term in _terms(kpi):
                    self.profiles.setdefault((unit, term.event), _Profile(self.volume[unit]))
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
        """Days of the KPI's window (at the end of the period) that the generated events cover."""
        span_start, span_end = self.compiled[kpi_id].window.span(end - 1)
        return max(1 / 24, (min(end, span_end) - max(start, span_start)) / DAY)

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

    def plan(self) -> dict[tuple[str, str], _Profile]:
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
        (term,) = _terms(kpi)
        for unit in self.homes[kpi.id]:
            self._reach_count(unit, term, self.target_value(kpi, unit) / self.elapsed[kpi.id])

    def _reach_count(self, unit: str, term: _Term, per_day: float) -> None:
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
        (term,) = _terms(kpi)
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
            profile.dists.append((term.where, term.field, _Dist(kind, value, spread, low, high)))
            profile.set_condition(term.where, 0.6)

    def _bounds(self, kpi: Kpi) -> tuple[float | None, float | None]:
        pairs = [self._targets(kpi, unit) for unit in self.homes[kpi.id]]
        low = 0.0 if all(min(p) >= 0 for p in pairs) else None
        return low, (100.0 if kpi.unit == "%" else None)

    def _sum(self, kpi: Kpi) -> None:
        (term,) = _terms(kpi)
        for unit in self.homes[kpi.id]:
            self._reach_sum(unit, term, self.target_value(kpi, unit), self.elapsed[kpi.id], self._bounds(kpi))

    def _reach_sum(
        self, unit: str, term: _Term, total: float, days: float, bounds: tuple[float | None, float | None]
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
        profile.dists.append((term.where, term.field, _Dist("normal", mean, mean * 0.25, bounds[0], bounds[1])))

    def _ratio(self, kpi: Kpi) -> None:
        numerator, denominator = _terms(kpi)
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

    def _expected(self, unit: str, term: _Term, days: float) -> float:
        """The expected value of a ratio side (a count or a sum) over ``days``, creating a default amount if none."""
        profile = self.profiles[(unit, term.event)]
        profile.set_condition(term.where, 0.6)
        count = profile.rate * days * profile.probability(term.where)
        if term.aggregation == "count":
            return count
        assert term.field is not None
        dist = self._field_dist(profile, term.where, term.field)
        return count * dist.mean()

    def _field_dist(self, profile: _Profile, where: Mapping[str, Any], name: str) -> _Dist:
        """The distribution used for a field under ``where``: its own, else the field's default (created if none)."""
        dist = profile.dist(where, name) or profile.dist({}, name)
        if dist is None:
            dist = _Dist("normal", 100.0, 25.0)
            profile.dists.append(({}, name, dist))
        return dist

    def _complete(self) -> None:
        """Every filter gets odds and every field a KPI reads gets values, at every unit emitting the type."""
        for (_, event_type), profile in self.profiles.items():
            for kpi in self.scorecard.kpis:
                for term in _terms(kpi):
                    if term.event != event_type:
                        continue
                    profile.set_condition(term.where, 0.5)
                    if term.field is not None and profile.dist({}, term.field) is None:
                        typical = kpi.goal if kpi.goal is not None else 10.0
                        kind = "nps" if kpi.aggregation == "nps" else "normal"
                        center = 20.0 if kind == "nps" else abs(typical)
                        profile.dists.append(({}, term.field, _Dist(kind, center, abs(center) * 0.2 + 0.1)))


def _nps_answer(rng: random.Random, nps: float) -> int:
    """A 0-10 answer such that promoters - detractors averages ``nps`` percent (one fifth are passives)."""
    passives = 0.2 if abs(nps) <= 80 else 1 - abs(nps) / 100
    promoters = (1 - passives + nps / 100) / 2
    x = rng.random()
    if x < promoters:
        return rng.choice((9, 10))
    if x < promoters + passives:
        return rng.choice((7, 8))
    return rng.choice((0, 2, 3, 4, 5, 5, 6, 6, 6))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _other_value(value: Any) -> Any:
    """A plausible value that does *not* match a ``where`` condition."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return _OTHER_TEXT.get(str(value), "other")


# ------------------------------------------------------------------------------------------------ generation


@dataclass(frozen=True)
class Trouble:
    """Probabilities per regular event of adding a duplicate, making it late, adding an invalid or an unused event."""

    duplicate: float = 0.0
    late: float = 0.0
    invalid: float = 0.0
    ignored: float = 0.0


@dataclass
class _Plan:
    """A planned definition: the profiles in a fixed order, each type's grace, the planner (leaves, levels, homes)."""

    planner: _Planner
    profiles: list[tuple[tuple[str, str], _Profile]]
    graces: dict[str, int]


def _make_plan(planner: _Planner) -> _Plan:
    profiles = sorted(planner.plan().items())
    engine = Engine(planner.scorecard)  # the engine's own rule for a type's grace, so "late" means late
    graces = {event_type: engine.grace_of(event_type) or 0 for (_, event_type), _ in profiles}
    return _Plan(planner, profiles, graces)


def generate_events(
    scorecard: Scorecard,
    *,
    start: float | str,
    days: float,
    events_per_day: float,
    seed: int,
    duplicate_rate: float = 0.0,
    late_rate: float = 0.0,
    invalid_rate: float = 0.0,
    ignored_rate: float = 0.0,
) -> Iterator[dict[str, Any]]:
    """Yield event objects (``{"id", "type", "unit", "time", "fields"}``, time as RFC 3339) in arrival order.

    ``start`` is RFC 3339 text or epoch seconds; ``events_per_day`` is the average volume of regular events (rates
    that a count KPI pins down are kept, the others share the rest). The ``*_rate`` arguments are probabilities per
    regular event of adding a duplicate, making it late, adding an invalid event, adding an event of an unused type.
    """
    rng = random.Random(seed)
    begin = parse_time(start)
    end = begin + days * DAY
    plan = _make_plan(_Planner(scorecard, begin, end, events_per_day, rng))
    trouble = Trouble(duplicate_rate, late_rate, invalid_rate, ignored_rate)
    for _, event, _ in _history(rng, plan, begin, end, trouble):
        yield event


def _history(
    rng: random.Random, plan: _Plan, begin: float, end: float, trouble: Trouble
) -> Iterator[tuple[str, dict[str, Any], float]]:
    """``(kind, event, slot)`` from ``begin`` to ``end``, hour by hour with seasonal Poisson counts, in arrival order.

    kind is ``regular``, ``late``, ``duplicate``, ``invalid`` or ``ignored``: what the generator meant the event to
    be (a replay may still judge a regular event late when a late one arrived just before it on the same unit).
    ``slot`` is the time the event was generated for (its own time unless it was made late or broken).
    """
    tz = plan.planner.scorecard.tz
    pending: list[tuple[int, int, dict[str, Any]]] = []  # (emit after this many events, tie-break, event)
    emitted = 0
    hour = 0
    while begin + hour * 3600 < end:
        t0 = begin + hour * 3600
        span = min(3600.0, end - t0)
        factor = _season(t0, tz)
        batch: list[tuple[float, str, str, _Profile]] = []
        for (unit, event_type), profile in plan.profiles:
            for _ in range(_poisson(rng, profile.rate / 24 * factor * span / 3600)):
                batch.append((float(math.floor(t0 + rng.random() * span)), unit, event_type, profile))
        batch.sort(key=lambda item: item[0])
        for time, unit, event_type, profile in batch:
            event = _event(rng, unit, event_type, time, profile)
            kind = "regular"
            if rng.random() < trouble.late:
                event["time"] = format_time(time - plan.graces[event_type] - math.floor(rng.uniform(3600, 6 * 3600)))
                kind = "late"
            while pending and pending[0][0] <= emitted:
                yield "duplicate", heapq.heappop(pending)[2], time
            yield kind, event, time
            emitted += 1
            if rng.random() < trouble.duplicate:
                heapq.heappush(pending, (emitted + rng.randint(1, 40), emitted, dict(event)))
            if rng.random() < trouble.invalid:
                yield "invalid", _invalid(rng, event, profile), time
            if rng.random() < trouble.ignored:
                yield "ignored", _ignored(rng, plan.planner.leaves, time), time
        hour += 1
    while pending:
        yield "duplicate", heapq.heappop(pending)[2], end


def _season(moment: float, tz: tzinfo) -> float:
    """Relative activity at ``moment`` (mean 1 over a week): business hours on weekdays, quiet nights and weekends."""
    local = datetime.fromtimestamp(moment, tz)
    return _HOUR_WEIGHT[local.hour] * _WEEKDAY_WEIGHT[local.weekday()]


# ------------------------------------------------------------------------------------------ simulation (live)

PLAN_DAYS: Final = 30.0  # the history a live run without backfill is planned for: realistic daily rates
TREND_RAMP: Final = 120.0  # seconds from the live start until the trend KPI reaches its end value (then held)
_TREND_BEYOND: Final = {"min": 0.5, "max": 0.5, "avg": 2.0, "nps": 2.0}  # end value: red flag + this x (R - G)
_EXTENSIVE: Final = ("count", "sum")  # aggregations whose value grows with the number of events


@dataclass(frozen=True, slots=True)
class SimulatedEvent:
    """One event of a simulation: ``at`` is the time it was generated for (in live mode: when to send it)."""

    at: float
    kind: str  # regular, late, duplicate, invalid (ignored in batch mode only)
    event: dict[str, Any]


@dataclass(frozen=True)
class Trend:
    """One KPI at one unit whose values drift across the red flag in the first minutes of the live phase.

    The field's distribution centre moves linearly from ``start_value`` (the unit's planned, not-red value) to
    ``end_value`` (beyond the red flag) over ``ramp`` seconds, then stays there: a demo sees the status turn red and
    an alert with a short ``for`` fire, and stay fired.
    """

    kpi: str
    unit: str
    event: str
    field: str
    where: dict[str, Any]
    aggregation: str
    goal: float
    red_flag: float
    start_value: float
    end_value: float
    ramp: float = TREND_RAMP

    def value_at(self, seconds: float) -> float:
        share = min(1.0, max(0.0, seconds / self.ramp))
        return self.start_value + (self.end_value - self.start_value) * share

    @property
    def crosses_after(self) -> float:
        """Seconds into the live phase when the centre passes the red flag (a min or max follows within seconds)."""
        return self.ramp * (self.start_value - self.red_flag) / (self.start_value - self.end_value)

    def describe(self, display_unit: str | None = None) -> str:
        unit = f" {display_unit}" if display_unit else ""
        return (
            f"{self.kpi} at {self.unit} moves from {self.start_value:.4g}{unit} across its red flag "
            f"{self.red_flag:.4g}{unit} about {self.crosses_after:.0f}s into the live run "
            f"(to {self.end_value:.4g}{unit} at {self.ramp:.0f}s, then held)"
        )


class Simulation:
    """A deterministic simulated producer for a definition: history up to ``start`` then a live stream from it.

    The plan is the batch generator's (who emits what, unit levels aimed with the goals and red flags, business
    hours), with two changes: levels are spread within each group of sibling teams, so every KPI that teams share
    shows red and green side by side, and the per-KPI jitter is halved so that a team's level shows through.

    Live, the total rate is set by the caller, but KPIs that *add up* events (counts and sums, and the ratios that
    share an event type with them) would run away at demo rates: a month's revenue in minutes. So the event types
    they read ("pinned") keep their planned daily rates with the seasonality of the hour, and the rest of the rate is
    filled with the types only averages, extremes, NPS and self-contained ratios read, drawn in proportion to their
    planned rates (which leaves those values where the plan put them). When every type is pinned, everything fills.

    Everything is drawn from generators seeded by ``seed``: the same definition, start and arguments give the same
    events. ``backfill()`` and ``live(rate)`` each start from their own seed, so either can be replayed alone.
    """

    def __init__(
        self,
        scorecard: Scorecard,
        *,
        start: float,
        backfill: float = 0.0,
        events_per_day: float = 2000.0,
        seed: int = 7,
        trouble: Trouble = Trouble(),
    ) -> None:
        self.scorecard = scorecard
        self.start = float(start)
        self.backfill_seconds = float(backfill)
        self.seed = seed
        self.trouble = trouble
        span = self.backfill_seconds if self.backfill_seconds > 0 else PLAN_DAYS * DAY
        begin = self.start - span
        rng = random.Random(seed)
        planner = _Planner(
            scorecard, begin, self.start, events_per_day, rng, spread_siblings=True, jitter=0.1, exact_counts=True
        )
        self.plan = _make_plan(planner)
        self.pinned, self.filler, self.all_filler = self._split()
        self.trend = self._choose_trend()

    # ---- the plan

    @property
    def levels(self) -> dict[str, float]:
        """Each leaf's level: its aimed score / 10 (below 1/3 red, above 2/3 green, per KPI +-0.1)."""
        return dict(self.plan.planner.level)

    def _split(self) -> tuple[list[tuple[tuple[str, str], _Profile]], list[tuple[tuple[str, str], _Profile]], bool]:
        """(pinned profiles, filler profiles, whether everything had to fill): see the class docstring."""
        group = {event_type: event_type for (_, event_type), _ in self.plan.profiles}

        def root(event_type: str) -> str:
            while group[event_type] != event_type:
                event_type = group[event_type]
            return event_type

        extensive: set[str] = set()
        for kpi in self.scorecard.kpis:
            terms = _terms(kpi)
            if kpi.aggregation == "ratio":
                group[root(terms[0].event)] = root(terms[1].event)
            elif kpi.aggregation in _EXTENSIVE:
                extensive.add(terms[0].event)
        pinned_roots = {root(event_type) for event_type in extensive}
        pinned = [(key, p) for key, p in self.plan.profiles if root(key[1]) in pinned_roots]
        filler = [(key, p) for key, p in self.plan.profiles if root(key[1]) not in pinned_roots]
        if not filler:
            return [], list(self.plan.profiles), True
        return pinned, filler, False

    def _choose_trend(self) -> Trend | None:
        """The demo's trend: a min or max KPI first (it reacts at once), then the shortest window; its best unit."""
        filler_types = {event_type for (_, event_type), _ in self.filler}
        planner = self.plan.planner
        candidates: list[tuple[tuple[int, float, int], Kpi]] = []
        for index, kpi in enumerate(self.scorecard.kpis):
            if kpi.aggregation not in _TREND_BEYOND or _terms(kpi)[0].event not in filler_types:
                continue
            span_start, span_end = planner.compiled[kpi.id].window.span(self.start - 1)
            candidates.append(((0 if kpi.aggregation in ("min", "max") else 1, span_end - span_start, index), kpi))
        for _, kpi in sorted(candidates, key=lambda item: item[0]):
            trend = self._trend_for(kpi)
            if trend is not None:
                return trend
        return None

    def _trend_for(self, kpi: Kpi) -> Trend | None:
        (term,) = _terms(kpi)
        assert term.field is not None
        planner = self.plan.planner
        profiles = dict(self.plan.profiles)
        best: tuple[float, str, _Dist, float, float] | None = None
        for unit in planner.homes[kpi.id]:
            profile = profiles.get((unit, term.event))
            dist = None if profile is None else profile.dist(term.where, term.field) or profile.dist({}, term.field)
            if dist is None:
                continue
            goal, red_flag = planner._targets(kpi, unit)
            points = score(dist.center, goal, red_flag)
            if points is not None and points > SCORE_RED_FLAG and (best is None or points > best[0]):
                best = (points, unit, dist, goal, red_flag)
        if best is None:
            return None
        _, unit, dist, goal, red_flag = best
        end = red_flag + (red_flag - goal) * _TREND_BEYOND[kpi.aggregation]
        low, high = (-100.0, 100.0) if dist.kind == "nps" else (dist.low, dist.high)
        end = max(end, low) if low is not None else end
        end = min(end, high) if high is not None else end
        if (end - red_flag) * (red_flag - goal) <= 0:  # the bounds keep it from crossing (a red flag of 0 %)
            return None
        where = term.where if profiles[(unit, term.event)].dist(term.where, term.field) is dist else {}
        return Trend(kpi.id, unit, term.event, term.field, where, kpi.aggregation, goal, red_flag, dist.center, end)

    # ---- the events

    def backfill(self) -> Iterator[SimulatedEvent]:
        """The history: ``backfill`` seconds up to ``start`` (the batch generator's hours, seasons and trouble)."""
        if self.backfill_seconds <= 0:
            return
        rng = random.Random(f"{self.seed}:backfill")
        for kind, event, slot in _history(rng, self.plan, self.start - self.backfill_seconds, self.start, self.trouble):
            yield SimulatedEvent(slot, kind, event)

    def live(self, rate: float) -> Iterator[SimulatedEvent]:
        """The live stream from ``start``, second by second, ``rate`` events a second on average (forever).

        Each second gets the pinned types' seasonal Poisson draws, then filler until the running total reaches
        ``rate`` x seconds; trouble (duplicates, invalid copies) counts towards the total, so the achieved rate is
        the asked one. Events of one second carry that second as their time and are spread evenly over it (``at``).
        """
        stream = _LiveStream(random.Random(f"{self.seed}:live"), self.trouble, self.plan.graces)
        rng, tz = stream.rng, self.scorecard.tz
        weights = list(itertools.accumulate(profile.rate for _, profile in self.filler))
        if weights and weights[-1] <= 0:
            weights = list(range(1, len(self.filler) + 1))
        trend_key = (self.trend.unit, self.trend.event) if self.trend is not None else None
        produced = 0
        second = 0
        while True:
            t = self.start + second
            trended = self._trended(second)
            batch: list[tuple[str, dict[str, Any]]] = []
            factor = _season(t, tz)
            for key, profile in self.pinned:
                for _ in range(_poisson(rng, profile.rate / DAY * factor)):
                    stream.emit(batch, t, key, profile, trended if key == trend_key else None)
            due = math.floor((second + 1) * rate)
            while self.filler and produced + len(batch) < due:
                key, profile = rng.choices(self.filler, cum_weights=weights)[0]
                stream.emit(batch, t, key, profile, trended if key == trend_key else None)
            produced += len(batch)
            for index, (kind, event) in enumerate(batch):
                yield SimulatedEvent(t + index / len(batch), kind, event)
            second += 1

    def _trended(self, second: float) -> _Profile | None:
        """The trend unit's profile for this second of the live phase, its field's centre moved along the trend."""
        if self.trend is None:
            return None
        trend = self.trend
        profile = dict(self.plan.profiles)[(trend.unit, trend.event)]
        value = trend.value_at(second)
        dists = [
            (where, name, replace(dist, center=value) if where == trend.where and name == trend.field else dist)
            for where, name, dist in profile.dists
        ]
        return replace(profile, dists=dists)


class _LiveStream:
    """The running state of a live stream: its generator and the duplicates waiting to be sent again."""

    def __init__(self, rng: random.Random, trouble: Trouble, graces: Mapping[str, int]) -> None:
        self.rng = rng
        self.trouble = trouble
        self.graces = graces
        self.pending: list[tuple[int, int, dict[str, Any]]] = []  # (emit after this many events, tie-break, event)
        self.emitted = 0

    def emit(
        self,
        batch: list[tuple[str, dict[str, Any]]],
        t: float,
        key: tuple[str, str],
        profile: _Profile,
        shape: _Profile | None,
    ) -> None:
        """Append one regular (or late) event of ``key`` at ``t`` to ``batch``, with the trouble it brings.

        ``shape`` replaces ``profile`` for drawing the fields (the trend); the same trouble rules as ``_history``.
        """
        rng, trouble = self.rng, self.trouble
        unit, event_type = key
        event = _event(rng, unit, event_type, t, shape or profile)
        kind = "regular"
        if rng.random() < trouble.late:
            event["time"] = format_time(t - self.graces[event_type] - math.floor(rng.uniform(3600, 6 * 3600)))
            kind = "late"
        while self.pending and self.pending[0][0] <= self.emitted:
            batch.append(("duplicate", heapq.heappop(self.pending)[2]))
        batch.append((kind, event))
        self.emitted += 1
        if rng.random() < trouble.duplicate:
            heapq.heappush(self.pending, (self.emitted + rng.randint(1, 40), self.emitted, dict(event)))
        if rng.random() < trouble.invalid:
            batch.append(("invalid", _invalid(rng, event, profile)))


def _event(rng: random.Random, unit: str, event_type: str, time: float, profile: _Profile) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for where, p in profile.conditions:
        if any(key in fields for key in where):
            continue
        if rng.random() < p:
            fields.update(where)
        else:
            first, *rest = where.items()
            fields[first[0]] = _other_value(first[1])
            fields.update(rest)
    for name in dict.fromkeys(name for _, name, _ in profile.dists):
        chosen = next(
            (d for where, n, d in profile.dists if n == name and where and _matches(where, fields)),
            profile.dist({}, name),
        )
        if chosen is not None:
            fields[name] = chosen.draw(rng)
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return {"id": event_id, "type": event_type, "unit": unit, "time": format_time(time), "fields": fields}


def _matches(where: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return all(key in fields and fields[key] == value for key, value in where.items())


def _invalid(rng: random.Random, event: dict[str, Any], profile: _Profile) -> dict[str, Any]:
    """A broken copy of ``event`` (with a fresh id), broken in one of the ways producers break events."""
    broken: dict[str, Any] = {**event, "fields": dict(event["fields"])}
    broken["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    numeric = [name for _, name, dist in profile.dists if dist.kind != "nps"]
    nps = [name for _, name, dist in profile.dists if dist.kind == "nps"]
    kinds = ["missing_id", "bad_time", "unknown_unit", "missing_type"]
    if numeric:
        kinds += ["not_a_number", "missing_field"]
    if nps:
        kinds.append("nps_out_of_range")
    kind = rng.choice(kinds)
    if kind == "missing_id":
        del broken["id"]
    elif kind == "bad_time":
        broken["time"] = rng.choice(["yesterday", "27/11/2026 10:15", "2026-11-27 10:15:00"])
    elif kind == "unknown_unit":
        broken["unit"] = broken["unit"] + "-old"
    elif kind == "missing_type":
        broken["type"] = ""
    elif kind == "not_a_number":
        broken["fields"][rng.choice(numeric)] = rng.choice(["n/a", "12,5", None, True])
    elif kind == "missing_field":
        broken["fields"].pop(rng.choice(numeric), None)
    else:
        broken["fields"][rng.choice(nps)] = rng.choice([11, -1, 42])
    return broken


def _ignored(rng: random.Random, leaves: Sequence[str], time: float) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": rng.choice(_IGNORED_TYPES),
        "unit": rng.choice(list(leaves)),
        "time": format_time(time),
        "fields": {},
    }


# ----------------------------------------------------------------------------------------------------- command


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scorecard.simulator DEFINITION [options]``: write generated events as JSON Lines."""
    parser = argparse.ArgumentParser(prog="python -m scorecard.simulator", description=main.__doc__)
    parser.add_argument("definition", type=Path)
    parser.add_argument("--start", default="2026-11-13T00:00:00+01:00", help="RFC 3339 or epoch seconds")
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--events-per-day", type=float, default=150)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--duplicate-rate", type=float, default=0.01)
    parser.add_argument("--late-rate", type=float, default=0.005)
    parser.add_argument("--invalid-rate", type=float, default=0.005)
    parser.add_argument("--ignored-rate", type=float, default=0.005)
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    scorecard = load_scorecard(args.definition)
    events = generate_events(
        scorecard,
        start=args.start,
        days=args.days,
        events_per_day=args.events_per_day,
        seed=args.seed,
        duplicate_rate=args.duplicate_rate,
        late_rate=args.late_rate,
        invalid_rate=args.invalid_rate,
        ignored_rate=args.ignored_rate,
    )
    data = b"".join(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE) for event in events)
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
