"""The Kafka headers the stream writes and reads: on the dead letters, and on events forwarded to the by-unit topic.

A forwarded event carries its input partition, offset and Kafka timestamp (the unit record's applied offsets and the
event's received time come from them); a dead letter carries its reason, a bounded detail and event id, and where
it came from. Values are bounded in bytes: a header must never make a message too large for its topic.
"""

from __future__ import annotations

from typing import Any

SOURCE_PARTITION_HEADER = "scorecard-source-partition"
SOURCE_OFFSET_HEADER = "scorecard-source-offset"
SOURCE_TIMESTAMP_HEADER = "scorecard-source-timestamp"
"""The input record's Kafka timestamp (milliseconds), carried to the by-unit topic: the event's received time."""

DETAIL_HEADER_BYTES = 1024
"""Most bytes of the ``scorecard-detail`` header (details are bounded already; the header is bounded by itself)."""
EVENT_ID_HEADER_BYTES = 256
"""Most bytes of the ``scorecard-event-id`` header: an event id is the producer's, of any length."""


def text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def header(headers: Any, name: str) -> str:
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs or ():
        if text(key) == name:
            return text(value)
    raise KeyError(name)


def bounded(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes on a character boundary."""
    data = text.encode("utf-8", "replace")
    return data if len(data) <= limit else data[:limit].decode("utf-8", "ignore").encode()


def received_at(timestamp: float | None) -> float | None:
    """A record's Kafka timestamp as the event's received time; None when it has none (Kafka's -1, or 0)."""
    return timestamp if timestamp is not None and timestamp > 0 else None


def source_timestamp(headers: Any) -> float | None:
    """The received time a forwarded message carries; None when it has none (forwarded by an older worker)."""
    try:
        return received_at(int(header(headers, SOURCE_TIMESTAMP_HEADER)) / 1000.0)
    except (KeyError, ValueError):
        return None
