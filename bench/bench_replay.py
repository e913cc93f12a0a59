"""Replay throughput and memory on one core: the ACME KPIs on a 52-unit org, ~500k generated events.

Usage::

    .venv/bin/python bench/bench_replay.py                 # measure, print, update docs/benchmarks.md
    .venv/bin/python bench/bench_replay.py --no-write      # measure and print only
    .venv/bin/python bench/bench_replay.py --profile       # cProfile of one replay, top functions

The events are generated in memory by ``scorecard.simulator`` and encoded to JSON bytes first, so the timed part is
exactly what ``scorecard replay`` does per line of a file: decode (size and depth caps included), validate, judge
(with a received time, as the CLI always gives one, so the ``time_in_future`` check runs), fold. Throughput is the
best of ``--repeat`` runs (the least disturbed by the machine); peak memory is measured on a separate run with
tracemalloc (Python allocations of the replay: unit records, states, counters) and, for the whole process, as max
RSS.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import pstats
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import msgspec
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.common, when run as a script
from bench.common import machine, report
from scorecard.core.definition import Scorecard, validate_scorecard
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from scorecard.simulator import generate_events

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench_replay:start -->", "<!-- bench_replay:end -->"
TEAMS_PER_LEAF = 5
TARGET = 200_000
RECEIVED_AT = parse_time("2026-12-01T00:00:00Z")  # after the generated events, as a replay run now would be


def bench_scorecard() -> Scorecard:
    """ACME's definition with five teams under each of its eight leaves: 52 units, 15 KPIs, depth 3."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "acme.yaml").read_text())

    def grow(unit: dict[str, Any]) -> None:
        children = unit.get("children") or []
        if not children:
            unit["children"] = [{"id": f"{unit['id']}-t{i}"} for i in range(1, TEAMS_PER_LEAF + 1)]
        for child in children:
            grow(child)

    grow(data["org"])
    return validate_scorecard(data, "bench")


def bench_lines(scorecard: Scorecard, count: int) -> list[bytes]:
    """``count`` encoded events with the usual trouble: 1% duplicates, 0.5% late, invalid and ignored."""
    events = generate_events(
        scorecard,
        start="2026-10-01T00:00:00+02:00",
        days=60,
        events_per_day=count / 50,  # a little more than needed: the first ``count`` are kept
        seed=1,
        duplicate_rate=0.01,
        late_rate=0.005,
        invalid_rate=0.005,
        ignored_rate=0.005,
    )
    # msgspec rather than orjson: each small orjson.dumps result pins ~4 KB of heap (seen as 2 GB of RSS for 500k
    # lines), which would make the memory figure about the benchmark's input instead of the replay
    encode = msgspec.json.Encoder().encode
    return [encode(event) for event in itertools.islice(events, count)]


def measure(scorecard: Scorecard, lines: list[bytes], repeat: int) -> dict[str, Any]:
    timings = []
    counts: dict[str, int] = {}
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = replay(scorecard, lines, received_at=RECEIVED_AT)
        timings.append(time.perf_counter() - started)
        counts = result.counts
        del result
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before tracemalloc adds its own
    gc.collect()
    tracemalloc.start()
    result = replay(scorecard, lines, received_at=RECEIVED_AT)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    states = sum(len(s.aggregates) for s in result.states.values())
    ids = sum(len(s.seen) for s in result.states.values())
    best = min(timings)
    return {
        "events": len(lines),
        "best_s": best,
        "runs_s": timings,
        "rate": len(lines) / best,
        "peak_traced_mb": peak / 2**20,
        "max_rss_mb": max_rss,
        "input_mb": sum(len(line) for line in lines) / 2**20,
        "counts": counts,
        "states": states,
        "ids": ids,
    }


def section(figures: dict[str, Any], host: dict[str, str], scorecard: Scorecard) -> str:
    counts = ", ".join(f"{n} {name}" for name, n in figures["counts"].items())
    verdict = "meets" if figures["rate"] >= TARGET else "is BELOW"
    runs = ", ".join(f"{t:.2f}" for t in figures["runs_s"])
    return "\n".join(
        [
            START,
            "## Replay throughput (`bench/bench_replay.py`)",
            "",
            f"Scorecard: ACME KPIs ({len(scorecard.kpis)}) on a {len(scorecard._units)}-unit org (ACME with"
            f" {TEAMS_PER_LEAF} teams under each leaf). Input: {figures['events']:,} generated events encoded as JSON"
            f" lines ({figures['input_mb']:.0f} MB in memory); outcomes: {counts}.",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| throughput, one core, best of {len(figures['runs_s'])} | **{figures['rate']:,.0f} events/s**"
            f" ({figures['best_s']:.2f} s; runs {runs} s) |",
            f"| peak Python memory of the replay (tracemalloc) | {figures['peak_traced_mb']:.1f} MB"
            f" ({figures['states']:,} aggregate states, {figures['ids']:,} remembered ids) |",
            f"| max RSS of the benchmark process (input included) | {figures['max_rss_mb']:.0f} MB |",
            "",
            f"Target: {TARGET:,} events/s; this run {verdict} it.",
            "",
            f"Machine: {host['cpu']}, nproc {host['nproc']}, {host['python']}, {host['platform']}; run on"
            f" {host['date']}.",
            END,
        ]
    )


def profile(scorecard: Scorecard, lines: list[bytes]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    replay(scorecard, lines, received_at=RECEIVED_AT)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one replay instead")
    args = parser.parse_args()
    scorecard = bench_scorecard()
    started = time.perf_counter()
    lines = bench_lines(scorecard, args.events)
    print(f"generated {len(lines):,} events in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.profile:
        profile(scorecard, lines)
        return 0
    figures = measure(scorecard, lines, args.repeat)
    text = section(figures, machine(), scorecard)
    report(text, START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
