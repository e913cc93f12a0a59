"""Where a worker reads a partition from after a rebalance, and why no message is skipped on the way.

Faust (faust-streaming 0.15.3 with aiokafka 0.14) can skip input messages around a rebalance. Each message it skips
is lost: the unit records' applied offsets (``streams/processor.py``) make every re-read harmless, but nothing
re-reads a message Faust has stepped over, and later messages of its partition get applied and committed after it.
It can happen in two ways, both shown by ``tests/integration/test_worker.py::
test_one_of_two_workers_killed_before_any_commit_then_a_third_joins_equals_replay``, and this module closes both:

1. **A partition without a committed offset changes hands** (a worker died before its first commit). The new owner's
   consumer starts fetching it from the beginning while the tables recover, and Faust's streams skip what arrives while
   flow is suspended. Faust's ``perform_seek`` then rewinds every partition to its committed offset, but aiokafka's
   ``seek_to_committed`` seeks only when that offset is above 0, so this partition stays where the skipping left it:
   thousands of events lost. ``SourceConsumer`` rewinds every input and by-unit partition without a committed offset to
   its first available offset after Faust's seek.
2. **Resuming flow empties the agents' queues** (mode's ``FlowControlEvent.resume`` clears every queue created with
   ``clear_on_resume``, which all stream queues are), also when flow is already running. Faust's recovery resumes flow
   several times, the last time just after its ``perform_seek``; the messages the consumer delivered in between had
   already moved Faust's read offsets past them, so they were neither in a queue any more nor read again: a few events
   lost now and then. ``ResumeKeepsQueues`` clears the queues only when flow really goes from suspended to running,
   which is when they hold messages of the previous assignment. The input no longer passes through these queues
   (``faust_fixes/fetches.py`` takes it a whole fetch at a time); the fix stays for every message that still does.

A third case: a committed offset beyond the partition's end (the topic was deleted and created again, and the group kept
its old offsets) makes Faust drop every message below it; ``SourceConsumer`` rewinds those partitions too.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from streams.faust_fixes.delivery import DirectDelivery
from streams.faust_fixes.fetches import FetchBatches, FetchHandler

log = logging.getLogger("scorecard.worker")


class SourceConsumer(FetchBatches, DirectDelivery, AIOKafkaConsumer):
    """Faust's aiokafka consumer, with ``perform_seek`` rewinding uncommitted source partitions to their start.

    It also hands the source topics' records to ``app.fetch_handler`` a whole fetch at a time
    (``streams/faust_fixes/fetches.py``), and other messages to the streams without Faust's per-message race when the
    hand-over cannot block (``streams/faust_fixes/delivery.py``).
    """

    async def perform_seek(self) -> None:
        await super().perform_seek()
        sources: frozenset[str] = getattr(self.app, "source_topics", frozenset())
        mine = [tp for tp in self.assignment() if tp.topic in sources]
        rewind = [tp for tp in mine if not self._committed_offset.get(tp)] + await self._stale(mine)
        if rewind:
            await self.seek_wait(await self._start_offsets(rewind))

    async def _stale(self, partitions: list[TP]) -> list[TP]:
        """Partitions whose committed offset lies beyond their log end: left by a topic deleted and created again.

        Kafka drops a group's offsets with their topic, but not always (a topic deleted right after a broker
        restart, as the demo's reset does, can leave them). Faust would then read from the start (aiokafka's
        out-of-range reset) yet drop every message below the stale offset as already read: nothing counted.
        """
        committed = {tp: offset for tp in partitions if (offset := self._committed_offset.get(tp))}
        candidates = list(committed)
        if not candidates:
            return []
        ends = await self.highwaters(*candidates)
        stale = [tp for tp in candidates if committed[tp] > (ends.get(tp) or 0)]
        for tp in stale:
            log.warning(
                "committed offset %s of %s is beyond its log end %s (topic re-created?): reading it from its start",
                committed[tp],
                tp,
                ends.get(tp),
            )
        return stale

    async def _start_offsets(self, partitions: list[TP]) -> dict[TP, int]:
        """The first offset still in each partition's log (0 unless retention deleted the beginning)."""
        earliest = await self.earliest_offsets(*partitions)
        return {tp: earliest.get(tp) or 0 for tp in partitions}


class ResumeKeepsQueues(FlowControlEvent):
    """Flow control whose ``resume`` clears the stream queues only when flow was suspended (see point 2 above)."""

    def resume(self) -> None:
        if self.is_active():
            return
        super().resume()


class ScorecardApp(faust.App):
    """A Faust app with the two fixes above and an idempotent producer (``producer.py``); ``source_topics`` names the
    topics ``SourceConsumer`` rewinds and hands to ``fetch_handler`` a fetch at a time."""

    source_topics: frozenset[str] = frozenset()
    fetch_handler: FetchHandler | None = None

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return ResumeKeepsQueues(loop=self.loop)

    def _new_producer(self) -> Any:
        from streams.faust_fixes.producer import IdempotentProducer

        return IdempotentProducer(self.transport, loop=self.loop, beacon=self.beacon)

    def _new_consumer(self) -> Any:
        return SourceConsumer(
            self.transport,
            callback=self.topics.on_message,
            on_partitions_revoked=self._on_partitions_revoked,
            on_partitions_assigned=self._on_partitions_assigned,
            beacon=self.beacon,
            loop=self.transport.loop,
        )
