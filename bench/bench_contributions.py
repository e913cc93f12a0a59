"""What ``scorecard_kpi_contribution`` adds to the exporter's scrape time, at about 100,000 series, on the real Redis.

Usage::

    .venv/bin/python bench/bench_contributions.py              # print, update docs/benchmarks.md
    .venv/bin/python bench/bench_contributions.py --no-write   # print only
    .venv/bin/python bench/bench_contributions.py --no-write --size 10k --rounds 2   # a quick check of the script

The org and the Redis contents are those of ``bench/bench_exporter.py`` for its 100k size (ACME's KPIs on ACME with
265 teams under each leaf, a week of simulated events cascaded into Redis under a throw-away app id). Two collectors
read the same Redis: the exporter as it is, and the same exporter with the contribution family left out. Their scrapes
over HTTP alternate, round after round, so a change of the machine's load hits both alike; the figure is the ratio of
the medians, and the target is at most +20%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.common, when run as a script
from bench.bench_exporter import SIZES, bench_definition, fill, measure
from bench.common import machine, report
from scorecard.config import env
from scorecard.contract import KPI_CONTRIBUTION
from scorecard.core.evaluation import UnitResult, buckets_at, score_units
from scorecard.core.updates import Counts
from scorecard.outputs.exporter import Family, ScorecardCollector, exposition, redis_client
from scorecard.redis.live import read_live
from scorecard.redis.store import RedisStore

START, END = "<!-- bench_contributions:start -->", "<!-- bench_contributions:end -->"
ROUNDS = 15
SCRAPES_PER_ROUND = 2
TARGET = 0.20


class WithoutContributions(ScorecardCollector):
    """The exporter without ``scorecard_kpi_contribution``: the baseline."""

    def families(self, results: Mapping[str, UnitResult], counts: Counts) -> list[Family]:
        return [f for f in super().families(results, counts) if f.name != KPI_CONTRIBUTION]

    def _contribution_family(self, results: Mapping[str, UnitResult]) -> Family:
        return self.layout.kpi_contribution.with_samples([])


def direct_cost(collector: ScorecardCollector, at: float, repeats: int) -> list[float]:
    """Seconds to compute and render the contribution family alone, from one scrape's scored results: the part of a
    scrape the family adds, timed back to back, so the machine's load moves it far less than whole scrapes."""
    compiled = collector.compiled
    subtree, _ = read_live(collector.store, compiled, buckets_at(collector.scorecard, at, compiled))
    results = score_units(collector.scorecard, collector.tree, subtree, at, compiled)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        exposition([collector._contribution_family(results)])
        times.append(time.perf_counter() - started)
    return times


def run(rounds: int, size: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        scorecard = bench_definition(SIZES[size], Path(directory))
    store = RedisStore(redis_client(env("SCORECARD_REDIS_URL"), timeout=30), f"bench-contrib-{uuid.uuid4().hex[:8]}")
    try:
        started = time.perf_counter()
        at, events = fill(scorecard, store)
        print(f"{events:,} events into Redis in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        collectors = {
            "with": ScorecardCollector(scorecard, store, clock=lambda: at),
            "without": WithoutContributions(scorecard, store, clock=lambda: at),
        }
        figures: dict[str, dict[str, Any]] = {name: {"http": [], "collect": [], "render": []} for name in collectors}
        for number in range(rounds):
            order = ("with", "without") if number % 2 == 0 else ("without", "with")
            for name in order:
                measured = measure(collectors[name], SCRAPES_PER_ROUND)
                if not measured["up"]:
                    raise SystemExit(f"the exporter could not read Redis at {store.url}")
                for key in ("http", "collect", "render"):
                    figures[name][key] += measured[key]
                figures[name]["series"] = measured["series"]
                figures[name]["bytes"] = measured["bytes"]
            print(f"round {number + 1}/{rounds} done", file=sys.stderr)
        direct = direct_cost(collectors["with"], at, rounds * SCRAPES_PER_ROUND)
        return {
            "direct": direct,
            "units": len(scorecard._units),
            "events": events,
            "rounds": rounds,
            "size": size,
            **figures,
        }
    finally:
        store.reset()


def section(result: dict[str, Any], host: dict[str, str]) -> str:
    def median_ms(name: str, key: str) -> float:
        return statistics.median(result[name][key]) * 1000

    http_with, http_without = median_ms("with", "http"), median_ms("without", "http")
    added = http_with / http_without - 1
    direct = statistics.median(result["direct"]) * 1000
    direct_share = direct / http_without
    verdict = "met" if added <= TARGET else "**missed**"
    rows = []
    for name, label in (("without", "without contributions"), ("with", "with `scorecard_kpi_contribution`")):
        rows.append(
            f"| {label} | {result[name]['series']:,} | {result[name]['bytes'] / 2**20:.1f} MB"
            f" | {len(result[name]['http'])} | **{median_ms(name, 'http'):.0f}** | {median_ms(name, 'collect'):.0f}"
            f" | {median_ms(name, 'render'):.0f} |"
        )
    return "\n".join(
        [
            START,
            "## What contributions add to a scrape (`bench/bench_contributions.py`)",
            "",
            f"The {result['size']} org of `bench/bench_exporter.py`"
            f" ({result['units']:,} units, {result['events']:,} simulated events in the local Redis 7),"
            " scraped over HTTP by two collectors on the same Redis: the exporter as it is and the same"
            " exporter without the `scorecard_kpi_contribution` family, their scrapes alternating"
            f" ({result['rounds']} rounds of {SCRAPES_PER_ROUND} scrapes each, the order swapped every round)."
            " Medians in ms; *series* counts the samples of the scrape.",
            "",
            "| exporter | series | body | scrapes | HTTP GET | collect | render |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"Contributions add **{added:+.0%}** to the median scrape"
            f" (target at most +{TARGET:.0%}: {verdict})."
            " Timed alone, back to back on one scrape's scored results, computing and rendering the family"
            f" takes {direct:.1f} ms (median of {len(result['direct'])}),"
            f" {direct_share:.1%} of the median scrape without it:"
            " the whole-scrape ratio above also carries the machine's load swings.",
            "",
            f"Machine: {host['cpu']}, nproc {host['nproc']}, {host['python']}, {host['platform']}; run on"
            f" {host['date']} (load average 1/5/15 min at the end: {host['load']}; other test suites share the"
            " machine).",
            END,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating rounds of scrapes")
    parser.add_argument("--size", choices=sorted(SIZES), default="100k", help="org size (10k: a quick check)")
    args = parser.parse_args()
    text = section(run(args.rounds, args.size), machine())
    report(text, START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
