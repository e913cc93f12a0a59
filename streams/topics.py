"""The Kafka topics of the pipeline: names, partitioning, and creating them before Faust starts.

Faust never creates a source topic, and creates its internal topics (the changelog, the repartition topic) too late
for its own consumer to see them (see ``ensure_topics``); a table's partitions must also equal its source's. So the
worker creates all four topics itself with the configured partition count, and refuses to start when an existing
input, repartition or changelog topic disagrees.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2

from scorecard.config import Settings
from streams.kafka_client import check_access, client_options


class TopicError(RuntimeError):
    """A topic exists with a shape the pipeline cannot work with; the message says how to fix it."""


TABLE_NAME = "units"
"""The Faust table of unit records; Faust names its changelog topic ``<app id>-<table name>-changelog``."""


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
            changelog=f"{settings.app_id}-{TABLE_NAME}-changelog",
        )


@functools.lru_cache(maxsize=65536)
def partition_for(unit: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and so Faust's) gives a message keyed by `unit`.

    The worker processes an event in place when it already sits in this partition of the input topic and forwards
    it to the repartition topic otherwise; both paths then agree on which partition owns a unit's state. Cached:
    it runs for every event, and aiokafka's murmur2 is pure Python.
    """
    return (murmur2(unit.encode()) & 0x7FFFFFFF) % partitions


EVENT_MESSAGE_BYTES = 2 * 1024 * 1024
"""Largest input message the topics take: twice the decoder's default line cap (1 MiB), so that an over-long event
reaches the worker and becomes a ``too_large`` dead letter instead of being refused at the producer."""

HEADER_ROOM_BYTES = 64 * 1024
"""Room for the headers a forwarded message or a dead letter carries on top of the original bytes (bounded)."""

RECORD_MESSAGE_BYTES = 8 * 1024 * 1024
"""Largest changelog record: a unit's record holds at most two windows of buckets per KPI (bounded by the
definition's limits), its ids live in slices of ``scorecard.core.dedupe.SLICE_BYTES``."""

PRODUCER_REQUEST_BYTES = RECORD_MESSAGE_BYTES + HEADER_ROOM_BYTES
"""``max_request_size`` of every producer of the pipeline: at least the largest message it may send."""

CHANGELOG_CONFIG = {"cleanup.policy": "compact", "max.message.bytes": str(RECORD_MESSAGE_BYTES)}
"""What Faust itself gives a table's changelog topic (``compacting=True``, no retention), and an explicit message
size limit."""

EVENTS_CONFIG = {"max.message.bytes": str(EVENT_MESSAGE_BYTES)}
FORWARDED_CONFIG = {"max.message.bytes": str(EVENT_MESSAGE_BYTES + HEADER_ROOM_BYTES)}
"""The repartition and dead-letter topics carry an input message plus headers."""

VISIBLE_TIMEOUT_S = 30.0


def replication_config(replicas: int) -> dict[str, str]:
    """``min.insync.replicas`` of a topic on ``replicas`` brokers: 2 from 3 replicas on, so that a write
    acknowledged with ``acks=all`` is on two brokers and one broker may be lost; 1 below (nothing to wait for)."""
    return {"min.insync.replicas": "2" if replicas >= 3 else "1"}


async def ensure_topics(settings: Settings, names: TopicNames, *, internal: bool = True) -> None:
    """Create the topics when missing and wait until the broker lists them; check that the input topic and the
    internal ones (repartition, changelog) have the configured partition count.

    ``internal=False`` (a publisher) handles only the input and dead-letter topics: the internal ones belong to
    the workers of an app id. A worker creates them too because Faust would create them just before it subscribes:
    a topic the consumer's metadata does not show yet is left out of the group's assignment ("Ignoring missing
    topic") until the next metadata refresh, minutes later, and events forwarded to the repartition topic wait that
    long.

    Every command that talks to Kafka starts here, so the access check (``kafka_client.check_access``) runs first:
    a wrong password or an untrusted certificate raises ``KafkaAccessError`` with the reason.
    """
    await check_access(settings.kafka_bootstrap, settings.kafka_security)  # a one-line reason, before aiokafka's logs
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **client_options(settings.kafka_security))
    await admin.start()
    try:
        existing = await admin.list_topics()
        wanted: dict[str, dict[str, str] | None] = {names.events: EVENTS_CONFIG, names.dead_letter: FORWARDED_CONFIG}
        if internal:
            wanted |= {names.by_unit: FORWARDED_CONFIG, names.changelog: CHANGELOG_CONFIG}
        missing = [
            NewTopic(
                name,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={**(config or {}), **replication_config(settings.replication_factor)},
            )
            for name, config in wanted.items()
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)  # a topic created meanwhile by someone else is reported, not raised
        described = await _wait_visible(admin, list(wanted))
        # The input topic, the repartition topic and the table's changelog must be co-partitioned: Faust only
        # assigns a unit's record to the worker that reads its partitions when all three have the same count.
        # Checked on every one of them, not only those listed before: a topic just created may not be listed yet.
        for name, count in described.items():
            if name != names.dead_letter and count != settings.partitions:
                raise TopicError(
                    f"topic {name} has {count} partitions but SCORECARD_PARTITIONS is {settings.partitions}; set "
                    f"SCORECARD_PARTITIONS={count}, or start a new pipeline with another SCORECARD_APP_ID (the input, "
                    "repartition and changelog topics must have the same partition count)"
                )
    finally:
        await admin.close()


async def _wait_visible(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Poll the broker's metadata until every topic in ``names`` is listed with a leader for each partition;
    return each topic's partition count."""
    deadline = asyncio.get_running_loop().time() + VISIBLE_TIMEOUT_S
    while True:
        described = await admin.describe_topics(names)
        if all(
            not t["error_code"] and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return {t["topic"]: len(t["partitions"]) for t in described}
        if asyncio.get_running_loop().time() > deadline:
            raise TopicError(
                f"topics {names} were created but the broker does not list them after {VISIBLE_TIMEOUT_S}s"
            )
        await asyncio.sleep(0.1)
