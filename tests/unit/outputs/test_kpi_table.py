"""The KPI table (``--kpis``): one row per unit and KPI with value, goal, red flag, score and status, and the pace."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from scorecard.core.definition import parse_scorecard
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from scorecard.outputs.kpi_table import format_number, pace_summary, print_kpi_report
from tests.unit.outputs.test_terminal import assert_safe, hostile_scorecard, report

SHOP = """
name: Shop
org: {id: shop, children: [{id: north, name: North store}, {id: south}]}
objectives: [{id: sell, perspective: financial}]
kpis:
  - {id: revenue, name: Revenue, unit: EUR, objective: sell, aggregation: sum, source: {event: order, field: amount},
     window: {kind: tumbling, size: 1d}, pace: none, goal: 1000, red_flag: 500}
  - {id: orders, objective: sell, aggregation: count, source: {event: order}, window: {kind: tumbling, size: 1d},
     pace: none, goal: 3, red_flag: 1}
"""


def _text(scorecard, document) -> str:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    print_kpi_report(Console(file=buffer, width=160, color_system=None), scorecard, document)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (0.0, "0"),
        (8.0, "8"),
        (-4.756, "-4.76"),
        (0.5, "0.5"),
        (999.999, "1000"),
        (1455169.07, "1,455,169"),
        (-2500.4, "-2,500"),
        (1e20, "1.000e+20"),
        (-1.7976931348623157e308, "-1.798e+308"),
    ],
)
def test_numbers_keep_their_magnitude_readable(value: float | None, text: str) -> None:
    assert format_number(value) == text


def test_rows_per_unit_and_kpi_with_value_goal_red_flag_score_and_status() -> None:
    scorecard = parse_scorecard(SHOP)
    events = [
        {"id": str(n), "type": "order", "unit": "north", "time": "2026-11-27T10:00:00Z", "fields": {"amount": 400.5}}
        for n in range(2)
    ]
    document = replay(scorecard, [json.dumps(e) for e in events]).evaluate()
    lines = [" ".join(line.split()) for line in _text(scorecard, document).splitlines()]
    assert lines[1] == "Unit KPI Value Goal Red flag Score Status"
    kpis = document["units"]["north"]["kpis"]
    revenue, orders = (f"{kpis[k]['score']:.1f} {kpis[k]['status']}" for k in ("revenue", "orders"))
    north = lines.index(f"North store north Revenue 801 EUR 1,000 500 {revenue}")  # 2 x 400.5
    assert lines[north + 1] == f"orders 2 3 1 {orders}"
    assert lines[north - 1] == ""  # a rule between units
    assert lines[lines.index("south Revenue 0 EUR 1,000 500 0.0 red") + 1] == "orders 0 3 1 1.7 red"
    assert lines[-1].startswith("events: 2 accepted")


def test_hostile_names_are_shown_as_written_and_never_act_on_the_terminal() -> None:
    text = _text(hostile_scorecard(), report())
    for shown in ("[/]sales\\x1b]0;pwned\\x07", "[bold]EUR\\x1b[5m", "leaf\\rX", "[red]Root\\x1b[31m"):
        assert shown in text
    assert_safe(text)


# A paced daily sum (f = the share of the day passed) beside an average, which is never paced.
PACED = """
name: Paced
org: {id: shop, children: [{id: north, name: "[bold]North\\x1b[2J"}]}
objectives: [{id: sell, perspective: financial}]
kpis:
  - {id: revenue, name: "[/]Revenue\\r", unit: EUR, objective: sell, aggregation: sum,
     source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}, pace: linear, goal: 1000,
     red_flag: 500}
  - {id: basket, name: Basket, unit: EUR, objective: sell, aggregation: avg, source: {event: order, field: amount},
     window: {kind: tumbling, size: 1d}, goal: 300, red_flag: 100}
"""
PACED_EVENTS = [
    {"id": "1", "type": "order", "unit": "north", "time": "2026-11-27T00:00:00Z", "fields": {"amount": 150}},
    {"id": "2", "type": "order", "unit": "north", "time": "2026-11-27T01:00:00Z", "fields": {"amount": 250}},
]


def _paced_lines(at: str) -> list[str]:
    scorecard = parse_scorecard(PACED)
    document = replay(scorecard, [json.dumps(e) for e in PACED_EVENTS]).evaluate(parse_time(at))
    text = _text(scorecard, document)
    assert_safe(text)
    return [" ".join(line.split()) for line in text.splitlines()]


NORTH = "[bold]North\\x1b[2J north"  # the unit's label, escaped, and its id
REVENUE = "[/]Revenue\\r 400 EUR"  # the KPI's name, escaped, and its value (150 + 250) with its unit


def test_a_paced_kpi_shows_elapsed_share_forecast_and_period_goal_in_the_pace_column() -> None:
    # 75% of the day: to date 750 and 375; 400 so far, 533.33 at this pace: amber, 10/3 + 10/3 x 33.33 / 500 = 3.6
    lines = _paced_lines("2026-11-27T18:00:00Z")
    assert lines[1] == "Unit KPI Value Goal Red flag Score Status Pace"
    pace = "75% elapsed, forecast 533.33, period goal 1,000"
    north = lines.index(f"{NORTH} {REVENUE} 750 375 3.6 amber {pace}")
    assert lines[north + 1] == "Basket 200 EUR 300 100 5.0 amber"  # not paced: no pace cell
    assert f"shop {REVENUE} 750 375 3.6 amber {pace}" in lines


def test_at_the_period_start_a_paced_kpi_has_no_score_and_no_forecast() -> None:
    lines = _paced_lines("2026-11-27T00:00:00Z")  # f = 0 (the replay's value holds the whole file's events)
    assert f"{NORTH} {REVENUE} 0 0 - no data 0% elapsed, forecast -, period goal 1,000" in lines


def test_a_report_without_paced_kpis_has_no_pace_column() -> None:
    scorecard = parse_scorecard(SHOP)
    document = replay(scorecard, []).evaluate(parse_time("2026-11-27T12:00:00Z"))
    assert " ".join(_text(scorecard, document).splitlines()[1].split()) == "Unit KPI Value Goal Red flag Score Status"


@pytest.mark.parametrize(
    ("result", "text"),
    [
        ({"elapsed": None, "forecast": None, "period_goal": 100.0}, ""),
        (
            {"elapsed": 0.4246, "forecast": 1455169.07, "period_goal": 1200000.0},
            "42% elapsed, forecast 1,455,169, period goal 1,200,000",
        ),
        ({"elapsed": 0.0, "forecast": None, "period_goal": 8.0}, "0% elapsed, forecast -, period goal 8"),
        ({"elapsed": 0.5, "forecast": 12.5, "period_goal": None}, "50% elapsed, forecast 12.5"),  # no own targets
        ({}, ""),
    ],
)
def test_pace_summary(result: dict[str, float | None], text: str) -> None:
    assert pace_summary(result) == text
