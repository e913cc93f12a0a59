"""Moving fixed example data in time, so that no test depends on the day it runs.

Two uses, one mechanism (every event's ``time`` moved by the same number of seconds, so the order of the events and
the spacing between them are kept):

* A test that evaluates fixed data against the wall clock (the exporter scraped by Prometheus, the board, a live
  report without ``--at``) first moves the data so that its newest event is just before now: ``ending_at``.
* The whole suite's fixed data can be moved far into the past (or future) before use, to prove that no test leans on
  the example events being recent: ``SCORECARD_TEST_SHIFT=-400d`` (any duration of ``scorecard.core.timeutil``, with a
  sign) makes ``variant_shift()`` non-zero, and the integration fixtures (``acme_events``, ``fixed_start`` in
  tests/integration/conftest.py) apply it. ``make test`` runs the tests that use those fixtures a second time with
  ``-400d``.

Lines that are not an event with a readable ``time`` (the examples' invalid lines) are kept byte for byte, so they
stay invalid in the same way. A shifted time keeps its form: RFC 3339 text stays text (written in UTC, the same
instant), epoch seconds stay a number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import orjson

from scorecard.core.timeutil import TimeFormatError, format_time, parse_duration, parse_time

SHIFT_VARIABLE = "SCORECARD_TEST_SHIFT"
"""Environment variable naming how far the fixed data of the integration tests is moved, e.g. ``-400d``."""


def variant_shift() -> int:
    """Seconds the fixed example data is moved by in this run (``SCORECARD_TEST_SHIFT``), 0 when unset."""
    text = os.environ.get(SHIFT_VARIABLE, "").strip()
    if not text:
        return 0
    sign = -1 if text.startswith("-") else 1
    return sign * parse_duration(text.lstrip("+-"))


def event_time(line: bytes) -> float | None:
    """The epoch time of an event line, or None when the line has no readable time (invalid on purpose)."""
    try:
        obj = orjson.loads(line)
        return parse_time(obj["time"]) if isinstance(obj, dict) and "time" in obj else None
    except (orjson.JSONDecodeError, TimeFormatError, OverflowError, TypeError):
        return None


def shift_line(line: bytes, seconds: float) -> bytes:
    """``line`` with its event's time moved by ``seconds``; lines without a readable time come back unchanged."""
    when = event_time(line)
    if when is None or seconds == 0:
        return line
    obj = orjson.loads(line)
    moved = when + seconds
    obj["time"] = format_time(moved) if isinstance(obj["time"], str) else moved
    return orjson.dumps(obj)


def shift_lines(lines: Iterable[bytes], seconds: float) -> list[bytes]:
    """Every non-blank line moved by ``seconds`` (see ``shift_line``), in the same order."""
    return [shift_line(line, seconds) for line in lines if line.strip()]


def newest_time(lines: Iterable[bytes]) -> float:
    """The newest readable event time of ``lines``; fails when there is none."""
    times = [t for t in map(event_time, lines) if t is not None]
    assert times, "no event with a readable time"
    return max(times)


def ending_at(lines: Iterable[bytes], end: float) -> list[bytes]:
    """``lines`` moved by whole seconds so that the newest event falls at ``end`` (rounded down to a second).

    Whole seconds keep every time exactly representable in RFC 3339 with at most milliseconds, as the examples are.
    """
    kept = [line for line in lines if line.strip()]
    return shift_lines(kept, int(end) - int(newest_time(kept)))


def write_lines(path: Path, lines: Iterable[bytes]) -> Path:
    """Write JSON Lines (one event a line, a final newline) and return the path."""
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path
