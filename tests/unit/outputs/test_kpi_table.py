"""The KPI table (``--kpis``): one row per unit and KPI with value, goal, red flag, score and status."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from scorecard.core.definition import parse_scorecard
from scorecard.core.replay import replay
from scorecard.outputs.kpi_table import format_number, print_kpi_report
from tests.unit.outputs.test_terminal import assert_safe, hostile_scorecard, report

SHOP = """
name: Shop
org: {id: shop, children: [{id: north, name: North store}, {id: south}]}
objectives: [{id: sell, perspective: financial}]
kpis:
  - {id: revenue, name: Revenue, unit: EUR, objective: sell, aggregation: sum, source: {event: order, field: amount},
     window: {kind: tumbling, size: 1d}, goal: 1000, red_flag: 500}
  - {id: orders, objective: sell, aggregation: count, source: {event: order}, window: {kind: tumbling, size: 1d},
     goal: 3, red_flag: 1}
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
