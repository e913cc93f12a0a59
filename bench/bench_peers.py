"""The worker side by side with peers on the same input: raw aiokafka, a bare Faust agent, Quix Streams.

    make services-up                                        # Kafka and Redis must be running
    .venv/bin/python bench/bench_peers.py                   # 200,000 events, 3 rounds: ~15 min on 2 cores
    .venv/bin/python bench/bench_peers.py --events 20000 --repeat 1 --no-write

One input is generated and published once (ACME events from the project's generator, about 3% duplicate, late,
invalid or ignored; 8 partitions, keyed by unit). Each contender then reads it from offset 0 with a consumer group
of its own, one after another, in rounds (every contender once per round, ``--repeat`` rounds). Before each run the
script waits for a quiet machine (1-minute load average under ``--quiet-load``, at most ``--quiet-wait`` seconds;
the load at the start of each run is reported either way).

What each contender does, and does not do:

- **raw aiokafka**: a bare ``getmany`` loop that counts the messages; no decoding. The ceiling of a Python consumer.
- **scorecard worker**: ``scorecard worker`` as users run it: decoding and validation, dedupe, per-KPI lateness, 15
  KPIs over three window kinds, durable table writes (changelog), one Redis cascade per batch up the org tree.
- **bare Faust agent**: ``bench/faust_bare.py``, a Faust agent with the worker's settings that only counts
  batches: Faust's own per-message cost.
- **Quix Streams, UC4 shape** (``bench/peers/quix_job.py``, Quix in a virtualenv of its own under
  ``.cache/bench-peers``): JSON decoding, one record per unit an event counts for (itself and its ancestors),
  re-keyed through a repartition topic, a 1-day tumbling sum and count per unit in RocksDB with a changelog. No
  dedupe, no validation beyond a known unit and a time, one aggregate instead of 15 KPIs, no Redis cascade.
- **Quix Streams, own unit**: the same decoding, one 1-day tumbling count per event's own unit: no fan-out, no
  repartition. Quix's own per-event floor.

Every contender is a process of its own. Its rate is counted from the first to the last event it has processed
(start-up excluded), polling its progress (the worker's and Faust's counts in Redis; the others tell a Redis
counter). CPU per event is the process's user + system time over that span (from /proc), divided by the input
events; peak memory is the process's VmHWM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.*, scorecard, streams and tests, when run as a script

from bench.bench_stream import generated_lines  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.peers.fanout import expected_records  # noqa: E402
from scorecard.config import Settings  # noqa: E402
from scorecard.core.definition import load_scorecard  # noqa: E402
from scorecard.core.hierarchy import OrgTree  # noqa: E402
from scorecard.redis.store import StoreError  # noqa: E402
from streams.publisher import publish_lines  # noqa: E402
from streams.topics import TopicNames, ensure_topics  # noqa: E402
from tests.integration.pipeline import Deployment  # noqa: E402

ACME = ROOT / "examples" / "acme.yaml"
PARTITIONS = 8
START, END = "<!-- bench_peers:start -->", "<!-- bench_peers:end -->"
QUIX_VENV = ROOT / ".cache" / "bench-peers" / "quix"
QUIX_REQUIREMENTS = ["quixstreams>=3.28,<3.29", "redis>=5,<8"]
CONTENDERS = ("raw-aiokafka", "worker", "faust-bare", "quix-uc4", "quix-own")
LABELS = {
    "raw-aiokafka": "raw aiokafka `getmany` loop (counts only)",
    "worker": "**scorecard worker** (until Redis shows every event)",
    "faust-bare": "bare Faust agent doing nothing (`bench/faust_bare.py`)",
    "quix-uc4": "Quix Streams, UC4 shape (fan-out to ancestors, repartition, 1-day tumbling sum and count)",
    "quix-own": "Quix Streams, one 1-day tumbling count per event's own unit (no fan-out)",
}


@dataclass
class Run:
    """One contender's pass over the input."""

    rate: float  # input events per second, first to last processed
    cpu_us: float  # CPU microseconds per input event over the same span
    peak_mb: float
    load: float  # 1-minute load average when it started


# ------------------------------------------------------------------------------------------------ processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def watch(pid: int, progress: Callable[[], int], total: int, timeout: float, what: str) -> tuple[float, float, float]:
    """Poll ``progress`` until ``total``: (seconds from the first rise to the end, CPU seconds over it, peak MB)."""
    deadline = time.monotonic() + timeout
    first: tuple[float, float] | None = None
    previous = (time.perf_counter(), cpu_seconds(pid))
    while time.monotonic() < deadline:
        now = (time.perf_counter(), cpu_seconds(pid))
        done = progress()
        if done > 0 and first is None:
            first = previous  # the last poll that saw nothing: the work began after it
        if done >= total:
            assert first is not None
            return now[0] - first[0], now[1] - first[1], peak_mb(pid)
        previous = now
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({progress():,} of {total:,})")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def quiet(load_below: float, wait: float) -> float:
    """Wait (at most ``wait`` s) for the 1-minute load average to fall under ``load_below``; return it."""
    deadline = time.monotonic() + wait
    while os.getloadavg()[0] >= load_below and time.monotonic() < deadline:
        time.sleep(2)
    return os.getloadavg()[0]


def ensure_quix() -> Path:
    """The Python of a virtualenv with Quix Streams (made on first use), kept apart from the project's."""
    python = QUIX_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing {', '.join(QUIX_REQUIREMENTS)} into {QUIX_VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(QUIX_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *QUIX_REQUIREMENTS], check=True)
    return python


# ------------------------------------------------------------------------------------------------ contenders


@dataclass
class Bench:
    """The shared input and what every contender needs to read it."""

    base: Settings
    topic: str
    lines: list[bytes]
    chains_file: Path
    workdir: Path
    timeout: float

    def name(self, contender: str) -> str:
        """A consumer group / app id of its own for each run, containing the input topic's run tag (for clean-up)."""
        return f"{self.topic.removesuffix('.events')}-{contender}-{uuid.uuid4().hex[:4]}"

    def counter_run(
        self, name: str, command: list[str], total: int, extra: dict[str, str], counter_variable: str = "PEER_COUNTER"
    ) -> Run:
        """A contender that tells a Redis counter (named in ``counter_variable``) how much it has processed."""
        client = redis.Redis.from_url(self.base.redis_url)
        key = f"bench:peers:{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "SCORECARD_KAFKA_BOOTSTRAP": self.base.kafka_bootstrap,
            "SCORECARD_REDIS_URL": self.base.redis_url,
            "PEER_TOPIC": self.topic,
            "PEER_GROUP": self.name(name),
            counter_variable: key,
            "PEER_EXPECTED": str(total),
            "PEER_CHAINS": str(self.chains_file),
            **extra,
        }
        load = os.getloadavg()[0]
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(command, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            seconds, cpu, peak = watch(
                process.pid, lambda: int(client.get(key) or 0), total, self.timeout, f"{name} ({log.name})"
            )
        finally:
            stop(process)
            client.delete(key)
        return Run(len(self.lines) / seconds, cpu / len(self.lines) * 1e6, peak, load)

    def raw(self) -> Run:
        script = ROOT / "bench" / "peers" / "raw_aiokafka.py"
        return self.counter_run("raw-aiokafka", [sys.executable, str(script)], len(self.lines), {})

    def faust_bare(self) -> Run:
        app = self.name("faust-bare")
        command = [sys.executable, str(ROOT / "bench" / "faust_bare.py"), "worker", "-l", "warn"]
        extra = {"BARE_TOPIC": self.topic, "BARE_APP": app, "PYTHONPATH": str(ROOT)}
        return self.counter_run("faust-bare", command, len(self.lines), extra, counter_variable="BARE_COUNTER")

    def worker(self) -> Run:
        app = self.name("worker")
        settings = Settings(
            self.base.kafka_bootstrap, self.base.redis_url, self.base.prometheus_url, self.topic, app, PARTITIONS
        )
        dep = Deployment(settings, ACME, self.workdir)
        load = os.getloadavg()[0]
        worker = dep.start_worker("peers-worker")
        try:
            total = len(self.lines)
            seconds, cpu, peak = watch(worker.process.pid, dep.counted, total, self.timeout, "the worker")
        finally:
            dep.stop_workers()
            with contextlib.suppress(StoreError):
                dep.store().reset()
        return Run(total / seconds, cpu / total * 1e6, peak, load)

    def quix(self, mode: str) -> Run:
        python = ensure_quix()
        chains = json.loads(self.chains_file.read_text())
        total = expected_records(self.lines, chains, mode)
        state = self.workdir / f"quix-state-{uuid.uuid4().hex[:6]}"
        script = ROOT / "bench" / "peers" / "quix_job.py"
        extra = {"PEER_MODE": mode, "PEER_STATE_DIR": str(state)}
        return self.counter_run(f"quix-{mode}", [str(python), str(script)], total, extra)

    def run(self, contender: str) -> Run:
        if contender == "raw-aiokafka":
            return self.raw()
        if contender == "worker":
            return self.worker()
        if contender == "faust-bare":
            return self.faust_bare()
        return self.quix(contender.removeprefix("quix-"))


async def delete_topics(settings: Settings, tag: str) -> None:
    """Delete every topic whose name contains this run's ``tag``: the input, its dead letters, and the contenders'
    changelogs and repartition topics (named after their app ids and groups, Quix's too)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if tag in name]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


# ------------------------------------------------------------------------------------------------ report


def section(results: dict[str, list[Run]], events: int, rounds: int, quiet_load: float) -> str:
    rows = []
    for contender, runs in results.items():
        rates = [r.rate for r in runs]
        rows.append(
            f"| {LABELS[contender]} | {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) "
            f"| {statistics.median(r.cpu_us for r in runs):,.0f} µs "
            f"| {statistics.median(r.peak_mb for r in runs):,.0f} MB "
            f"| {', '.join(f'{r.load:.1f}' for r in runs)} |"
        )
    host = machine()
    worker = results.get("worker")
    ratios = []
    for peer in ("quix-uc4", "quix-own", "faust-bare", "raw-aiokafka"):
        if worker and peer in results:
            ratio = statistics.median(r.rate for r in worker) / statistics.median(r.rate for r in results[peer])
            ratios.append(f"{ratio:.2f}x {peer}")
    return "\n".join(
        [
            START,
            "## The worker beside its peers (`bench/bench_peers.py`)",
            "",
            f"{events:,} generated ACME events published once (8 partitions, keyed by unit); each contender reads "
            f"them from offset 0 with a group of its own, one after another, {rounds} round(s). Events/s are input "
            "events from the first to the last one processed; CPU per input event over the same span; peak memory "
            "is the process's VmHWM. What each contender does and does not do: the script's docstring.",
            "",
            "| contender | events/s, median (min-max) | CPU per event | peak memory | load at start |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"Worker against the others (medians): {', '.join(ratios) or 'n/a'}.",
            "",
            f"Machine: {host['cpu']}, nproc {host['nproc']}, {host['python']}; Kafka and Redis on the same cores; "
            f"quiet machine awaited before each run: 1-min load under {quiet_load}; run on {host['date']}.",
            END,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the input (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every contender (default 3)")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--quiet-load", type=float, default=0.5, help="1-min load average to wait for (0.5)")
    parser.add_argument("--quiet-wait", type=float, default=120, help="longest wait for it, seconds (120)")
    parser.add_argument("--timeout", type=float, default=600, help="longest one run may take, seconds (600)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    base = Settings.from_env()
    scorecard = load_scorecard(ACME)
    tree = OrgTree.from_scorecard(scorecard)
    if any(c.startswith("quix") for c in args.contenders):
        ensure_quix()
    print(f"generating {args.events:,} events ...", flush=True)
    lines = generated_lines(args.events)
    tag = f"bench-peers-{uuid.uuid4().hex[:6]}"
    topic = f"{tag}.events"
    results: dict[str, list[Run]] = {c: [] for c in args.contenders}
    settings = Settings(base.kafka_bootstrap, base.redis_url, base.prometheus_url, topic, tag, PARTITIONS)
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        workdir = Path(tmp)
        chains_file = workdir / "chains.json"
        chains_file.write_text(json.dumps({unit: list(tree.ancestors(unit)) for unit in tree.units}))
        try:
            asyncio.run(ensure_topics(settings, TopicNames.from_settings(settings)))
            asyncio.run(publish_lines(settings, lines))
            print(f"published {len(lines):,} events to {topic}", flush=True)
            bench = Bench(base, topic, lines, chains_file, workdir, args.timeout)
            for round_number in range(1, args.repeat + 1):
                for contender in args.contenders:
                    load = quiet(args.quiet_load, args.quiet_wait)
                    run = bench.run(contender)
                    results[contender].append(run)
                    print(
                        f"round {round_number}, {contender}: {run.rate:,.0f} events/s, {run.cpu_us:,.0f} µs CPU "
                        f"per event, peak {run.peak_mb:,.0f} MB (load {load:.1f})",
                        flush=True,
                    )
        finally:
            asyncio.run(delete_topics(settings, tag))
    report(section(results, len(lines), args.repeat, args.quiet_load), START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
