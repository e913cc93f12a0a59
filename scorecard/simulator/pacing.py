"""The running side of ``scorecard simulate``: send a ``Simulation`` to Kafka or a file in real time, stop cleanly.

``simulation.Simulation`` decides *what* is sent and does no I/O; this module decides *when*. The backfill
goes out as fast as the sink takes it; live events are sent when their time comes on the wall clock (their ``at``),
so event time and arrival time agree like they would with a real producer. When the backfill takes a few seconds,
the live events due meanwhile go out at once and the pacing catches up.

The run ends after ``duration`` seconds of live events (from the simulation's start), or on SIGINT or SIGTERM: the
signal sets a flag that the source checks between events (and while it waits), so the sink then flushes what was
sent, waits for Kafka's acknowledgements, and the summary counts exactly what reached the sink. A second signal
falls back to the default action, for a stuck broker. A fixed batch (``run_batch``, ``scorecard simulate --days``)
goes out as fast as the sink takes it, under the same signal handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from scorecard.core.timeutil import format_duration, format_time
from scorecard.simulator.draws import SimulatedEvent
from scorecard.simulator.simulation import Simulation

KINDS = ("regular", "late", "duplicate", "invalid")
BATCH_KINDS = (*KINDS, "ignored")
# The backfill hands control back to the event loop this often, so a signal is seen within a few milliseconds.
_YIELD_EVERY = 500
_PROGRESS_EVERY = 2000
# Waits shorter than this are not worth a sleep: the next events go out at once (a few ms early at most).
_MIN_SLEEP = 0.005

Sink = Callable[[AsyncIterator[bytes]], Awaitable[int]]


@dataclass
class SimulationStats:
    """What a run sent, by phase and kind; ``sent`` is what the sink confirmed."""

    backfill: Counter[str] = field(default_factory=Counter)
    live: Counter[str] = field(default_factory=Counter)
    backfill_seconds: float = 0.0
    live_seconds: float = 0.0
    stopped_by: str | None = None  # the signal's name when a signal ended the run
    sent: int = 0

    @property
    def live_rate(self) -> float:
        total = sum(self.live.values())
        return total / self.live_seconds if self.live_seconds > 0 else 0.0

    def kinds(self) -> Counter[str]:
        return self.backfill + self.live


async def run_simulation(
    simulation: Simulation,
    sink: Sink,
    *,
    rate: float,
    duration: float | None,
    progress: Callable[[float], None] | None = None,
) -> SimulationStats:
    """Feed ``sink`` the backfill then ``rate`` live events a second for ``duration`` seconds (None: until a signal).

    ``progress(seconds)`` hears how much of the backfill's event time has been generated; ``rate <= 0`` stops after
    the backfill.
    """
    return await _run(sink, lambda stats, stop: _source(simulation, stats, stop, rate, duration, progress))


async def run_batch(events: Iterable[SimulatedEvent], sink: Sink) -> SimulationStats:
    """Feed ``sink`` a fixed batch as fast as it takes it (counted as ``backfill``), until the end or a signal."""
    return await _run(sink, lambda stats, stop: _batch_source(events, stats, stop))


async def _run(sink: Sink, source: Callable[[SimulationStats, asyncio.Event], AsyncIterator[bytes]]) -> SimulationStats:
    """Run ``source`` into ``sink`` with SIGINT and SIGTERM setting the stop flag the source checks."""
    stats = SimulationStats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal(signum: signal.Signals) -> None:
        stats.stopped_by = signum.name
        stop.set()
        for each in signals:  # a second signal gets the default action
            loop.remove_signal_handler(each)

    for signum in signals:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        stats.sent = await sink(source(stats, stop))
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
    return stats


async def _batch_source(
    events: Iterable[SimulatedEvent], stats: SimulationStats, stop: asyncio.Event
) -> AsyncIterator[bytes]:
    started = time.monotonic()
    try:
        for n, item in enumerate(events, 1):
            if n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if stop.is_set():
                return
            stats.backfill[item.kind] += 1
            yield orjson.dumps(item.event)
    finally:
        stats.backfill_seconds = time.monotonic() - started


async def _source(
    simulation: Simulation,
    stats: SimulationStats,
    stop: asyncio.Event,
    rate: float,
    duration: float | None,
    progress: Callable[[float], None] | None,
) -> AsyncIterator[bytes]:
    """The event lines, counted by kind as they are handed over, until the end or ``stop``."""
    started = time.monotonic()
    begin = simulation.start - simulation.backfill_seconds
    for n, item in enumerate(simulation.backfill(), 1):
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
            if progress is not None and n % _PROGRESS_EVERY == 0:
                progress(item.at - begin)
        if stop.is_set():
            return
        stats.backfill[item.kind] += 1
        yield orjson.dumps(item.event)
    stats.backfill_seconds = time.monotonic() - started
    if progress is not None:
        progress(simulation.backfill_seconds)
    if rate <= 0 or stop.is_set():
        return
    end = simulation.start + duration if duration is not None else float("inf")
    try:
        for item in simulation.live(rate):
            if not await _wait_until(min(item.at, end), stop):
                return
            if item.at >= end:
                return
            stats.live[item.kind] += 1
            yield orjson.dumps(item.event)
    finally:
        stats.live_seconds = max(0.0, min(time.time(), end) - simulation.start)


async def _wait_until(moment: float, stop: asyncio.Event) -> bool:
    """Sleep until the wall clock reaches ``moment``; False when ``stop`` was set first."""
    delay = moment - time.time()
    if delay > _MIN_SLEEP:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    return not stop.is_set()


def file_sink(path: Path) -> Sink:
    """A sink writing JSON Lines to ``path``; while lines flow it flushes every 0.2 s, so ``tail -f`` follows."""

    async def write(lines: AsyncIterator[bytes]) -> int:
        written = 0
        flushed = time.monotonic()
        with path.open("wb") as handle:
            async for line in lines:
                handle.write(line + b"\n")
                written += 1
                if time.monotonic() - flushed >= 0.2:
                    handle.flush()
                    flushed = time.monotonic()
        return written

    return write


def summary_lines(simulation: Simulation, stats: SimulationStats, *, rate: float, destination: str) -> list[str]:
    """The end-of-run report: totals, each phase, kinds, the trend and why the run ended."""
    kinds = stats.kinds()
    lines = [f"sent {stats.sent} events to {destination}"]
    backfilled = sum(stats.backfill.values())
    if simulation.backfill_seconds > 0:
        span = format_duration(int(simulation.backfill_seconds))
        lines.append(
            f"backfill: {backfilled} events, {span} of history up to {format_time(simulation.start)}, "
            f"sent in {stats.backfill_seconds:.1f}s"
        )
    if rate > 0 and (stats.live or stats.live_seconds > 0):
        lines.append(
            f"live: {sum(stats.live.values())} events in {stats.live_seconds:.1f}s "
            f"({stats.live_rate:.1f} events/s; asked for {rate:g})"
        )
    lines.append("by kind: " + ", ".join(f"{kinds[kind]} {kind}" for kind in KINDS))
    lines.append("trend: " + trend_text(simulation))
    if stats.stopped_by is not None:
        lines.append(f"stopped by {stats.stopped_by}")
    return lines


def trend_text(simulation: Simulation) -> str:
    trend = simulation.trend
    if trend is None:
        return "none (no min, max, avg or NPS KPI whose events fill the live rate)"
    kpi = next(k for k in simulation.scorecard.kpis if k.id == trend.kpi)
    return trend.describe(kpi.unit)


def batch_summary_lines(stats: SimulationStats, *, days: float, start: float, destination: str) -> list[str]:
    """The report of a fixed batch: totals, its span and kinds, and why it ended early if it did."""
    lines = [
        f"sent {stats.sent} events to {destination}",
        f"batch: {sum(stats.backfill.values())} events, {days:g} days from {format_time(start)}, "
        f"sent in {stats.backfill_seconds:.1f}s",
        "by kind: " + ", ".join(f"{stats.backfill[kind]} {kind}" for kind in BATCH_KINDS),
    ]
    if stats.stopped_by is not None:
        lines.append(f"stopped by {stats.stopped_by}")
    return lines
