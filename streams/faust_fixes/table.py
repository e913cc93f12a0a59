"""The ``units`` table as Faust must be told to keep it: partitioned by unit, written as raw bytes, awaited.

Three things Faust does not do by itself, each met as a failure in the tests:

- ``UnitTable.partition_for_key``: a record lives in the changelog partition of its unit, computed here instead of
  asked of the producer (which may not know a fresh topic's partitions yet: the first batch's write raised);
- ``UnitTable.send_changelog``: every changelog write is remembered, so a batch can wait until Kafka acknowledged
  its records before it cascades to Redis (Redis must never be ahead of the durable table);
- ``BytesKeys``: keys and values go in and out as raw bytes, so Faust's codecs never touch them (with a key type
  left unset, Faust wrote changelog keys with one codec and read them back with another, and recovery failed).
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import msgspec

from streams.headers import text
from streams.processor import is_unit_key, unit_of_key
from streams.topics import partition_for

__all__ = ["BytesKeys", "UnitTable"]

_encode_record = msgspec.json.encode
_decode_record = msgspec.json.decode


class UnitTable(faust.Table):
    """The ``units`` table: a unit's record lives in changelog partition ``partition_for(unit)``, computed here.

    With ``use_partitioner=True`` Faust would ask the producer's partitioner, which needs the changelog topic's
    metadata; on a fresh topic the producer may not have it yet and the write raises inside the agent (seen on the
    first batch after start). The partition is known without asking: the one Kafka's default partitioner gives the
    unit key, the very partition whose input messages update the record.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[Any] = []

    def partition_for_key(self, key: Any) -> int:
        """The partition of the unit the key belongs to: a unit's id slices go with its record."""
        assert self.partitions is not None, "create_app always gives the table its partition count"
        return partition_for(unit_of_key(text(key)), self.partitions)

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        """Faust's changelog write, remembered so that ``wait_written`` can wait for its acknowledgement."""
        future = super().send_changelog(*args, **kwargs)
        self.pending.append(future)
        return future


class BytesKeys:
    """The table seen as str keys and JSON-able values (unit records) or bytes (id slices), stored as bytes.

    Raw bytes in and out of the changelog leave nothing to Faust's codecs: with a key type left unset Faust writes
    changelog keys with its JSON codec but reads them back with the schema's, and recovery then fails to decode
    (seen as "Error in recovery ... expected a JSON value" after a rebalance). msgspec encodes and decodes the
    records (fast, and no per-result memory overhead); id slices are packed bytes already and go as they are.
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._table.get(key.encode())
        if raw is None:
            return default
        return _decode_record(raw) if is_unit_key(key) else raw

    def __setitem__(self, key: str, value: Any) -> None:
        self._table[key.encode()] = _encode_record(value) if is_unit_key(key) else value

    def __delitem__(self, key: str) -> None:
        del self._table[key.encode()]

    def keys(self) -> list[str]:
        return [text(k) for k in self._table]

    @property
    def pending(self) -> list[Any]:
        """Changelog writes not yet waited for."""
        return self._table.pending

    async def wait_written(self) -> None:
        """Wait until Kafka acknowledged every changelog write made since ``pending`` was cleared."""
        futures = list(self._table.pending)
        self._table.pending.clear()
        if futures:
            await asyncio.gather(*futures)
