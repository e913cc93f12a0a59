"""The Faust application: topics, the unit table, the two agents, and the Redis flush.

Data path (one obvious way): input message -> ``route`` agent (decode, find the unit) -> processed in place when the
message already sits in the partition that owns its unit, else forwarded to the ``by-unit`` topic keyed by unit ->
``BatchProcessor`` (engine decisions, one table record per unit) -> one Redis cascade per batch.

Why not Faust's windowed tables: their windows close on the wall clock and know no per-unit stream time, lateness
grace or dedupe, and keys restored from a changelog never expire (faust #385). The contract (docs/semantics.md)
needs all of that, so windows are explicit bucket keys inside the unit record, expired by event time by the engine.

Why ``use_partitioner=True`` on the table: agents handle batches (``take_events``) and a batch mixes partitions, so
Faust's default (changelog partition = partition of the "current" event) would file a unit's record under another
partition. With the partitioner, the record of unit ``u`` goes to ``partition_for(u)``, the very partition whose
messages update it, so recovery and rebalances hand the record to the worker that needs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import faust
import redis

from scorecard.config import Settings
from scorecard.definition import Scorecard
from scorecard.engine import Engine
from scorecard.store import RedisStore, StoreError
from streams.processor import BatchProcessor, BatchResult, DeadLetter, Item, routing_key
from streams.topics import TopicNames, partition_for

log = logging.getLogger("scorecard.worker")

SOURCE_PARTITION_HEADER = "scorecard-source-partition"
SOURCE_OFFSET_HEADER = "scorecard-source-offset"


def retention_ms(engine: Engine, margin_s: int = 86400) -> dict[str, int]:
    """How long Redis keeps a bucket after its last write: two windows (current and previous), the grace, a margin.

    Redis is the readers' copy; the tables expire by event time and stay the source of truth.
    """
    now = time.time()
    out = {}
    for kpi_id, compiled in engine.kpis.items():
        start, end = compiled.window.span(now)
        out[kpi_id] = int(2 * (end - start) + compiled.lateness + margin_s) * 1000
    return out


class Pipeline:
    """Holds what the agents share: engine, processor, store, and the epoch of the last Redis sync."""

    def __init__(self, app: faust.App, settings: Settings, scorecard: Scorecard, table: Any, dlq: Any) -> None:
        self.app = app
        self.settings = settings
        self.engine = Engine(scorecard)
        self.table = table
        self.dlq = dlq
        self.names = TopicNames.from_settings(settings)
        self.processor = BatchProcessor(self.engine, table, retention_ms(self.engine))
        self.store = RedisStore(redis.Redis.from_url(settings.redis_url), settings.app_id)
        self.epoch: str | None = None

    def owned_partitions(self) -> set[int]:
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.names.events}

    async def handle(self, items: Sequence[Item]) -> None:
        """Process one batch, publish its dead letters, and cascade it to Redis (one script call)."""
        if not items:
            return
        result = self.processor.process(items)
        await self.publish_dead_letters(result.dead_letters)
        self.flush(result)

    def flush(self, result: BatchResult) -> None:
        try:
            applied = self.store.apply(result.updates, result.counts)
            if applied.epoch is None or applied.epoch != self.epoch:
                self.resync()
        except StoreError as error:
            # The table keeps the truth; the next successful flush after a resync brings Redis back.
            log.warning("redis flush failed, will resync: %s", error)
            self.epoch = None

    def resync(self) -> None:
        """Write every record this worker owns to Redis: after Redis was emptied, or at the first flush."""
        owned = self.owned_partitions()
        partitions = self.settings.partitions
        keys = [k for k in list(self.table.keys()) if partition_for(_text(k), partitions) in owned]
        updates, counts = self.processor.resync_updates(keys)
        self.epoch = self.store.resync(updates, counts).epoch
        log.info("resynced %d own states of %d records to redis", len(updates), len(keys))

    async def publish_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        for letter in letters:
            item = letter.item
            headers = {
                "scorecard-reason": letter.reason.encode(),
                "scorecard-detail": letter.detail.encode(),
                "scorecard-event-id": (letter.event_id or "").encode(),
                "scorecard-source-topic": self.names.events.encode(),
                SOURCE_PARTITION_HEADER: str(item.partition).encode(),
                SOURCE_OFFSET_HEADER: str(item.offset).encode(),
            }
            await self.dlq.send(key=item.key.encode(), value=item.raw, headers=headers)


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def _header(headers: Any, name: str) -> str:
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs or ():
        if _text(key) == name:
            return _text(value)
    raise KeyError(name)


def create_app(
    settings: Settings,
    scorecard: Scorecard,
    *,
    batch_size: int = 2000,
    batch_within: float = 0.2,
    store: str = "memory://",
) -> tuple[faust.App, Pipeline]:
    """Build the Faust app for one scorecard: topics, the ``units`` table and the two agents."""
    partitions = settings.partitions
    names = TopicNames.from_settings(settings)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=store,
        topic_partitions=partitions,
        topic_replication_factor=1,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )
    events = app.topic(names.events, partitions=partitions, key_serializer="raw", value_serializer="raw")
    by_unit = app.topic(
        names.by_unit, partitions=partitions, internal=True, key_serializer="raw", value_serializer="raw"
    )
    dlq = app.topic(names.dead_letter, key_serializer="raw", value_serializer="raw")
    table = app.Table(
        "units",
        partitions=partitions,
        use_partitioner=True,
        schema=faust.Schema(key_serializer="raw", value_serializer="json"),
        help="one record per unit: engine state, counts, applied input offsets",
    )
    pipeline = Pipeline(app, settings, scorecard, _BytesKeys(table), dlq)

    @app.agent(events)
    async def route(stream: Any) -> None:
        async for batch in stream.take_events(batch_size, within=batch_within):
            local: list[Item] = []
            for event in batch:
                message = event.message
                key = routing_key(pipeline.engine, message.value)
                item = Item(key, message.value, message.partition, message.offset)
                if partition_for(key, partitions) == message.partition:
                    local.append(item)
                else:
                    headers = {
                        SOURCE_PARTITION_HEADER: str(message.partition).encode(),
                        SOURCE_OFFSET_HEADER: str(message.offset).encode(),
                    }
                    await by_unit.send(key=key.encode(), value=message.value, headers=headers)
            await pipeline.handle(local)

    @app.agent(by_unit)
    async def apply(stream: Any) -> None:
        async for batch in stream.take_events(batch_size, within=batch_within):
            items = [
                Item(
                    _text(e.message.key),
                    e.message.value,
                    int(_header(e.message.headers, SOURCE_PARTITION_HEADER)),
                    int(_header(e.message.headers, SOURCE_OFFSET_HEADER)),
                )
                for e in batch
            ]
            await pipeline.handle(items)

    @app.timer(interval=5.0)
    async def check_redis() -> None:
        """Notice an emptied Redis while no events flow: the readers must not wait for the next event."""
        try:
            if pipeline.epoch is not None and pipeline.store.read_meta().epoch != pipeline.epoch:
                pipeline.resync()
        except StoreError as error:
            log.warning("redis check failed: %s", error)
            pipeline.epoch = None

    return app, pipeline


class _BytesKeys:
    """The table seen with str keys: Faust's raw key codec gives bytes back after recovery, so store bytes always."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, default: Any = None) -> Any:
        return self._table.get(key.encode(), default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._table[key.encode()] = value

    def keys(self) -> list[str]:
        return [_text(k) for k in self._table]
