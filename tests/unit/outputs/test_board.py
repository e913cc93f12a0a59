"""The terminal board's frame builder: two report snapshots and the seconds between them -> what is shown.

The reports come from replaying the ACME example (the shape ``scorecard status`` and the board read from Redis), so
the numbers checked here are computed from the report itself, never typed in.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from rich.console import Console

from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import replay
from scorecard.outputs.board import (
    DEAD_LETTER_OUTCOMES,
    PipelineStats,
    Snapshot,
    build_frame,
    frame_stats,
    frame_text,
    parse_pipeline_metrics,
    worst_kpis,
)
from tests.paths import REPO as ROOT


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(ROOT / "examples" / "acme.yaml")


@pytest.fixture(scope="module")
def report(acme: Scorecard) -> dict[str, Any]:
    with (ROOT / "examples" / "acme-events.jsonl").open("rb") as lines:
        return replay(acme, lines).evaluate()


def _earlier(report: dict[str, Any], fewer: dict[str, int]) -> dict[str, Any]:
    """The same report with fewer events counted, as a previous refresh would have seen it."""
    before = copy.deepcopy(report)
    for outcome, count in fewer.items():
        before["events"][outcome] -= count
    return before


def test_events_per_second_is_the_count_delta_over_the_elapsed_time(report: dict[str, Any]) -> None:
    before = _earlier(report, {"accepted": 390, "invalid": 6, "ignored": 4})
    stats = frame_stats(before, report, elapsed=2.0)
    assert stats.events_per_second == pytest.approx((390 + 6 + 4) / 2.0)
    assert stats.events_total == sum(report["events"].values())


def test_no_rate_on_the_first_frame_or_when_the_counts_went_back(report: dict[str, Any]) -> None:
    assert frame_stats(None, report, elapsed=2.0).events_per_second is None
    later = _earlier(report, {"accepted": -100})  # the previous frame counted more: Redis was emptied meanwhile
    assert frame_stats(later, report, elapsed=2.0).events_per_second is None
    assert frame_stats(report, report, elapsed=0.0).events_per_second is None


def test_dead_letters_are_invalid_duplicate_and_late_but_not_ignored(report: dict[str, Any]) -> None:
    stats = frame_stats(None, report, elapsed=1.0)
    assert set(DEAD_LETTER_OUTCOMES) == {"invalid", "duplicate", "late"}
    assert stats.dead_letters == sum(report["events"][o] for o in DEAD_LETTER_OUTCOMES)
    assert report["events"]["ignored"] > 0 and stats.dead_letters < stats.events_total - report["events"]["accepted"]


def test_worst_kpis_are_the_lowest_scores_in_order(report: dict[str, Any]) -> None:
    worst = worst_kpis(report, 4)
    scored = sorted(k["score"] for u in report["units"].values() for k in u["kpis"].values() if k["score"] is not None)
    assert [w.score for w in worst] == scored[:4]
    first = worst[0]
    assert report["units"][first.unit]["kpis"][first.kpi]["value"] == first.value
    assert len(worst_kpis(report, 1000)) == len(scored)  # KPIs without data are never "worst"


def test_frame_text_shows_the_tree_rate_dead_letters_and_worst_kpis(acme: Scorecard, report: dict[str, Any]) -> None:
    before = _earlier(report, {"accepted": 500})
    current = Snapshot(report, eval_seconds=0.0123, pipeline=PipelineStats(consumer_lag=42, redis_errors=0))
    text = frame_text(acme, Snapshot(before, 0.01), current, elapsed=2.5)
    assert "\x1b[" not in text
    assert "events/s 200.0" in text  # 500 events in 2.5 s
    assert f"live at {report['at']}, evaluated in 12 ms" in text
    dead = sum(report["events"][o] for o in DEAD_LETTER_OUTCOMES)
    assert f"dead letters {dead:,}" in text
    assert "consumer lag 42 messages" in text
    for unit in OrgTree.from_scorecard(acme).units:
        assert acme.unit(unit).label in text
    root = report["units"]["acme"]
    assert re.search(rf"acme\s+{root['score']:.1f}\s+{root['status']}", text)
    worst = worst_kpis(report, 5)[0]
    kpi = acme.kpi(worst.kpi)
    line = next(line for line in text.splitlines() if kpi.label in line and acme.unit(worst.unit).label in line)
    assert f"{worst.score:.1f}" in line and worst.status in line
    assert (kpi.unit or "") in line
    assert "Ctrl-C" not in text  # plain frames go to logs and pipes


def test_first_frame_has_no_rate_yet(acme: Scorecard, report: dict[str, Any]) -> None:
    text = frame_text(acme, None, Snapshot(report, 0.002), elapsed=0.0)
    assert "events/s -" in text


def test_an_unreadable_store_shows_the_reason_instead_of_a_table(acme: Scorecard) -> None:
    snapshot = Snapshot({}, 0.0, None, "cannot read the live scorecard: Connection refused", "not reachable at X")
    text = frame_text(acme, None, snapshot, elapsed=1.0)
    assert "Connection refused" in text and "worker metrics: not reachable at X" in text
    assert "Worst KPIs" not in text


def test_the_terminal_frame_says_how_to_exit(acme: Scorecard, report: dict[str, Any]) -> None:
    console = Console(width=140, record=True, color_system=None)
    console.print(build_frame(acme, None, Snapshot(report, 0.001), 1.0))
    assert "Ctrl-C to exit" in console.export_text()


def test_pipeline_metrics_sum_the_consumer_lag_over_partitions() -> None:
    text = (
        "# TYPE scorecard_pipeline_consumer_lag gauge\n"
        'scorecard_pipeline_consumer_lag{topic="t",partition="0"} 3.0\n'
        'scorecard_pipeline_consumer_lag{topic="t",partition="1"} 4.0\n'
        "# TYPE scorecard_pipeline_redis_errors_total counter\n"
        "scorecard_pipeline_redis_errors_total 2.0\n"
    )
    assert parse_pipeline_metrics(text) == PipelineStats(consumer_lag=7.0, redis_errors=2.0)


def test_paced_kpis_among_the_worst_show_their_elapsed_share_and_forecast(
    acme: Scorecard, report: dict[str, Any]
) -> None:
    worst = worst_kpis(report, 5)
    paced = [w for w in worst if w.elapsed is not None]
    assert paced and any(w.elapsed is None for w in worst)  # the example's worst mix paced and unpaced KPIs
    text = frame_text(acme, None, Snapshot(report, 0.01), elapsed=1.0)
    assert "Paced KPIs (goal and red flag to date):" in text
    for entry in paced:
        result = report["units"][entry.unit]["kpis"][entry.kpi]
        assert (entry.elapsed, entry.forecast) == (result["elapsed"], result["forecast"])
        kpi = acme.kpi(entry.kpi)
        start = f"  {acme.unit(entry.unit).label}, {kpi.label}: {entry.elapsed:.0%} of its period, forecast "
        assert any(line.startswith(start) for line in text.splitlines()), start
