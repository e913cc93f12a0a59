"""A whole scorecard deployment on the real services, for tests: worker processes, publishing, waiting, comparing.

Each ``Deployment`` has its own app id, topics and Redis key prefix, so tests never see each other's state. Workers
are real ``scorecard worker`` processes (the command users run), started in a private working directory (Faust
writes its data directory there) with their output in a log file that failing tests print.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from scorecard.config import KafkaSecurity, Settings
from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.redis.live import live_counts
from scorecard.redis.store import RedisStore, StoreError
from streams.kafka_client import client_options
from streams.publisher import PublishStats, publish_lines
from tests.paths import REPO as ROOT

"""The example events as committed; tests use the ``acme_events`` fixture (moved in the shifted run) instead."""
PARTITIONS = 4
"""Partitions of the topics of a test deployment: several per worker, so two workers really share them."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class WorkerProcess:
    """One ``scorecard worker`` subprocess."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_port: int

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self, tail: int = 60) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:])

    def metrics(self) -> str:
        """The worker's /metrics text ("" while it is not serving yet)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            return ""

    def assigned(self, topic: str) -> set[int]:
        """Partitions of ``topic`` this worker consumes now, from its consumer-lag gauge (updated every 5 s)."""
        found = set()
        for family in text_string_to_metric_families(self.metrics()):
            if family.name == "scorecard_pipeline_consumer_lag":
                found |= {int(s.labels["partition"]) for s in family.samples if s.labels["topic"] == topic}
        return found

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, no flush; what a crash does."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 40) -> None:
        """SIGTERM and wait for a clean shutdown; SIGKILL when it takes too long."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def own_settings(
    base: Settings,
    unique_name: Callable[[str], str],
    *,
    kafka_bootstrap: str | None = None,
    partitions: int = PARTITIONS,
    kafka_security: KafkaSecurity | None = None,
    replication_factor: int | None = None,
) -> Settings:
    """``base`` with a topic and app id of the test's own (so its own Redis prefix), on ``kafka_bootstrap`` with
    ``kafka_security`` if given."""
    return Settings(
        kafka_bootstrap or base.kafka_bootstrap,
        base.redis_url,
        base.prometheus_url,
        unique_name("events"),
        unique_name("app"),
        partitions,
        base.redis_options,
        kafka_security or base.kafka_security,
        replication_factor or base.replication_factor,
    )


@dataclass
class Deployment:
    """An isolated pipeline: settings with a unique app id and topic, the definition, a working directory."""

    settings: Settings
    scorecard_path: Path
    workdir: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def scorecard(self) -> Scorecard:
        return load_scorecard(self.scorecard_path)

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "SCORECARD_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "SCORECARD_REDIS_URL": s.redis_url,
            "SCORECARD_TOPIC": s.topic,
            "SCORECARD_APP_ID": s.app_id,
            "SCORECARD_PARTITIONS": str(s.partitions),
            "SCORECARD_REPLICATION_FACTOR": str(s.replication_factor),
            **s.redis_options.to_env(),
            "SCORECARD_SESSION_TIMEOUT": "8",
            "PYTHONUNBUFFERED": "1",
        }

    def start_worker(self, name: str = "worker", *, module: str = "scorecard", **env: str) -> WorkerProcess:
        """``scorecard worker`` as a process, logging to the work dir; ``env`` adds or overrides variables, and
        ``module`` runs another entry point with the same command line (``tests/integration/held_worker.py``)."""
        port = free_port()
        log_path = self.workdir / f"{name}-{len(self.workers)}.log"
        command = [sys.executable, "-m", module, "worker", "--scorecard", str(self.scorecard_path)]
        command += ["--metrics-host", "127.0.0.1", "--metrics-port", str(port), "--loglevel", "info"]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env={**self.env(), **({"PYTHONPATH": str(ROOT)} if module != "scorecard" else {}), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(name, process, log_path, port)
        self.workers.append(worker)
        return worker

    def store(self) -> RedisStore:
        return RedisStore.from_url(self.settings.redis_url, self.settings.app_id, options=self.settings.redis_options)

    def publish(self, lines: Iterable[bytes], *, keyed: bool = True, rate: float | None = None) -> PublishStats:
        return asyncio.run(publish_lines(self.settings, lines, keyed=keyed, rate=rate))

    def publish_in_background(self, events_file: Path, *, rate: float, keyed: bool = True) -> subprocess.Popen[bytes]:
        """``scorecard publish`` as a process (the command users run), paced, so a test can act meanwhile."""
        command = [sys.executable, "-m", "scorecard", "publish", str(events_file), "--rate", str(rate)]
        if not keyed:
            command.append("--no-key")
        return subprocess.Popen(command, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def counted(self) -> int:
        """Events counted in Redis (every outcome, summed over every unit record): 0 while Redis is not synced."""
        try:
            return sum(live_counts(self.store()).values())
        except StoreError:
            return 0

    def wait_for_count(self, total: int, timeout: float = 120) -> None:
        """Wait until Redis counts at least ``total`` events, failing with the workers' logs when it does not."""
        try:
            wait_until(lambda: self.counted() >= total, timeout, f"{total} events counted in Redis")
        except AssertionError as error:
            raise AssertionError(f"{error}; counted {self.counted()}\n{self.logs()}") from None

    def wait_for_events(self, total: int, timeout: float = 120) -> None:
        """Wait until every published message is processed, then check that Redis counts exactly ``total`` events.

        "Processed" is proven, not guessed: the group's committed offsets stand at the log end of every partition of
        the input and by-unit topics (Faust commits a message only once its batch is in the table and in Redis). A
        message applied twice after the count reached ``total`` would therefore be counted before the comparison.
        Workers that never commit (a long ``SCORECARD_COMMIT_INTERVAL``) must be stopped first (``stop_workers``):
        a clean stop commits.
        """
        self.wait_for_count(total, timeout)
        try:
            wait_until(self.idle, timeout, "the committed offsets at the log end (every message processed)", 0.5)
        except AssertionError as error:
            lag = asyncio.run(uncommitted(self.settings))
            raise AssertionError(f"{error}; uncommitted {lag}\n{self.logs()}") from None
        assert self.counted() == total, f"counted {self.counted()} events, expected {total}\n{self.logs()}"

    def idle(self) -> bool:
        """True when no published message is left unprocessed (see ``wait_for_events``)."""
        return not asyncio.run(uncommitted(self.settings))

    def stop_workers(self) -> None:
        """Stop every worker cleanly (SIGTERM): each commits what it processed before it exits."""
        for worker in self.workers:
            worker.stop()

    def status_json(self, at: str) -> bytes:
        """``scorecard status --format json --at AT``: the command users run to compare with the replay."""
        command = [sys.executable, "-m", "scorecard", "status", "--scorecard", str(self.scorecard_path)]
        command += ["--format", "json", "--at", at]
        done = subprocess.run(command, env=self.env(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ({w.log_path.name}) ---\n{w.log()}" for w in self.workers)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=20)
        with contextlib.suppress(StoreError):
            self.store().reset()
        asyncio.run(delete_topics(self.settings))


async def delete_topics(settings: Settings) -> None:
    """Delete the deployment's topics: input, dead letters, and every internal one named after the app id."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **client_options(settings.kafka_security))
    await admin.start()
    try:
        mine = {settings.topic, settings.dead_letter_topic}
        names = [t for t in await admin.list_topics() if t in mine or t.startswith(settings.app_id + "-")]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def uncommitted(settings: Settings) -> dict[str, int]:
    """Messages not yet covered by the group's committed offsets, per input and by-unit partition (none: {})."""
    from streams.topics import TopicNames

    names = TopicNames.from_settings(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **client_options(settings.kafka_security))
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, **client_options(settings.kafka_security))
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.app_id)
        topics = await consumer.topics()
        partitions = [
            TopicPartition(topic, partition)
            for topic in (names.events, names.by_unit)
            if topic in topics
            for partition in consumer.partitions_for_topic(topic) or ()
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
        await admin.close()
    behind = {}
    for tp, end in ends.items():
        done = committed[tp].offset if tp in committed else 0
        if done < end:
            behind[f"{tp.topic}[{tp.partition}]"] = end - done
    return behind


async def committed_total(settings: Settings) -> int:
    """Messages of the input topic covered by the group's committed offsets (offsets count from 0 on a new topic)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **client_options(settings.kafka_security))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.app_id)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in committed.items() if tp.topic == settings.topic and meta.offset > 0)


def replay_json(scorecard_path: Path, events: Path, at: str | None = None) -> tuple[bytes, str]:
    """``scorecard replay --format json [--at AT]``: the reference output, and its evaluation time."""
    import orjson

    command = [sys.executable, "-m", "scorecard", "replay", str(scorecard_path), str(events), "--format", "json"]
    if at is not None:
        command += ["--at", at]
    done = subprocess.run(command, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout, orjson.loads(done.stdout)["at"]


@dataclass
class DeadLetter:
    value: bytes
    key: bytes | None
    headers: dict[str, str]


async def read_dead_letters(settings: Settings, count: int, timeout: float = 30) -> list[DeadLetter]:
    """Read ``count`` messages of the dead-letter topic from its start (fails when fewer arrive in time)."""
    consumer = AIOKafkaConsumer(
        settings.dead_letter_topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        **client_options(settings.kafka_security),
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        deadline = time.monotonic() + timeout
        while len(letters) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                letters += [
                    DeadLetter(m.value, m.key, {k: v.decode() for k, v in m.headers}) for m in messages if m.value
                ]
    finally:
        await consumer.stop()
    assert len(letters) == count, f"{len(letters)} dead letters, expected {count}"
    return letters


def run_services(env: dict[str, str], *args: str, timeout: float = 90) -> None:
    """``deploy/local/services ARGS`` with ``env`` (private ports and directories); fails the test on an error."""
    done = subprocess.run(
        [str(ROOT / "deploy/local/services"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass
class PrivateRedis:
    """A Redis server of one test, on a free port, started and restarted with ``deploy/local/services``."""

    url: str
    env: dict[str, str]

    @classmethod
    def start(cls, services_dir: Path) -> PrivateRedis:
        url = f"redis://127.0.0.1:{free_port()}/0"
        env = {**os.environ, "SCORECARD_REDIS_URL": url, "SCORECARD_SERVICES_DIR": str(services_dir)}
        server = cls(url, env)
        server.services("up", "redis")
        return server

    def services(self, *args: str) -> None:
        run_services(self.env, *args)

    def restart(self) -> None:
        """Stop and start again: no persistence, so it comes back empty."""
        self.services("down", "redis")
        self.services("up", "redis")

    def stop(self) -> None:
        self.services("down", "redis")


async def publish_keyed_by_id(settings: Settings, lines: list[bytes]) -> None:
    """Send each line keyed by its event id (or a counter when it has none): an upstream keying by something else."""
    import orjson
    from aiokafka import AIOKafkaProducer

    from streams.topics import TopicNames, ensure_topics

    await ensure_topics(settings, TopicNames.from_settings(settings), internal=False)  # never auto-created
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for number, line in enumerate(lines):
            try:
                key = str(orjson.loads(line).get("id") or number)
            except (orjson.JSONDecodeError, AttributeError):
                key = str(number)
            await producer.send(settings.topic, value=line, key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()
