"""Waiting for Kafka at a worker's start: retry creating the topics while the broker is not reachable yet, for a
bounded time, instead of exiting at the first refused connection.

A worker started together with its broker (a compose stack, a machine booting, a rolling restart of Kafka) would
otherwise exit with aiokafka's ``Unable to bootstrap``, and whether the stack came up would depend on which
process started first. With ``--kafka-wait`` above 0, ``create_topics_when_reachable`` retries every Kafka error of
``ensure_topics`` with a
back-off of 1 s doubling to 5 s, logs one line when it starts waiting and one every 30 s while it waits (with the
reason), one when Kafka answered, and after ``wait`` seconds raises ``KafkaUnreachable`` with a one-line message.
A topic of the wrong shape (``TopicError``) is not retried, nor a broker that refuses the login or the certificate
(``kafka_client.KafkaAccessError``): waiting cannot fix them. aiokafka's own line per refused
connection is held back by the caller (``streams.worker``) meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from aiokafka.errors import KafkaError

from scorecard.config import Settings
from streams.kafka_client import KafkaAccessError, KafkaUnreachableError
from streams.topics import TopicNames, ensure_topics

__all__ = ["KafkaUnreachable", "create_topics_when_reachable"]

log = logging.getLogger("scorecard.worker")

FIRST_DELAY_S: Final = 1.0
MAX_DELAY_S: Final = 5.0
LOG_EVERY_S: Final = 30.0


class KafkaUnreachable(RuntimeError):
    """Kafka did not answer within the start-up wait; the message is one line saying where and what to check."""


async def create_topics_when_reachable(
    settings: Settings,
    names: TopicNames,
    *,
    wait: float,
    ensure: Callable[[Settings, TopicNames], Awaitable[None]] = ensure_topics,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """``ensure(settings, names)`` (create the topics), retried on Kafka errors for up to ``wait`` seconds; with a
    wait of 0 it is tried once and its error propagates unchanged (the command reports it like any Kafka error).

    ``ensure``, ``clock`` and ``sleep`` are the real ones in the worker; tests give their own.
    """
    if wait <= 0:
        await ensure(settings, names)
        return
    await _retry(settings, names, wait=wait, ensure=ensure, clock=clock, sleep=sleep)


async def _retry(
    settings: Settings,
    names: TopicNames,
    *,
    wait: float,
    ensure: Callable[[Settings, TopicNames], Awaitable[None]],
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    started = clock()
    delay = FIRST_DELAY_S
    logged_at: float | None = None
    attempts = 0
    while True:
        attempts += 1
        try:
            await ensure(settings, names)
        except KafkaError as error:
            if isinstance(error, KafkaAccessError) and not isinstance(error, KafkaUnreachableError):
                raise  # the broker answered and refused the login or the certificate: waiting cannot fix it
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            waited = clock() - started
            if waited >= wait:
                raise KafkaUnreachable(
                    f"cannot start the worker on topic {settings.topic}: Kafka at {settings.kafka_bootstrap} not "
                    f"reachable within {wait:g} s ({attempts} attempts): {reason}; check --kafka-bootstrap "
                    "(SCORECARD_KAFKA_BOOTSTRAP) and that the broker runs, or wait longer with --kafka-wait "
                    "(SCORECARD_KAFKA_WAIT)"
                ) from None
            if logged_at is None or clock() - logged_at >= LOG_EVERY_S:
                logged_at = clock()
                log.warning(
                    "Kafka at %s not reachable yet (%s); retrying for up to %.0f s more (--kafka-wait)",
                    settings.kafka_bootstrap,
                    reason,
                    max(wait - waited, 0.0),
                )
            await sleep(min(delay, max(wait - waited, 0.0)))
            delay = min(delay * 2, MAX_DELAY_S)
            continue
        if attempts > 1:
            log.warning("Kafka at %s answered after %.0f s: starting", settings.kafka_bootstrap, clock() - started)
        return
