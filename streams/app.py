"""The Faust application: topics, the unit table and the timers, wired to a ``Pipeline``.

Data path (one obvious way): a fetch of input records -> ``on_fetch`` (decode, find the unit) -> processed in place
when a record already sits in the partition that owns its unit, else forwarded to the ``by-unit`` topic keyed by
unit, whose records come back in a later fetch -> ``Pipeline.handle`` (engine decisions in ``BatchProcessor``, one
table record per unit) -> one Redis cascade per batch. The records reach ``on_fetch`` a whole fetch at a time,
without Faust's per-message streams (``faust_fixes/fetches.py``); Faust keeps the group, rebalances and the table.

Why not Faust's windowed tables: their windows close on the wall clock and know no per-unit stream time, lateness
grace or dedupe, and keys restored from a changelog never expire (faust #385). The contract (docs/semantics.md)
needs all of that, so windows are explicit bucket keys inside the unit record, expired by event time by the engine.

Why ``use_partitioner=True`` on the table: a batch mixes partitions, so Faust's default (changelog partition =
partition of the "current" event) would file a unit's record under another partition. With the partitioner, the
record of unit ``u`` goes to ``partition_for(u)``, the very partition whose messages update it, so recovery and
rebalances hand the record to the worker that needs it (``faust_fixes/table.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import faust
from faust.types import TP

from scorecard.config import Settings
from scorecard.core.definition import Scorecard
from streams.faust_fixes.offsets import ScorecardApp
from streams.faust_fixes.table import BytesKeys, UnitTable
from streams.headers import (
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TIMESTAMP_HEADER,
    received_at,
    source_timestamp,
    text,
)
from streams.kafka_client import faust_credentials
from streams.metrics import PipelineMetrics
from streams.pipeline import Pipeline, fail_stop
from streams.processor import Item, decode_and_route
from streams.topics import PRODUCER_REQUEST_BYTES, TABLE_NAME, TopicNames, partition_for

STREAM_BUFFER = 32768
"""Messages a Faust stream queue holds (``stream_buffer_maxsize``, default 4096): now only the table's changelog
queue during recovery, since input records bypass Faust's streams (``faust_fixes/fetches.py``).

Faust stops fetching a partition once its queue is four fifths full; a fetch larger than the fifth left free then
waits for room message by message (the slow, raced hand-over of ``faust_fixes/delivery.py``). With this size and
``MAX_POLL_RECORDS`` a whole fetch usually fits. Costs: more peak memory during a recovery.
"""


MAX_POLL_RECORDS = 10000
"""Records one fetch hands over at most (Faust's ``broker_max_poll_records``; default: no limit): the largest batch
``Pipeline.handle`` gets. A batch's fixed costs (waiting for the changelog and dead-letter acknowledgements, the
Redis call) are shared by more events the larger it is: 10,000 drained a backlog faster than 4,000
(docs/benchmarks.md). It bounds a batch's memory and its time before Redis shows it."""


PRODUCER_RETRY_S = 1200.0
"""How long the worker's producer retries a send (a partition's leader moving, a broker lost); Faust's default,
set here because a lost broker relies on it (docs/deploying.md, "A Kafka cluster")."""


def create_app(
    settings: Settings,
    scorecard: Scorecard,
    *,
    table_store: str = "memory://",
    metrics: PipelineMetrics | None = None,
    session_timeout: float = 30.0,
    commit_interval: float = 2.8,
) -> tuple[ScorecardApp, Pipeline]:
    """Build the Faust app for one scorecard: topics, the ``units`` table, the fetch handler and the timers.

    ``session_timeout`` (seconds) is how long the group waits for a worker that stopped answering (a SIGKILL, a
    lost machine) before its partitions move: shorter means faster failover, too short means needless rebalances.
    ``commit_interval`` (seconds, Faust's default) is how often consumed offsets are committed: what a worker
    re-reads after a crash, and skips thanks to the applied offsets in the unit records.
    """
    partitions = settings.partitions
    names = TopicNames.from_settings(settings)
    app = ScorecardApp(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=faust_credentials(settings.kafka_security),
        store=table_store,
        topic_partitions=partitions,
        topic_replication_factor=settings.replication_factor,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,  # all in-sync replicas; the producer is idempotent too (faust_fixes/producer.py)
        producer_request_timeout=PRODUCER_RETRY_S,
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=min(3.0, session_timeout / 3),
        broker_commit_interval=commit_interval,
        stream_buffer_maxsize=STREAM_BUFFER,
        broker_max_poll_records=MAX_POLL_RECORDS,
        producer_max_request_size=PRODUCER_REQUEST_BYTES,
    )
    events = app.topic(names.events, partitions=partitions, key_serializer="raw", value_serializer="raw")
    by_unit = app.topic(
        names.by_unit, partitions=partitions, internal=True, key_serializer="raw", value_serializer="raw"
    )
    app.source_topics = frozenset({names.events, names.by_unit})
    dlq = app.topic(names.dead_letter, key_serializer="raw", value_serializer="raw")
    table = app.tables.add(
        UnitTable(
            app,
            name=TABLE_NAME,
            beacon=app.tables.beacon,
            partitions=partitions,
            use_partitioner=True,
            key_type=bytes,
            value_type=bytes,
            schema=faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"),
            help="one record per unit: engine state, counts, applied input offsets",
        )
    )
    pipeline = Pipeline(app, settings, scorecard, BytesKeys(table), dlq, metrics)

    app.topics.add(events)  # subscribed, but their records never reach Faust's streams: see app.fetch_handler
    app.topics.add(by_unit)

    async def on_fetch(fetched: Mapping[TP, Sequence[Any]]) -> None:
        """One fetch of input and by-unit records -> one ``Pipeline.handle`` batch.

        An input record whose unit another partition owns is forwarded to the by-unit topic (to that partition, keyed
        by unit, with its input partition, offset and timestamp in headers) instead. The batch waits until Kafka has
        every forwarded record: a send that finally fails stops the worker before the input offset can be committed.
        """
        items: list[Item] = []
        try:
            forwarded = []
            for tp, records in fetched.items():
                if tp.topic == names.by_unit:
                    items.extend(forwarded_item(record) for record in records)
                    continue
                for record in records:
                    key, decoded = decode_and_route(pipeline.engine, record.value)
                    owner = partition_for(key, partitions)
                    if owner == record.partition:
                        received = received_at(record.timestamp / 1000.0)
                        items.append(Item(key, record.value, record.partition, record.offset, decoded, received))
                    else:
                        headers = forward_headers(record)
                        forwarded.append(
                            await by_unit.send(key=key.encode(), value=record.value, partition=owner, headers=headers)
                        )
            if forwarded:
                await asyncio.gather(*forwarded)
        except Exception:
            fail_stop("routing a batch failed")
        await pipeline.handle(items)

    app.fetch_handler = on_fetch

    @app.timer(interval=5.0)
    async def check_redis() -> None:
        await pipeline.check_redis()

    @app.timer(interval=5.0)
    async def consumer_lag() -> None:
        await pipeline.update_consumer_lag()

    return app, pipeline


def forward_headers(record: Any) -> dict[str, bytes]:
    """The headers of an input record forwarded to the by-unit topic: its input partition, offset and timestamp."""
    headers = {
        SOURCE_PARTITION_HEADER: str(record.partition).encode(),
        SOURCE_OFFSET_HEADER: str(record.offset).encode(),
    }
    if received_at(record.timestamp / 1000.0) is not None:
        headers[SOURCE_TIMESTAMP_HEADER] = str(record.timestamp).encode()
    return headers


def forwarded_item(record: Any) -> Item:
    """A by-unit record as the input message it was forwarded for (``forward_headers``)."""
    headers = {text(name): value for name, value in record.headers or ()}
    return Item(
        text(record.key),
        record.value,
        int(headers[SOURCE_PARTITION_HEADER]),
        int(headers[SOURCE_OFFSET_HEADER]),
        received_at=source_timestamp(headers),
    )
