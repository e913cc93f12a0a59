"""A hot unit: two million events for one unit within one dedupe horizon, in process and through the real broker.

    make services-up                                     # Kafka and Redis must be running
    .venv/bin/python bench/bench_hot_unit.py             # ~10 min: batch times in process, then the real worker
    .venv/bin/python bench/bench_hot_unit.py --events 300000 --no-write

Every id of the unit stays remembered for the ACME definition's 24 h dedupe horizon (the events span 20 hours), the
case that used to stop the worker for good once the unit's record passed Kafka's 1 MB message limit (about 18,500
ids). What is measured:

1. **In process** (``streams.processor.BatchProcessor`` over a plain dict standing in for the Faust table, no Kafka):
   the time of each batch of 2,000 events (decide, then write the records), grouped by how many ids the unit
   remembered when the batch ran, so that a batch time growing with the memory shows; the largest table record
   written; and the Python memory (tracemalloc) held by the processor and its table per million remembered ids.
2. **Through the real broker**: the events published to a fresh pipeline, drained by one ``scorecard worker``; its
   rate, its peak resident memory against its resident memory before the events (``VmHWM`` and ``VmRSS`` from
   /proc), the largest record of the table's changelog topic, and whether ``scorecard status`` equals
   ``scorecard replay`` of the same events byte for byte.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_block  # noqa: E402
from scorecard.config import Settings  # noqa: E402
from scorecard.core.dedupe import SLICE_BYTES  # noqa: E402
from scorecard.core.definition import load_scorecard  # noqa: E402
from scorecard.core.engine import Engine  # noqa: E402
from streams.processor import BatchProcessor, Item, routing_key  # noqa: E402
from tests.integration.pipeline import Deployment, delete_topics, replay_json  # noqa: E402
from tests.integration.test_hot_unit import largest_changelog_record  # noqa: E402

ACME = ROOT / "examples" / "acme.yaml"
START, END = "<!-- bench_hot_unit:start -->", "<!-- bench_hot_unit:end -->"
BATCH = 2000
SPAN_S = 20 * 3600
START_TIME = 1_795_168_800.0  # 2026-11-20T09:00:00Z: any fixed time will do, evaluations are at the replay's time


def hot_lines(count: int) -> list[bytes]:
    spacing = SPAN_S / count
    return [
        orjson.dumps(
            {
                "id": f"hot-{i:08d}",
                "type": "order_completed",
                "unit": "sales-emea",
                "time": START_TIME + i * spacing,
                "fields": {"amount": round(10 + i % 997 * 0.37, 2), "channel": "online" if i % 3 else "store"},
            }
        )
        for i in range(count)
    ]


def record_size(value: object) -> int:
    return len(value) if isinstance(value, bytes) else len(orjson.dumps(value))


class SizedTable(dict[str, object]):
    """A dict standing in for the Faust table that remembers the largest record written to it."""

    largest = 0

    def __setitem__(self, key: str, value: object) -> None:
        self.largest = max(self.largest, record_size(value))
        super().__setitem__(key, value)


def in_process(lines: list[bytes]) -> dict[str, object]:
    """Batch times by remembered ids and the largest record (one run), then Python memory per million remembered
    ids (a second run under tracemalloc, which would slow the first)."""
    engine = Engine(load_scorecard(ACME))
    items = [Item(routing_key(engine, raw), raw, 0, offset) for offset, raw in enumerate(lines)]
    table = SizedTable()
    processor = BatchProcessor(engine, table, dict.fromkeys(engine.kpis, 3_600_000))
    times: dict[int, list[float]] = {}
    for start in range(0, len(items), BATCH):
        began = time.perf_counter()
        processor.process(items[start : start + BATCH])
        # every event is accepted, so the unit remembers one id per earlier event: group by quarter of the run
        times.setdefault(start * 4 // len(items), []).append(time.perf_counter() - began)
    quarters = {q: statistics.median(v) * 1000 for q, v in sorted(times.items())}
    largest = table.largest
    del processor, table
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    processor = BatchProcessor(Engine(load_scorecard(ACME)), {}, dict.fromkeys(engine.kpis, 3_600_000))
    for start in range(0, len(items), BATCH):
        processor.process(items[start : start + BATCH])
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"quarters": quarters, "largest": largest, "mb_per_million": (held - baseline) / 1e6 / (len(lines) / 1e6)}


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def through_the_broker(lines: list[bytes], workdir: Path) -> dict[str, object]:
    base = Settings.from_env()
    name = f"bench.hot.{uuid.uuid4().hex[:6]}"
    settings = Settings(base.kafka_bootstrap, base.redis_url, base.prometheus_url, f"{name}.events", name, 8)
    dep = Deployment(settings, ACME, workdir)
    events = workdir / "hot.jsonl"
    events.write_bytes(b"".join(line + b"\n" for line in lines))
    try:
        expected, at = replay_json(ACME, events)
        worker = dep.start_worker()
        deadline = time.monotonic() + 120
        while not worker.metrics() and time.monotonic() < deadline:
            time.sleep(0.5)
        before = vm_kib(worker.process.pid, "VmRSS")
        began = time.perf_counter()
        asyncio.run(_publish(settings, lines))
        dep.wait_for_events(len(lines), timeout=3600)
        seconds = time.perf_counter() - began
        peak = vm_kib(worker.process.pid, "VmHWM")
        equal = dep.status_json(at) == expected
        count, largest = asyncio.run(largest_changelog_record(settings))
        return {
            "rate": len(lines) / seconds,
            "seconds": seconds,
            "rss_before_mb": before / 1024,
            "peak_mb": peak / 1024,
            "equal": equal,
            "changelog_records": count,
            "changelog_largest": largest,
            "alive": worker.alive(),
        }
    finally:
        dep.close()
        asyncio.run(delete_topics(settings))


async def _publish(settings: Settings, lines: list[bytes]) -> None:
    from streams.publisher import publish_lines

    await publish_lines(settings, lines)


def render(events: int, local: dict[str, object], broker: dict[str, object] | None) -> str:
    info = machine()
    quarters = local["quarters"]
    assert isinstance(quarters, dict)
    rows = [
        f"| ids remembered when the batch ran: {q * events // 4:,}-{(q + 1) * events // 4:,} | {ms:.1f} ms |"
        for q, ms in quarters.items()
    ]
    lines = [
        START,
        "## A hot unit (`bench/bench_hot_unit.py`)",
        "",
        f"One unit (`sales-emea`, ACME definition, dedupe 24 h) receives {events:,} events within 20 hours: every id "
        "stays remembered. Id slices hold at most "
        f"{SLICE_BYTES:,} bytes.",
        "",
        "In process (the batch step over a dict, no Kafka), median time of a batch of 2,000 events:",
        "",
        "| when | batch time |",
        "| --- | --- |",
        *rows,
        "",
        f"Largest table record written: {local['largest']:,} bytes. Python memory of the processor and its table: "
        f"{local['mb_per_million']:.0f} MB per million remembered ids (tracemalloc).",
    ]
    if broker is not None:
        lines += [
            "",
            "Through the real broker (one worker, 8 partitions, the events published as a backlog while it runs):",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| drained | {broker['rate']:,.0f} events/s ({broker['seconds']:.0f} s, publishing included) |",
            f"| `status` equals `replay` byte for byte | {'yes' if broker['equal'] else 'NO'} |",
            f"| largest changelog record | {broker['changelog_largest']:,} bytes "
            f"(of {broker['changelog_records']:,} records) |",
            f"| worker resident memory | {broker['rss_before_mb']:.0f} MB before the events, "
            f"peak {broker['peak_mb']:.0f} MB: about "
            f"{(float(broker['peak_mb']) - float(broker['rss_before_mb'])) / (events / 1e6):.0f} MB "  # type: ignore[arg-type]
            "per million remembered ids |",
            f"| worker still running | {'yes' if broker['alive'] else 'NO'} |",
        ]
    lines += [
        "",
        f"Machine: {info['cpu']}, nproc {info['nproc']}, {info['python']}, load {info['load']}; run on {info['date']}.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--no-broker", action="store_true", help="only the in-process part")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    lines = hot_lines(args.events)
    print(f"{len(lines):,} events generated; in process...", flush=True)
    local = in_process(lines)
    print(local, flush=True)
    broker = None
    if not args.no_broker:
        print("through the broker...", flush=True)
        with tempfile.TemporaryDirectory() as workdir:
            broker = through_the_broker(lines, Path(workdir))
        print(broker, flush=True)
    block = render(args.events, local, broker)
    print(block)
    if not args.no_write:
        write_block(block, START, END)


if __name__ == "__main__":
    main()
