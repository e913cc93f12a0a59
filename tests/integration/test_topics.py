"""Topic creation and the co-partitioning checks, against the real broker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from scorecard.config import Settings
from streams.topics import TopicError, TopicNames, ensure_topics
from tests.integration.pipeline import delete_topics, own_settings
from tests.paths import ACME


async def test_creates_input_and_dead_letter_topics_with_the_partition_count(
    settings: Settings, unique_name: Callable[[str], str], kafka_admin: AIOKafkaAdminClient
) -> None:
    mine = own_settings(settings, unique_name, partitions=3)
    names = TopicNames.from_settings(mine)
    try:
        await ensure_topics(mine, names)
        await ensure_topics(mine, names)  # idempotent
        described = await kafka_admin.describe_topics([names.events, names.dead_letter])
        assert [len(t["partitions"]) for t in described] == [3, 3]
    finally:
        await delete_topics(mine)


@pytest.mark.parametrize("which", ["events", "by_unit", "changelog"])
async def test_refuses_a_topic_with_another_partition_count(
    settings: Settings, unique_name: Callable[[str], str], kafka_admin: AIOKafkaAdminClient, which: str
) -> None:
    mine = own_settings(settings, unique_name, partitions=4)
    names = TopicNames.from_settings(mine)
    name = getattr(names, which)
    await kafka_admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    try:
        with pytest.raises(TopicError, match=rf"topic {name} has 2 partitions but SCORECARD_PARTITIONS is 4"):
            await ensure_topics(mine, names)
    finally:
        await delete_topics(mine)


async def test_a_publisher_leaves_the_internal_topics_to_the_workers(
    settings: Settings, unique_name: Callable[[str], str], kafka_admin: AIOKafkaAdminClient
) -> None:
    """``internal=False`` creates the input and dead-letter topics only, and ignores internal topics of its app id:
    a publisher may use another partition count setting than the workers, as long as the input topic exists."""
    mine = own_settings(settings, unique_name, partitions=4)
    names = TopicNames.from_settings(mine)
    await kafka_admin.create_topics([NewTopic(names.changelog, num_partitions=2, replication_factor=1)])
    try:
        await ensure_topics(mine, names, internal=False)
        listed = set(await kafka_admin.list_topics())
        assert {names.events, names.dead_letter} <= listed
        assert names.by_unit not in listed
    finally:
        await delete_topics(mine)


@pytest.mark.parametrize("command", ["publish", "simulate"])
async def test_sending_into_a_topic_of_another_partition_count_is_one_line_and_exit_1(
    settings: Settings,
    unique_name: Callable[[str], str],
    kafka_admin: AIOKafkaAdminClient,
    tmp_path: Path,
    command: str,
) -> None:
    """Kafka answers but its topic does not fit the settings: a configuration to fix (exit 1, docs/cli.md), said in
    one line with the fix, not a traceback nor "unreachable" (3)."""
    mine = own_settings(settings, unique_name, partitions=4)
    await kafka_admin.create_topics([NewTopic(mine.topic, num_partitions=2, replication_factor=1)])
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"id": "e1", "type": "order", "unit": "a", "time": "2026-11-27T10:00:00Z"}\n')
    what = {
        "publish": ["publish", str(events)],
        "simulate": ["simulate", "-s", str(ACME), "--days", "1", "--start", "2026-11-01T00:00:00Z"],
    }[command]
    doing = {"publish": "publish to", "simulate": "send to"}[command]
    try:
        args = [*what, "--topic", mine.topic, "--partitions", "4", "--kafka-bootstrap", mine.kafka_bootstrap]
        result = subprocess.run(
            [sys.executable, "-m", "scorecard", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == (1 if command == "publish" else 2), lines  # simulate first says what it is about to send
        line = lines[-1]
        assert "Traceback" not in result.stderr
        assert line.startswith(f"cannot {doing} topic {mine.topic} at ")
        assert "has 2 partitions but SCORECARD_PARTITIONS is 4; set SCORECARD_PARTITIONS=2" in line
    finally:
        await delete_topics(mine)
