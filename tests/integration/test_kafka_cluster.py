"""A broker lost from a real three-broker cluster mid-stream: nothing lost, nothing counted twice, the worker runs on.

The cluster is a private one (three KRaft nodes, each broker and controller, on 29192-29197), started and stopped
with ``deploy/local/services``. The pipeline's topics get three replicas and ``min.insync.replicas`` 2; the
producers write with ``acks=all`` and idempotence (``streams/faust_fixes/producer.py``, ``streams/publisher.py``).
While ``scorecard publish`` streams the example events, the test SIGKILLs the broker leading partitions of both the
input topic and the table's changelog, waits until the others lead them, and brings it back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from scorecard.config import Settings
from streams.topics import TopicNames
from tests.integration.pipeline import Deployment, own_settings, replay_json, run_services, wait_until
from tests.paths import ACME

BROKERS = "127.0.0.1:29192,127.0.0.1:29193,127.0.0.1:29194"
CONTROLLER_PORT = 29195  # and the two next
RATE = 150.0  # events/s: the example's ~4000 events stream for about half a minute
DOWN_S = 12.0  # how long the broker stays dead at least (more than the worker's session timeout of 8 s)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "SCORECARD_KAFKA_BOOTSTRAP": BROKERS,
        "SCORECARD_KAFKA_CONTROLLER_PORT": str(CONTROLLER_PORT),
        "SCORECARD_SERVICES_DIR": str(tmp_path_factory.mktemp("kafka-cluster")),
    }
    run_services(env, "up", "kafka-cluster", timeout=300)
    try:
        yield env
    finally:
        run_services(env, "down", "kafka-cluster", timeout=180)


async def describe(settings: Settings, topics: list[str]) -> tuple[dict[tuple[str, int], tuple[int, int]], dict]:
    """Per partition (leader, replica count), and per topic its configuration."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        partitions = {
            (t["topic"], p["partition"]): (p["leader"], len(p["replicas"])) for t in described for p in t["partitions"]
        }
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    configs = {}
    for response in responses:
        for _code, _message, _type, name, entries in response.resources:
            configs[name] = {entry[0]: entry[1] for entry in entries}
    return partitions, configs


def node_pid(env: dict[str, str], node: int) -> int:
    path = Path(env["SCORECARD_SERVICES_DIR"]) / "kafka-cluster" / f"kafka-node-{node}" / "kafka.pid"
    return int(path.read_text())


def test_a_leader_killed_mid_stream_loses_and_doubles_nothing(
    cluster: dict[str, str],
    settings: Settings,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    recent_acme_events: Path,
) -> None:
    mine = own_settings(settings, unique_name, kafka_bootstrap=BROKERS, replication_factor=3)
    names = TopicNames.from_settings(mine)
    topics = [names.events, names.dead_letter, names.by_unit, names.changelog]
    deployment = Deployment(mine, ACME, tmp_path)
    expected, at = replay_json(ACME, recent_acme_events)
    total = sum(1 for line in recent_acme_events.read_bytes().splitlines() if line.strip())
    publisher = None
    try:
        worker = deployment.start_worker("cluster")
        publisher = deployment.publish_in_background(recent_acme_events, rate=RATE)
        deployment.wait_for_count(total // 5, timeout=180)

        partitions, configs = asyncio.run(describe(mine, topics))
        assert {replicas for _leader, replicas in partitions.values()} == {3}
        assert {configs[topic]["min.insync.replicas"] for topic in topics} == {"2"}
        leading = {
            node: {topic for (topic, _p), (leader, _r) in partitions.items() if leader == node} for node in (1, 2, 3)
        }
        victim = next(n for n, led in leading.items() if {names.events, names.changelog} <= led)
        victim_partitions = [tp for tp, (leader, _r) in partitions.items() if leader == victim]

        counted_before = deployment.counted()
        os.killpg(node_pid(cluster, victim), signal.SIGKILL)
        killed_at = time.monotonic()
        alive = [b for i, b in enumerate(BROKERS.split(","), start=1) if i != victim]
        survivors = dataclasses.replace(mine, kafka_bootstrap=",".join(alive))

        def moved() -> bool:
            try:
                now, _ = asyncio.run(describe(survivors, topics))
            except KafkaError:  # the admin client asked the dead broker (it picks one at random)
                return False
            return all(now[tp][0] not in (victim, -1) for tp in victim_partitions)

        wait_until(moved, 60, f"new leaders for the partitions node {victim} led")
        try:  # with two brokers left the worker goes on: it counts more events while the third is still down
            wait_until(lambda: deployment.counted() > counted_before, 180, "more events counted with a broker down")
        except AssertionError as error:
            raise AssertionError(
                f"{error} (counted {counted_before} when it was killed)\n{deployment.logs()}"
            ) from None
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - killed_at)))
        assert worker.alive(), worker.log()

        run_services(cluster, "up", "kafka-cluster", timeout=300)
        output = publisher.communicate(timeout=300)[0].decode(errors="replace")
        assert publisher.returncode == 0, output
        assert f"published {total} events" in output
        deployment.wait_for_events(total, timeout=300)
        assert deployment.status_json(at) == expected
        assert worker.alive(), worker.log()
    finally:
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
        deployment.close()
