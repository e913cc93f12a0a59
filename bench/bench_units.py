"""Worker memory per unit: the ACME KPIs on generated orgs of several sizes, filled with weeks of events in process.

    .venv/bin/python bench/bench_units.py              # a few minutes (10 on a loaded 2-core machine); no services
    .venv/bin/python bench/bench_units.py --no-write

Per size, ACME's definition gets N teams under each of its eight leaves (as ``bench_exporter.py`` does), the
simulator generates 35 days of events (30 per leaf and day: every window of the definition has data, the 28-day
rolling one included), and ``streams.processor.BatchProcessor`` applies them to a plain dict standing in for the Faust
table, as the worker does. What is measured, under ``tracemalloc``: the Python memory held by the processor and its
table afterwards, divided by the number of units (the worker holds this per unit it owns, plus its fixed cost), and
the bytes of the table's records (what the changelog topic holds per unit). The ids remembered for dedupe are
included; with 30 events per leaf and day and a 24 h dedupe horizon they are a few dozen per unit (the cost of
many ids is ``bench_hot_unit.py``'s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import msgspec
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.common, when run as a script
from bench.bench_exporter import bench_definition
from bench.common import machine, report
from scorecard.core.engine import Engine
from scorecard.simulator import generate_events
from streams.processor import BatchProcessor, Item, routing_key

START, END = "<!-- bench_units:start -->", "<!-- bench_units:end -->"
EVENT_START = "2026-10-01T00:00:00Z"
DAYS = 35
EVENTS_PER_LEAF_DAY = 30
TEAMS_PER_LEAF = (10, 40)
BATCH = 2000


def measure(teams_per_leaf: int, directory: Path) -> dict[str, float]:
    scorecard = bench_definition(teams_per_leaf, directory)
    engine = Engine(scorecard)
    leaves = sum(1 for u in engine.tree.units if engine.tree.is_leaf(u))
    events = generate_events(
        scorecard, start=EVENT_START, days=DAYS, events_per_day=leaves * EVENTS_PER_LEAF_DAY, seed=5
    )
    encode = msgspec.json.Encoder().encode
    lines = [encode(event) for event in events]
    items = [Item(routing_key(engine, raw), raw, 0, offset) for offset, raw in enumerate(lines)]
    del events, lines
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    table: dict[str, object] = {}
    processor = BatchProcessor(Engine(scorecard), table, dict.fromkeys(engine.kpis, 3_600_000))
    for start in range(0, len(items), BATCH):
        processor.process(items[start : start + BATCH])
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    units = len(engine.tree.units)
    record_bytes = sum(len(v) if isinstance(v, bytes) else len(orjson.dumps(v)) for v in table.values())
    return {
        "teams": teams_per_leaf,
        "units": units,
        "events": len(items),
        "held_mb": (held - baseline) / 1e6,
        "kb_per_unit": (held - baseline) / 1e3 / units,
        "records": len(table),
        "record_kb_per_unit": record_bytes / 1e3 / units,
    }


def section(rows: list[dict[str, float]], host: dict[str, str]) -> str:
    lines = [
        START,
        "## Worker memory per unit (`bench/bench_units.py`)",
        "",
        f"ACME KPIs (15) on generated orgs (ACME with N teams under each of its 8 leaves), {DAYS} days of simulated "
        f"events ({EVENTS_PER_LEAF_DAY} per leaf and day, so every window holds data), applied in process by the "
        "worker's batch step to a dict standing in for its table. *Held*: Python memory of the processor and its table "
        "afterwards (tracemalloc); *records*: the bytes of the table's records, what the changelog topic keeps per "
        "unit.",
        "",
        "| org | units | events | held | held per unit | table records | record bytes per unit |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['teams']:.0f} teams/leaf | {row['units']:,.0f} | {row['events']:,.0f} | {row['held_mb']:.1f} MB "
            f"| **{row['kb_per_unit']:.0f} KB** | {row['records']:,.0f} | {row['record_kb_per_unit']:.1f} KB |"
        )
    lines += [
        "",
        f"Machine: {host['cpu']}, nproc {host['nproc']}, {host['python']}, {host['platform']}; run on {host['date']} "
        f"(load {host['load']}).",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for teams in TEAMS_PER_LEAF:
            row = measure(teams, Path(directory))
            print(row, file=sys.stderr)
            rows.append(row)
    report(section(rows, machine()), START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
