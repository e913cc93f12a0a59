"""A hot unit through the real broker: 250,000 events for one unit within an hour, every id remembered for the
24 h dedupe horizon, and some of them sent twice.

Before the id memory was cut into slices, the unit's single table record outgrew Kafka's 1 MB message limit at about
18,500 ids and the worker crashed on every start, forever. Now the stream must give the replay's numbers, every
changelog record must stay under 100 KB, and the worker must still be running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from scorecard.config import Settings
from scorecard.core.timeutil import parse_time
from streams.topics import TopicNames
from tests.integration.pipeline import Deployment, replay_json
from tests.paths import ACME
from tests.timeshift import write_lines

EVENTS = 250_000
REPEATS = 2_000  # sent again later in the hour: within the horizon, so duplicates
RECORD_LIMIT = 100_000


def hot_lines(start: float) -> list[bytes]:
    spacing = 3600 / (EVENTS + REPEATS)
    lines = [
        orjson.dumps(
            {
                "id": f"hot-{i}",
                "type": "order_completed",
                "unit": "sales-emea",
                "time": start + i * spacing,
                "fields": {"amount": round(10 + i % 997 * 0.37, 2), "channel": "online" if i % 3 else "store"},
            }
        )
        for i in range(EVENTS)
    ]
    repeats = [lines[i * (EVENTS // REPEATS)] for i in range(REPEATS)]
    return lines[: EVENTS // 2] + repeats + lines[EVENTS // 2 :]


async def largest_changelog_record(settings: Settings) -> tuple[int, int]:
    """(count, size of the largest value) of the table's changelog topic, read from its start to its end."""
    topic = TopicNames.from_settings(settings).changelog
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        count = largest = 0
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    count += 1
                    largest = max(largest, len(record.value or b""))
        return count, largest
    finally:
        await consumer.stop()


def test_a_unit_with_250000_events_in_an_hour_streams_the_replays_numbers(
    deployment: Deployment, tmp_path: Path, fixed_start: Callable[[str], str]
) -> None:
    lines = hot_lines(parse_time(fixed_start("2026-11-20T09:00:00Z")))
    events = write_lines(tmp_path / "hot.jsonl", lines)
    # One evaluation time for both, in whole seconds, after the last event (09:59:31.4) and in the same hour: the
    # replay's default, the newest event's time, is printed to the millisecond, and a paced KPI's share of its period
    # (revenue, a month) would differ between that time and the printed one.
    expected, at = replay_json(ACME, events, at=fixed_start("2026-11-20T09:59:59Z"))
    report = orjson.loads(expected)
    assert report["events"]["accepted"] == EVENTS and report["events"]["duplicate"] == REPEATS, report["events"]

    worker = deployment.start_worker()
    stats = deployment.publish(lines)
    assert stats.sent == len(lines)
    deployment.wait_for_events(len(lines), timeout=600)
    assert deployment.status_json(at) == expected
    assert worker.alive(), worker.log()

    count, largest = asyncio.run(largest_changelog_record(deployment.settings))
    assert count > 0
    assert largest < RECORD_LIMIT, f"a changelog record of {largest} bytes"
