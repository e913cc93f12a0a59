"""Time-aware targets: phased schedules (step, linear, unit overrides, before the first entry), paced scores and
thresholds, f = 0, forecasts, the report fields, the file default pace, and validation naming file, line and field."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecard.core.definition import DefinitionError, parse_scorecard
from scorecard.core.pace import LINEAR, Weekly
from scorecard.core.schedule import Schedule, ScheduleEntry
from scorecard.core.scoring import score
from scorecard.core.targets import judge
from scorecard.core.timeutil import parse_time
from tests.unit.core.test_evaluation import Row, evaluate_rows

BERLIN = ZoneInfo("Europe/Berlin")

PACED = """
name: Paced
timezone: Europe/Berlin
lateness: 40d
org:
  id: root
  children: [{id: a}, {id: b}]
kpis:
  - id: revenue
    aggregation: sum
    source: {event: sale, field: amount}
    window: {kind: calendar, period: month}
    goal: 3000
    red_flag: 1500
  - id: sales
    aggregation: count
    source: {event: sale}
    window: {kind: calendar, period: month}
    pace: none
    goal: 30
    red_flag: 15
  - id: basket
    aggregation: avg
    source: {event: sale, field: amount}
    window: {kind: calendar, period: month}
    goal: 100
    red_flag: 50
"""

# November 2026 in Berlin has 30 days of 24 hours: at Nov 16 00:00 local, f = 15 / 30 = 0.5 exactly.
HALF_NOVEMBER = "2026-11-15T23:00:00Z"


def _kpi(document: dict[str, Any], unit: str, kpi: str) -> dict[str, Any]:
    result: dict[str, Any] = document["units"][unit]["kpis"][kpi]
    return result


def test_a_sum_on_pace_is_green_halfway_through_the_month() -> None:
    rows: list[Row] = [("a", "sale", "2026-11-10T10:00:00Z", {"amount": 1600})]
    revenue = _kpi(evaluate_rows(PACED, rows, HALF_NOVEMBER), "a", "revenue")
    assert revenue["elapsed"] == 0.5
    assert (revenue["goal"], revenue["red_flag"]) == (1500.0, 750.0)  # judged to date
    assert (revenue["period_goal"], revenue["period_red_flag"]) == (3000.0, 1500.0)
    assert revenue["forecast"] == 3200.0
    assert revenue["status"] == "green"
    assert revenue["score"] == score(3200.0, 3000, 1500)
    assert list(revenue)[:8] == [
        "value", "goal", "red_flag", "period_goal", "period_red_flag", "elapsed", "forecast", "score"
    ]  # fmt: skip


def test_unpaced_kpis_keep_their_full_period_judgement() -> None:
    rows: list[Row] = [("a", "sale", "2026-11-10T10:00:00Z", {"amount": 1600})]
    document = evaluate_rows(PACED, rows, HALF_NOVEMBER)
    sales, basket = _kpi(document, "a", "sales"), _kpi(document, "a", "basket")
    assert (sales["goal"], sales["elapsed"], sales["forecast"], sales["status"]) == (30.0, None, None, "red")
    assert (basket["goal"], basket["period_goal"], basket["elapsed"], basket["forecast"]) == (100.0, 100.0, None, None)


def test_at_the_period_start_a_paced_kpi_has_its_value_but_no_score() -> None:
    rows: list[Row] = [("a", "sale", "2026-10-31T23:00:00Z", {"amount": 10})]  # exactly Nov 1 00:00 in Berlin
    revenue = _kpi(evaluate_rows(PACED, rows, "2026-10-31T23:00:00Z"), "a", "revenue")
    assert revenue["value"] == 10.0 and revenue["elapsed"] == 0.0
    assert (revenue["score"], revenue["status"], revenue["forecast"]) == (None, "no_data", None)
    assert (revenue["goal"], revenue["red_flag"], revenue["period_goal"]) == (0.0, 0.0, 3000.0)


def test_a_goal_less_parent_still_gets_elapsed_and_forecast() -> None:
    text = PACED.replace("    goal: 3000\n    red_flag: 1500\n", "    targets: {a: {goal: 3000, red_flag: 1500}}\n")
    rows: list[Row] = [("a", "sale", "2026-11-10T10:00:00Z", {"amount": 1600})]
    root = _kpi(evaluate_rows(text, rows, HALF_NOVEMBER), "root", "revenue")
    assert (root["goal"], root["period_goal"], root["elapsed"], root["forecast"]) == (None, None, 0.5, 3200.0)
    assert root["status"] == "green"  # from a, the only child with a goal


def test_file_default_pace_applies_to_sums_and_counts_only() -> None:
    text = PACED.replace("lateness: 40d\n", "lateness: 40d\ndefaults: {pace: {days: [mon, tue, wed, thu, fri]}}\n")
    scorecard = parse_scorecard(text)
    assert scorecard.kpi("revenue").pace_profile == Weekly(frozenset(range(5)))
    assert scorecard.kpi("sales").pace_profile is None  # its own pace: none wins
    assert scorecard.kpi("basket").pace_profile is None  # an average is never paced
    assert parse_scorecard(PACED).kpi("revenue").pace_profile == LINEAR


SCHEDULED = """
name: Phased
timezone: Europe/Berlin
org:
  id: root
  children: [{id: a}, {id: b}]
kpis:
  - id: nps
    aggregation: nps
    source: {event: survey, field: score}
    window: {kind: calendar, period: quarter}
    targets_schedule:
      - {from: 2026-01-01, goal: 20, red_flag: 0}
      - {from: 2026-10-01, goal: 50, red_flag: 30}
    targets:
      b:
        interpolate: linear
        targets_schedule:
          - {from: 2026-07-01, goal: 10, red_flag: 0}
          - {from: 2027-07-01, goal: 30, red_flag: 20}
"""


def test_step_schedule_gives_the_pair_at_the_windows_last_instant() -> None:
    rows: list[Row] = [("a", "survey", "2026-09-30T10:00:00Z", {"score": 9})]
    q3 = _kpi(evaluate_rows(SCHEDULED, rows, "2026-09-30T12:00:00Z"), "a", "nps")
    assert (q3["goal"], q3["red_flag"]) == (20.0, 0.0)
    q4 = _kpi(evaluate_rows(SCHEDULED, rows, "2026-10-01T12:00:00Z"), "a", "nps")
    assert (q4["goal"], q4["red_flag"], q4["elapsed"]) == (50.0, 30.0, None)  # an NPS is not paced


def test_before_the_first_entry_a_unit_has_no_targets() -> None:
    rows: list[Row] = [("a", "survey", "2025-11-10T10:00:00Z", {"score": 9})]
    document = evaluate_rows(SCHEDULED, rows, "2025-11-10T12:00:00Z")
    a = _kpi(document, "a", "nps")
    assert (a["goal"], a["period_goal"], a["score"], a["status"]) == (None, None, None, "no_data")


def test_a_unit_override_schedule_interpolates_linearly() -> None:
    schedule = parse_scorecard(SCHEDULED).schedule_for("nps", "b")
    assert isinstance(schedule, Schedule)
    first, last = parse_time("2026-07-01T00:00:00+02:00"), parse_time("2027-07-01T00:00:00+02:00")
    midway = parse_time("2026-12-31T12:00:00+01:00")
    share = (midway - first) / (last - first)  # in real seconds, across the DST change of October
    goal, red_flag = schedule.pair_at(midway, BERLIN) or (None, None)
    assert goal == pytest.approx(10 + 20 * share, rel=1e-9)
    assert red_flag == pytest.approx(20 * share, rel=1e-9)
    rows: list[Row] = [("b", "survey", "2026-11-10T10:00:00Z", {"score": 9})]
    b = _kpi(evaluate_rows(SCHEDULED, rows, "2026-11-10T12:00:00Z"), "b", "nps")
    last_second = parse_time("2026-12-31T23:59:59+01:00")
    assert (b["goal"], b["red_flag"]) == schedule.pair_at(last_second, BERLIN)


_PAIRS = st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)).filter(lambda p: p[0] > p[1])


@settings(max_examples=80, deadline=None)
@given(st.lists(_PAIRS, min_size=1, max_size=4), st.integers(-400, 2000), st.sampled_from(["step", "linear"]))
def test_a_schedule_stays_within_its_phases(pairs: list[tuple[float, float]], day: int, how: str) -> None:
    entries = tuple(ScheduleEntry(date(2026, 1, 1 + 7 * i), g, r) for i, (g, r) in enumerate(pairs))
    schedule = Schedule(entries, how)  # type: ignore[arg-type]
    at = parse_time("2026-01-01T00:00:00+01:00") + day * 3600
    found = schedule.pair_at(at, BERLIN)
    if day < 0:
        assert found is None
        return
    assert found is not None
    goals = [g for g, _ in pairs]
    assert min(goals) - 1e-6 <= found[0] <= max(goals) + 1e-6
    if how == "step" or day >= 24 * 7 * (len(pairs) - 1):
        assert found in pairs


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e9), st.floats(1e-6, 1.0), _PAIRS)
def test_paced_status_is_the_score_of_value_over_f(value: float, f: float, pair: tuple[float, float]) -> None:
    j = judge(value, pair, f)
    assert j.score == score(value / f, *pair)
    assert j.forecast == value / f
    assert (j.period_goal, j.period_red_flag) == pair
    assert j.goal == pair[0] * f + 0.0


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_scorecard(text, "test.yaml")
    return [p.format("test.yaml") for p in caught.value.problems]


def test_unsorted_dates_are_refused_with_file_line_and_field() -> None:
    text = SCHEDULED.replace("2026-10-01, goal: 50", "2025-10-01, goal: 50")
    assert problems(text) == [
        "test.yaml:14: kpis[0].targets_schedule[1].from: expected dates in increasing order: 2025-10-01 is not after"
        " 2026-01-01 (targets_schedule[0]); sort the phases by date"
    ]


def test_a_direction_that_flips_is_refused() -> None:
    text = SCHEDULED.replace("goal: 50, red_flag: 30", "goal: 30, red_flag: 50")
    (found,) = problems(text)
    assert found.startswith("test.yaml:14: kpis[0].targets_schedule[1]: lower is better (goal 30, red_flag 50) flips")


def test_goal_equal_to_red_flag_in_a_phase_is_refused() -> None:
    text = SCHEDULED.replace("{from: 2027-07-01, goal: 30, red_flag: 20}", "{from: 2027-07-01, goal: 20, red_flag: 20}")
    (found,) = problems(text)
    assert found.startswith("test.yaml:20: kpis[0].targets.b.targets_schedule[1].red_flag: equal to goal (20)")


QUARTER = "    window: {kind: calendar, period: quarter}\n"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((QUARTER, QUARTER + "    goal: 1\n    red_flag: 0\n"),
         "kpis[0].targets_schedule: give either goal and red_flag or targets_schedule"),
        (("        interpolate: linear\n", "        interpolate: cubic\n"), "kpis[0].targets.b.interpolate"),
        (("{from: 2026-01-01,", "{from: 2026-02-30,"), "kpis[0].targets_schedule[0].from: expected a date"),
        (("    window: {kind: calendar, period: quarter}\n", "    window: {kind: calendar, period: quarter}\n"
          "    pace: linear\n"), "kpis[0].pace: only sum and count KPIs can be paced"),
        (("    window: {kind: calendar, period: quarter}\n", "    window: {kind: calendar, period: quarter}\n"
          "    pace: {days: [mon, funday]}\n"), "kpis[0].pace: unknown day 'funday'"),
        (("    window: {kind: calendar, period: quarter}\n", "    window: {kind: calendar, period: quarter}\n"
          "    pace: {hours: '18:00-08:00'}\n"), "kpis[0].pace: expected the start before the end"),
    ],
)  # fmt: skip
def test_schedule_and_pace_mistakes_name_the_field(change: tuple[str, str], expected: str) -> None:
    found = problems(SCHEDULED.replace(*change, 1))
    assert any(expected in line for line in found), found
    assert all(line.startswith("test.yaml:") for line in found)


def test_pace_on_a_rolling_window_is_refused() -> None:
    text = PACED.replace(
        "    window: {kind: calendar, period: month}\n    goal: 3000",
        "    window: {kind: rolling, size: 1d, step: 1h}\n    pace: linear\n    goal: 3000",
    )
    (found,) = problems(text)
    assert "kpis[0].pace: a rolling window always covers its full size and is not paced" in found


def test_a_dumped_definition_loads_back_with_the_same_pace_and_schedule() -> None:
    text = SCHEDULED.replace("kpis:\n", "defaults: {pace: {days: [mon, fri], hours: '08:30-24:00'}}\nkpis:\n", 1)
    text += "  - {id: sales, aggregation: count, source: {event: sale}, window: {kind: calendar, period: month}}\n"
    scorecard = parse_scorecard(text)
    again = parse_scorecard(yaml.safe_dump(scorecard.model_dump(mode="json", by_alias=True, exclude_none=True)))
    assert (
        again.kpi("sales").pace_profile == scorecard.kpi("sales").pace_profile == Weekly(frozenset({0, 4}), (510, 1440))
    )
    assert again.kpi("nps").pace_profile is None
    assert again.schedule_for("nps", "b") == scorecard.schedule_for("nps", "b")
