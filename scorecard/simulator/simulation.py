"""The producer behind ``scorecard simulate``: history up to a start time, then an endless live stream.

``Simulation`` uses the batch generator's plan (``plan.Planner``) with levels spread within each group of sibling
teams, history up to a start time (``backfill()``) and then an endless live stream at a given rate (``live(rate)``) in
which the types that counts and sums read keep their daily rates, the other types fill the rate, and one KPI of one
unit (a ``Trend``) drifts across its red flag in the first two minutes, or, asked for by ``trend_kpi``, a paced sum or
count is driven across its paced red flag (a ``PacedTrend``: a burst of events or a silence). It only generates;
``pacing`` sends the events on the wall clock (docs/simulator.md).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.definition.model import PACED_AGGREGATIONS
from scorecard.core.pace import elapsed_fraction
from scorecard.core.scoring import SCORE_RED_FLAG, score
from scorecard.core.timeutil import format_time
from scorecard.simulator.batch import history
from scorecard.simulator.draws import SimulatedEvent, Trouble, broken_copy, draw_event, poisson, season
from scorecard.simulator.paced_trend import PacedTrend, paced_trend
from scorecard.simulator.plan import DAY, Dist, Planner, Profile, kpi_terms, make_plan

PLAN_DAYS: Final = 30.0  # the history a live run without backfill is planned for: realistic daily rates
TREND_RAMP: Final = 120.0  # seconds from the live start until the trend KPI reaches its end value (then held)
_TREND_BEYOND: Final = {"min": 0.5, "max": 0.5, "avg": 2.0, "nps": 2.0}  # end value: red flag + this x (R - G)
_EXTENSIVE: Final = ("count", "sum")  # aggregations whose value grows with the number of events


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
        trend_kpi: str | None = None,
    ) -> None:
        self.scorecard = scorecard
        self.start = float(start)
        self.backfill_seconds = float(backfill)
        self.seed = seed
        self.trouble = trouble
        span = self.backfill_seconds if self.backfill_seconds > 0 else PLAN_DAYS * DAY
        begin = self.start - span
        rng = random.Random(seed)
        planner = Planner(
            scorecard, begin, self.start, events_per_day, rng, spread_siblings=True, jitter=0.1, exact_counts=True
        )
        self.plan = make_plan(planner)
        self.pinned, self.filler, self.all_filler = self._split()
        self.trend: Trend | PacedTrend | None = (
            self._choose_trend() if trend_kpi is None else self._asked_trend(trend_kpi)
        )

    # ---- the plan

    @property
    def levels(self) -> dict[str, float]:
        """Each leaf's level: its aimed score / 10 (below 1/3 red, above 2/3 green, per KPI +-0.1)."""
        return dict(self.plan.planner.level)

    def _split(self) -> tuple[list[tuple[tuple[str, str], Profile]], list[tuple[tuple[str, str], Profile]], bool]:
        """(pinned profiles, filler profiles, whether everything had to fill): see the class docstring."""
        group = {event_type: event_type for (_, event_type), _ in self.plan.profiles}

        def root(event_type: str) -> str:
            while group[event_type] != event_type:
                event_type = group[event_type]
            return event_type

        extensive: set[str] = set()
        for kpi in self.scorecard.kpis:
            terms = kpi_terms(kpi)
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
            if kpi.aggregation not in _TREND_BEYOND or kpi_terms(kpi)[0].event not in filler_types:
                continue
            span_start, span_end = planner.compiled[kpi.id].window.span(self.start - 1)
            candidates.append(((0 if kpi.aggregation in ("min", "max") else 1, span_end - span_start, index), kpi))
        for _, kpi in sorted(candidates, key=lambda item: item[0]):
            trend = self._trend_for(kpi)
            if trend is not None:
                return trend
        return None

    def _asked_trend(self, kpi_id: str) -> Trend | PacedTrend:
        """The trend of ``trend_kpi``: a paced sum or count, or a min, max, avg or NPS KPI; ValueError if it cannot."""
        kpi = next((k for k in self.scorecard.kpis if k.id == kpi_id), None)
        if kpi is None:
            known = ", ".join(k.id for k in self.scorecard.kpis)
            raise ValueError(f"no KPI {kpi_id!r} in the definition (KPIs: {known})")
        window = self.plan.planner.compiled[kpi.id].window
        trend: Trend | PacedTrend | None
        if kpi.aggregation in PACED_AGGREGATIONS and kpi.pace_profile is not None and window.kind != "rolling":
            trend = self._paced_trend_for(kpi)
        elif kpi.aggregation in _TREND_BEYOND:
            trend = self._trend_for(kpi)
        else:
            raise ValueError(
                f"cannot trend {kpi_id}: choose a paced sum or count (calendar or tumbling window) or a min, max,"
                " avg or NPS KPI"
            )
        if trend is None:
            raise ValueError(
                f"cannot trend {kpi_id}: none of its teams can cross its red flag in the current period from here"
                " (every team already red, or a silence that would cross only after the period's end)"
            )
        return trend

    def _paced_trend_for(self, kpi: Kpi) -> PacedTrend | None:
        """Its best home team (highest level) for which a burst or silence crosses the paced red flag."""
        (term,) = kpi_terms(kpi)
        planner = self.plan.planner
        profiles = dict(self.plan.profiles)
        window = planner.compiled[kpi.id].window
        assert kpi.pace_profile is not None
        for unit in sorted(planner.homes[kpi.id], key=lambda u: -planner.level[u]):
            profile = profiles.get((unit, term.event))
            if profile is None:
                continue
            goal, red_flag = planner._targets(kpi, unit)
            d = goal - red_flag
            pace = max(0.0, red_flag - d + 3 * planner.level[unit] * d)  # the plan's full-period value for the level
            per_event = 1.0
            if term.field is not None:
                dist = profile.dist(term.where, term.field) or profile.dist({}, term.field)
                if dist is None:
                    continue
                per_event = dist.mean()
            span = window.span(self.start)
            f0 = elapsed_fraction(kpi.pace_profile, span[0], span[1], self.start, self.scorecard.tz)
            value_now = pace * f0 if self.backfill_seconds > 0 else 0.0  # the history is calibrated on pace
            found = paced_trend(
                kpi=kpi.id,
                unit=unit,
                event=term.event,
                where=term.where,
                aggregation=kpi.aggregation,
                goal=goal,
                red_flag=red_flag,
                pace=pace,
                value_now=value_now,
                per_event=per_event,
                span=span,
                profile=kpi.pace_profile,
                zone=self.scorecard.tz,
                start=self.start,
                ramp=TREND_RAMP,
            )
            if found is not None:
                return found
        return None

    def _trend_for(self, kpi: Kpi) -> Trend | None:
        (term,) = kpi_terms(kpi)
        assert term.field is not None
        planner = self.plan.planner
        profiles = dict(self.plan.profiles)
        best: tuple[float, str, Dist, float, float] | None = None
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
        for kind, event, slot in history(rng, self.plan, self.start - self.backfill_seconds, self.start, self.trouble):
            yield SimulatedEvent(slot, kind, event)

    def live(self, rate: float) -> Iterator[SimulatedEvent]:
        """The live stream from ``start``, second by second, ``rate`` events a second on average (forever).

        Each second gets the pinned types' seasonal Poisson draws, then filler until the running total reaches
        ``rate`` x seconds; trouble (duplicates, invalid copies) counts towards the total, so the achieved rate is
        the asked one. Events of one second carry that second as their time and are spread evenly over it (``at``).
        """
        stream = _LiveStream(random.Random(f"{self.seed}:live"), self.trouble, self.plan.graces)
        rng, tz = stream.rng, self.scorecard.tz
        trend_key = (self.trend.unit, self.trend.event) if self.trend is not None else None
        paced = self.trend if isinstance(self.trend, PacedTrend) else None
        silent = trend_key if paced is not None and paced.silenced else None
        burst = self._burst_profile(paced) if paced is not None and not paced.silenced else None
        filler = [(key, profile) for key, profile in self.filler if key != silent]
        weights = list(itertools.accumulate(profile.rate for _, profile in filler))
        if weights and weights[-1] <= 0:
            weights = list(range(1, len(filler) + 1))
        produced = 0
        second = 0
        while True:
            t = self.start + second
            trended = self._trended(second)
            batch: list[tuple[str, dict[str, Any]]] = []
            factor = season(t, tz)
            for key, profile in self.pinned:
                if key == silent:
                    continue
                for _ in range(poisson(rng, profile.rate / DAY * factor)):
                    stream.emit(batch, t, key, profile, trended if key == trend_key else None)
            if paced is not None and burst is not None and trend_key is not None:
                for _ in range(paced.extra_at(second)):
                    stream.emit(batch, t, trend_key, burst, None)
            due = math.floor((second + 1) * rate)
            while filler and produced + len(batch) < due:
                key, profile = rng.choices(filler, cum_weights=weights)[0]
                stream.emit(batch, t, key, profile, trended if key == trend_key else None)
            produced += len(batch)
            for index, (kind, event) in enumerate(batch):
                yield SimulatedEvent(t + index / len(batch), kind, event)
            second += 1

    def _burst_profile(self, trend: PacedTrend) -> Profile:
        """The trend unit's profile with the KPI's ``where`` always met: every burst event counts."""
        profile = dict(self.plan.profiles)[(trend.unit, trend.event)]
        conditions = [(where, 1.0 if where == trend.where else p) for where, p in profile.conditions]
        return replace(profile, conditions=conditions)

    def _trended(self, second: float) -> Profile | None:
        """The trend unit's profile for this second of the live phase, its field's centre moved along the trend."""
        if not isinstance(self.trend, Trend):
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
        self.newest: dict[str, float] = {}  # each unit's stream time in this stream: a late event is late against it

    def emit(
        self,
        batch: list[tuple[str, dict[str, Any]]],
        t: float,
        key: tuple[str, str],
        profile: Profile,
        shape: Profile | None,
    ) -> None:
        """Append one regular (or late) event of ``key`` at ``t`` to ``batch``, with the trouble it brings.

        ``shape`` replaces ``profile`` for drawing the fields (the trend); the same trouble rules as ``history``.
        """
        rng, trouble = self.rng, self.trouble
        unit, event_type = key
        event = draw_event(rng, unit, event_type, t, shape or profile)
        kind = "regular"
        if rng.random() < trouble.late:
            behind = self.graces[event_type] + math.floor(rng.uniform(3600, 6 * 3600))
            if unit in self.newest:  # a unit without an event yet has no stream time to be late against
                event["time"] = format_time(self.newest[unit] - behind)
                kind = "late"
        if kind == "regular":
            self.newest[unit] = max(self.newest.get(unit, t), t)
        while self.pending and self.pending[0][0] <= self.emitted:
            batch.append(("duplicate", heapq.heappop(self.pending)[2]))
        batch.append((kind, event))
        self.emitted += 1
        if rng.random() < trouble.duplicate:
            heapq.heappush(self.pending, (self.emitted + rng.randint(1, 40), self.emitted, dict(event)))
        if rng.random() < trouble.invalid:
            batch.append(("invalid", broken_copy(rng, event, profile)))
