"""The direct hand-over of ``streams/faust_fixes/delivery.py``: same outcome as Faust's raced delivery, without its
tasks.

The consumer here is a plain mode ``Service`` with the mixin and a delivery callback shaped like Faust's conductor
(put into a bounded queue; wait for room when it is full); the worker with the real conductor, broker and rebalances
is exercised by ``tests/integration/test_worker.py`` (failover and equal-to-replay tests).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from faust.transport.consumer import Consumer
from mode import Service

from streams.faust_fixes.delivery import DirectDelivery, _finish
from streams.faust_fixes.offsets import SourceConsumer

FAUST_DELIVERY = """\
                            await self.wait_first(
                                callback(message), self.suspend_flow.wait()
                            )
"""
OUR_DELIVERY = "                            await self._deliver(message)\n"


class FakeConsumer(DirectDelivery, Service):
    """What ``DirectDelivery._deliver`` uses of Faust's consumer: ``callback``, ``suspend_flow``, ``wait_first``."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=room)
        self.suspend_flow = asyncio.Event()
        self.raced = 0

    async def callback(self, message: str) -> None:
        """Like the conductor: put at once when there is room, else wait for it in a task of its own."""
        if message == "bad":
            raise ValueError("cannot decode")
        if self.queue.full():
            await asyncio.wait([asyncio.ensure_future(self.queue.put(message))])
        else:
            self.queue.put_nowait(message)

    async def wait_first(self, *coros: Any, timeout: Any = None) -> Any:
        self.raced += 1
        return await super().wait_first(*coros, timeout=timeout)


async def test_a_delivery_with_room_completes_at_once_without_the_race() -> None:
    consumer = FakeConsumer(room=2)
    await consumer._deliver("a")
    await consumer._deliver("b")
    assert [consumer.queue.get_nowait(), consumer.queue.get_nowait()] == ["a", "b"]
    assert consumer.raced == 0


async def blocked_delivery() -> tuple[FakeConsumer, asyncio.Future[None]]:
    """A consumer whose one-place queue holds "a", and the delivery of "b", waiting for room."""
    consumer = FakeConsumer(room=1)
    await consumer._deliver("a")
    delivering = asyncio.ensure_future(consumer._deliver("b"))
    await asyncio.sleep(0.01)
    assert not delivering.done(), "the queue is full: the delivery must wait"
    return consumer, delivering


async def test_a_delivery_to_a_full_queue_waits_for_room_through_the_race() -> None:
    consumer, delivering = await blocked_delivery()
    assert consumer.queue.get_nowait() == "a"
    await asyncio.wait_for(delivering, 1)
    assert consumer.queue.get_nowait() == "b"
    assert consumer.raced == 1


async def test_suspending_flow_ends_a_blocked_delivery_so_a_rebalance_cannot_deadlock() -> None:
    consumer, delivering = await blocked_delivery()
    consumer.suspend_flow.set()  # what Faust does when a rebalance starts
    await asyncio.wait_for(delivering, 1)  # the drain loop goes on although the queue is still full
    assert consumer.queue.full()
    # As with Faust's own race: the put the conductor started in a task of its own still lands once there is room.
    assert consumer.queue.get_nowait() == "a"
    await asyncio.sleep(0.01)
    assert consumer.queue.get_nowait() == "b"


async def test_while_flow_is_suspended_every_delivery_takes_faust_path() -> None:
    consumer = FakeConsumer(room=2)
    consumer.suspend_flow.set()
    await consumer._deliver("a")
    assert consumer.raced == 1


async def test_a_failing_delivery_raises_to_the_drain_loop_as_before() -> None:
    consumer = FakeConsumer(room=2)
    with pytest.raises(ValueError, match="cannot decode"):
        await consumer._deliver("bad")


async def waits_then(future: asyncio.Future[int], then: int) -> int:
    return await future + then


async def test_finish_resumes_with_the_result_of_the_awaited_future() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    delivery = waits_then(future, 1)
    waiting_on = delivery.send(None)
    assert waiting_on is future
    task = asyncio.ensure_future(_finish(delivery, waiting_on))
    await asyncio.sleep(0)
    future.set_result(41)
    assert await task == 42


async def test_finish_throws_the_futures_exception_into_the_delivery() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    delivery = waits_then(future, 1)
    task = asyncio.ensure_future(_finish(delivery, delivery.send(None)))
    await asyncio.sleep(0)
    future.set_exception(KeyError("gone"))
    with pytest.raises(KeyError, match="gone"):
        await task


async def test_cancelling_finish_cancels_what_the_delivery_waits_on_and_the_delivery_sees_it() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def delivery_noting_cancel() -> None:
        try:
            await future
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    delivery = delivery_noting_cancel()
    task = asyncio.ensure_future(_finish(delivery, delivery.send(None)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert future.cancelled()
    assert seen == ["cancelled"]


async def test_finish_reschedules_a_bare_yield() -> None:
    async def yields_twice() -> str:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return "done"

    delivery = yields_twice()
    assert delivery.send(None) is None
    assert await _finish(delivery, None) == "done"


def test_the_worker_consumer_uses_the_direct_delivery() -> None:
    assert SourceConsumer._drain_messages is DirectDelivery._drain_messages


def test_the_copied_drain_loop_is_faust_s_with_only_the_delivery_changed() -> None:
    """Also fails when a Faust upgrade changes its loop: port the change to the copy in
    ``streams/faust_fixes/delivery.py``."""
    faust = inspect.getsource(Consumer._drain_messages)
    expected = faust.replace("(self, fetcher: ServiceT)", "(self: Any, fetcher: ServiceT)", 1)
    expected = expected.replace("        callback = self.callback\n", "", 1)
    expected = expected.replace(FAUST_DELIVERY, OUR_DELIVERY, 1)
    assert FAUST_DELIVERY in faust and expected != faust, (
        "Faust's delivery line changed: re-check streams/faust_fixes/delivery.py"
    )
    assert inspect.getsource(DirectDelivery._drain_messages) == expected
