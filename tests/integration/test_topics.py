"""Topic creation and the co-partitioning checks, against the real broker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from scorecard.config import Settings
from streams.topics import TopicError, TopicNames, ensure_topics
from tests.integration.pipeline import delete_topics, own_settings


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
