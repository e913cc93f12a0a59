"""Roll-up, values, scores and the JSON report: every rule with its numbers written out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from scorecard.core.aggregates import SumCount
from scorecard.core.definition import Scorecard, parse_scorecard
from scorecard.core.engine import Engine, Outcome, UnitState
from scorecard.core.evaluation import buckets_at, dumps, evaluate, report, score_units, subtree_states
from scorecard.core.events import Event
from scorecard.core.hierarchy import OrgTree
from scorecard.core.scoring import SCORE_GOAL
from scorecard.core.timeutil import parse_time

Row = tuple[str, str, str, dict[str, Any]]  # unit, type, RFC 3339 time, fields


def own_states(scorecard: Scorecard, rows: list[Row]) -> dict[str, dict[tuple[str, int], Any]]:
    engine = Engine(scorecard)
    states: dict[str, UnitState] = {}
    for number, (unit, event_type, time, fields) in enumerate(rows):
        event = Event(f"e{number}", event_type, unit, parse_time(time), fields)
        result = engine.process(states.setdefault(unit, UnitState()), event)
        assert result.outcome == Outcome.ACCEPTED, (event, result)
    return {unit: state.aggregates for unit, state in states.items()}


def evaluate_rows(text: str, rows: list[Row], at: str, counts: dict[str, int] | None = None) -> dict[str, Any]:
    scorecard = parse_scorecard(text)
    tree = OrgTree.from_scorecard(scorecard)
    return evaluate(scorecard, tree, own_states(scorecard, rows), parse_time(at), counts or {})


def values(document: dict[str, Any], kpi: str) -> dict[str, Any]:
    return {unit: result["kpis"][kpi]["value"] for unit, result in document["units"].items()}


TREE = """
name: Tree
lateness: 30d
org:
  id: root
  children:
    - id: a
      children: [{id: a1}]
    - id: b
kpis:
  - {id: total, aggregation: sum, source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}}
  - {id: orders, aggregation: count, source: {event: order}, window: {kind: tumbling, size: 1d}}
  - {id: basket, aggregation: avg, source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}}
"""


def test_event_counts_for_its_unit_and_ancestors_never_descendants() -> None:
    rows: list[Row] = [
        ("a1", "order", "2026-11-27T09:00:00Z", {"amount": 10}),
        ("a1", "order", "2026-11-27T09:01:00Z", {"amount": 20}),
        ("a", "order", "2026-11-27T09:02:00Z", {"amount": 60}),
        ("b", "order", "2026-11-27T09:03:00Z", {"amount": 100}),
    ]
    document = evaluate_rows(TREE, rows, "2026-11-27T12:00:00Z")
    assert values(document, "total") == {"root": 190.0, "a": 90.0, "a1": 30.0, "b": 100.0}
    assert values(document, "orders") == {"root": 4.0, "a": 3.0, "a1": 2.0, "b": 1.0}
    # a's average is over the 3 events of its subtree, 90 / 3 = 30, not the mean of averages (15 + 60) / 2 = 37.5
    assert values(document, "basket") == {"root": 47.5, "a": 30.0, "a1": 15.0, "b": 100.0}


def test_average_of_a_subtree_weighs_every_event_alike_at_every_level() -> None:
    # Uneven counts at each level, so that any average of averages gives another number than the rule.
    rows: list[Row] = [
        ("a1", "order", "2026-11-27T09:00:00Z", {"amount": 1}),
        ("a1", "order", "2026-11-27T09:01:00Z", {"amount": 2}),
        ("a1", "order", "2026-11-27T09:02:00Z", {"amount": 3}),
        ("a1", "order", "2026-11-27T09:03:00Z", {"amount": 6}),  # a1: 12 / 4 = 3
        ("a", "order", "2026-11-27T09:04:00Z", {"amount": 48}),  # a: (12 + 48) / 5 = 12, not (3 + 48) / 2 = 25.5
        ("b", "order", "2026-11-27T09:05:00Z", {"amount": 100}),
        ("b", "order", "2026-11-27T09:06:00Z", {"amount": 200}),  # b: 300 / 2 = 150
    ]
    document = evaluate_rows(TREE, rows, "2026-11-27T12:00:00Z")
    # root: (60 + 300) / 7, neither the mean of its children's averages (12 + 150) / 2 = 81 nor of all four units'
    assert values(document, "basket") == {"root": 360 / 7, "a": 12.0, "a1": 3.0, "b": 150.0}
    assert values(document, "orders") == {"root": 7.0, "a": 5.0, "a1": 4.0, "b": 2.0}


def test_average_of_a_subtree_ignores_units_without_events_instead_of_counting_them_as_zero() -> None:
    rows: list[Row] = [("a1", "order", "2026-11-27T09:00:00Z", {"amount": 7})]
    document = evaluate_rows(TREE, rows, "2026-11-27T12:00:00Z")
    assert values(document, "basket") == {"root": 7.0, "a": 7.0, "a1": 7.0, "b": None}


ALL_KINDS = """
name: Kinds
lateness: 30d
org: {id: solo}
kpis:
  - {id: k-sum, aggregation: sum, source: {event: x, field: v}, window: {kind: tumbling, size: 1d},
     goal: 100, red_flag: 50}
  - {id: k-count, aggregation: count, source: {event: x}, window: {kind: tumbling, size: 1d}}
  - {id: k-avg, aggregation: avg, source: {event: x, field: v}, window: {kind: tumbling, size: 1d},
     goal: 1, red_flag: 0}
  - {id: k-min, aggregation: min, source: {event: x, field: v}, window: {kind: tumbling, size: 1d}}
  - {id: k-max, aggregation: max, source: {event: x, field: v}, window: {kind: tumbling, size: 1d}}
  - {id: k-nps, aggregation: nps, source: {event: survey, field: score}, window: {kind: tumbling, size: 1d}}
  - id: k-refunds
    aggregation: ratio
    numerator: {event: refund, field: amount, aggregation: sum}
    denominator: {event: x, field: v, aggregation: sum}
    multiplier: 100
    window: {kind: tumbling, size: 1d}
  - id: k-on-time
    aggregation: ratio
    numerator: {event: ship, aggregation: count, where: {on_time: true}}
    denominator: {event: ship, aggregation: count}
    multiplier: 100
    window: {kind: tumbling, size: 1d}
"""


def kpi_values(document: dict[str, Any], unit: str = "solo") -> dict[str, Any]:
    return {kpi: result["value"] for kpi, result in document["units"][unit]["kpis"].items()}


def test_empty_window_sum_and_count_are_zero_the_others_have_no_value() -> None:
    document = evaluate_rows(ALL_KINDS, [], "2026-11-27T12:00:00Z")
    assert kpi_values(document) == {
        "k-sum": 0.0,
        "k-count": 0.0,
        "k-avg": None,
        "k-min": None,
        "k-max": None,
        "k-nps": None,
        "k-refunds": None,
        "k-on-time": None,
    }
    kpis = document["units"]["solo"]["kpis"]
    assert (kpis["k-sum"]["score"], kpis["k-sum"]["status"]) == (0.0, "red")  # 0 is a value, and a bad one
    assert (kpis["k-avg"]["score"], kpis["k-avg"]["status"]) == (None, "no_data")


def test_values_of_each_aggregation() -> None:
    rows: list[Row] = [
        ("solo", "x", "2026-11-27T08:00:00Z", {"v": 200}),
        ("solo", "x", "2026-11-27T08:01:00Z", {"v": 300}),
        ("solo", "x", "2026-11-27T08:02:00Z", {"v": 500}),
        ("solo", "refund", "2026-11-27T08:03:00Z", {"amount": 25}),
        ("solo", "ship", "2026-11-27T08:04:00Z", {"on_time": True}),
        ("solo", "ship", "2026-11-27T08:05:00Z", {"on_time": True}),
        ("solo", "ship", "2026-11-27T08:06:00Z", {"on_time": False}),
        ("solo", "ship", "2026-11-27T08:07:00Z", {"on_time": True}),
    ]
    rows += [("solo", "survey", "2026-11-27T09:00:00Z", {"score": s}) for s in (10, 9, 8, 7, 6, 0, 10, 9, 3, 5)]
    document = evaluate_rows(ALL_KINDS, rows, "2026-11-27T12:00:00Z")
    assert kpi_values(document) == {
        "k-sum": 1000.0,
        "k-count": 3.0,
        "k-avg": 1000 / 3,
        "k-min": 200.0,
        "k-max": 500.0,
        "k-nps": 0.0,  # promoters 10, 9, 10, 9 (4); detractors 6, 0, 3, 5 (4); 10 responses
        "k-refunds": 2.5,  # 100 * 25 / 1000
        "k-on-time": 75.0,  # 100 * 3 / 4
    }


def test_nps_rolls_up_as_counts() -> None:
    text = (
        TREE
        + "  - {id: nps, aggregation: nps, source: {event: survey, field: score}, window: {kind: tumbling, size: 1d}}\n"
    )
    rows: list[Row] = [("a1", "survey", "2026-11-27T09:00:00Z", {"score": s}) for s in (10, 9, 8, 7, 6, 0)]
    rows += [("b", "survey", "2026-11-27T09:00:00Z", {"score": s}) for s in (10, 10, 9, 3)]
    document = evaluate_rows(text, rows, "2026-11-27T12:00:00Z")
    # a1: 2 promoters, 2 detractors of 6 -> 0; b: 3 and 1 of 4 -> 50; root: 5 and 3 of 10 -> 20
    assert values(document, "nps") == {"root": 20.0, "a": 0.0, "a1": 0.0, "b": 50.0}


def test_ratio_with_a_zero_denominator_has_no_value() -> None:
    rows: list[Row] = [("solo", "refund", "2026-11-27T08:03:00Z", {"amount": 25})]
    document = evaluate_rows(ALL_KINDS, rows, "2026-11-27T12:00:00Z")
    assert kpi_values(document)["k-refunds"] is None
    assert document["units"]["solo"]["kpis"]["k-refunds"]["status"] == "no_data"


ROLLING = """
name: Rolling
lateness: 30d
org: {id: solo}
kpis:
  - {id: r, aggregation: sum, source: {event: x, field: v}, window: {kind: rolling, size: 3d, step: 1d}}
"""


@pytest.mark.parametrize(
    ("at", "value", "start", "end"),
    [
        ("2026-11-05T12:00:00Z", 11100.0, "2026-11-03T00:00:00Z", "2026-11-06T00:00:00Z"),
        ("2026-11-04T00:00:00Z", 1110.0, "2026-11-02T00:00:00Z", "2026-11-05T00:00:00Z"),
        ("2026-11-03T23:59:59Z", 111.0, "2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z"),
        ("2026-11-07T12:00:00Z", 10000.0, "2026-11-05T00:00:00Z", "2026-11-08T00:00:00Z"),
        ("2026-11-08T00:00:00Z", 0.0, "2026-11-06T00:00:00Z", "2026-11-09T00:00:00Z"),
    ],
)
def test_rolling_window_merges_exactly_size_over_step_buckets(at: str, value: float, start: str, end: str) -> None:
    rows: list[Row] = [("solo", "x", f"2026-11-0{1 + i}T12:00:00Z", {"v": 10**i}) for i in range(5)]
    document = evaluate_rows(ROLLING, rows, at)
    result = document["units"]["solo"]["kpis"]["r"]
    assert (result["value"], result["window"]) == (value, {"start": start, "end": end})


def test_rolling_buckets_at() -> None:
    scorecard = parse_scorecard(ROLLING)
    day = 86400
    t = parse_time("2026-11-05T12:00:00Z")
    newest = int(t) // day * day
    assert buckets_at(scorecard, t) == {"r": (newest - 2 * day, newest - day, newest)}


PARIS = """
name: Paris
timezone: Europe/Paris
lateness: 30d
org: {id: solo}
kpis:
  - {id: m, aggregation: sum, source: {event: x, field: v}, window: {kind: calendar, period: month}}
"""


@pytest.mark.parametrize(
    ("at", "value", "start", "end"),
    [
        # November in Paris (UTC+1) runs from 2026-10-31T23:00Z to 2026-11-30T23:00Z
        ("2026-11-15T12:00:00Z", 110.0, "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z"),
        # October began under summer time (UTC+2)
        ("2026-10-31T22:59:59Z", 1.0, "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
        ("2026-11-30T23:00:00Z", 1000.0, "2026-11-30T23:00:00Z", "2026-12-31T23:00:00Z"),
    ],
)
def test_calendar_month_boundary_follows_the_scorecard_timezone(at: str, value: float, start: str, end: str) -> None:
    rows: list[Row] = [
        ("solo", "x", "2026-10-31T22:30:00Z", {"v": 1}),  # Oct 31, 23:30 in Paris
        ("solo", "x", "2026-10-31T23:30:00Z", {"v": 10}),  # Nov 1, 00:30 in Paris
        ("solo", "x", "2026-11-30T22:59:59Z", {"v": 100}),  # Nov 30, 23:59:59 in Paris
        ("solo", "x", "2026-11-30T23:00:00Z", {"v": 1000}),  # Dec 1, 00:00 in Paris
    ]
    document = evaluate_rows(PARIS, rows, at)
    result = document["units"]["solo"]["kpis"]["m"]
    assert (result["value"], result["window"]) == (value, {"start": start, "end": end})


def test_window_value_includes_accepted_events_timed_after_the_evaluation_time() -> None:
    rows: list[Row] = [
        ("solo", "x", "2026-11-27T08:00:00Z", {"v": 1}),
        ("solo", "x", "2026-11-27T20:00:00Z", {"v": 2}),
    ]
    document = evaluate_rows(
        ROLLING.replace("rolling, size: 3d, step: 1d", "tumbling, size: 1d"), rows, "2026-11-27T12:00:00Z"
    )
    assert kpi_values(document) == {"r": 3.0}


ROLLUP = """
name: Rollup
lateness: 30d
org:
  id: root
  children:
    - {id: a, weight: 1, children: [{id: a1}]}
    - {id: b, weight: 3}
    - {id: c, weight: 5}
kpis:
  - id: quality
    aggregation: avg
    source: {event: check, field: v}
    window: {kind: tumbling, size: 1d}
    targets:
      a: {goal: 10, red_flag: 5}
      b: {goal: 10, red_flag: 5}
      c: {goal: 10, red_flag: 5}
"""


def test_goal_less_unit_scores_as_weighted_mean_of_children_ignoring_those_without_score() -> None:
    rows: list[Row] = [
        ("a1", "check", "2026-11-27T08:00:00Z", {"v": 15}),  # a: value 15 >= goal + d: score 10
        ("b", "check", "2026-11-27T08:00:00Z", {"v": 5}),  # b: on the red flag: score 10/3
    ]  # c: no events, no score: ignored rather than counted as 0
    document = evaluate_rows(ROLLUP, rows, "2026-11-27T12:00:00Z")
    kpi = {unit: result["kpis"]["quality"] for unit, result in document["units"].items()}
    # root: (10 * 1 + 10/3 * 3) / (1 + 3) = 5.0, amber; its value (avg over its subtree) is still reported
    assert kpi["root"] == {
        "value": 10.0,
        "goal": None,
        "red_flag": None,
        "period_goal": None,
        "period_red_flag": None,
        "elapsed": None,  # an average is not paced
        "forecast": None,
        "score": 5.0,
        "status": "amber",
        "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-11-28T00:00:00Z"},
    }
    assert (kpi["a"]["score"], kpi["a"]["status"], kpi["a"]["goal"]) == (10.0, "green", 10.0)
    assert (kpi["b"]["score"], kpi["b"]["status"]) == (10 / 3, "amber")
    assert (kpi["c"]["value"], kpi["c"]["score"], kpi["c"]["status"]) == (None, None, "no_data")
    # a1 has no goal and no children: a value but no score
    assert (kpi["a1"]["value"], kpi["a1"]["score"], kpi["a1"]["status"]) == (15.0, None, "no_data")


def test_goal_less_status_thresholds_follow_the_score() -> None:
    rows: list[Row] = [
        ("a1", "check", "2026-11-27T08:00:00Z", {"v": 15}),
        ("b", "check", "2026-11-27T08:00:00Z", {"v": 0}),
    ]
    document = evaluate_rows(ROLLUP, rows, "2026-11-27T12:00:00Z")
    root = document["units"]["root"]["kpis"]["quality"]
    assert (root["score"], root["status"]) == (2.5, "red")  # (10 * 1 + 0 * 3) / 4
    rows = [("a1", "check", "2026-11-27T08:00:00Z", {"v": 10})]
    root = evaluate_rows(ROLLUP, rows, "2026-11-27T12:00:00Z")["units"]["root"]["kpis"]["quality"]
    assert (root["score"], root["status"]) == (SCORE_GOAL, "green")  # only a scores; exactly on its goal


PERSPECTIVES = """
name: Perspectives
lateness: 30d
perspectives:
  - {id: money, weight: 2}
  - {id: people, weight: 1}
  - {id: empty, weight: 4}
objectives:
  - {id: earn, perspective: money}
  - {id: grow, perspective: people}
org: {id: solo}
kpis:
  - {id: k1, objective: earn, weight: 1, aggregation: avg, source: {event: k1, field: v},
     window: &day {kind: tumbling, size: 1d}, goal: 10, red_flag: 5}
  - {id: k2, objective: earn, weight: 3, aggregation: avg, source: {event: k2, field: v}, window: *day,
     goal: 10, red_flag: 5}
  - {id: k3, objective: grow, aggregation: avg, source: {event: k3, field: v}, window: *day, goal: 10, red_flag: 5}
  - {id: k4, objective: grow, aggregation: avg, source: {event: k4, field: v}, window: *day, goal: 10, red_flag: 5}
  - {id: k5, aggregation: avg, source: {event: k5, field: v}, window: *day, goal: 10, red_flag: 5}
"""


def test_perspective_and_overall_scores_are_weighted_means_ignoring_missing() -> None:
    rows: list[Row] = [
        ("solo", "k1", "2026-11-27T08:00:00Z", {"v": 20}),  # score 10
        ("solo", "k2", "2026-11-27T08:00:00Z", {"v": 0}),  # score 0
        ("solo", "k3", "2026-11-27T08:00:00Z", {"v": 10}),  # score 20/3; k4 has no data
        ("solo", "k5", "2026-11-27T08:00:00Z", {"v": 0}),  # in no perspective: counts nowhere
    ]
    unit = evaluate_rows(PERSPECTIVES, rows, "2026-11-27T12:00:00Z")["units"]["solo"]
    money = (10 * 1 + 0 * 3) / 4  # 2.5
    people = 20 / 3
    assert unit["perspectives"] == {"money": money, "people": people, "empty": None}
    assert unit["score"] == pytest.approx((money * 2 + people * 1) / 3, abs=1e-12)  # 35/9; "empty" ignored
    assert unit["status"] == "amber"


def test_unit_without_any_score_has_no_score_and_no_data() -> None:
    unit = evaluate_rows(PERSPECTIVES, [], "2026-11-27T12:00:00Z")["units"]["solo"]
    assert unit["score"] is None
    assert unit["status"] == "no_data"
    assert unit["perspectives"] == {"money": None, "people": None, "empty": None}


def test_report_shape_and_order() -> None:
    counts = {"accepted": 4, "late": 1}
    document = evaluate_rows(TREE, [], "2026-11-27T12:00:00Z", counts)
    assert list(document) == ["at", "events", "units"]
    assert document["at"] == "2026-11-27T12:00:00Z"
    assert document["events"] == {"accepted": 4, "duplicate": 0, "late": 1, "invalid": 0, "ignored": 0}
    assert list(document["events"]) == ["accepted", "duplicate", "late", "invalid", "ignored"]
    assert list(document["units"]) == ["root", "a", "a1", "b"]  # definition pre-order
    unit = document["units"]["a"]
    assert list(unit) == ["score", "status", "perspectives", "kpis"]
    assert list(unit["perspectives"]) == ["financial", "customer", "internal_process", "learning_growth"]
    assert list(unit["kpis"]) == ["total", "orders", "basket"]
    assert list(unit["kpis"]["total"]) == [
        "value",
        "goal",
        "red_flag",
        "period_goal",
        "period_red_flag",
        "elapsed",
        "forecast",
        "score",
        "status",
        "window",
    ]
    assert dumps(document).endswith(b"}\n")


def test_report_from_subtree_states_alone_equals_evaluate() -> None:
    scorecard = parse_scorecard(TREE)
    tree = OrgTree.from_scorecard(scorecard)
    rows: list[Row] = [
        ("a1", "order", "2026-11-27T09:00:00Z", {"amount": 10}),
        ("b", "order", "2026-11-27T09:00:00Z", {"amount": 5}),
    ]
    own = own_states(scorecard, rows)
    at = parse_time("2026-11-27T12:00:00Z")
    subtree = subtree_states(scorecard, tree, own, buckets_at(scorecard, at))
    assert set(subtree) == {"root", "a", "a1", "b"}
    assert subtree["root"][("total", int(at) // 86400 * 86400)] == SumCount(15_000_000, 2)
    assert own["a1"][("total", int(at) // 86400 * 86400)] == SumCount(10_000_000, 1)  # inputs untouched
    counts = {"accepted": 2}
    assert report(scorecard, tree, subtree, at, counts) == evaluate(scorecard, tree, own, at, counts)
    assert score_units(scorecard, tree, subtree, at)["root"].kpis["total"].value == 15.0


def test_times_before_year_1000_are_written_with_four_digits() -> None:
    document = evaluate_rows(TREE, [], "0999-06-15T12:00:00Z")
    assert document["at"] == "0999-06-15T12:00:00Z"
    assert document["units"]["root"]["kpis"]["total"]["window"] == {
        "start": "0999-06-15T00:00:00Z",
        "end": "0999-06-16T00:00:00Z",
    }
