"""How the worker's consumer hands the input to the scorecard: whole fetches at once, not one message at a time.

Faust turns every fetched record into a message, an event, a queue entry, a step of a stream iterator and an ack:
tens of microseconds per event, several times what the scorecard's own work costs (docs/benchmarks.md, "Throughput
against peers"). ``FetchBatches`` keeps Faust for the consumer group, rebalances and the tables, and takes the
records of the *source topics* (the input and by-unit topics, ``app.source_topics``) out of each fetch before Faust
sees them: they go in one call to ``app.fetch_handler`` (``streams/app.py``: decode, route, ``Pipeline.handle``).
Records of every other topic (the table's changelog during recovery) still take Faust's path, one message at a
time, through ``faust_fixes/delivery.py``.

What Faust did per message and this module now does per fetch:

- **Which records count.** Only records of partitions that are active (not paused for a rebalance or a recovery),
  and none while flow is suspended or after the consumer generation changed since the fetch: those are read again
  from the committed offsets once the rebalance ends, by this worker or the partition's new owner. Records below a
  partition's read offset (left from before a seek) are dropped, as Faust's drain loop drops them.
- **Commits.** A fetch hands over, per partition, a contiguous run of offsets. Once the handler has returned (the
  batch's dead letters, table records and Redis cascade are durable, see ``Pipeline.handle``) the partition's next
  offset to read becomes committable; Faust's commit loop commits it with its own offsets (``_new_offset``). Faust's
  per-message ack list, gaps and sorting are not needed for these partitions.
- **Rebalances.** Faust waits for the messages streams are still working on before it gives partitions up
  (``wait_empty``); here it waits for the batch in hand, so a partition never changes owner in the middle of a
  batch. Offsets not yet committed for revoked partitions are dropped with Faust's own.
- **Liveness.** Faust's livelock detector warns about partitions whose stream stopped; every batch tells it that
  its partitions' "stream" is alive.

``getmany`` here replaces Faust 0.15.3's ``Consumer.getmany`` for fetches that hold source records (it is Faust's
per-message generator otherwise); ``tests/unit/streams/test_fetches.py`` checks that the installed Faust's
``getmany`` is still the one this was written against, so that an upgrade re-checks it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from time import monotonic
from typing import Any

from faust.types import TP

log = logging.getLogger("scorecard.worker")

FetchHandler = Callable[[Mapping[TP, Sequence[Any]]], Awaitable[None]]
"""Takes one fetch's source records (aiokafka ``ConsumerRecord``s, per partition in offset order) and returns once
they are durably processed; it must not raise (the worker's handler stops the process instead)."""


class FetchBatches:
    """Mixin for Faust's consumer: source-topic records go to ``app.fetch_handler`` a fetch at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_to_commit: dict[TP, int] = {}
        self._in_hand = asyncio.Lock()
        self._in_hand_records = 0

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        """One fetch: the source records to the handler in one call, the others yielded one message at a time."""
        consumer: Any = self
        app = consumer.app
        handler: FetchHandler | None = getattr(app, "fetch_handler", None)
        sources: frozenset[str] = getattr(app, "source_topics", frozenset())
        if handler is None or not sources:
            async for pair in super().getmany(timeout):  # type: ignore[misc]
                yield pair
            return
        records, active = await consumer._wait_next_records(timeout)
        generation_id = app.consumer_generation_id
        if records is None or consumer.should_stop:
            return
        if not consumer.flow_active:
            # As Faust's getmany: fetched while a rebalance suspended flow, so rewind to the committed offsets.
            try:
                await consumer.perform_seek()
            except Exception as exc:
                consumer.log.warning(f"exception performing seek when flow not active {exc}")
            return
        batch: dict[TP, Sequence[Any]] = {}
        rest: dict[TP, Sequence[Any]] = {}
        buffered = consumer._buffered_partitions
        track_end = app.monitor.track_tp_end_offset
        for tp, tp_records in records.items():
            if active is not None and tp not in active and tp not in buffered:
                continue
            track_end(tp, consumer.highwater(tp))
            (batch if tp.topic in sources else rest)[tp] = tp_records
        if batch:
            await self._hand_over(handler, batch, generation_id)
        to_message = consumer._to_message
        for tp, record in consumer.scheduler.iterate(rest):
            if not consumer.flow_active or app.consumer_generation_id != generation_id:
                break
            yield tp, to_message(tp, record)

    async def _hand_over(self, handler: FetchHandler, fetched: Mapping[TP, Sequence[Any]], generation_id: int) -> None:
        """Give the handler what is still this worker's to process, then make its offsets committable."""
        consumer: Any = self
        app = consumer.app
        async with self._in_hand:
            if not consumer.flow_active or app.consumer_generation_id != generation_id:
                return  # a rebalance began after the fetch: read again from the committed offsets
            read_offset = consumer._read_offset
            fresh: dict[TP, Sequence[Any]] = {}
            for tp, records in fetched.items():
                floor = read_offset.get(tp)
                if floor is not None and records[0].offset < floor:
                    records = [record for record in records if record.offset >= floor]
                if records:
                    fresh[tp] = records
            if not fresh:
                return
            self._in_hand_records = sum(len(records) for records in fresh.values())
            await handler(fresh)
            now = monotonic()
            inbound = app.monitor.stream_inbound_time
            for tp, records in fresh.items():
                last = records[-1].offset
                read_offset[tp] = last
                self._next_to_commit[tp] = last + 1
                consumer._acked[tp]  # lists the partition among those force_commit looks at
                inbound[tp] = now
                consumer._n_acked += len(records)
        commit_every = consumer._commit_every
        if commit_every is not None and consumer._n_acked >= commit_every:
            consumer._n_acked = 0
            await consumer.commit()

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit for ``tp``: after the last handed-over batch for source partitions, else Faust's."""
        offset = self._next_to_commit.pop(tp, None)
        if offset is not None:
            return offset
        return super()._new_offset(tp)  # type: ignore[misc]

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._next_to_commit.pop(tp, None)
        await super().on_partitions_revoked(revoked)  # type: ignore[misc]

    async def wait_empty(self) -> None:
        """Faust's wait for the messages in processing, after the batch in hand (if any) is done."""
        if self._in_hand.locked():
            log.info(
                "rebalance: waiting for the batch in hand (%d records) before giving partitions up",
                self._in_hand_records,
            )
            started = monotonic()
            async with self._in_hand:
                pass
            log.info("rebalance: the batch in hand finished after %.0f ms", (monotonic() - started) * 1000)
        await super().wait_empty()  # type: ignore[misc]
