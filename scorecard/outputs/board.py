"""The live terminal board (``scorecard board``): the scorecard from Redis, redrawn every few seconds.

What a person watching the stream wants at a glance: the unit tree with overall and perspective scores (the very
table of ``scorecard status``, from ``scorecard.outputs.table``), how fast events arrive, how many ended as dead
letters, which KPIs are worst right now, and how long an evaluation takes. Everything is derived from two consecutive
report snapshots (``scorecard.redis.live.live_report``) and the time between them, so the frame builder is a pure
function that the unit tests drive without Redis; only ``run_board`` reads Redis, the worker's ``/metrics`` and the
clock.

Why events/s comes from the Redis counts and not from the worker's counters: the counts are what the board's own
numbers are computed from, so the rate always agrees with the table; the worker's metrics are optional (consumer
lag, Redis errors) and the board works without them.

On a terminal the frame is redrawn in place (``rich.live``); when stdout is not a terminal (a pipe, a CI log, the
demo's non-interactive mode) each refresh prints the frame as plain text, without colours, after a blank line.
Names from the definition and error texts go through ``scorecard.outputs.terminal`` (no markup parsed, no control
character written).
"""

from __future__ import annotations

import io
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from scorecard.config import redact_url
from scorecard.contract import PIPELINE_CONSUMER_LAG, PIPELINE_REDIS_ERRORS
from scorecard.core.definition import Scorecard
from scorecard.core.engine import OUTCOMES
from scorecard.core.hierarchy import OrgTree
from scorecard.outputs.http_request import authenticated_request
from scorecard.outputs.table import STATUS_STYLES, scorecard_table
from scorecard.outputs.terminal import plain
from scorecard.redis.store import RedisStore, StoreError

__all__ = [
    "DEAD_LETTER_OUTCOMES",
    "FrameStats",
    "PipelineStats",
    "Snapshot",
    "WorstKpi",
    "build_frame",
    "frame_stats",
    "frame_text",
    "parse_pipeline_metrics",
    "run_board",
    "take_snapshot",
]

DEAD_LETTER_OUTCOMES: Final = ("invalid", "duplicate", "late")
"""The outcomes the worker sends to the dead-letter topic (``ignored`` events are dropped, not dead letters)."""

_METRICS_TIMEOUT: Final = 1.0


# ------------------------------------------------------------------------------------------------------ snapshots
@dataclass(frozen=True)
class PipelineStats:
    """What the board shows from the worker's pipeline metrics."""

    consumer_lag: float
    redis_errors: float


@dataclass(frozen=True)
class Snapshot:
    """One read of the live scorecard: the JSON report, how long it took, and the worker's metrics if reachable.

    ``report`` is ``{}`` and ``error`` says why when Redis could not be read; the board then shows the error and
    keeps refreshing (Redis restarting, the worker not started yet).
    """

    report: Mapping[str, Any]
    eval_seconds: float
    pipeline: PipelineStats | None = None
    error: str | None = None
    pipeline_error: str | None = None


@dataclass(frozen=True)
class WorstKpi:
    """A (unit, KPI) pair among the lowest scores of the report."""

    unit: str
    kpi: str
    score: float
    status: str
    value: float | None
    goal: float | None
    red_flag: float | None
    elapsed: float | None = None
    """Share of the period passed for a paced KPI (``goal`` and ``red_flag`` are then to date), else None."""
    forecast: float | None = None


@dataclass(frozen=True)
class FrameStats:
    """The numbers of one frame, derived from two snapshots and the seconds between them."""

    events_total: int
    events_per_second: float | None  # None on the first frame (no previous snapshot) or when the counts went back
    dead_letters: int
    outcomes: dict[str, int] = field(default_factory=dict)
    worst: list[WorstKpi] = field(default_factory=list)


def _total(report: Mapping[str, Any] | None) -> int | None:
    if not report or "events" not in report:
        return None
    return sum(int(report["events"].get(o.value, 0)) for o in OUTCOMES)


def frame_stats(
    previous: Mapping[str, Any] | None, current: Mapping[str, Any], elapsed: float, worst: int = 5
) -> FrameStats:
    """Events/s from the count delta over ``elapsed`` seconds, dead letters, and the ``worst`` lowest KPI scores.

    The rate is None without a previous report, with no time elapsed, or when the total went down (Redis was
    emptied and the worker resynced): a negative rate would be noise, not news.
    """
    outcomes = {o.value: int(current.get("events", {}).get(o.value, 0)) for o in OUTCOMES}
    total = sum(outcomes.values())
    before = _total(previous)
    rate = None
    if before is not None and elapsed > 0 and total >= before:
        rate = (total - before) / elapsed
    return FrameStats(
        events_total=total,
        events_per_second=rate,
        dead_letters=sum(outcomes[o] for o in DEAD_LETTER_OUTCOMES),
        outcomes=outcomes,
        worst=worst_kpis(current, worst),
    )


def worst_kpis(report: Mapping[str, Any], count: int) -> list[WorstKpi]:
    """The ``count`` lowest-scored (unit, KPI) pairs; ties keep the report's unit order, then KPI order."""
    found: list[tuple[float, int, WorstKpi]] = []
    for unit, result in report.get("units", {}).items():
        for kpi, kpi_result in result.get("kpis", {}).items():
            score = kpi_result.get("score")
            if score is None:
                continue
            entry = WorstKpi(
                unit,
                kpi,
                float(score),
                kpi_result.get("status", "no_data"),
                kpi_result.get("value"),
                kpi_result.get("goal"),
                kpi_result.get("red_flag"),
                kpi_result.get("elapsed"),
                kpi_result.get("forecast"),
            )
            found.append((float(score), len(found), entry))
    found.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in found[:count]]


def parse_pipeline_metrics(text: str) -> PipelineStats:
    """Total consumer lag and Redis errors from the worker's ``/metrics`` text (names from docs/metrics.md)."""
    lag = 0.0
    errors = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == PIPELINE_CONSUMER_LAG:
            lag += sum(sample.value for sample in family.samples)
        elif family.name == PIPELINE_REDIS_ERRORS:
            errors += sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return PipelineStats(consumer_lag=lag, redis_errors=errors)


# -------------------------------------------------------------------------------------------------------- frames
def _number(value: float | None, unit: str | None = None) -> str:
    """A value as a person reads it: thousands separated, three significant digits below 1000."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return f"{text} {unit}" if unit else text


def _headline(scorecard: Scorecard, current: Snapshot, stats: FrameStats) -> Text:
    line = plain(scorecard.name, style="bold")
    line.append(f"  live at {current.report.get('at', '?')}, evaluated in {current.eval_seconds * 1000:.0f} ms")
    rate = "-" if stats.events_per_second is None else f"{stats.events_per_second:,.1f}"
    line.append(f"\nevents/s {rate}", style="bold")
    line.append(f"   events {stats.events_total:,} ({stats.outcomes.get('accepted', 0):,} accepted)")
    dead = ", ".join(f"{stats.outcomes.get(o, 0):,} {o}" for o in DEAD_LETTER_OUTCOMES)
    line.append(f"   dead letters {stats.dead_letters:,}", style="bold red" if stats.dead_letters else "")
    line.append(f" ({dead})")
    return line


def _pipeline_line(current: Snapshot) -> Text:
    if current.pipeline is not None:
        p = current.pipeline
        return Text(f"worker: consumer lag {p.consumer_lag:,.0f} messages, Redis errors {p.redis_errors:,.0f}")
    if current.pipeline_error:
        return plain(f"worker metrics: {current.pipeline_error}", style="dim")
    return Text("")


def _worst_table(scorecard: Scorecard, worst: list[WorstKpi]) -> Table:
    table = Table(title="Worst KPIs", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, justify in (("Unit", "left"), ("KPI", "left"), ("Score", "right"), ("Status", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for name in ("Value", "Goal", "Red flag"):
        table.add_column(name, justify="right", no_wrap=True)
    for entry in worst:
        kpi = scorecard.kpi(entry.kpi)
        style = STATUS_STYLES.get(entry.status, "")
        table.add_row(
            plain(scorecard.unit(entry.unit).label),
            plain(kpi.label),
            Text(f"{entry.score:.1f}", style=style),
            Text(entry.status.replace("_", " "), style=style),
            plain(_number(entry.value, kpi.unit)),
            plain(_number(entry.goal, kpi.unit)),
            plain(_number(entry.red_flag, kpi.unit)),
        )
    return table


def _pace_lines(scorecard: Scorecard, worst: list[WorstKpi]) -> Text:
    """For the paced KPIs among the worst: goal and red flag are to date; the share elapsed and the forecast."""
    lines = [
        plain(
            f"  {scorecard.unit(e.unit).label}, {scorecard.kpi(e.kpi).label}: {e.elapsed:.0%} of its period,"
            f" forecast {_number(e.forecast, scorecard.kpi(e.kpi).unit)}",
            style="dim",
        )
        for e in worst
        if e.elapsed is not None
    ]
    if not lines:
        return Text("")
    return Text("\n").join([plain("Paced KPIs (goal and red flag to date):", style="dim"), *lines])


def build_frame(
    scorecard: Scorecard,
    previous: Snapshot | None,
    current: Snapshot,
    elapsed: float,
    *,
    tree: OrgTree | None = None,
    worst: int = 5,
    hint: str | None = "Ctrl-C to exit",
) -> Group:
    """The whole board for ``current``, with rates over the ``elapsed`` seconds since ``previous``."""
    if current.error is not None:
        return Group(
            plain(scorecard.name, style="bold"),
            plain(current.error, style="bold red"),
            _pipeline_line(current),
            Text(hint or "", style="dim"),
        )
    stats = frame_stats(previous.report if previous else None, current.report, elapsed, worst)
    parts: list[RenderableType] = [
        _headline(scorecard, current, stats),
        _pipeline_line(current),
        scorecard_table(scorecard, current.report, tree),
    ]
    if stats.worst:
        parts.append(_worst_table(scorecard, stats.worst))
        parts.append(_pace_lines(scorecard, stats.worst))
    if hint:
        parts.append(Text(hint, style="dim"))
    return Group(*parts)


def frame_text(
    scorecard: Scorecard, previous: Snapshot | None, current: Snapshot, elapsed: float, *, width: int = 120
) -> str:
    """``build_frame`` as plain text (no colours): the non-interactive board, logs and tests."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(build_frame(scorecard, previous, current, elapsed, hint=None))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------- I/O
def fetch_pipeline(metrics_url: str | None) -> tuple[PipelineStats | None, str | None]:
    """The worker's metrics, or (None, why not); never raises, the board works without them."""
    if not metrics_url:
        return None, None
    try:
        with urllib.request.urlopen(authenticated_request(metrics_url), timeout=_METRICS_TIMEOUT) as response:
            return parse_pipeline_metrics(response.read().decode()), None
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"not reachable at {redact_url(metrics_url)} ({reason})"


def take_snapshot(
    scorecard: Scorecard,
    store: RedisStore,
    metrics_url: str | None,
    clock: Callable[[], float] = time.time,
) -> Snapshot:
    """Read the live report (timed) and the worker's metrics; a Redis problem becomes ``Snapshot.error``."""
    from scorecard.redis.live import live_report

    pipeline, pipeline_error = fetch_pipeline(metrics_url)
    started = time.perf_counter()
    try:
        if not store.is_initialized():
            return Snapshot(
                {},
                0.0,
                pipeline,
                f"waiting for a worker to fill {store!r}: no live scorecard yet for this app id",
                pipeline_error,
            )
        report = live_report(scorecard, store, clock())
    except StoreError as error:
        return Snapshot({}, 0.0, pipeline, f"cannot read the live scorecard: {error}", pipeline_error)
    return Snapshot(report, time.perf_counter() - started, pipeline, None, pipeline_error)


def run_board(
    scorecard: Scorecard,
    store: RedisStore,
    console: Console,
    *,
    refresh: float,
    metrics_url: str | None,
    duration: float | None = None,
) -> None:
    """Redraw the board every ``refresh`` seconds until Ctrl-C (KeyboardInterrupt reaches the caller) or ``duration``.

    A terminal gets one frame redrawn in place; anything else gets each frame printed as plain text.
    """
    tree = OrgTree.from_scorecard(scorecard)
    deadline = None if duration is None else time.monotonic() + duration
    previous: Snapshot | None = None
    previous_at = time.monotonic()

    hint = "Ctrl-C to exit" if console.is_terminal else None

    def next_frame() -> Group:
        nonlocal previous, previous_at
        current = take_snapshot(scorecard, store, metrics_url)
        now = time.monotonic()
        frame = build_frame(scorecard, previous, current, now - previous_at, tree=tree, hint=hint)
        if current.error is None:
            previous, previous_at = current, now
        return frame

    def sleep_until_next(started: float) -> bool:
        """Sleep out the refresh period; False when the duration is over."""
        wake = started + refresh
        if deadline is not None and wake >= deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False
        time.sleep(max(0.0, wake - time.monotonic()))
        return True

    if not console.is_terminal:
        while True:
            started = time.monotonic()
            console.print(next_frame())
            console.print()
            console.file.flush()
            if not sleep_until_next(started):
                return
    with Live(next_frame(), console=console, auto_refresh=False, screen=False) as live:
        while sleep_until_next(time.monotonic()):
            live.update(next_frame(), refresh=True)
