"""Fixed batches of events (examples, tests, benchmarks): hour by hour from a start, with the trouble asked for.

Events follow business hours in the scorecard timezone with Poisson counts per hour, in time order; duplicates (the
same event again a little later), late events (older than their type's grace), invalid events (missing id, bad time,
unknown unit, a text where a number is expected, an NPS of 11) and, on request, events of a type no KPI reads come
at the rates of ``Trouble``. Everything is drawn from one ``random.Random(seed)``: the same arguments give the same
events, byte for byte (examples/acme-events.jsonl is made this way: examples/README.md).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from typing import Any

from scorecard.core.definition import Scorecard
from scorecard.core.timeutil import format_time, parse_time
from scorecard.simulator.draws import (
    SimulatedEvent,
    Trouble,
    broken_copy,
    draw_event,
    poisson,
    season,
    unused_event,
)
from scorecard.simulator.plan import DAY, Plan, Planner, Profile, make_plan

__all__ = ["generate_batch", "generate_events", "history"]


def generate_batch(
    scorecard: Scorecard, *, start: float | str, days: float, events_per_day: float, seed: int, trouble: Trouble
) -> Iterator[SimulatedEvent]:
    """``days`` of events from ``start`` (RFC 3339 text or epoch seconds), in arrival order, with their kind.

    ``events_per_day`` is the average volume of regular events (rates that a count KPI pins down are kept, the others
    share the rest); ``trouble`` gives the probabilities per regular event of adding a duplicate, making it late,
    adding an invalid event, adding an event of an unused type. ``at`` is the time each event was generated for.
    """
    rng = random.Random(seed)
    begin = parse_time(start)
    end = begin + days * DAY
    plan = make_plan(Planner(scorecard, begin, end, events_per_day, rng))
    for kind, event, slot in history(rng, plan, begin, end, trouble):
        yield SimulatedEvent(slot, kind, event)


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
    """``generate_batch``'s event objects (``{"id", "type", "unit", "time", "fields"}``, time as RFC 3339) alone.

    The ``*_rate`` arguments are the fields of ``Trouble``.
    """
    trouble = Trouble(duplicate_rate, late_rate, invalid_rate, ignored_rate)
    batch = generate_batch(scorecard, start=start, days=days, events_per_day=events_per_day, seed=seed, trouble=trouble)
    for item in batch:
        yield item.event


def history(
    rng: random.Random, plan: Plan, begin: float, end: float, trouble: Trouble
) -> Iterator[tuple[str, dict[str, Any], float]]:
    """``(kind, event, slot)`` from ``begin`` to ``end``, hour by hour with seasonal Poisson counts, in arrival order.

    kind is ``regular``, ``late``, ``duplicate``, ``invalid`` or ``ignored``: what the generator meant the event to
    be (a replay may still judge a regular event late when a late one arrived just before it on the same unit).
    ``slot`` is the time the event was generated for (its own time unless it was made late or broken).
    """
    tz = plan.planner.scorecard.tz
    pending: list[tuple[int, int, dict[str, Any]]] = []  # (emit after this many events, tie-break, event)
    emitted = 0
    newest: dict[str, float] = {}  # each unit's stream time so far: a late event is late against it
    hour = 0
    while begin + hour * 3600 < end:
        t0 = begin + hour * 3600
        span = min(3600.0, end - t0)
        factor = season(t0, tz)
        batch: list[tuple[float, str, str, Profile]] = []
        for (unit, event_type), profile in plan.profiles:
            for _ in range(poisson(rng, profile.rate / 24 * factor * span / 3600)):
                batch.append((float(math.floor(t0 + rng.random() * span)), unit, event_type, profile))
        batch.sort(key=lambda item: item[0])
        for time, unit, event_type, profile in batch:
            event = draw_event(rng, unit, event_type, time, profile)
            kind = "regular"
            if rng.random() < trouble.late:
                behind = plan.graces[event_type] + math.floor(rng.uniform(3600, 6 * 3600))
                if unit in newest:  # a unit without an event yet has no stream time to be late against
                    event["time"] = format_time(newest[unit] - behind)
                    kind = "late"
            if kind == "regular":
                newest[unit] = max(newest.get(unit, time), time)
            while pending and pending[0][0] <= emitted:
                yield "duplicate", heapq.heappop(pending)[2], time
            yield kind, event, time
            emitted += 1
            if rng.random() < trouble.duplicate:
                heapq.heappush(pending, (emitted + rng.randint(1, 40), emitted, dict(event)))
            if rng.random() < trouble.invalid:
                yield "invalid", broken_copy(rng, event, profile), time
            if rng.random() < trouble.ignored:
                yield "ignored", unused_event(rng, plan.planner.leaves, time), time
        hour += 1
    while pending:
        yield "duplicate", heapq.heappop(pending)[2], end
