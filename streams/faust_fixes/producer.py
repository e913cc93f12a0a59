"""The worker's producer: idempotent, every write acknowledged by all in-sync replicas.

Faust enables idempotence only inside transactions (``Producer._settings_extra``); outside, its aiokafka producer
may write a message twice when it retries a send whose acknowledgement was lost (a broker killed after writing,
before answering). The worker's writes (forwarded events, changelog records, dead letters) would survive such
duplicates (forwarded events carry their source offset, which the unit records skip; a changelog record is
overwritten), but with a broker lost mid-stream every retry is one, so the producer says what it relies on:
``acks=all`` (with the topics' ``min.insync.replicas``, a write is on two brokers before it counts) and
``enable_idempotence`` (the broker drops a retried batch it already has). aiokafka has no retry count: it retries
retriable errors (a partition's leader moving, a timeout) until ``producer_request_timeout``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import Producer


class IdempotentProducer(Producer):
    """Faust's aiokafka producer with ``acks=all`` and ``enable_idempotence=True`` always."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}
