"""Whole fetches to the scorecard (``streams/faust_fixes/fetches.py``): what is handed over, what becomes committable,
and how a rebalance meets a batch in hand.

The consumer here is ``FetchBatches`` over a stand-in for the parts of Faust's consumer it uses (fetch, flow, read
offsets, the commit bookkeeping); the real consumer with the broker, rebalances and failovers is exercised by
``tests/integration/test_worker.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP

from streams.faust_fixes.fetches import FetchBatches
from streams.faust_fixes.offsets import SourceConsumer

EVENTS = "acme.events"
CHANGELOG = "acme-units-changelog"

FAUST_GETMANY_SHA256 = "4b168d84882a70d6e3e2f9804430a63b92f8fd117d3187cbb4aeb54305bda34e"
"""Of ``inspect.getsource(faust.transport.consumer.Consumer.getmany)`` in the Faust this module was written against."""


@dataclass(frozen=True)
class Record:
    """The fields of an aiokafka ``ConsumerRecord`` the hand-over reads."""

    topic: str
    partition: int
    offset: int


def records(topic: str, partition: int, offsets: range) -> list[Record]:
    return [Record(topic, partition, offset) for offset in offsets]


class Monitor:
    def __init__(self) -> None:
        self.stream_inbound_time: dict[TP, float] = {}
        self.ends: dict[TP, int] = {}

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        self.ends[tp] = offset


class App:
    def __init__(self, handler: Any) -> None:
        self.fetch_handler = handler
        self.source_topics = frozenset({EVENTS})
        self.consumer_generation_id = 1
        self.monitor = Monitor()


class Scheduler:
    @staticmethod
    def iterate(fetched: Mapping[TP, Sequence[Record]]) -> Any:
        for tp, tp_records in fetched.items():
            for record in tp_records:
                yield tp, record


class FaustConsumer:
    """What ``FetchBatches`` uses of Faust's consumer, with Faust's own behaviour where it matters."""

    def __init__(self, app: App, fetches: list[tuple[dict[TP, list[Record]], set[TP] | None]]) -> None:
        self.app = app
        self.fetches = fetches
        self.flow_active = True
        self.should_stop = False
        self.seeks = 0
        self.commits = 0
        self.waited_empty = 0
        self._buffered_partitions: set[TP] = set()
        self._read_offset: dict[TP, int | None] = {}
        self._acked: defaultdict[TP, list[int]] = defaultdict(list)
        self._n_acked = 0
        self._commit_every: int | None = None
        self.scheduler = Scheduler()
        self.log = self

    def warning(self, *args: Any) -> None:  # the consumer's logger
        pass

    async def _wait_next_records(self, timeout: float) -> tuple[dict[TP, list[Record]], set[TP] | None]:
        return self.fetches.pop(0)

    def highwater(self, tp: TP) -> int:
        return 1000

    def _to_message(self, tp: TP, record: Record) -> tuple[str, int]:
        return ("message", record.offset)

    async def perform_seek(self) -> None:
        self.seeks += 1

    async def commit(self) -> None:
        self.commits += 1

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        return max(acked) + 1 if acked else None

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._acked.pop(tp, None)

    async def wait_empty(self) -> None:
        self.waited_empty += 1


class Fetching(FetchBatches, FaustConsumer):
    pass


class Handler:
    """Records each call; ``gate``, when set, holds the batch in hand until it is opened."""

    def __init__(self) -> None:
        self.calls: list[dict[TP, list[int]]] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, fetched: Mapping[TP, Sequence[Record]]) -> None:
        self.calls.append({tp: [r.offset for r in rs] for tp, rs in fetched.items()})
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()


P0, P1, C0 = TP(EVENTS, 0), TP(EVENTS, 1), TP(CHANGELOG, 0)


def consumer_with(*fetches: tuple[dict[TP, list[Record]], set[TP] | None]) -> tuple[Fetching, Handler]:
    handler = Handler()
    return Fetching(App(handler), list(fetches)), handler


async def drain(consumer: Fetching) -> list[Any]:
    return [pair async for pair in consumer.getmany(timeout=1.0)]


async def test_source_records_go_to_the_handler_in_one_call_and_the_rest_one_message_at_a_time() -> None:
    fetched = {
        P0: records(EVENTS, 0, range(10, 13)),
        P1: records(EVENTS, 1, range(0, 2)),
        C0: records(CHANGELOG, 0, range(5, 7)),
    }
    consumer, handler = consumer_with((fetched, None))
    assert await drain(consumer) == [(C0, ("message", 5)), (C0, ("message", 6))]
    assert handler.calls == [{P0: [10, 11, 12], P1: [0, 1]}]
    assert consumer.app.monitor.ends == {P0: 1000, P1: 1000, C0: 1000}


async def test_after_the_handler_returns_each_partition_commits_past_its_last_record_and_only_once() -> None:
    consumer, _ = consumer_with(({P0: records(EVENTS, 0, range(10, 13))}, None))
    await drain(consumer)
    assert consumer._new_offset(P0) == 13
    assert consumer._new_offset(P0) is None  # nothing new since: Faust's bookkeeping answers (empty)
    assert consumer._read_offset[P0] == 12
    assert consumer._n_acked == 3
    assert P0 in consumer._acked  # so that Faust's force_commit looks at the partition
    assert P0 in consumer.app.monitor.stream_inbound_time  # the livelock detector sees the partition alive


async def test_nothing_is_committable_while_the_batch_is_in_hand() -> None:
    consumer, handler = consumer_with(({P0: records(EVENTS, 0, range(10, 13))}, None))
    handler.gate = asyncio.Event()
    fetching = asyncio.ensure_future(drain(consumer))
    await asyncio.wait_for(handler.entered.wait(), 1)
    assert consumer._new_offset(P0) is None
    handler.gate.set()
    await asyncio.wait_for(fetching, 1)
    assert consumer._new_offset(P0) == 13


async def test_a_rebalance_waits_for_the_batch_in_hand_before_partitions_are_given_up() -> None:
    consumer, handler = consumer_with(({P0: records(EVENTS, 0, range(10, 13))}, None))
    handler.gate = asyncio.Event()
    fetching = asyncio.ensure_future(drain(consumer))
    await asyncio.wait_for(handler.entered.wait(), 1)
    consumer.flow_active = False  # what Faust does first when a rebalance starts
    waiting = asyncio.ensure_future(consumer.wait_empty())
    await asyncio.sleep(0.05)
    assert not waiting.done(), "partitions must not change hands in the middle of a batch"
    handler.gate.set()
    await asyncio.wait_for(waiting, 1)
    await asyncio.wait_for(fetching, 1)
    assert consumer.waited_empty == 1  # and then Faust's own wait for its streams
    assert consumer._new_offset(P0) == 13  # the batch finished, so its offsets are committed by the revoke's commit


async def test_a_fetch_whose_generation_ended_before_the_hand_over_is_not_processed() -> None:
    consumer, handler = consumer_with(({P0: records(EVENTS, 0, range(10, 13))}, None))
    handler.gate = asyncio.Event()
    first = asyncio.ensure_future(consumer._hand_over(handler, {P0: records(EVENTS, 0, range(0, 3))}, 1))
    await asyncio.wait_for(handler.entered.wait(), 1)
    # A rebalance happens while the first batch is in hand; the fetch made before it comes after.
    second = asyncio.ensure_future(consumer._hand_over(handler, {P0: records(EVENTS, 0, range(3, 6))}, 1))
    consumer.app.consumer_generation_id = 2
    handler.gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert handler.calls == [{P0: [0, 1, 2]}]
    assert consumer._new_offset(P0) == 3


async def test_nothing_is_handed_over_while_flow_is_suspended_and_the_consumer_seeks_back() -> None:
    consumer, handler = consumer_with(({P0: records(EVENTS, 0, range(10, 13))}, None))
    consumer.flow_active = False
    assert await drain(consumer) == []
    assert handler.calls == []
    assert consumer.seeks == 1
    assert consumer._new_offset(P0) is None


async def test_records_of_paused_partitions_are_left_for_later() -> None:
    fetched = {P0: records(EVENTS, 0, range(10, 13)), P1: records(EVENTS, 1, range(0, 2))}
    consumer, handler = consumer_with((fetched, {P1}))
    await drain(consumer)
    assert handler.calls == [{P1: [0, 1]}]
    assert consumer._new_offset(P0) is None


async def test_records_below_the_read_offset_are_dropped_as_faust_drops_them() -> None:
    consumer, handler = consumer_with(
        ({P0: records(EVENTS, 0, range(8, 13)), P1: records(EVENTS, 1, range(0, 2))}, None)
    )
    consumer._read_offset[P0] = 11
    consumer._read_offset[P1] = 5
    await drain(consumer)
    assert handler.calls == [{P0: [11, 12]}]
    assert consumer._new_offset(P1) is None


async def test_revoked_partitions_lose_their_uncommitted_offsets() -> None:
    consumer, _ = consumer_with(({P0: records(EVENTS, 0, range(10, 13)), P1: records(EVENTS, 1, range(0, 2))}, None))
    await drain(consumer)
    await consumer.on_partitions_revoked({P0})
    assert consumer._new_offset(P0) is None
    assert consumer._new_offset(P1) == 2


async def test_every_commit_every_records_a_commit_is_made_as_faust_s_loop_does() -> None:
    consumer, _ = consumer_with(
        ({P0: records(EVENTS, 0, range(0, 5))}, None), ({P0: records(EVENTS, 0, range(5, 9))}, None)
    )
    consumer._commit_every = 8
    await drain(consumer)
    assert consumer.commits == 0
    await drain(consumer)
    assert consumer.commits == 1
    assert consumer._n_acked == 0


async def test_without_a_handler_the_fetch_takes_faust_s_path() -> None:
    class Faust(FaustConsumer):
        async def getmany(self, timeout: float) -> Any:
            yield "faust's", "getmany"

    class Plain(FetchBatches, Faust):
        pass

    consumer = Plain(App(None), [])
    assert [pair async for pair in consumer.getmany(1.0)] == [("faust's", "getmany")]


def test_the_worker_consumer_takes_whole_fetches() -> None:
    assert SourceConsumer.getmany is FetchBatches.getmany
    assert SourceConsumer.wait_empty is FetchBatches.wait_empty


def test_faust_s_getmany_is_the_one_the_hand_over_was_written_against() -> None:
    """Fails when a Faust upgrade changes ``Consumer.getmany``: re-check ``streams/faust_fixes/fetches.py`` (which
    partitions count, flow and generation checks, the seek when flow is suspended), then update the digest."""
    source = inspect.getsource(Consumer.getmany)
    assert hashlib.sha256(source.encode()).hexdigest() == FAUST_GETMANY_SHA256
