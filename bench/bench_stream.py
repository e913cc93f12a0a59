"""Streaming throughput and event-to-Redis latency of the worker, against the real Kafka and Redis.

    make services-up                                   # Kafka and Redis must be running
    .venv/bin/python bench/bench_stream.py             # ~3 min: raw consumer, bare Faust, 1 and 2 workers, latency
    .venv/bin/python bench/bench_stream.py --events 50000 --workers 1 --no-write

What is measured (one event per Kafka message, keyed by unit, the ACME scorecard, 8 partitions):

1. **Raw aiokafka consume loop**: the same N messages read by a bare ``AIOKafkaConsumer.getmany`` loop that does
   nothing with them. The ceiling of any Python consumer on this machine; the pipeline's rate is given as a ratio of
   it.
2. **Sustained pipeline rate**, for 1 and 2 workers, counted from the first to the last event applied in Redis
   (polling the outcome counts the workers flush with every cascade), in two ways. *Backlog*: the worker(s) run and
   are assigned, are paused (SIGSTOP) while N events are published, then continued: the rate at which they drain a
   backlog, Kafka and Redis sharing their cores but not the publisher (a few seconds' pause, well within the group's
   session timeout, so no rebalance). *Live*: N events published as fast as the producer goes while the worker(s)
   run, the publisher taking its share of the same two cores. The goal is judged on the backlog rate, the worker's
   own capacity; the live rate shows what a load generator on the same machine leaves of it.
3. **Latency at half the 1-worker backlog rate**: events stamped with the wall clock when sent, paced for
   ``--latency-seconds``; the worker's own histogram ``scorecard_pipeline_event_lag_seconds`` (observed after the
   Redis flush that carries the event) gives p50 and p99, interpolated within buckets like ``histogram_quantile``.
   The bare Faust agent is measured on a backlog as well.

Cascade round trips: one Lua script call per flushed batch by construction (``RedisStore.apply``); the figures show
flushes and the mean own-state updates per flush, from the worker's metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import redis
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine as machine_info  # noqa: E402
from bench.common import write_block  # noqa: E402
from scorecard.config import Settings  # noqa: E402
from scorecard.core.definition import load_scorecard  # noqa: E402
from scorecard.simulator import generate_events  # noqa: E402
from streams.publisher import publish_lines  # noqa: E402
from streams.topics import TopicNames, ensure_topics  # noqa: E402
from tests.integration.pipeline import Deployment, delete_topics, wait_until  # noqa: E402

ACME = ROOT / "examples" / "acme.yaml"
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench_stream:start -->", "<!-- bench_stream:end -->"
PARTITIONS = 8

_encode = msgspec.json.encode


def generated_lines(count: int) -> list[bytes]:
    """Realistic ACME events (all kinds of KPI sources), as JSON lines: about 3% duplicates, late or invalid."""
    per_day = 4000
    events = generate_events(
        load_scorecard(ACME),
        start="2026-06-01T00:00:00Z",
        days=count / per_day * 1.2 + 1,
        events_per_day=per_day,
        seed=5,
        duplicate_rate=0.01,
        late_rate=0.005,
        invalid_rate=0.005,
        ignored_rate=0.005,
    )
    return [_encode(e) for e in itertools.islice(events, count)]


def live_lines(templates: list[bytes]) -> Iterator[bytes]:
    """Valid events stamped with the wall clock at the moment the publisher takes them (unique ids)."""
    decoded = [msgspec.json.decode(t) for t in templates]
    valid = [e for e in decoded if isinstance(e, dict) and e.get("unit") and e.get("type") and e.get("id")]
    for number, event in enumerate(itertools.cycle(valid)):
        yield _encode({**event, "id": f"live-{number}", "time": time.time()})


@dataclass
class Figures:
    raw_rate: float = 0.0
    bare_rate: float = 0.0
    rates: dict[int, float] | None = None  # backlog
    live_rates: dict[int, float] | None = None
    flushes: dict[int, tuple[int, float]] | None = None  # of the backlog runs
    latency_rate: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    latency_events: int = 0


# ------------------------------------------------------------------------------------------------ raw consumer


async def raw_consume_rate(settings: Settings, topic: str, count: int) -> float:
    """Messages/s of a bare getmany loop over ``count`` messages already in ``topic``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        max_poll_records=2000,
    )
    await consumer.start()
    seen = 0
    started = None
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for messages in batches.values():
                if started is None:
                    started = time.perf_counter()
                seen += len(messages)
    finally:
        await consumer.stop()
    assert started is not None
    return seen / (time.perf_counter() - started)


# ------------------------------------------------------------------------------------------------ pipeline


def deployment(workdir: Path, tag: str) -> Deployment:
    base = Settings.from_env()
    name = f"bench.{tag}.{uuid.uuid4().hex[:6]}"
    settings = Settings(base.kafka_bootstrap, base.redis_url, base.prometheus_url, f"{name}.events", name, PARTITIONS)
    return Deployment(settings, ACME, workdir)


def wait_assigned(dep: Deployment, workers: int) -> None:
    topic = dep.settings.topic

    def ready() -> bool:
        shares = [w.assigned(topic) for w in dep.workers]
        union = set().union(*shares)
        return len(shares) == workers and all(shares) and union == set(range(PARTITIONS))

    wait_until(ready, 90, f"{workers} worker(s) assigned every partition", interval=0.5)


def timed_rate(
    settings: Settings,
    lines: list[bytes],
    counted_now: Callable[[], int],
    *,
    paused: Sequence[subprocess.Popen[bytes]] = (),
) -> float:
    """Publish ``lines`` at full speed and time ``counted_now()`` from its first rise to ``len(lines)``.

    ``paused`` processes (the consumers) are stopped while the lines are published and continued afterwards, so the
    rate is that of draining a backlog; without them the publisher runs alongside the consumers.
    """
    total = len(lines)
    counts: list[tuple[float, int]] = []

    async def publish_and_watch() -> None:
        publisher = None
        if paused:
            for process in paused:
                process.send_signal(signal.SIGSTOP)
            try:
                await publish_lines(settings, lines)
            finally:
                for process in paused:
                    process.send_signal(signal.SIGCONT)
        else:
            publisher = asyncio.create_task(publish_lines(settings, lines))
        while True:
            counted = await asyncio.to_thread(counted_now)
            counts.append((time.perf_counter(), counted))
            if counted >= total:
                break
            await asyncio.sleep(0.05)
        if publisher is not None:
            await publisher

    asyncio.run(publish_and_watch())
    first = next(i for i, (_, c) in enumerate(counts) if c > 0)
    t0, c0 = counts[max(first - 1, 0)]
    t1, c1 = counts[-1]
    return (c1 - c0) / (t1 - t0)


def metric_samples(dep: Deployment) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for worker in dep.workers:
        for family in text_string_to_metric_families(worker.metrics()):
            for sample in family.samples:
                out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def summed(samples: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    return sum(v for _, v in samples.get(name, []))


def lag_buckets(samples: dict[str, list[tuple[dict[str, str], float]]]) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for labels, value in samples.get("scorecard_pipeline_event_lag_seconds_bucket", []):
        bound = float(labels["le"])
        buckets[bound] = buckets.get(bound, 0.0) + value
    return buckets


def quantile(q: float, buckets: dict[float, float]) -> float:
    """``histogram_quantile``: linear interpolation inside the bucket that holds the q-th observation."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return previous_bound
            inside = count - previous_count
            return previous_bound + (bound - previous_bound) * ((rank - previous_count) / inside if inside else 1)
        previous_bound, previous_count = bound, count
    return bounds[-1]


def latency(dep: Deployment, templates: list[bytes], rate: float, seconds: float) -> tuple[float, float, int]:
    """p50 and p99 event-to-Redis lag (seconds) of events sent at ``rate`` for ``seconds``."""
    before = lag_buckets(metric_samples(dep))
    count = int(rate * seconds)
    already = dep.counted()
    asyncio.run(publish_lines(dep.settings, itertools.islice(live_lines(templates), count), rate=rate))
    wait_until(lambda: dep.counted() >= already + count, 60, "the paced events in Redis")
    after = lag_buckets(metric_samples(dep))
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    return quantile(0.5, delta), quantile(0.99, delta), int(delta[float("inf")])


def run_pipeline(
    workers: int, lines: list[bytes], workdir: Path, *, backlog: bool
) -> tuple[Deployment, float, tuple[int, float]]:
    dep = deployment(workdir, f"w{workers}{'b' if backlog else 'l'}")
    for number in range(workers):
        dep.start_worker(f"bench-{number}")
    wait_assigned(dep, workers)
    paused = [worker.process for worker in dep.workers] if backlog else []
    rate = timed_rate(dep.settings, lines, dep.counted, paused=paused)
    samples = metric_samples(dep)
    flushes = int(summed(samples, "scorecard_pipeline_cascade_batch_size_count"))
    updates = summed(samples, "scorecard_pipeline_cascade_batch_size_sum")
    return dep, rate, (flushes, updates / flushes if flushes else 0.0)


def bare_faust_rate(lines: list[bytes], workdir: Path) -> float:
    """Events/s of ``bench/faust_bare.py`` (a Faust agent that does nothing), measured like the pipeline."""
    dep = deployment(workdir, "bare")
    key = f"bench:bare:{uuid.uuid4().hex[:6]}"
    client = redis.Redis.from_url(dep.settings.redis_url)
    env = {**dep.env(), "BARE_TOPIC": dep.settings.topic, "BARE_APP": dep.settings.app_id, "BARE_COUNTER": key}
    asyncio.run(ensure_topics(dep.settings, TopicNames.from_settings(dep.settings)))
    log = (workdir / "bare.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "faust_bare.py"), "worker", "-l", "warn"],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        probe = [_encode({"probe": True})]
        asyncio.run(publish_lines(dep.settings, probe))  # the agent is ready once it counted this one
        wait_until(lambda: int(client.get(key) or 0) >= 1, 90, "the bare Faust agent consuming")
        return timed_rate(dep.settings, lines, lambda: int(client.get(key) or 0) - 1, paused=[process])
    finally:
        process.terminate()
        process.wait(timeout=30)
        client.delete(key)
        asyncio.run(delete_topics(dep.settings))


# ------------------------------------------------------------------------------------------------ report


def machine() -> str:
    host = machine_info()
    return (
        f"{host['cpu']}, nproc {host['nproc']}, {host['python']}, {host['platform']}; Kafka, Redis, the worker(s) and "
        f"this script on the same cores; load average at the end {host['load']}; run on {host['date']}"
    )


def render(figures: Figures, events: int) -> str:
    rates = figures.rates or {}
    live = figures.live_rates or {}
    flushes = figures.flushes or {}
    rows = [
        f"| raw aiokafka `getmany` loop (reads only) | {figures.raw_rate:,.0f} messages/s | 100% |",
        f"| bare Faust agent, 1 worker, backlog (`take_events`, no work: `bench/faust_bare.py`) "
        f"| {figures.bare_rate:,.0f} events/s | {figures.bare_rate / figures.raw_rate:.0%} |",
    ]
    for workers in sorted(set(rates) | set(live)):
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        if workers in rates:
            rate = rates[workers]
            count, mean = flushes[workers]
            rows.append(
                f"| pipeline, {label}, backlog (event -> table -> Redis cascade) "
                f"| **{rate:,.0f} events/s** ({rate / figures.bare_rate:.0%} of bare Faust) "
                f"| {rate / figures.raw_rate:.0%} |"
            )
            rows.append(
                f"| &nbsp;&nbsp;Redis cascades ({workers}w, backlog): script calls, mean own-state updates each | "
                f"{count:,} calls | {mean:,.1f} updates/call |"
            )
        if workers in live:
            rows.append(
                f"| pipeline, {label}, live (publisher at full speed on the same cores) "
                f"| {live[workers]:,.0f} events/s | {live[workers] / figures.raw_rate:.0%} |"
            )
    one = rates.get(1, 0.0)
    goal = "meets" if one >= 50_000 and figures.p99 < 0.5 else "does not meet"
    return "\n".join(
        [
            "## Streaming throughput and latency (`bench/bench_stream.py`)",
            "",
            f"ACME scorecard (12 units, 15 KPIs), {events:,} generated events (about 3% duplicate, late, invalid or "
            f"ignored), one event per Kafka message keyed by unit, {PARTITIONS} partitions, one worker process each "
            "(`scorecard worker`, at-least-once, memory table store, one batch per fetch of at most 10,000 records). "
            "*Backlog*: the running workers are paused (SIGSTOP) while the events are published, then continued; "
            "*live*: the events are published at full speed while the workers run.",
            "",
            "| measure | value | share of raw consume |",
            "| --- | --- | --- |",
            *rows,
            f"| event-to-Redis latency at {figures.latency_rate:,.0f} events/s (half the 1-worker backlog rate), "
            f"{figures.latency_events:,} events | p50 **{figures.p50 * 1000:,.0f} ms**, "
            f"p99 **{figures.p99 * 1000:,.0f} ms** | |",
            "",
            "Goal: at least 50,000 events/s with one worker (backlog rate) and p99 under 500 ms at half that rate; "
            f"this run {goal} it.",
            "",
            f"Machine: {machine()}.",
        ]
    )


def measure_pipeline(
    figures: Figures, workers: int, lines: list[bytes], workdir: Path, *, backlog: bool, latency_s: float
) -> None:
    """One pipeline run into ``figures``; after the 1-worker backlog run, the latency at half its rate."""
    dep, rate, flushes = run_pipeline(workers, lines, workdir, backlog=backlog)
    try:
        mode = "backlog" if backlog else "live"
        print(
            f"pipeline, {workers} worker(s), {mode}: {rate:,.0f} events/s ({rate / figures.raw_rate:.0%} of raw); "
            f"{flushes[0]:,} cascades, {flushes[1]:,.1f} updates each",
            flush=True,
        )
        assert figures.rates is not None and figures.live_rates is not None and figures.flushes is not None
        if not backlog:
            figures.live_rates[workers] = rate
            return
        figures.rates[workers], figures.flushes[workers] = rate, flushes
        if workers == 1:
            figures.latency_rate = rate / 2
            figures.p50, figures.p99, figures.latency_events = latency(dep, lines, figures.latency_rate, latency_s)
            print(
                f"latency at {figures.latency_rate:,.0f} events/s: p50 {figures.p50 * 1000:,.0f} ms, "
                f"p99 {figures.p99 * 1000:,.0f} ms ({figures.latency_events:,} events)",
                flush=True,
            )
    finally:
        dep.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per throughput run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to measure")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    print(f"generating {args.events:,} events ...", flush=True)
    lines = generated_lines(args.events)
    figures = Figures(rates={}, live_rates={}, flushes={})
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        workdir = Path(tmp)
        raw = deployment(workdir, "raw")
        try:
            asyncio.run(publish_lines(raw.settings, lines))
            figures.raw_rate = asyncio.run(raw_consume_rate(raw.settings, raw.settings.topic, len(lines)))
            print(f"raw aiokafka consume: {figures.raw_rate:,.0f} messages/s", flush=True)
        finally:
            asyncio.run(delete_topics(raw.settings))
        figures.bare_rate = bare_faust_rate(lines, workdir)
        print(f"bare Faust agent: {figures.bare_rate:,.0f} events/s", flush=True)
        for workers in args.workers:
            for backlog in (True, False):
                measure_pipeline(figures, workers, lines, workdir, backlog=backlog, latency_s=args.latency_seconds)
    text = render(figures, len(lines))
    print()
    print(text)
    if not args.no_write:
        write_block(f"{START}\n{text}\n{END}", START, END)
        print(f"\nwrote {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
