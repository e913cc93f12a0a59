"""Trend points: past windows found with ``Window.span`` alone, each point what the replay reports at that time."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from scorecard.core.definition import load_scorecard
from scorecard.core.engine import compile_kpis
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from scorecard.core.trends import collect_trends, past_times, replay_trends
from tests.paths import REPO


@pytest.fixture(scope="module")
def acme():
    return load_scorecard(REPO / "examples/acme.yaml")


@pytest.fixture(scope="module")
def acme_replay(acme):
    with (REPO / "examples/acme-events.jsonl").open("rb") as handle:
        return replay(acme, handle)


def _utc(text: str) -> float:
    return parse_time(text)


def test_past_times_step_back_one_whole_window_per_kind(acme) -> None:
    kpis = compile_kpis(acme)
    at = _utc("2026-11-26T22:16:06Z")
    times = past_times(kpis, at, 2)
    # tumbling 1d, epoch-aligned: the last seconds of Nov 25 and Nov 24 (UTC)
    assert times["urgent-tickets"] == [_utc("2026-11-24T23:59:59Z"), _utc("2026-11-25T23:59:59Z")]
    # tumbling 8h: the window of 22:16 starts at 16:00; the two before end at 15:59:59 and 07:59:59
    assert times["line-availability-floor"] == [_utc("2026-11-26T07:59:59Z"), _utc("2026-11-26T15:59:59Z")]
    # rolling 7d step 1d: the value at T covers the 7 days ending with T's day; the previous one ends the day before
    # those seven began (Nov 20 00:00 UTC - 1 s), the one before that 7 days earlier
    assert times["online-basket"] == [_utc("2026-11-12T23:59:59Z"), _utc("2026-11-19T23:59:59Z")]
    # calendar month in Europe/Paris: the last second of October and of September, Paris time
    assert [datetime.fromtimestamp(t, acme.tz).isoformat() for t in times["revenue"]] == [
        "2026-09-30T23:59:59+02:00",
        "2026-10-31T23:59:59+01:00",
    ]
    assert all(len(t) == 2 for t in times.values())
    assert past_times(kpis, at, 0) == {kpi_id: [] for kpi_id in kpis}


def test_each_point_is_the_replay_report_at_the_end_of_its_window(acme, acme_replay) -> None:
    at = acme_replay.at
    current = acme_replay.evaluate()
    trends = replay_trends(acme_replay, at, 4, current)
    kpis = compile_kpis(acme)
    checked = 0
    for unit, by_kpi in trends.items():
        for kpi_id, points in by_kpi.items():
            now = current["units"][unit]["kpis"][kpi_id]
            assert (points[-1].value, points[-1].score, points[-1].status) == (
                now["value"],
                now["score"],
                now["status"],
            )
            assert (points[-1].start, points[-1].end) == kpis[kpi_id].window.span(at)
            for earlier, later in itertools.pairwise(points):
                assert earlier.end == later.start  # back to back, no overlap, no gap
            for point in points[:-1]:
                then = acme_replay.evaluate(point.end - 1)["units"][unit]["kpis"][kpi_id]
                assert (point.value, point.score, point.status) == (then["value"], then["score"], then["status"])
                checked += 1
    assert checked > 100


def test_history_starts_at_the_first_window_holding_an_event(acme, acme_replay) -> None:
    trends = replay_trends(acme_replay, acme_replay.at, 8)
    first_event = min(
        bucket for state in acme_replay.states.values() for (kpi, bucket) in state.aggregates if kpi == "urgent-tickets"
    )
    urgent = trends["acme"]["urgent-tickets"]
    assert len(urgent) == 9  # 8 past days and today: two weeks of events cover them all
    # the month and the quarter before November hold no event: only the current window, not a row of zeros
    assert len(trends["acme"]["revenue"]) == 1
    assert len(trends["acme"]["nps"]) == 1
    long_ago = replay_trends(acme_replay, acme_replay.at, 40)["acme"]["urgent-tickets"]
    assert long_ago[0].start == first_event  # not 40 days back: nothing was held before the first event's day
    assert len(long_ago) < 41 and long_ago[0].start > acme_replay.at - 40 * 86_400


def test_a_source_holding_nothing_gives_only_the_current_window(acme, acme_replay) -> None:
    calls: list[float] = []

    def evaluate_at(when: float):
        calls.append(when)
        return acme_replay.evaluate(when)

    trends = collect_trends(acme, acme_replay.at, 5, evaluate_at, lambda keys: set())
    assert calls == [acme_replay.at]
    assert all(len(points) == 1 for by_kpi in trends.values() for points in by_kpi.values())
    with pytest.raises(ValueError, match="previous"):
        collect_trends(acme, acme_replay.at, -1, evaluate_at, lambda keys: set())
