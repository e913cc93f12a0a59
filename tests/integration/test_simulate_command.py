"""``scorecard simulate`` against the real Kafka: the count it prints is the number of messages on the topic, each
keyed by its unit, with the history first and then the live phase."""

from __future__ import annotations

import asyncio
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.paths import REPO

SCORECARD = str(Path(sys.executable).with_name("scorecard"))


@pytest.fixture
async def topic(unique_name: Callable[[str], str], kafka_admin: AIOKafkaAdminClient) -> AsyncIterator[str]:
    """A topic name for the command to create (with its dead-letter topic), deleted afterwards."""
    name = unique_name("simulate")
    yield name
    existing = set(await kafka_admin.list_topics())
    created = [each for each in (name, f"{name}.dlq") if each in existing]
    if created:
        await kafka_admin.delete_topics(created)


async def read_all(bootstrap: str, topic: str, partition_count: int) -> list[tuple[bytes | None, bytes]]:
    """Every message of ``topic`` (key, value), read from the beginning up to the end offsets of each partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partition_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        messages: list[tuple[bytes | None, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                messages.extend((record.key, record.value) for record in records if record.value is not None)
        return messages
    finally:
        await consumer.stop()


async def test_printed_count_is_the_number_of_messages_on_the_topic(kafka_bootstrap: str, topic: str) -> None:
    process = await asyncio.create_subprocess_exec(
        SCORECARD,
        "simulate",
        "--scorecard",
        str(REPO / "examples" / "acme.yaml"),
        "--backfill",
        "2d",
        "--duration",
        "5s",
        "--rate",
        "200",
        "--kafka-bootstrap",
        kafka_bootstrap,
        "--topic",
        topic,
        "--partitions",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    summary = stdout.decode()
    printed = re.search(rf"^sent (\d+) events to topic {re.escape(topic)} ", summary, re.MULTILINE)
    backfill = re.search(r"^backfill: (\d+) events, 2d of history", summary, re.MULTILINE)
    live = re.search(r"^live: (\d+) events in 5\.0s", summary, re.MULTILINE)
    assert printed and backfill and live, summary
    assert int(backfill.group(1)) + int(live.group(1)) == int(printed.group(1))
    assert 900 <= int(live.group(1)) <= 1000  # 200/s for 5 s, minus what a slow start let pass

    messages = await read_all(kafka_bootstrap, topic, 2)
    assert len(messages) == int(printed.group(1))
    units = Counter(key for key, _ in messages)
    assert set(units) >= {b"sales-emea", b"support-l2", b"ops-plant-a"}
    for key, value in messages[:200]:
        unit = orjson.loads(value).get("unit")
        assert key == (unit.encode() if isinstance(unit, str) and unit else None)
