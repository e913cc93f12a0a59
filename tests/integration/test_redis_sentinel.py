"""A Sentinel failover mid-stream: the primary is killed while a real worker flushes into it, a Sentinel promotes
the replica, and the worker follows it without losing or double-counting an event (the stream equals the replay).

The primary (26382), its replica (26383) and three Sentinels (26385-26387) are started for the module by
``deploy/local/services up redis-sentinel`` and stopped with ``down`` afterwards.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from scorecard.config import RedisOptions, Settings
from scorecard.core.definition import load_scorecard
from scorecard.simulator import generate_events
from tests.integration.pipeline import Deployment, WorkerProcess, replay_json, run_services, wait_until
from tests.paths import ACME

PRIMARY = 26382
SENTINELS = (("127.0.0.1", 26385), ("127.0.0.1", 26386), ("127.0.0.1", 26387))
SERVICE = "scorecard-ha"


@dataclass(frozen=True)
class SentinelGroup:
    services_dir: Path

    def primary(self) -> int | None:
        """The primary's port as the Sentinels name it now (None while none answers)."""
        for host, port in SENTINELS:
            try:
                address = redis.Redis(host=host, port=port).sentinel_get_master_addr_by_name(SERVICE)
            except redis.RedisError:
                continue
            if address:
                return int(address[1])
        return None

    def kill(self, port: int) -> None:
        """SIGKILL the data node on ``port`` (started by the services script, which recorded its pid)."""
        pid = int((self.services_dir / f"redis-sentinel-{port}" / f"redis-sentinel-{port}.pid").read_text())
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def sentinel_group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    services_dir = tmp_path_factory.mktemp("services")
    env = {
        **os.environ,
        "SCORECARD_REDIS_URL": f"redis://127.0.0.1:{PRIMARY}/0",
        "SCORECARD_REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in SENTINELS),
        "SCORECARD_REDIS_SENTINEL_SERVICE": SERVICE,
        "SCORECARD_SERVICES_DIR": str(services_dir),
    }
    run_services(env, "up", "redis-sentinel")
    try:
        yield SentinelGroup(services_dir)
    finally:
        run_services(env, "down", "redis-sentinel")


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory, recent_start: Callable[[int], str]) -> Path:
    """About 12,000 simulated ACME events with duplicates, late and invalid ones: a publish of several seconds."""
    generated = generate_events(
        load_scorecard(ACME),
        start=recent_start(11),
        days=6,
        events_per_day=2000,
        seed=41,
        duplicate_rate=0.02,
        late_rate=0.01,
        invalid_rate=0.01,
    )
    path = tmp_path_factory.mktemp("sentinel") / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in generated))
    return path


def test_a_failover_mid_stream_loses_and_doubles_nothing(
    sentinel_group: SentinelGroup,
    settings: Settings,
    tmp_path: Path,
    events: Path,
    unique_name: Callable[[str], str],
) -> None:
    options = RedisOptions(sentinels=SENTINELS, sentinel_service=SERVICE)
    # The URL's host and port are not used with Sentinels: a closed port proves the client asks them.
    mine = Settings(
        settings.kafka_bootstrap,
        "redis://127.0.0.1:1/0",
        settings.prometheus_url,
        unique_name("events"),
        unique_name("app"),
        4,
        options,
    )
    deployment = Deployment(mine, ACME, tmp_path)
    total = sum(1 for line in events.read_bytes().splitlines() if line.strip())
    expected, at = replay_json(ACME, events)
    try:
        worker = deployment.start_worker()
        publisher = deployment.publish_in_background(events, rate=1500)
        wait_until(lambda: deployment.counted() > total // 4, 90, "a quarter of the events in Redis")
        old = sentinel_group.primary()
        assert old is not None
        sentinel_group.kill(old)
        wait_until(lambda: sentinel_group.primary() not in (None, old), 60, "the Sentinels to promote the replica")
        output, _ = publisher.communicate(timeout=120)
        assert publisher.returncode == 0, output.decode()
        deployment.wait_for_events(total, timeout=120)
        assert deployment.status_json(at) == expected
        assert worker.alive(), worker.log()
        assert redis_errors(worker) > 0, "the worker never saw the primary go (so never resynced)"
    finally:
        deployment.close()


def redis_errors(worker: WorkerProcess) -> float:
    """The worker's count of failed Redis flushes and checks."""
    for family in text_string_to_metric_families(worker.metrics()):
        if family.name == "scorecard_pipeline_redis_errors":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0
