"""Publish JSON Lines events to the input topic: ``scorecard publish`` (demos, tests, backfills, the benchmark).

Each non-blank line is sent as it is (the worker validates, so a malformed line reaches the dead-letter topic like it
would from any upstream), keyed by its ``unit`` field so that a unit's events keep their file order in one partition:
that is what makes the stream equal the file-order replay (docs/semantics.md, "Order"). Lines without a readable
unit (not JSON, nested too deep for the decoder, anything) are sent without a key; reading the key never fails.
``keyed=False`` sends every line without a key, the way a careless upstream would. A line larger than the input
topic's messages may be (``MAX_MESSAGE_BYTES``, ``topics.EVENT_MESSAGE_BYTES``) cannot be sent at all: it is
counted and reported (``PublishStats.too_large``) and the others are still sent; so is one the broker refuses as too
large (a topic created elsewhere with a lower limit). The CLI reads files with
``scorecard.core.lines.read_lines(handle, MAX_MESSAGE_BYTES)``, so such a line is never held whole in memory.

The producer is idempotent (no duplicates from its own retries) and waits for every acknowledgement before
returning, so "published N" means N messages are in Kafka.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from scorecard.config import Settings
from streams.kafka_client import client_options
from streams.topics import EVENT_MESSAGE_BYTES, PRODUCER_REQUEST_BYTES, TopicNames, ensure_topics

PRODUCER_TIMEOUT_MS = 120_000
"""How long a send may be retried (aiokafka has no retry count: it retries until this timeout): long enough for a
lost broker's partitions to get new leaders."""

# Acknowledgements are awaited in chunks: enough in flight to fill Kafka batches, bounded memory for huge files.
_IN_FLIGHT = 5000
MAX_MESSAGE_BYTES = EVENT_MESSAGE_BYTES
"""The largest message the input topic takes (its ``max.message.bytes``): no longer line can be published."""


class _UnitOnly(msgspec.Struct):
    """The one field publishing needs; everything else is the worker's business."""

    unit: object = None


_decode_unit = msgspec.json.Decoder(_UnitOnly).decode


def unit_key(line: bytes) -> bytes | None:
    """The Kafka key of an event line: its unit id, or None when the line has no readable string unit.

    Never raises: whatever stops the decoder (bad JSON, nesting deep enough to exhaust its recursion, a unit that
    is not valid text) only means the line goes without a key; judging it is the worker's business.
    """
    try:
        unit = _decode_unit(line).unit
        return unit.encode() if isinstance(unit, str) and unit else None
    except Exception:
        return None


@dataclass
class PublishStats:
    """What a publish did; ``summary()`` is the CLI's final line."""

    topic: str
    sent: int = 0
    keyed: int = 0
    skipped_blank: int = 0
    too_large: int = 0
    """Lines Kafka refused as larger than a message may be: not sent."""
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        unkeyed = self.sent - self.keyed
        blank = f", {self.skipped_blank} blank lines skipped" if self.skipped_blank else ""
        large = (
            f"; {self.too_large} lines NOT sent: over the input topic's {MAX_MESSAGE_BYTES:,}-byte message limit"
            if self.too_large
            else ""
        )
        return (
            f"published {self.sent} events to {self.topic} ({self.keyed} keyed by unit, {unkeyed} without key{blank})"
            f" in {self.seconds:.1f}s ({self.rate:,.0f} events/s){large}"
        )


async def publish_lines(
    settings: Settings,
    lines: Iterable[bytes] | AsyncIterable[bytes],
    *,
    keyed: bool = True,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> PublishStats:
    """Send every non-blank line to the input topic (created first when missing) and wait until all are acknowledged.

    ``rate`` (events/s) paces the sending, for latency measurements and live demos; ``progress(sent)`` is called
    after each acknowledged chunk. ``lines`` may be an async iterable: a source that paces itself (the simulator's
    live phase) and decides when the stream ends; acknowledgements are still awaited before returning.
    """
    names = TopicNames.from_settings(settings)
    # Creating the topic here (not by broker auto-creation) gives it the partition count the worker expects.
    await ensure_topics(settings, names, internal=False)
    stats = PublishStats(topic=names.events)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_idempotence=True,  # a retried send is never written twice
        acks="all",  # acknowledged once every in-sync replica has it (min.insync.replicas of the topic)
        request_timeout_ms=PRODUCER_TIMEOUT_MS,  # retriable errors (a leader moving) are retried until then
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=PRODUCER_REQUEST_BYTES,
        **client_options(settings.kafka_security),
    )
    await producer.start()
    started = time.monotonic()
    try:
        pending: list[tuple[asyncio.Future[object], bool]] = []  # (acknowledgement, keyed)
        async for line in _each(lines):
            line = line.rstrip(b"\r\n")
            if not line.strip():
                stats.skipped_blank += 1
                continue
            key = unit_key(line) if keyed else None
            if DefaultRecordBatchBuilder.estimate_size_in_bytes(key, line, []) > MAX_MESSAGE_BYTES:
                stats.too_large += 1  # the topic would refuse it: not sent, and nothing else is affected
                continue
            pending.append((await producer.send(names.events, value=line, key=key), key is not None))
            stats.sent += 1
            stats.keyed += key is not None
            if rate is not None:
                await _pace(started, stats.sent, rate)
            if len(pending) >= _IN_FLIGHT:
                await _acknowledged(pending, stats)
                pending.clear()
                if progress is not None:
                    progress(stats.sent)
        await _acknowledged(pending, stats)
        if progress is not None:
            progress(stats.sent)
    finally:
        await producer.stop()
    stats.seconds = time.monotonic() - started
    return stats


async def _acknowledged(pending: list[tuple[asyncio.Future[object], bool]], stats: PublishStats) -> None:
    """Wait for every send. A message the broker refused as too large (a topic whose ``max.message.bytes`` is below
    the producer's limit) is counted as not sent; any other failure raises as before."""
    outcomes = await asyncio.gather(*(future for future, _ in pending), return_exceptions=True)
    for outcome, (_, keyed) in zip(outcomes, pending, strict=True):
        if isinstance(outcome, MessageSizeTooLargeError):
            stats.sent -= 1
            stats.keyed -= keyed
            stats.too_large += 1
        elif isinstance(outcome, BaseException):
            raise outcome


async def _pace(started: float, sent: int, rate: float) -> None:
    """Sleep until ``sent`` events are due at ``rate`` per second (sleeping only when ahead, never per event)."""
    ahead = started + sent / rate - time.monotonic()
    if ahead > 0.005:
        await asyncio.sleep(ahead)


async def _each(lines: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """One loop for plain and async sources."""
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line
