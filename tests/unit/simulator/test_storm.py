"""The month-start storm, replayed: a month of steady simulated events evaluated every six hours.

Before time-aware targets a period-to-date sum started every month red and stayed red for days. Here the simulator
(steady teams, business hours, quieter weekends) produces November 2026 for ACME, the engine takes the events in
arrival order, and the scorecard is evaluated every six hours as the stream would have shown it then (only the
events that had arrived). A paced KPI of a team that ends the month green is never red once 10% of the month has
passed, though judged against the full-period goal it would have been red for days. The times are fixed, so the
test does not depend on the day it runs; ``tests/integration/test_storm_alerts.py`` feeds the same evaluations to
the generated alert rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from typing import Any

import orjson
import pytest

from scorecard.core.dedupe import ReplayIds
from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.core.engine import OUTCOMES, Engine, UnitState
from scorecard.core.evaluation import evaluate
from scorecard.core.timeutil import parse_time
from scorecard.simulator import Simulation
from tests.paths import ACME

MONTH_START = parse_time("2026-11-01T00:00:00+01:00")  # ACME's timezone is Europe/Paris
MONTH_END = parse_time("2026-12-01T00:00:00+01:00")
EVERY = 6 * 3600
MONTHLY_PACED = ("revenue", "training-hours")  # the sum KPIs of ACME on a calendar month
MIN_ELAPSED = 0.1

Evaluations = list[tuple[float, dict[str, Any]]]


@cache
def month_of_evaluations(seed: int = 3) -> tuple[Scorecard, Evaluations]:
    """(time, report) every six hours of November 2026 and at its last second, from the events arrived by then."""
    scorecard = load_scorecard(ACME)
    simulation = Simulation(scorecard, start=MONTH_END, backfill=MONTH_END - MONTH_START, seed=seed)
    engine = Engine(scorecard)
    states = {unit: UnitState(seen=ReplayIds()) for unit in engine.tree.units}
    counts = dict.fromkeys((o.value for o in OUTCOMES), 0)
    times: Iterator[float] = iter([*range(int(MONTH_START) + EVERY, int(MONTH_END), EVERY), MONTH_END - 1])
    reports: Evaluations = []
    upcoming: float | None = next(times)

    def report_until(limit: float) -> None:
        nonlocal upcoming
        while upcoming is not None and upcoming <= limit:
            own = {unit: state.aggregates for unit, state in states.items()}
            reports.append((upcoming, evaluate(scorecard, engine.tree, own, upcoming, counts)))
            upcoming = next(times, None)

    for item in simulation.backfill():
        report_until(item.at)  # the evaluations before this event arrived
        counts[engine.process_raw(states.__getitem__, orjson.dumps(item.event)).outcome.value] += 1
    report_until(MONTH_END)
    return scorecard, reports


def green_at_month_end() -> list[tuple[str, str]]:
    """(unit, KPI) of the monthly paced KPIs that end November green at a unit with targets."""
    _, reports = month_of_evaluations()
    final = reports[-1][1]["units"]
    return [
        (unit, kpi)
        for unit, result in final.items()
        for kpi in MONTHLY_PACED
        if result["kpis"][kpi]["status"] == "green" and result["kpis"][kpi]["period_goal"] is not None
    ]


def test_the_month_is_evaluated_every_six_hours_from_its_start() -> None:
    _, reports = month_of_evaluations()
    assert len(reports) == 30 * 4  # 119 six-hour marks after the start, and the last second
    revenue = [r["units"]["sales"]["kpis"]["revenue"] for _, r in reports]
    assert revenue[0]["elapsed"] == pytest.approx(1 / 120)
    assert revenue[-1]["elapsed"] == pytest.approx(1.0, abs=1e-6)
    assert all(a["value"] <= b["value"] for a, b in itertools.pairwise(revenue))  # only what had arrived by then


def test_a_paced_kpi_that_ends_green_is_never_red_after_the_first_tenth() -> None:
    _, reports = month_of_evaluations()
    checked = green_at_month_end()
    assert len(checked) >= 3, checked
    storm = 0
    for unit, kpi in checked:
        for at, report in reports:
            result = report["units"][unit]["kpis"][kpi]
            if result["elapsed"] >= MIN_ELAPSED:
                assert result["status"] != "red", (unit, kpi, at, result)
            # judged against the full month's red flag, as before, the early days would have been red
            storm += result["value"] < result["period_red_flag"] and result["elapsed"] < MIN_ELAPSED
    assert storm >= len(checked), "every green team would have started the month red without pacing"
