"""Duration text read one way everywhere (``scorecard.core.timeutil``): Prometheus's syntax, compound units included;
definitions keep whole seconds."""

from __future__ import annotations

import pytest

from scorecard.core.timeutil import (
    DurationRangeError,
    TimeFormatError,
    duration_milliseconds,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("500ms", 500),
        ("90s", 90_000),
        ("1h30m", 5_400_000),
        ("1y2w3d4h5m6s7ms", ((365 + 14 + 3) * 86400 + 4 * 3600 + 5 * 60 + 6) * 1000 + 7),
        ("0s", 0),
        ("007m", 420_000),
    ],
)
def test_prometheus_durations(text: str, milliseconds: int) -> None:
    assert duration_milliseconds(text) == milliseconds


@pytest.mark.parametrize("text", ["", "m", "5", "1.5h", "30m1h", "1h1h", "1 h", "5x", "-1s", "1h\n2m", "１h"])
def test_what_prometheus_refuses_is_refused(text: str) -> None:
    with pytest.raises(TimeFormatError, match="expected a duration like 30s, 15m, 1h30m, 7d or 2w"):
        duration_milliseconds(text)


def test_a_number_of_thousands_of_digits_is_refused_before_reading_it() -> None:
    with pytest.raises(DurationRangeError, match="at most 12 digits"):
        duration_milliseconds("9" * 100_000 + "s")


def test_definitions_take_compound_durations_in_whole_seconds() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1d12h") == 129600
    with pytest.raises(TimeFormatError, match="expected whole seconds here, got '1500ms'"):
        parse_duration("1500ms")
    with pytest.raises(TimeFormatError, match="expected a positive duration"):
        parse_duration("0m")


@pytest.mark.parametrize(("seconds", "text"), [(5400, "90m"), (86400, "1d"), (0.5, "500ms"), (90.5, "90500ms")])
def test_format_duration_reads_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert duration_milliseconds(text) == seconds * 1000
