"""How the worker's consumer hands each fetched message to the agent: directly, unless the hand-over would block.

Faust's fetcher (``Consumer._drain_messages``) hands every message to the streams with
``wait_first(callback(message), suspend_flow.wait())``: it races the delivery against a rebalance's suspension of
flow, so that a delivery blocked on a full agent queue, on suspended flow or on producer back-pressure cannot keep
a rebalance from finishing (the same loop must deliver the changelog messages that end the tables' recovery). The
race costs four tasks and an ``asyncio.wait`` per message (``bench/bench_faust_handover.py`` measures it: a large
share of Faust's whole per-message cost), although nearly every delivery finishes at once.

``DirectDelivery`` keeps the race for the deliveries that need it and skips it for the others. It runs the first
step of the delivery coroutine in the fetcher's own task; a delivery that does not suspend (the agent's queue has
room and flow runs: the steady state) is then complete, for the cost of a function call. A delivery that does
suspend is finished by ``_finish``, exactly as the task ``wait_first`` would have created for it, and raced against
``suspend_flow`` as before. While flow is suspended every delivery takes Faust's path unchanged.

``_drain_messages`` is Faust 0.15.3's loop copied verbatim (read offsets, gaps, commits, yielding to the event loop
every 100 messages, the errors that end it) but for its delivery line; ``tests/unit/streams/test_delivery.py`` checks
that it equals Faust's installed loop with that one substitution, so that a Faust upgrade re-checks the copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any, cast

from faust.transport.consumer import CONSUMER_FETCHING
from mode import Service, ServiceT


async def _finish(delivery: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Run ``delivery`` on from where its first step suspended (on ``waiting_on``), as an asyncio task would.

    A task resumes a suspended coroutine with ``send(None)`` once the future it waits on is done, or throws that
    future's exception (a cancellation included) into it; a bare ``yield`` (``asyncio.sleep(0)``) only asks to be
    scheduled again. Cancelling the task running ``_finish`` cancels the awaited future, which the delivery then
    sees, as it would in its own task.
    """
    while True:
        failure: BaseException | None = None
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False  # taken over, as a task's step does with a yielded future
                await waiting_on
        except BaseException as exc:  # the delivery decides what the future's failure or a cancellation means
            failure = exc
        try:
            waiting_on = delivery.send(None) if failure is None else delivery.throw(failure)
        except StopIteration as stop:
            return stop.value


class DirectDelivery:
    """Mixin for Faust's consumer: ``_drain_messages`` with the direct hand-over described in the module docstring."""

    async def _deliver(self, message: Any) -> None:
        """Hand ``message`` to the streams: at once when that does not block, else raced against ``suspend_flow``."""
        consumer: Any = self
        delivery = consumer.callback(message)
        if consumer.suspend_flow.is_set():
            await consumer.wait_first(delivery, consumer.suspend_flow.wait())
            return
        try:
            waiting_on = delivery.send(None)
        except StopIteration:
            return
        await consumer.wait_first(_finish(delivery, waiting_on), consumer.suspend_flow.wait())

    async def _drain_messages(self: Any, fetcher: ServiceT) -> None:  # pragma: no cover
        # This is the background thread started by Fetcher, used to
        # constantly read messages using Consumer.getmany.
        # It takes Fetcher as argument, because we must be able to
        # stop it using `await Fetcher.stop()`.
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = cast(AsyncIterator, getmany(timeout=1.0))

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            await self._deliver(message)
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)
