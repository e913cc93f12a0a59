"""The Kafka topics of the pipeline: names, partitioning, and creating them before Faust starts.

Faust creates its own internal topics (changelogs, the repartition topic) but never the source topic, and a table's
partitions must equal its source's; so the worker creates the input and dead-letter topics itself, with the configured
partition count, and refuses to start when an existing input topic disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2

from scorecard.config import Settings


class TopicError(RuntimeError):
    """A topic exists with a shape the pipeline cannot work with; the message says how to fix it."""


@dataclass(frozen=True)
class TopicNames:
    """Every topic name of one deployment, derived from the settings in one place."""

    events: str
    dead_letter: str
    by_unit: str
    changelog: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicNames:
        return cls(
            events=settings.topic,
            dead_letter=settings.dead_letter_topic,
            by_unit=f"{settings.app_id}-events-by-unit",
            changelog=f"{settings.app_id}-units-changelog",
        )


def partition_for(unit: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and so Faust's) gives a message keyed by `unit`.

    The worker processes an event in place when it already sits in this partition of the input topic and forwards
    it to the repartition topic otherwise; both paths then agree on which partition owns a unit's state.
    """
    return (murmur2(unit.encode()) & 0x7FFFFFFF) % partitions


async def ensure_topics(settings: Settings, names: TopicNames) -> None:
    """Create the input and dead-letter topics when missing; check the partition counts of the input topic and of
    the internal topics Faust created before (repartition, changelog)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = await admin.list_topics()
        missing = [n for n in (names.events, names.dead_letter) if n not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(n, num_partitions=settings.partitions, replication_factor=1) for n in missing]
            )
        # The input topic, the repartition topic and the table's changelog must be co-partitioned: Faust only
        # assigns a unit's record to the worker that reads its partitions when all three have the same count.
        for name in (names.events, names.by_unit, names.changelog):
            if name not in existing:
                continue
            described = await admin.describe_topics([name])
            count = len(described[0]["partitions"])
            if count != settings.partitions:
                raise TopicError(
                    f"topic {name} has {count} partitions but SCORECARD_PARTITIONS is {settings.partitions}; set "
                    f"SCORECARD_PARTITIONS={count}, or start a new pipeline with another SCORECARD_APP_ID (the input, "
                    "repartition and changelog topics must have the same partition count)"
                )
    finally:
        await admin.close()
