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

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import faust
import msgspec
import redis

from scorecard.config import Settings
from scorecard.core.definition import Scorecard
from scorecard.core.engine import Engine, definition_hash
from scorecard.redis.store import RedisStore, StoreError
from streams.metrics import PipelineMetrics
from streams.offsets import ScorecardApp
from streams.processor import (
    BatchProcessor,
    BatchResult,
    DeadLetter,
    Item,
    decode_and_route,
    is_unit_key,
    unit_of_key,
)
from streams.topics import PRODUCER_REQUEST_BYTES, TABLE_NAME, TopicNames, partition_for

log = logging.getLogger("scorecard.worker")

SOURCE_PARTITION_HEADER = "scorecard-source-partition"
SOURCE_OFFSET_HEADER = "scorecard-source-offset"
SOURCE_TIMESTAMP_HEADER = "scorecard-source-timestamp"
"""The input record's Kafka timestamp (milliseconds), carried to the by-unit topic: the event's received time."""

DETAIL_HEADER_BYTES = 1024
"""Most bytes of the ``scorecard-detail`` header (details are bounded already; the header is bounded by itself)."""
EVENT_ID_HEADER_BYTES = 256
"""Most bytes of the ``scorecard-event-id`` header: an event id is the producer's, of any length."""


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

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        scorecard: Scorecard,
        table: Any,
        dlq: Any,
        metrics: PipelineMetrics | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.engine = Engine(scorecard)
        self.table = table
        self.dlq = dlq
        self.names = TopicNames.from_settings(settings)
        self.metrics = metrics if metrics is not None else PipelineMetrics()
        self.processor = BatchProcessor(self.engine, table, retention_ms(self.engine))
        # Short timeouts: the sync client blocks the event loop, and Kafka heartbeats must not wait for a dead Redis.
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.store = RedisStore(client, settings.app_id, definition_hash=definition_hash(scorecard))
        self.epoch: str | None = None
        self.resync_after = 0.0
        self.lock = asyncio.Lock()
        self._rebalances_seen = 0

    def owned_partitions(self) -> set[int]:
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.names.events}

    async def handle(self, items: Sequence[Item]) -> None:
        """One batch, in the order that keeps a crash harmless at every step:

        1. decide every event (engine, one record per unit, in memory; no await, so no other batch interleaves);
        2. send the dead letters and wait until Kafka has them (a crash before the records are durable replays the
           batch and may send a dead letter twice, never loses one);
        3. write the records to the table and wait until their changelog messages are acknowledged;
        4. cascade to Redis (one script call). Redis is never ahead of the durable table, so a restarted worker
           recovers records at least as new as anything Redis shows, and a version always names one state.

        The two agents share a lock: between 1 and 3 a batch awaits Kafka, and the other agent must not read a
        record the first one is about to write. Anything unexpected stops the process at once (see ``_fail_stop``).
        """
        if not items:
            return
        async with self.lock:
            try:
                if self.app.rebalancing_count != self._rebalances_seen:  # records may have moved or been recovered
                    self._rebalances_seen = self.app.rebalancing_count
                    self.processor.forget_cache()
                result = self.processor.process(items, write=False)
                self.metrics.observe_batch(result.outcomes, result.replayed, (d.reason for d in result.dead_letters))
                await self.publish_dead_letters(result.dead_letters)
                self.table.pending.clear()
                self.processor.write(result)
                await self.table.wait_written()
                self.flush(result)
            except Exception:
                _fail_stop("batch processing failed")

    def flush(self, result: BatchResult) -> None:
        """One cascade for the whole batch; on any doubt about Redis (emptied, failed, first flush), a resync."""
        started = time.perf_counter()
        try:
            if self.epoch is None:
                self.resync()  # first flush, or after a failure: everything, then this batch is already in
            else:
                applied = self.store.apply(result.updates, result.counts)
                if applied.epoch is None or applied.epoch != self.epoch:
                    self.resync()
        except ResyncDeferred:
            return  # Redis failed moments ago; the table keeps the truth and a later flush or check resyncs
        except StoreError as error:
            # The table keeps the truth; a resync brings Redis back once it answers again (see check_redis).
            self.metrics.redis_errors.inc()
            log.warning("redis flush failed, will resync: %s", error)
            self.epoch = None
            self.resync_after = time.monotonic() + RESYNC_BACKOFF_S
            return
        self.metrics.observe_flush(len(result.updates), time.perf_counter() - started, result.accepted_times)

    def resync(self) -> None:
        """Write every record this worker owns to Redis: after Redis was emptied, at the first flush, and after a
        definition change (then Redis is emptied first: its subtree merges follow the old tree and KPIs).

        After a failure the next attempt waits ``RESYNC_BACKOFF_S``: a refused state (a number over the store's
        bound) would otherwise make every batch re-send the whole table.
        """
        if time.monotonic() < self.resync_after:
            raise ResyncDeferred(f"resync deferred for {self.resync_after - time.monotonic():.1f}s after a failure")
        stored = self.store.read_meta().definition
        if stored is not None and stored != self.store.definition_hash:
            log.warning(
                "redis holds states of another scorecard definition (%s, this worker has %s): rebuilding it from the "
                "tables; run every worker of app id %s with the same definition",
                stored,
                self.store.definition_hash,
                self.settings.app_id,
            )
            self.store.reset()
        owned = self.owned_partitions()
        partitions = self.settings.partitions
        keys = [k for k in list(self.table.keys()) if partition_for(unit_of_key(k), partitions) in owned]
        updates, counts = self.processor.resync_updates(keys)
        self.epoch = self.store.resync(updates, counts).epoch
        log.info("resynced %d own states of %d records to redis", len(updates), len(keys))

    async def check_redis(self) -> None:
        """Resync when Redis was emptied or came back while no events flowed: readers must not wait for an event.

        Not while a rebalance or table recovery runs: the tables are incomplete then, and a resync would mark Redis
        synced with states missing.
        """
        if self.app.rebalancing:
            return
        async with self.lock:
            try:
                if self.epoch is None or self.store.read_meta().epoch != self.epoch:
                    self.resync()
            except ResyncDeferred:
                pass
            except StoreError as error:
                self.metrics.redis_errors.inc()
                log.warning("redis check failed: %s", error)
                self.epoch = None
                self.resync_after = time.monotonic() + RESYNC_BACKOFF_S

    async def update_consumer_lag(self) -> None:
        """Messages waiting per assigned partition (high watermark - position), for the consumer-lag gauge."""
        consumer = self.app.consumer
        lags = {}
        for tp in consumer.assignment():
            if tp.topic not in (self.names.events, self.names.by_unit):
                continue
            position = await consumer.position(tp)
            highwater = consumer.highwater(tp)
            if position is not None and highwater is not None:
                lags[(tp.topic, tp.partition)] = max(0, highwater - position)
        self.metrics.set_consumer_lag(lags)

    async def publish_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        """Send the dead letters and wait until Kafka acknowledged every one."""
        sent = []
        for letter in letters:
            item = letter.item
            headers = {
                "scorecard-reason": letter.reason.encode(),
                "scorecard-detail": _bounded(letter.detail, DETAIL_HEADER_BYTES),
                "scorecard-event-id": _bounded(letter.event_id or "", EVENT_ID_HEADER_BYTES),
                "scorecard-source-topic": self.names.events.encode(),
                SOURCE_PARTITION_HEADER: str(item.partition).encode(),
                SOURCE_OFFSET_HEADER: str(item.offset).encode(),
            }
            sent.append(await self.dlq.send(key=item.key.encode(), value=item.raw, headers=headers))
        if sent:
            await asyncio.gather(*sent)


_encode_record = msgspec.json.encode
_decode_record = msgspec.json.decode


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def _header(headers: Any, name: str) -> str:
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs or ():
        if _text(key) == name:
            return _text(value)
    raise KeyError(name)


def _bounded(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes on a character boundary."""
    data = text.encode("utf-8", "replace")
    return data if len(data) <= limit else data[:limit].decode("utf-8", "ignore").encode()


def received_at(timestamp: float | None) -> float | None:
    """A record's Kafka timestamp as the event's received time; None when it has none (Kafka's -1, or 0)."""
    return timestamp if timestamp is not None and timestamp > 0 else None


def _source_timestamp(headers: Any) -> float | None:
    """The received time a forwarded message carries; None when it has none (forwarded by an older worker)."""
    try:
        return received_at(int(_header(headers, SOURCE_TIMESTAMP_HEADER)) / 1000.0)
    except (KeyError, ValueError):
        return None


STREAM_BUFFER = 32768
"""Events an agent's queue holds (Faust's ``stream_buffer_maxsize``, default 4096).

Faust stops fetching a partition once the queue is four fifths full and resumes at two fifths. What the fetcher
already holds is still delivered, and a delivery to a full queue must wait for room: it takes the slow, raced
hand-over of ``streams/delivery.py`` for every message from then on. With the default, one ``getmany`` (a megabyte
per partition, thousands of events) overfilled the queue all the time under a backlog; with this size and
``MAX_POLL_RECORDS``, the fifth left free usually takes a whole fetch (not always: a partition is paused only when
it delivers again after the mark, so one that was idle then can still bring a whole fetch). Measured on 100,000
queued ACME events, one worker (docs/benchmarks.md): 9,100-9,500 events/s with the default, 12,000-14,600 with these
two settings. Costs: about 13 MB more peak memory, more events re-read after a rebalance (the queues are dropped,
not processed), and the same bound for Faust's other queues sized by this setting (the tables' changelog queue
during recovery, each stream's outbox).
"""

MAX_POLL_RECORDS = 4000
"""Records one fetch hands over at most (Faust's ``broker_max_poll_records``; default: no limit)."""


def create_app(
    settings: Settings,
    scorecard: Scorecard,
    *,
    batch_size: int = 2000,
    batch_within: float = 0.2,
    store: str = "memory://",
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
        store=store,
        topic_partitions=partitions,
        topic_replication_factor=1,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
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
    pipeline = Pipeline(app, settings, scorecard, _BytesKeys(table), dlq, metrics)

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
                _fail_stop("routing a batch failed")
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
                    received_at=_source_timestamp(e.message.headers),
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


RESYNC_BACKOFF_S = 3.0
"""Seconds before the next resync attempt after a failure: Redis down, or a state it refuses."""


class ResyncDeferred(StoreError):
    """A resync was asked for within ``RESYNC_BACKOFF_S`` of a failure: not attempted, not a new failure."""


def _fail_stop(what: str) -> NoReturn:
    """Log and end the process now: no commit, no flush, no agent restart.

    Faust would restart the agent and its stream would acknowledge the failed batch, so the next commit would skip
    it. Ending the process instead makes the restarted worker (systemd, Kubernetes, the demo script) resume from the
    last committed offsets, and the applied offsets kept in every record make that replay exact.
    """
    log.critical("%s; stopping the worker so that it resumes from the committed offsets", what, exc_info=True)
    logging.shutdown()
    os._exit(70)


class UnitTable(faust.Table):
    """The ``units`` table: a unit's record lives in changelog partition ``partition_for(unit)``, computed here.

    With ``use_partitioner=True`` Faust would ask the producer's partitioner, which needs the changelog topic's
    metadata; on a fresh topic the producer may not have it yet and the write raises inside the agent (seen on the
    first batch after start). The partition is known without asking: the one Kafka's default partitioner gives the
    unit key, the very partition whose input messages update the record.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[Any] = []

    def partition_for_key(self, key: Any) -> int:
        """The partition of the unit the key belongs to: a unit's id slices go with its record."""
        assert self.partitions is not None, "create_app always gives the table its partition count"
        return partition_for(unit_of_key(_text(key)), self.partitions)

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        """Faust's changelog write, remembered so that ``wait_written`` can wait for its acknowledgement."""
        future = super().send_changelog(*args, **kwargs)
        self.pending.append(future)
        return future


class _BytesKeys:
    """The table seen as str keys and JSON-able values (unit records) or bytes (id slices), stored as bytes.

    Raw bytes in and out of the changelog leave nothing to Faust's codecs: with a key type left unset Faust writes
    changelog keys with its JSON codec but reads them back with the schema's, and recovery then fails to decode
    (seen as "Error in recovery ... expected a JSON value" after a rebalance). msgspec encodes and decodes the
    records (fast, and no per-result memory overhead); id slices are packed bytes already and go as they are.
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._table.get(key.encode())
        if raw is None:
            return default
        return _decode_record(raw) if is_unit_key(key) else raw

    def __setitem__(self, key: str, value: Any) -> None:
        self._table[key.encode()] = _encode_record(value) if is_unit_key(key) else value

    def __delitem__(self, key: str) -> None:
        del self._table[key.encode()]

    def keys(self) -> list[str]:
        return [_text(k) for k in self._table]

    @property
    def pending(self) -> list[Any]:
        """Changelog writes not yet waited for."""
        return self._table.pending

    async def wait_written(self) -> None:
        """Wait until Kafka acknowledged every changelog write made since ``pending`` was cleared."""
        futures = list(self._table.pending)
        self._table.pending.clear()
        if futures:
            await asyncio.gather(*futures)
