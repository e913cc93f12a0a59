"""``--trend-kpi`` on a paced sum or count (``scorecard.simulator.PacedTrend``): the simulated events, replayed and
evaluated at given times, turn the KPI's paced status red after the planned crossing and not before.

A lower-is-better count gets a burst of events, which crosses within the two-minute ramp even on a calendar month; a
higher-is-better sum gets a silence, which crosses once the elapsed share has caught up with the value to date:
minutes on a tumbling window of two hours, days on a month (docs/simulator.md)."""

from __future__ import annotations

import itertools

import orjson
import pytest

from scorecard.core.definition import Scorecard, load_scorecard, parse_scorecard
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from scorecard.simulator import SimulatedEvent, Simulation
from scorecard.simulator.paced_trend import PacedTrend
from tests.paths import REPO

START = parse_time("2026-11-25T09:30:00+01:00")  # a Wednesday; a quarter into a 2 h tumbling window (08:00Z-10:00Z)
PER_DAY = 20000.0  # enough orders in the window's first half hour that the value to date is the planned pace
DAY = 86400
DEFINITION = """
name: Paced trends
timezone: Europe/Paris
org: {id: hq, children: [{id: north}, {id: south}, {id: east}]}
kpis:
  - {id: incidents, aggregation: count, source: {event: incident, where: {severity: major}},
     window: {kind: calendar, period: month}, goal: 20, red_flag: 40}
  - {id: orders, aggregation: sum, source: {event: order, field: amount}, window: {kind: tumbling, size: 2h},
     goal: 2000, red_flag: 1000}
  - {id: rating, aggregation: avg, source: {event: rated, field: stars}, window: {kind: rolling, size: 1d, step: 1h},
     goal: 4, red_flag: 3}
"""


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    return parse_scorecard(DEFINITION)


def _run(scorecard: Scorecard, kpi: str, seconds: float) -> tuple[PacedTrend, list[SimulatedEvent]]:
    simulation = Simulation(scorecard, start=START, backfill=3 * DAY, events_per_day=PER_DAY, seed=7, trend_kpi=kpi)
    trend = simulation.trend
    assert isinstance(trend, PacedTrend)
    stream = itertools.takewhile(lambda item: item.at < START + seconds, simulation.live(2))
    return trend, [*simulation.backfill(), *stream]


def _status(scorecard: Scorecard, trend: PacedTrend, events: list[SimulatedEvent], seconds: float) -> str:
    """The trend KPI's status at its unit, ``seconds`` into the live run, from the events sent until then."""
    played = replay(scorecard, [orjson.dumps(item.event) for item in events if item.at < START + seconds])
    status: str = played.evaluate(START + seconds)["units"][trend.unit]["kpis"][trend.kpi]["status"]
    return status


def test_a_burst_drives_a_monthly_lower_is_better_count_red_within_the_ramp(scorecard: Scorecard) -> None:
    trend, events = _run(scorecard, "incidents", 240)
    assert trend.mode == "burst" and trend.extra > 0
    assert 0 < trend.crosses_after < trend.ramp
    burst = [e for e in events if e.at >= START and e.event["unit"] == trend.unit and e.event["type"] == "incident"]
    assert all(e.event["fields"]["severity"] == "major" for e in burst)  # every burst event counts
    assert _status(scorecard, trend, events, 0) != "red"
    assert _status(scorecard, trend, events, trend.crosses_after / 2) != "red"
    assert _status(scorecard, trend, events, trend.ramp) == "red"
    assert _status(scorecard, trend, events, 240) == "red"  # held: the value to date stays ahead of the pace


def test_a_silence_drives_a_higher_is_better_sum_on_a_two_hour_window_red_in_minutes(scorecard: Scorecard) -> None:
    simulation = Simulation(scorecard, start=START, backfill=3 * DAY, events_per_day=PER_DAY, trend_kpi="orders")
    probe = simulation.trend
    assert isinstance(probe, PacedTrend) and probe.mode == "silence"
    assert 60 < probe.crosses_after < 5400  # before the window ends at 10:00Z (5400 s after the start)
    trend, events = _run(scorecard, "orders", probe.crosses_after + 600)
    silent = [e for e in events if e.at >= START and e.event["unit"] == trend.unit and e.event["type"] == "order"]
    assert silent == []
    assert _status(scorecard, trend, events, 0) != "red"
    assert _status(scorecard, trend, events, trend.crosses_after * 0.8) != "red"
    assert _status(scorecard, trend, events, trend.crosses_after * 1.2) == "red"
    assert _status(scorecard, trend, events, trend.crosses_after + 600) == "red"


def test_acme_revenue_would_need_days_of_silence_and_urgent_tickets_burst_in_minutes() -> None:
    acme = load_scorecard(REPO / "examples" / "acme.yaml")
    revenue = Simulation(acme, start=START, backfill=30 * DAY, seed=7, trend_kpi="revenue").trend
    assert isinstance(revenue, PacedTrend) and revenue.mode == "silence"
    assert revenue.crosses_after > DAY  # a month's value to date cannot fall behind its pace within minutes
    assert revenue.describe("EUR").endswith(" days into the live run") and "its order_completed events stop" in (
        revenue.describe("EUR")
    )
    tickets = Simulation(acme, start=START, backfill=30 * DAY, seed=7, trend_kpi="urgent-tickets").trend
    assert isinstance(tickets, PacedTrend) and tickets.mode == "burst" and tickets.crosses_after < tickets.ramp


@pytest.mark.parametrize(
    ("kpi", "message"),
    [("nope", "no KPI 'nope' in the definition"), ("rating", None)],
)
def test_a_trend_kpi_is_checked(scorecard: Scorecard, kpi: str, message: str | None) -> None:
    if message is None:  # an average is trended as before, by moving its values
        trend = Simulation(scorecard, start=START, seed=7, trend_kpi=kpi).trend
        assert trend is not None and not isinstance(trend, PacedTrend) and trend.kpi == kpi
        return
    with pytest.raises(ValueError, match=message):
        Simulation(scorecard, start=START, seed=7, trend_kpi=kpi)
