"""The whole pipeline on a three-node Redis Cluster: the stream equals the replay, every key in one slot.

The cluster (three primaries on ports 26390-26392, cluster bus on 26393-26395) is started for the module by
``deploy/local/services up redis-cluster`` and stopped with ``down`` afterwards. The workers are given one node
(``--redis-cluster``); redis-py's ``RedisCluster`` finds the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from scorecard.config import RedisOptions, Settings
from scorecard.redis.client import connect
from tests.integration.pipeline import Deployment, replay_json, run_services
from tests.paths import ACME

PORT = 26390


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        **os.environ,
        "SCORECARD_REDIS_URL": f"redis://127.0.0.1:{PORT}/0",
        "SCORECARD_SERVICES_DIR": str(tmp_path_factory.mktemp("services")),
    }
    run_services(env, "up", "redis-cluster")
    try:
        yield f"redis://127.0.0.1:{PORT + 1}/0"  # any node will do: the client learns the others
    finally:
        run_services(env, "down", "redis-cluster")


def test_the_pipeline_on_a_three_node_cluster_equals_the_replay_with_one_slot_per_scorecard(
    cluster_url: str, settings: Settings, tmp_path: Path, recent_acme_events: Path, unique_name: Callable[[str], str]
) -> None:
    options = RedisOptions(cluster=True)
    mine = Settings(
        settings.kafka_bootstrap,
        cluster_url,
        settings.prometheus_url,
        unique_name("events"),
        unique_name("app"),
        4,
        options,
    )
    deployment = Deployment(mine, ACME, tmp_path)
    lines = [line for line in recent_acme_events.read_bytes().splitlines() if line.strip()]
    expected, at = replay_json(ACME, recent_acme_events)
    client = connect(cluster_url, options)
    assert isinstance(client, RedisCluster)
    assert len({node.port for node in client.get_primaries()}) == 3
    try:
        worker = deployment.start_worker()
        deployment.publish(lines)
        deployment.wait_for_events(len(lines))
        assert deployment.status_json(at) == expected
        assert worker.alive()

        keys = list(client.scan_iter(match=deployment.store().keys.pattern, count=1000))
        assert len(keys) > 10, keys
        slots = {client.keyslot(key) for key in keys}
        assert len(slots) == 1, f"the scorecard's keys span slots {sorted(slots)}"
        (slot,) = slots
        owner = client.get_node_from_key(keys[0])
        for node in client.get_primaries():  # the keys live on the slot's node only
            direct = redis.Redis(host=node.host, port=node.port)
            held = direct.execute_command("CLUSTER COUNTKEYSINSLOT", slot)
            assert held == (len(keys) if node.name == owner.name else 0), (node.name, held)
            direct.close()
    finally:
        deployment.close()
        client.close()
