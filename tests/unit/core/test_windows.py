"""Window bucketing, with expected boundaries written out as RFC 3339 text."""

from __future__ import annotations

import itertools

import pytest

from scorecard.core.timeutil import parse_time
from scorecard.core.windows import Calendar, Rolling, Tumbling, WindowError, make_window


def at(text: str) -> float:
    return parse_time(text)


def epoch(text: str) -> int:
    value = parse_time(text)
    assert value == int(value)
    return int(value)


T = at("2026-11-27T10:15:00Z")  # a Friday


# ------------------------------------------------------------------------------------------------------ tumbling


def test_tumbling_bucket_is_epoch_aligned() -> None:
    hourly = Tumbling(3600)
    assert hourly.bucket(T) == epoch("2026-11-27T10:00:00Z")
    assert hourly.bucket(T) == 1_795_773_600
    assert hourly.span(T) == (epoch("2026-11-27T10:00:00Z"), epoch("2026-11-27T11:00:00Z"))
    assert hourly.buckets_at(T) == (epoch("2026-11-27T10:00:00Z"),)


def test_tumbling_boundary_belongs_to_the_new_bucket() -> None:
    window = Tumbling(900)
    boundary = at("2026-11-27T10:15:00Z")
    assert window.bucket(boundary) == epoch("2026-11-27T10:15:00Z")
    assert window.bucket(boundary - 0.001) == epoch("2026-11-27T10:00:00Z")
    assert window.bucket(boundary + 899.999) == epoch("2026-11-27T10:15:00Z")


def test_tumbling_returns_ints_and_handles_negative_times() -> None:
    window = Tumbling(10)
    assert window.bucket(-0.5) == -10
    assert window.bucket(0) == 0
    assert type(window.bucket(12.7)) is int


def test_tumbling_day_is_utc_day() -> None:
    daily = make_window("tumbling", size="1d", timezone="Europe/Berlin")  # epoch-aligned: timezone is ignored
    assert daily.bucket(T) == epoch("2026-11-27T00:00:00Z")


def test_tumbling_oldest_needed_keeps_previous_window() -> None:
    assert Tumbling(3600).oldest_needed(T) == epoch("2026-11-27T09:00:00Z")


# ------------------------------------------------------------------------------------------------------- rolling


def test_rolling_buckets_at_lists_size_over_step_buckets_oldest_first() -> None:
    week = Rolling(7 * 86400, 86400)
    buckets = week.buckets_at(T)
    assert len(buckets) == week.count == 7
    assert buckets[0] == epoch("2026-11-21T00:00:00Z")
    assert buckets[-1] == epoch("2026-11-27T00:00:00Z") == week.bucket(T)
    assert list(buckets) == sorted(buckets)
    assert all(b - a == 86400 for a, b in itertools.pairwise(buckets))


def test_rolling_span_runs_from_oldest_bucket_to_end_of_newest() -> None:
    week = Rolling(7 * 86400, 86400)
    assert week.span(T) == (epoch("2026-11-21T00:00:00Z"), epoch("2026-11-28T00:00:00Z"))
    assert week.oldest_needed(T) == epoch("2026-11-14T00:00:00Z")


def test_rolling_step_boundary() -> None:
    window = Rolling(3600, 900)
    assert window.buckets_at(at("2026-11-27T10:15:00Z")) == (
        epoch("2026-11-27T09:30:00Z"),
        epoch("2026-11-27T09:45:00Z"),
        epoch("2026-11-27T10:00:00Z"),
        epoch("2026-11-27T10:15:00Z"),
    )
    assert window.bucket(at("2026-11-27T10:14:59.999Z")) == epoch("2026-11-27T10:00:00Z")


def test_rolling_with_size_equal_to_step_is_tumbling() -> None:
    assert Rolling(60, 60).buckets_at(T) == Tumbling(60).buckets_at(T)
    assert Rolling(60, 60).span(T) == Tumbling(60).span(T)


def test_rolling_size_must_be_a_multiple_of_step() -> None:
    with pytest.raises(WindowError, match="whole multiple"):
        Rolling(3600, 7 * 60)


# ------------------------------------------------------------------------------------------------------ calendar


def test_calendar_week_starts_monday() -> None:
    week = Calendar("week", "Europe/Berlin")
    assert week.bucket(T) == epoch("2026-11-23T00:00:00+01:00")  # Monday
    assert week.span(T) == (epoch("2026-11-23T00:00:00+01:00"), epoch("2026-11-30T00:00:00+01:00"))
    # Sunday night is still the same week; Monday 00:00 opens the next one
    assert week.bucket(at("2026-11-29T23:59:59+01:00")) == epoch("2026-11-23T00:00:00+01:00")
    assert week.bucket(at("2026-11-30T00:00:00+01:00")) == epoch("2026-11-30T00:00:00+01:00")


def test_calendar_month_quarter_year_starts() -> None:
    assert Calendar("month", "UTC").span(T) == (epoch("2026-11-01T00:00:00Z"), epoch("2026-12-01T00:00:00Z"))
    assert Calendar("quarter", "UTC").span(T) == (epoch("2026-10-01T00:00:00Z"), epoch("2027-01-01T00:00:00Z"))
    assert Calendar("year", "UTC").span(T) == (epoch("2026-01-01T00:00:00Z"), epoch("2027-01-01T00:00:00Z"))
    december = at("2026-12-15T12:00:00Z")
    assert Calendar("month", "UTC").span(december) == (epoch("2026-12-01T00:00:00Z"), epoch("2027-01-01T00:00:00Z"))
    assert Calendar("quarter", "UTC").bucket(at("2026-03-31T23:59:59Z")) == epoch("2026-01-01T00:00:00Z")
    assert Calendar("quarter", "UTC").bucket(at("2026-04-01T00:00:00Z")) == epoch("2026-04-01T00:00:00Z")
    assert Calendar("quarter", "UTC").bucket(at("2026-08-20T00:00:00Z")) == epoch("2026-07-01T00:00:00Z")


def test_calendar_uses_local_midnight() -> None:
    day = Calendar("day", "Europe/Berlin")
    # 23:30 UTC on the 27th is already the 28th in Berlin (UTC+1 in November)
    assert day.bucket(at("2026-11-27T23:30:00Z")) == epoch("2026-11-28T00:00:00+01:00")
    assert day.bucket(at("2026-11-27T22:59:59Z")) == epoch("2026-11-27T00:00:00+01:00")
    year = Calendar("year", "America/New_York")
    assert year.bucket(at("2027-01-01T03:00:00Z")) == epoch("2026-01-01T00:00:00-05:00")


def test_calendar_dst_days_in_berlin() -> None:
    day = Calendar("day", "Europe/Berlin")
    start, end = day.span(at("2026-03-29T12:00:00+02:00"))  # clocks go 02:00 -> 03:00
    assert (start, end) == (epoch("2026-03-29T00:00:00+01:00"), epoch("2026-03-30T00:00:00+02:00"))
    assert end - start == 23 * 3600
    start, end = day.span(at("2026-10-25T12:00:00+01:00"))  # clocks go 03:00 -> 02:00
    assert (start, end) == (epoch("2026-10-25T00:00:00+02:00"), epoch("2026-10-26T00:00:00+01:00"))
    assert end - start == 25 * 3600


def test_calendar_month_across_dst_change() -> None:
    month = Calendar("month", "Europe/Berlin")
    assert month.span(at("2026-03-15T12:00:00Z")) == (
        epoch("2026-03-01T00:00:00+01:00"),
        epoch("2026-04-01T00:00:00+02:00"),
    )


def test_calendar_day_when_midnight_does_not_exist() -> None:
    # Chile springs forward at 00:00 -> 01:00: 6 September 2026 starts at 01:00 local time
    day = Calendar("day", "America/Santiago")
    assert day.span(at("2026-09-06T12:00:00-03:00")) == (
        epoch("2026-09-06T01:00:00-03:00"),
        epoch("2026-09-07T00:00:00-03:00"),
    )
    assert day.bucket(at("2026-09-05T23:59:59-04:00")) == epoch("2026-09-05T00:00:00-04:00")


def test_calendar_oldest_needed_is_previous_period_start() -> None:
    assert Calendar("week", "Europe/Berlin").oldest_needed(T) == epoch("2026-11-16T00:00:00+01:00")
    assert Calendar("month", "UTC").oldest_needed(at("2026-01-10T00:00:00Z")) == epoch("2025-12-01T00:00:00Z")
    assert Calendar("day", "Europe/Berlin").oldest_needed(at("2026-03-30T12:00:00+02:00")) == epoch(
        "2026-03-29T00:00:00+01:00"
    )


def test_calendar_cache_gives_same_answers_out_of_order() -> None:
    cached = Calendar("day", "Europe/Berlin")
    times = [T + k * 40_000.5 for k in (0, 5, -3, 1, 5, 0, -3, 2, 9, -20)]
    for t in times:
        fresh = Calendar("day", "Europe/Berlin")
        assert cached.bucket(t) == fresh.bucket(t)
        assert cached.span(t) == fresh.span(t)
        assert cached.buckets_at(t) == (fresh.bucket(t),)


def test_calendar_equality_ignores_cache() -> None:
    a, b = Calendar("day", "UTC"), Calendar("day", "UTC")
    a.bucket(T)
    assert a == b


# ------------------------------------------------------------------------------------------------------- factory


def test_make_window_kinds() -> None:
    assert make_window("tumbling", size=3600) == Tumbling(3600)
    assert make_window("tumbling", size="15m") == Tumbling(900)
    assert make_window("rolling", size="7d", step="1d") == Rolling(604800, 86400)
    assert make_window("calendar", period="week", timezone="Europe/Berlin") == Calendar("week", "Europe/Berlin")
    assert make_window("calendar", period="month") == Calendar("month", "UTC")


@pytest.mark.parametrize(
    ("kind", "kwargs", "message"),
    [
        ("sliding", {}, "window must be one of"),
        ("tumbling", {}, "needs size"),
        ("tumbling", {"size": 0}, "positive"),
        ("tumbling", {"size": "soon"}, "size"),
        ("tumbling", {"size": 60, "step": 60}, "step does not apply"),
        ("rolling", {"size": "1h"}, "needs step"),
        ("rolling", {"size": "1h", "step": "7m"}, "whole multiple"),
        ("rolling", {"size": "1h", "step": "1m", "period": "day"}, "period does not apply"),
        ("calendar", {}, "needs period"),
        ("calendar", {"period": "fortnight"}, "period must be one of"),
        ("calendar", {"period": "day", "size": 60}, "size does not apply"),
        ("calendar", {"period": "day", "timezone": "Mars/Olympus"}, "unknown timezone"),
        ("calendar", {"period": "day", "timezone": ""}, "IANA"),
    ],
)
def test_make_window_refuses_bad_parameters(kind: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(WindowError, match=message):
        make_window(kind, **kwargs)  # type: ignore[arg-type]


def test_window_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Tumbling(-5)


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter", "year"])
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"])
def test_calendar_works_at_the_edges_of_the_accepted_event_range(period: str, zone: str) -> None:
    window = Calendar(period, zone)  # type: ignore[arg-type]
    for t in (at("1000-01-01T00:00:00Z"), at("9997-12-31T23:59:59Z")):
        start, end = window.span(t)
        assert start <= t < end
        assert window.oldest_needed(t) < start
