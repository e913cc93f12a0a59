"""What every batch goes through: one batch from decisions to Redis, and the policy that keeps Redis right.

``Pipeline.handle`` runs a batch in the order that keeps a crash harmless at every step (decide, dead letters,
durable table records, one Redis cascade). Redis is the readers' copy and the table the truth, so every doubt about
Redis (emptied, restarted, failed, written for another definition) ends in a resync of the records this worker
owns, retried ``RESYNC_BACKOFF_S`` after a failure; and anything unexpected stops the process (``fail_stop``), so
that the restarted worker resumes from the committed offsets instead of Faust skipping the failed batch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import faust

from scorecard.config import Settings
from scorecard.core.definition import Scorecard
from scorecard.core.engine import Engine, definition_hash
from scorecard.redis.client import connect, describe
from scorecard.redis.store import RedisStore, StoreError
from streams.faust_fixes.runner import EXIT_WITHOUT_COMMIT
from streams.headers import (
    DETAIL_HEADER_BYTES,
    EVENT_ID_HEADER_BYTES,
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    bounded,
)
from streams.metrics import PipelineMetrics
from streams.processor import BatchProcessor, BatchResult, DeadLetter, Item, unit_of_key
from streams.topics import TopicNames, partition_for

__all__ = ["RESYNC_BACKOFF_S", "Pipeline", "ResyncDeferred", "fail_stop", "retention_ms"]

log = logging.getLogger("scorecard.worker")

RESYNC_BACKOFF_S = 3.0
"""Seconds before the next resync attempt after a failure: Redis down, or a state it refuses."""


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
    """Holds what the batches share: engine, processor, store, and the epoch of the last Redis sync."""

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
        # No silent retry on a new connection: after a Sentinel or Cluster failover the new primary may lack the
        # last writes the old one acknowledged, so every lost connection must fail the flush and end in a resync.
        options = settings.redis_options
        client = connect(settings.redis_url, options, timeout=5, connect_timeout=2, retries=False)
        self.store = RedisStore(
            client,
            settings.app_id,
            definition_hash=definition_hash(scorecard),
            url=describe(settings.redis_url, options),
        )
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

        Batches and the Redis check (``check_redis``) share a lock: between 1 and 3 a batch awaits Kafka, and a
        resync must not read a record the batch is about to write. Anything unexpected stops the process at once
        (see ``fail_stop``).
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
                fail_stop("batch processing failed")

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
            self._redis_failed("redis flush failed, will resync: %s", error)
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
                self._redis_failed("redis check failed: %s", error)

    def _redis_failed(self, message: str, error: StoreError) -> None:
        """Count and log a failed flush or check, and resync once Redis answers again, not before the backoff.

        The table keeps the truth meanwhile; forgetting the epoch makes the next flush or check resync everything.
        """
        self.metrics.redis_errors.inc()
        log.warning(message, error)
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
                "scorecard-detail": bounded(letter.detail, DETAIL_HEADER_BYTES),
                "scorecard-event-id": bounded(letter.event_id or "", EVENT_ID_HEADER_BYTES),
                "scorecard-source-topic": self.names.events.encode(),
                SOURCE_PARTITION_HEADER: str(item.partition).encode(),
                SOURCE_OFFSET_HEADER: str(item.offset).encode(),
            }
            sent.append(await self.dlq.send(key=item.key.encode(), value=item.raw, headers=headers))
        if sent:
            await asyncio.gather(*sent)


class ResyncDeferred(StoreError):
    """A resync was asked for within ``RESYNC_BACKOFF_S`` of a failure: not attempted, not a new failure."""


def fail_stop(what: str) -> NoReturn:
    """Log and end the process now: no commit, no flush, no agent restart.

    Faust would restart the agent and its stream would acknowledge the failed batch, so the next commit would skip
    it. Ending the process instead makes the restarted worker (systemd, Kubernetes, the demo script) resume from the
    last committed offsets, and the applied offsets kept in every record make that replay exact.
    """
    log.critical("%s; stopping the worker so that it resumes from the committed offsets", what, exc_info=True)
    logging.shutdown()
    os._exit(EXIT_WITHOUT_COMMIT)
