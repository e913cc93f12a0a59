"""Cascade script calls per second against the real Redis: typical flush batches and resync-sized ones.

Usage::

    .venv/bin/python bench/bench_cascade.py                      # measure, print, update docs/benchmarks.md
    .venv/bin/python bench/bench_cascade.py --no-write           # measure and print only
    .venv/bin/python bench/bench_cascade.py --against 877f33b    # A/B: also time store.py of that git revision

The org is the one of ``tests/integration/test_store.py``'s throughput test: depth 3, five children per unit (156
units, 125 leaves, so every update cascades into 4 subtree states), one KPI of every aggregation kind (7), two
buckets. Each call of ``RedisStore.apply`` carries ``batch`` own-state updates of distinct leaves (kpi, bucket and
leaf drawn at random), all newer than what Redis holds, so every entry is applied and cascaded. Three value ranges:
*small* (every number, subtree sums included, below 10**12 micro-units, i.e. one million display units), *mid*
(own states below 10**12, subtree sums between 10**12 and 2**53) and *wide* (own states about 10**20 micro-units,
far beyond 2**53, which Lua numbers cannot hold as such).

Each run uses a fresh throw-away app id (``SCORECARD_REDIS_URL``), deleted at the end; the figures are the best of
``--repeat`` runs. Calls/s is wall-clock time in ``apply`` (Python encoding, round trip, script). *Redis CPU* is the
server's main-thread CPU time per call (``INFO cpu``), the cost a script puts on Redis whatever the client machine
does; it is only reported when the benchmark was the one client connected during the whole run (``INFO clients``
and ``stats``), so point ``SCORECARD_REDIS_URL`` at a Redis of its own for it. With ``--against``, the two versions take
turns in blocks of calls, so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.common, when run as a script
from bench.common import machine, report
from scorecard.config import env
from scorecard.core.aggregates import Aggregation
from scorecard.core.definition import Unit
from scorecard.core.hierarchy import OrgTree
from scorecard.core.updates import OwnUpdate
from scorecard.redis.store import RedisStore

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench_cascade:start -->", "<!-- bench_cascade:end -->"
KPIS: dict[str, Aggregation] = {
    "revenue": Aggregation("sum"),
    "orders": Aggregation("count"),
    "basket": Aggregation("avg"),
    "fastest": Aggregation("min"),
    "slowest": Aggregation("max"),
    "nps": Aggregation("nps"),
    "conversion": Aggregation("ratio", numerator="count", denominator="sum", multiplier=100),
}
BUCKETS = (0, 3600)
TTL_MS = 600_000
SCALES = {"small": 1_000_000, "mid": 10**11 + 7, "wide": 10**20 + 123_456_789}  # micro-units per event and component
SCENARIOS = [(batch, values, calls) for batch, calls in ((20, 400), (1000, 16)) for values in SCALES]
BLOCK_ENTRIES = 2000  # entries per turn of one store in an A/B run


@dataclasses.dataclass
class Timing:
    """One store's share of a run: wall seconds in its calls, Redis CPU seconds (None: another client was active),
    or why it refused the values."""

    seconds: float = 0.0
    cpu: float | None = 0.0
    refused: str | None = None


def bench_tree() -> OrgTree:
    def level(depth: int, prefix: str) -> Unit:
        kids = () if depth == 3 else tuple(level(depth + 1, f"{prefix}{i}") for i in range(5))
        return Unit(id=prefix, children=kids)

    return OrgTree(level(0, "r"))


def grown_state(ops: str, version: int, scale: int) -> list[int]:
    """A state after ``version`` events of ``scale`` micro-units each: it only grows, as a real own state does."""
    total = version * scale
    by_ops = {"ac": [total, version], "cnx": [version, -total, total], "aaa": [version] * 3, "aa": [total, total]}
    return by_ops[ops]


def batches(tree: OrgTree, batch: int, calls: int, scale: int, seed: int) -> list[list[OwnUpdate]]:
    """``calls`` batches of ``batch`` distinct (kpi, bucket, leaf) fields; call ``i`` writes version ``i + 1``."""
    rng = random.Random(seed)
    leaves = [u for u in tree if tree.is_leaf(u)]
    fields = [(kpi, bucket, leaf) for kpi in KPIS for bucket in BUCKETS for leaf in leaves]
    out = []
    for i in range(calls):
        out.append(
            [
                OwnUpdate(
                    kpi,
                    bucket,
                    leaf,
                    i + 1,
                    grown_state(KPIS[kpi].component_ops, i + 1, scale),
                    tree.ancestors(leaf),
                    KPIS[kpi].component_ops,
                    TTL_MS,
                )
                for kpi, bucket, leaf in rng.sample(fields, batch)
            ]
        )
    return out


def load_store_module(rev: str) -> ModuleType:
    """``scorecard/redis/store.py`` as it is at git revision ``rev``, imported under another name for an A/B run."""
    source = subprocess.run(
        ["git", "show", f"{rev}:scorecard/redis/store.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location("store_against", file.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    Path(file.name).unlink()
    return module


def server_counters(client: redis.Redis) -> tuple[float, tuple[int, int]]:
    """Redis main-thread CPU seconds so far, and who could have used it: (clients connected, connections ever)."""
    info = client.execute_command("INFO", "cpu", "stats", "clients")
    cpu = info["used_cpu_user_main_thread"] + info["used_cpu_sys_main_thread"]
    return cpu, (info["connected_clients"], info["total_connections_received"])


def run(client: redis.Redis, stores: list[Any], work: list[list[OwnUpdate]]) -> list[Timing]:
    """Apply every batch once to each store (fresh app ids), the stores taking turns block by block."""
    timings = [Timing() for _ in stores]
    block = max(1, BLOCK_ENTRIES // len(work[0]))
    try:
        warm_up = dataclasses.replace(work[0][0], version=0, state=[0] * len(work[0][0].ops))  # an empty state
        for store in stores:
            store.apply([warm_up])  # connects, loads the script: not measured
        for turn, start in enumerate(range(0, len(work), block)):
            for k in range(len(stores)) if turn % 2 == 0 else reversed(range(len(stores))):
                if timings[k].refused is None:
                    apply_block(client, stores[k], work[start : start + block], timings[k])
        return timings
    finally:
        for store in stores:
            store.reset()


def apply_block(client: redis.Redis, store: Any, work: list[list[OwnUpdate]], timing: Timing) -> None:
    cpu, clients = server_counters(client)
    started = time.perf_counter()
    for updates in work:
        try:
            result = store.apply(updates)
        except ValueError as error:  # NumericRangeError of whichever version: it cannot hold the values
            timing.refused = str(error)
            return
        if result.applied != len(updates):
            raise SystemExit(f"expected every entry applied, got {result}")
    timing.seconds += time.perf_counter() - started
    cpu_after, clients_after = server_counters(client)
    if timing.cpu is not None and clients == clients_after == (1, clients[1]):
        timing.cpu += cpu_after - cpu
    else:
        timing.cpu = None  # another client was connected meanwhile: the CPU may not be ours alone


def encode_time(store: RedisStore, work: list[list[OwnUpdate]]) -> float:
    """Median time of the Python side of one call (the script's keys and payload)."""
    times = []
    for updates in work[:50]:
        started = time.perf_counter()
        store._encode(updates, ())
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def best(timings: list[Timing]) -> Timing:
    """The fastest run, with the least Redis CPU of the runs that could measure it; a refusal if any."""
    refused = [t for t in timings if t.refused]
    if refused:
        return refused[0]
    cpus = [t.cpu for t in timings if t.cpu is not None]
    return Timing(min(t.seconds for t in timings), min(cpus) if cpus else None)


def measure(repeat: int, against: ModuleType | None) -> list[dict[str, Any]]:
    tree = bench_tree()
    client = redis.Redis.from_url(env("SCORECARD_REDIS_URL"), socket_timeout=60)
    classes = [RedisStore] + ([against.RedisStore] if against else [])
    rows = []
    for batch, values, calls in SCENARIOS:
        work = batches(tree, batch, calls, SCALES[values], seed=batch)
        stores = [[cls(client, f"bench-cascade-{uuid.uuid4().hex[:8]}") for cls in classes] for _ in range(repeat)]
        runs = [run(client, s, work) for s in stores]
        row: dict[str, Any] = {"batch": batch, "values": values, "calls": calls}
        row["encode"] = encode_time(RedisStore(client, "bench-cascade-encode"), work)
        row["timings"] = [best([r[k] for r in runs]) for k in range(len(classes))]
        print(_row_text(row), file=sys.stderr)
        rows.append(row)
    return rows


def _cells(row: dict[str, Any], timing: Timing) -> list[str]:
    """calls/s and Redis CPU per call of one store."""
    if timing.refused:
        return ["refused (NumericRangeError)", ""]
    cpu = "shared" if timing.cpu is None else f"{timing.cpu / row['calls'] * 1000:.2f} ms"
    return [f"{row['calls'] / timing.seconds:,.0f}", cpu]


def _row_text(row: dict[str, Any]) -> str:
    mine = row["timings"][0]
    rate, cpu = _cells(row, mine)
    cells = [f"{row['batch']:,} entries, {row['values']} values", f"**{rate}**", cpu]
    if mine.refused:
        cells += ["", ""]
    else:
        cells += [f"{row['calls'] * row['batch'] / mine.seconds:,.0f}", f"{row['encode'] * 1000:.2f} ms"]
    if len(row["timings"]) > 1:
        other = row["timings"][1]
        cells += _cells(row, other)
        both = not mine.refused and not other.refused
        cells.append(f"{mine.seconds / other.seconds:.2f}" if both else "")
        cells.append(f"{mine.cpu / other.cpu:.2f}" if both and mine.cpu and other.cpu else "")
    return "| " + " | ".join(cells) + " |"


def section(rows: list[dict[str, Any]], host: dict[str, str], repeat: int, against: str | None, server: str) -> str:
    header = "| batch | calls/s | Redis CPU/call | entries/s | encode |"
    rule = "| --- | --- | --- | --- | --- |"
    if against:
        header += f" calls/s at `{against}` | its Redis CPU/call | time ratio | CPU ratio |"
        rule += " --- | --- | --- | --- |"
    lines = [
        START,
        "## Cascade script calls (`bench/bench_cascade.py`)",
        "",
        f"`RedisStore.apply` against a local Redis {server}: one Lua script call per batch of own-state updates, each"
        " cascading into 4 subtree states (depth-3 org of 156 units, one KPI of each of the 7 aggregation kinds, 2"
        " buckets). 20 entries is a typical worker flush (`bench_stream.py` measured 18-20 updates per call), 1000"
        " half a resync chunk. *Small*: every number below 10**12 micro-units; *mid*: subtree sums between 10**12 and"
        f" 2**53; *wide*: own states about 10**20 micro-units, beyond 2**53. Best of {repeat} runs. *calls/s*: wall"
        " clock in `apply`; *Redis CPU/call*: the server's main-thread CPU per script call (`INFO cpu`, measured only"
        " when the benchmark was the one client of that Redis); *encode*: the Python side of one call (median),"
        " included in the call time."
        + (
            f" The A/B columns run `scorecard/redis/store.py` of git revision `{against}` on the same batches, the two"
            " versions taking turns in blocks of calls; a ratio is this version's figure over that one's (above 1:"
            " this version is slower)."
            if against
            else ""
        ),
        "",
        "Run: `.venv/bin/python bench/bench_cascade.py [--against REV] [--repeat N] [--no-write]` (under a minute;"
        " for the CPU column, point `SCORECARD_REDIS_URL` at a Redis of its own, e.g. `redis-server --port 6390"
        " --save ''` and `SCORECARD_REDIS_URL=redis://127.0.0.1:6390/0`).",
        "",
        header,
        rule,
        *(_row_text(row) for row in rows),
        "",
        f"Machine: {host['cpu']}, nproc {host['nproc']}, {host['python']}, {host['platform']}; run on {host['date']}"
        f" (load average 1/5/15 min at the end: {host['load']}; other test suites share the machine).",
        END,
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the best counts (default 3)")
    parser.add_argument(
        "--against", metavar="REV", help="also time scorecard/redis/store.py of this git revision (A/B)"
    )
    args = parser.parse_args()
    against = load_store_module(args.against) if args.against else None
    rows = measure(args.repeat, against)
    server = redis.Redis.from_url(env("SCORECARD_REDIS_URL")).info("server")["redis_version"]
    text = section(rows, machine(), args.repeat, args.against, server)
    report(text, START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
