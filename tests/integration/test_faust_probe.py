"""Check, with a tiny real Faust worker, the broker settings the streaming pipeline depends on.

Faust must be able to create its internal topics through the admin API (a compacted changelog per table), and with
`processing_guarantee="exactly_once"` the single-node broker must run transactions (transaction state topic with
replication factor 1). Finding out here is cheaper than finding out inside the pipeline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.paths import REPO as ROOT

from .conftest import TopicFactory


async def _wait_for_counts(
    bootstrap: str, topic: str, expected: dict[bytes, bytes], timeout: float, worker: subprocess.Popen[bytes]
) -> None:
    """Read the sink (committed records only) until the newest count per key equals `expected`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    )
    await consumer.start()
    latest: dict[bytes, bytes] = {}
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while latest != expected:
            assert asyncio.get_running_loop().time() < deadline, f"sink has {latest}, expected {expected}"
            assert worker.poll() is None, f"the Faust worker exited with {worker.returncode}"
            for records in (await consumer.getmany(timeout_ms=500)).values():
                latest.update({r.key: r.value for r in records})
    finally:
        await consumer.stop()


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
async def test_faust_worker_on_local_kafka(
    guarantee: str,
    kafka_bootstrap: str,
    kafka_admin: AIOKafkaAdminClient,
    create_topic: TopicFactory,
    unique_name,
    tmp_path: Path,
) -> None:
    source = await create_topic("probe-in", partitions=2)
    sink = await create_topic("probe-out", partitions=1)
    app_id = unique_name("probe").replace(".", "-")
    log_path = tmp_path / "worker.log"
    env = dict(
        os.environ,
        PROBE_APP_ID=app_id,
        PROBE_SOURCE=source,
        PROBE_SINK=sink,
        PROBE_GUARANTEE=guarantee,
        PROBE_DATADIR=str(tmp_path / "data"),
        SCORECARD_KAFKA_BOOTSTRAP=kafka_bootstrap,
    )
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.faust_probe", "worker", "-l", "warn"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        for key in [b"a"] * 6 + [b"b"] * 4:
            await producer.send(source, key=key, value=b"{}")
        await producer.stop()

        await _wait_for_counts(kafka_bootstrap, sink, {b"a": b"6", b"b": b"4"}, timeout=90, worker=worker)
        assert worker.poll() is None, "the worker stopped on its own"

        changelog = f"{app_id}-counts-changelog"
        topics = await kafka_admin.list_topics()
        assert changelog in topics, f"Faust did not create {changelog}; topics: {sorted(topics)}"
        [described] = await kafka_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, changelog)])
        configs = {name: value for name, value, *_ in described.resources[0][4]}
        assert configs["cleanup.policy"] == "compact"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            pytest.fail(f"Faust worker ignored SIGTERM for 60s; log:\n{log_path.read_text()[-3000:]}")
        internal = [t for t in await kafka_admin.list_topics() if t.startswith(app_id)]
        if internal:
            await kafka_admin.delete_topics(internal)
        print(log_path.read_text()[-6000:])  # shown by pytest when the test fails
