"""The Faust application: topics, the unit table, the two agents and the timers, wired to a ``Pipeline``.

Data path (one obvious way): input message -> ``route`` agent (decode, find the unit) -> processed in place when the
message already sits in the partition that owns its unit, else forwarded to the ``by-unit`` topic keyed by unit ->
``Pipeline.handle`` (engine decisions in ``BatchProcessor``, one table record per unit) -> one Redis cascade per batch.

Why not Faust's windowed tables: their windows close on the wall clock and know no per-unit stream time, lateness
grace or dedupe, and keys restored from a changelog never expire (faust #385). The contract (docs/semantics.md)
needs all of that, so windows are explicit bucket keys inside the unit record, expired by event time by the engine.

Why ``use_partitioner=True`` on the table: agents handle batches (``take_events``) and a batch mixes partitions, so
Faust's default (changelog partition = partition of the "current" event) would file a unit's record under another
partition. With the partitioner, the record of unit ``u`` goes to ``partition_for(u)``, the very partition whose
messages update it, so recovery and rebalances hand the record to the worker that needs it
(``faust_fixes/table.py``).
"""

from __future__ import annotations

from typing import Any

import faust

from scorecard.config import Settings
from scorecard.core.definition import Scorecard
from streams.faust_fixes.offsets import ScorecardApp
from streams.faust_fixes.table import BytesKeys, UnitTable
from streams.headers import (
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TIMESTAMP_HEADER,
    header,
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
"""Events an agent's queue holds (Faust's ``stream_buffer_maxsize``, default 4096).

Faust stops fetching a partition once the queue is four fifths full and resumes at two fifths. What the fetcher
already holds is still delivered, and a delivery to a full queue must wait for room: it takes the slow, raced
hand-over of ``faust_fixes/delivery.py`` for every message from then on. With the default, one ``getmany`` (a
megabyte per partition, thousands of events) overfilled the queue all the time under a backlog; with this size and
``MAX_POLL_RECORDS``, the fifth left free usually takes a whole fetch (not always: a partition is paused only when
it delivers again after the mark, so one that was idle then can still bring a whole fetch). docs/benchmarks.md
has the throughput with and without these two settings. Costs: more peak memory, more events re-read after a
rebalance (the queues are dropped, not processed), and the same bound for Faust's other queues sized by this setting
(the tables' changelog queue during recovery, each stream's outbox).
"""


MAX_POLL_RECORDS = 4000
"""Records one fetch hands over at most (Faust's ``broker_max_poll_records``; default: no limit)."""


PRODUCER_RETRY_S = 1200.0
"""How long the worker's producer retries a send (a partition's leader moving, a broker lost); Faust's default,
set here because a lost broker relies on it (docs/deploying.md, "A Kafka cluster")."""


def create_app(
    settings: Settings,
    scorecard: Scorecard,
    *,
    batch_size: int = 2000,
    batch_within: float = 0.2,
    table_store: str = "memory://",
    metrics: PipelineMetrics | None = None,
    session_timeout: float = 30.0,
    commit_interval: float = 2.8,
) -> tuple[faust.App, Pipeline]:
    """Build the Faust app for one scorecard: topics, the ``units`` table and the two agents.

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

    @app.agent(events)
    async def route(stream: Any) -> None:
        async for batch in stream.take_events(batch_size, within=batch_within):
            local: list[Item] = []
            try:
                for event in batch:
                    message = event.message
                    key, decoded = decode_and_route(pipeline.engine, message.value)
                    received = received_at(message.timestamp)
                    item = Item(key, message.value, message.partition, message.offset, decoded, received)
                    if partition_for(key, partitions) == message.partition:
                        local.append(item)
                    else:
                        headers = {
                            SOURCE_PARTITION_HEADER: str(message.partition).encode(),
                            SOURCE_OFFSET_HEADER: str(message.offset).encode(),
                        }
                        if received is not None:
                            headers[SOURCE_TIMESTAMP_HEADER] = str(round(received * 1000)).encode()
                        await by_unit.send(key=key.encode(), value=message.value, headers=headers)
            except Exception:
                fail_stop("routing a batch failed")
            await pipeline.handle(local)

    @app.agent(by_unit)
    async def apply(stream: Any) -> None:
        async for batch in stream.take_events(batch_size, within=batch_within):
            items = [
                Item(
                    text(e.message.key),
                    e.message.value,
                    int(header(e.message.headers, SOURCE_PARTITION_HEADER)),
                    int(header(e.message.headers, SOURCE_OFFSET_HEADER)),
                    received_at=source_timestamp(e.message.headers),
                )
                for e in batch
            ]
            await pipeline.handle(items)

    @app.timer(interval=5.0)
    async def check_redis() -> None:
        await pipeline.check_redis()

    @app.timer(interval=5.0)
    async def consumer_lag() -> None:
        await pipeline.update_consumer_lag()

    return app, pipeline
