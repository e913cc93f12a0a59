"""The simulator behind ``scorecard simulate`` (``scorecard.simulator.Simulation``), without Kafka: history with
business hours, teams aimed red and green, a live stream at the asked rate whose adding-up KPIs keep realistic
volumes, a trend KPI that crosses its red flag in the first minutes, trouble at the asked rates, determinism."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
import pytest

from scorecard.core.definition import Scorecard, load_scorecard, parse_scorecard
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import ReplayResult, replay
from scorecard.core.timeutil import parse_time
from scorecard.simulator import SimulatedEvent, Simulation, Trouble
from tests.paths import REPO

START = parse_time("2026-11-25T10:00:00+01:00")  # a Wednesday morning in Paris
DAY = 86400


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(REPO / "examples" / "acme.yaml")


@pytest.fixture(scope="module")
def month(acme: Scorecard) -> tuple[Simulation, list[SimulatedEvent]]:
    """30 days of clean history, the demo's backfill."""
    simulation = Simulation(acme, start=START, backfill=30 * DAY, seed=7)
    return simulation, list(simulation.backfill())


def play(scorecard: Scorecard, events: Iterable[SimulatedEvent]) -> ReplayResult:
    return replay(scorecard, [orjson.dumps(item.event) for item in events])


def live(simulation: Simulation, rate: float, seconds: float) -> list[SimulatedEvent]:
    return list(itertools.takewhile(lambda item: item.at < simulation.start + seconds, simulation.live(rate)))


def test_history_follows_business_hours_on_weekdays(acme: Scorecard, month: tuple[Simulation, list[Any]]) -> None:
    _, events = month
    per_hour: Counter[tuple[bool, int]] = Counter()
    days: dict[bool, set[object]] = {True: set(), False: set()}
    for item in events:
        local = datetime.fromtimestamp(parse_time(item.event["time"]), acme.tz)
        weekday = local.weekday() < 5
        per_hour[(weekday, local.hour)] += 1
        days[weekday].add(local.date())

    def hourly(weekday: bool, hours: range) -> float:
        return sum(per_hour[(weekday, hour)] for hour in hours) / len(hours) / len(days[weekday])

    office, night = hourly(True, range(9, 17)), hourly(True, range(0, 5))
    assert office > 5 * night
    assert office > 1.5 * hourly(False, range(9, 17))  # weekends are about half as busy


def test_sibling_teams_are_red_and_green_on_every_shared_kpi(acme: Scorecard) -> None:
    tree = OrgTree.from_scorecard(acme)
    per_unit_targets = [kpi for kpi in acme.kpis if any(unit in tree and tree.is_leaf(unit) for unit in kpi.targets)]
    assert len(per_unit_targets) >= 5
    for seed in (7, 11):
        simulation = Simulation(acme, start=START, backfill=30 * DAY, seed=seed)
        document = play(acme, simulation.backfill()).evaluate(START)
        for kpi in per_unit_targets:
            statuses = {
                unit: document["units"][unit]["kpis"][kpi.id]["status"]
                for unit in simulation.plan.planner.homes[kpi.id]
            }
            assert "red" in statuses.values() and "green" in statuses.values(), (seed, kpi.id, statuses)


def test_trend_kpi_crosses_its_red_flag_within_the_first_two_minutes(
    acme: Scorecard, month: tuple[Simulation, list[SimulatedEvent]]
) -> None:
    simulation, history = month
    trend = simulation.trend
    assert trend is not None
    assert (trend.kpi, trend.unit) == ("line-availability-floor", "ops-plant-a")  # a min reacts at once
    assert 30 < trend.crosses_after < 120
    stream = live(simulation, 20, 180)

    def status_after(seconds: float) -> str:
        played = play(acme, history + [item for item in stream if item.at < START + seconds])
        status: str = played.evaluate(START + seconds)["units"][trend.unit]["kpis"][trend.kpi]["status"]
        return status

    assert status_after(0) == "green"
    assert status_after(trend.crosses_after - 20) != "red"
    assert status_after(trend.crosses_after + 20) == "red"
    assert status_after(180) == "red"


def test_live_rate_is_the_asked_rate_and_times_follow_the_clock(acme: Scorecard) -> None:
    simulation = Simulation(acme, start=START, seed=3, trouble=Trouble(duplicate=0.01, invalid=0.01))
    stream = live(simulation, 37.5, 60)
    assert len(stream) == 60 * 37.5
    assert all(START <= item.at < START + 60 for item in stream)
    assert [item.at for item in stream] == sorted(item.at for item in stream)
    regular = [item for item in stream if item.kind == "regular"]
    assert all(parse_time(item.event["time"]) == int(item.at) for item in regular)


def test_live_counts_and_sums_keep_their_daily_rates(acme: Scorecard, month: tuple[Simulation, list[Any]]) -> None:
    simulation, history = month
    before = play(acme, history).evaluate(START)
    stream = live(simulation, 100, 300)
    after = play(acme, history + stream).evaluate(START + 300)
    types = Counter(item.event["type"] for item in stream)
    assert types["order_completed"] < 10  # a month of orders is ~200 a day: 5 minutes add a handful
    assert types["csat_rated"] > 1000  # the rate is filled with types that averages read
    for unit in ("sales-emea", "sales-na", "sales-apac"):
        revenue = before["units"][unit]["kpis"]["revenue"]["value"], after["units"][unit]["kpis"]["revenue"]["value"]
        assert revenue[1] == pytest.approx(revenue[0], rel=0.02), unit
    for unit in ("support-l1", "support-l2"):
        status = before["units"][unit]["kpis"]["csat"]["status"], after["units"][unit]["kpis"]["csat"]["status"]
        assert status[0] == status[1], unit


def test_trouble_comes_at_the_asked_rates(acme: Scorecard) -> None:
    trouble = Trouble(duplicate=0.04, late=0.02, invalid=0.03)
    simulation = Simulation(acme, start=START, backfill=7 * DAY, seed=5, trouble=trouble)
    history = list(simulation.backfill())
    stream = live(simulation, 200, 100)
    for events in (history, stream):
        kinds = Counter(item.kind for item in events)
        regular = kinds["regular"] + kinds["late"]
        assert kinds["duplicate"] == pytest.approx(0.04 * regular, rel=0.25)
        assert kinds["late"] == pytest.approx(0.02 * regular, rel=0.25)
        assert kinds["invalid"] == pytest.approx(0.03 * regular, rel=0.25)
    counts = play(acme, history + stream).counts
    kinds = Counter(item.kind for item in history + stream)
    assert counts["invalid"] == kinds["invalid"]
    # a late event is not remembered, so its duplicate is judged late again rather than a duplicate
    assert counts["late"] >= kinds["late"]
    assert counts["duplicate"] + counts["late"] == kinds["duplicate"] + kinds["late"]
    assert counts["accepted"] == kinds["regular"]


def test_same_seed_and_start_same_events(acme: Scorecard) -> None:
    def run(seed: int, start: float) -> list[SimulatedEvent]:
        simulation = Simulation(acme, start=start, backfill=DAY, seed=seed, trouble=Trouble(0.01, 0.01, 0.01))
        return list(simulation.backfill()) + live(simulation, 50, 30)

    first = run(7, START)
    assert first == run(7, START)
    assert first != run(8, START)
    later = run(7, START + 3600)
    assert [item.at for item in later] != [item.at for item in first]


def test_live_without_backfill_and_a_definition_where_every_type_adds_up() -> None:
    scorecard = parse_scorecard(
        """
name: Counts only
org: {id: hq, children: [{id: a}, {id: b}]}
kpis:
  - {id: calls, aggregation: count, source: {event: call}, window: {kind: tumbling, size: 1d}, goal: 20, red_flag: 5}
  - {id: sales, aggregation: sum, source: {event: sale, field: amount}, window: {kind: calendar, period: month},
     goal: 1000, red_flag: 500}
"""
    )
    simulation = Simulation(scorecard, start=START, seed=1)
    assert simulation.all_filler and simulation.trend is None
    assert list(simulation.backfill()) == []
    stream = live(simulation, 10, 10)
    assert len(stream) == 100
    assert {item.event["type"] for item in stream} == {"call", "sale"}
