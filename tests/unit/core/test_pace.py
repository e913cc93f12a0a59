"""The elapsed fraction f: linear and weekly profiles, DST months in Europe/Berlin, period boundaries, f = 0.

The oracle for weekly profiles counts minutes one by one, reading each minute's local wall-clock time with
``datetime.fromtimestamp``, which is what "real seconds the profile counts" means.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecard.core.pace import LINEAR, Weekly, active_seconds, elapsed_fraction, parse_hours
from scorecard.core.timeutil import parse_time
from scorecard.core.windows import Calendar

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = Weekly(frozenset(range(5)))
OFFICE = Weekly(frozenset(range(5)), (8 * 60, 18 * 60))


def _minutes_counted(profile: Weekly, start: int, end: int, zone: ZoneInfo) -> float:
    total = 0
    for t in range(start, end, 60):
        local = datetime.fromtimestamp(t, zone)
        minute = local.hour * 60 + local.minute
        if local.weekday() in profile.days and profile.hours[0] <= minute < profile.hours[1]:
            total += 60
    return float(total)


@pytest.mark.parametrize(("month", "hours"), [("2026-03-15", 743), ("2026-10-15", 745), ("2026-11-15", 720)])
def test_a_dst_month_has_its_real_hours(month: str, hours: int) -> None:
    start, end = Calendar("month", "Europe/Berlin").span(parse_time(month + "T12:00:00Z"))
    assert active_seconds(LINEAR, start, end, BERLIN) == hours * 3600
    assert _minutes_counted(Weekly(frozenset(range(7))), start, end, BERLIN) == hours * 3600
    assert active_seconds(Weekly(frozenset(range(7))), start, end, BERLIN) == hours * 3600


def test_linear_is_the_share_of_real_time() -> None:
    start, end = Calendar("month", "Europe/Berlin").span(parse_time("2026-03-15T00:00:00Z"))
    middle = start + (end - start) / 2
    assert elapsed_fraction(LINEAR, start, end, middle, BERLIN) == 0.5
    assert elapsed_fraction(LINEAR, start, end, start, BERLIN) == 0.0
    assert elapsed_fraction(LINEAR, start, end, end - 1, BERLIN) == (end - 1 - start) / (end - start)


def test_weekday_profile_stands_still_over_the_weekend() -> None:
    start, end = Calendar("month", "Europe/Berlin").span(parse_time("2026-11-15T00:00:00Z"))
    friday_night = parse_time("2026-11-06T23:00:00Z")  # Saturday 00:00 in Berlin
    monday_morning = parse_time("2026-11-08T23:00:00Z")  # Monday 00:00 in Berlin
    f_friday = elapsed_fraction(WEEKDAYS, start, end, friday_night, BERLIN)
    assert f_friday == elapsed_fraction(WEEKDAYS, start, end, monday_morning, BERLIN)
    assert f_friday == 5 / 21  # Nov 2026 in Berlin: 21 weekdays, Mon 2 - Fri 6 have passed


def test_office_hours_count_only_inside_the_hours() -> None:
    start, end = Calendar("day", "Europe/Berlin").span(parse_time("2026-11-25T12:00:00Z"))  # a Wednesday
    assert elapsed_fraction(OFFICE, start, end, parse_time("2026-11-25T06:00:00Z"), BERLIN) == 0.0  # 07:00 local
    assert elapsed_fraction(OFFICE, start, end, parse_time("2026-11-25T12:00:00Z"), BERLIN) == 0.5  # 13:00 local
    assert elapsed_fraction(OFFICE, start, end, parse_time("2026-11-25T20:00:00Z"), BERLIN) == 1.0  # 21:00 local


def test_a_period_with_no_counted_second_is_judged_whole() -> None:
    start, end = Calendar("day", "Europe/Berlin").span(parse_time("2026-11-28T12:00:00Z"))  # a Saturday
    assert elapsed_fraction(WEEKDAYS, start, end, start, BERLIN) == 1.0
    assert elapsed_fraction(WEEKDAYS, start, end, start + 3600, BERLIN) == 1.0


def test_a_skipped_and_a_repeated_hour_count_as_they_really_pass() -> None:
    night = Weekly(frozenset(range(7)), (2 * 60, 3 * 60))
    spring = Calendar("day", "Europe/Berlin").span(parse_time("2026-03-29T12:00:00Z"))
    autumn = Calendar("day", "Europe/Berlin").span(parse_time("2026-10-25T12:00:00Z"))
    assert active_seconds(night, *spring, BERLIN) == 0.0
    assert active_seconds(night, *autumn, BERLIN) == 2 * 3600
    assert elapsed_fraction(night, *spring, spring[0] + 7200, BERLIN) == 1.0  # nothing to count: judged whole


@pytest.mark.parametrize("text", ["8-18", "18:00-08:00", "08:00-08:00", "25:00-26:00", "08:60-09:00", "00:00-24:01"])
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_hours(text)


def test_hours_may_end_at_midnight() -> None:
    assert parse_hours("00:00-24:00") == (0, 1440)
    assert parse_hours(" 08:30 - 17:45 ") == (510, 1065)


_DAYS = st.frozensets(st.integers(0, 6), min_size=1)
_HOURS = (
    st.tuples(st.integers(0, 47), st.integers(1, 48))
    .filter(lambda h: h[0] < h[1])
    .map(lambda h: (h[0] * 30, h[1] * 30))
)
# Berlin's DST months of 2026 and a few years either side; whole minutes so the minute-by-minute oracle is exact.
_MONTH_START = st.sampled_from(["2026-03-01", "2026-10-01", "2027-03-01", "2025-10-01", "2026-07-01"])


@settings(max_examples=40, deadline=None)
@given(_DAYS, _HOURS, _MONTH_START, st.integers(0, 31 * 24 * 60), st.integers(0, 7 * 24 * 60))
def test_weekly_profile_counts_exactly_the_minutes_it_names(
    days: frozenset[int], hours: tuple[int, int], month: str, offset: int, length: int
) -> None:
    start, end = Calendar("month", "Europe/Berlin").span(parse_time(month + "T12:00:00Z"))
    a = min(start + offset * 60, end)
    b = min(a + length * 60, end)
    profile = Weekly(days, hours)
    assert active_seconds(profile, a, b, BERLIN) == _minutes_counted(profile, a, b, BERLIN)


@settings(max_examples=60, deadline=None)
@given(_DAYS, _HOURS, _MONTH_START, st.floats(0, 1), st.floats(0, 1))
def test_f_is_in_range_and_never_goes_back(
    days: frozenset[int], hours: tuple[int, int], month: str, x: float, y: float
) -> None:
    start, end = Calendar("month", "Europe/Berlin").span(parse_time(month + "T12:00:00Z"))
    early, late = sorted((start + x * (end - start), start + y * (end - start)))
    for profile in (LINEAR, Weekly(days, hours)):
        f_early = elapsed_fraction(profile, start, end, early, BERLIN)
        f_late = elapsed_fraction(profile, start, end, late, BERLIN)
        assert 0.0 <= f_early <= f_late <= 1.0
        assert elapsed_fraction(profile, start, end, end, BERLIN) == 1.0
