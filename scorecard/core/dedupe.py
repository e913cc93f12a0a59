"""The dedupe memory of one unit: which event ids it accepted recently, and at what event time.

Why this is more than a dict of ids: a unit's memory must survive a worker crash, so it lives in the Faust table's
changelog, and a busy unit remembers hundreds of thousands of ids per dedupe horizon. Kept in the unit's one table
record they would make that record grow without bound (beyond any Kafka message limit) and every batch
re-serialize every id. So the memory is kept in *slices*: fixed-size, append-only blocks of entries, each its
own table record of at most ``SLICE_IDS`` entries (``SLICE_BYTES``), written only while it is being filled. Whatever
the rate, a batch writes the slice being filled and never more than a few others, and no record outgrows
``SLICE_BYTES``.

An entry is the id's 16-byte BLAKE2b digest and its event time (a float64): ids of any length cost the same, and a
record is plain bytes, no JSON. Dedupe stays exact in the sense docs/semantics.md gives: two different ids of one
unit are confused only if their 128-bit digests collide, about n^2 / 2^129 for n ids within a horizon (below 1e-26
for two million); BLAKE2b, not a faster non-cryptographic hash, so that no producer can make such a pair on purpose.

The replay never stores its memory, so it keeps the ids themselves (``ReplayIds``: no hashing, no packing, the ids
beyond the horizon dropped one by one). Both memories answer every lookup alike (short of a digest collision), and
when either forgets an id never changes an outcome, so the stream still decides exactly as the replay.

Slices are numbered in the order they are filled, and a new one is started when the current one is full or spans
more than ``span`` seconds of event time (the engine gives a quarter of the dedupe horizon), so that a quiet unit's
ids are forgotten about as soon as a busy one's. A unit's live slices are ``first .. last``; the last holds
``last_len`` entries. Those three numbers (``IdMemory.bounds``) are all a unit's main record needs to find its memory
again, and they also make a crash harmless: entries written to the last slice after the main record that counts them
was lost are cut off at load (``IdMemory.load``), and slices past ``last`` are ignored and overwritten (a slice before
the last is never written again, so it is complete). Forgetting drops whole slices from the front once their newest
entry is beyond the horizon: outcome-neutral, since an id older than the horizon can never make a duplicate again
(docs/semantics.md, rule 5), and it keeps at most the horizon plus one span of ids.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

__all__ = ["ENTRY_BYTES", "SLICE_BYTES", "SLICE_IDS", "DedupeMemory", "IdMemory", "ReplayIds", "id_digest"]

_ENTRY: Final = struct.Struct("<16sd")
_pack: Final = _ENTRY.pack
ENTRY_BYTES: Final = _ENTRY.size
"""One entry: a 16-byte digest and a float64 event time."""

SLICE_IDS: Final = 3000
"""Entries per slice: a full slice record is ``SLICE_BYTES`` (72,000 bytes), well under the 100 KB record target."""

SLICE_BYTES: Final = SLICE_IDS * ENTRY_BYTES


def id_digest(event_id: str) -> bytes:
    """The 16-byte key an event id is remembered by (``surrogatepass``: any ``str`` a decoder produced encodes)."""
    return hashlib.blake2b(event_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class DedupeMemory(Protocol):
    """What the engine needs of a unit's dedupe memory: ``IdMemory`` in the stream, ``ReplayIds`` in the replay."""

    index: dict[Any, float]
    """Key -> newest accepted event time."""

    def key_of(self, event_id: str) -> Any:
        """The key an event id is remembered by."""
        ...

    def remember(self, key: Any, time: float, span: float = ...) -> None: ...

    def forget_before(self, oldest: float) -> list[int]: ...

    def __len__(self) -> int: ...

    def __contains__(self, event_id: object) -> bool: ...


class _Slice:
    """One slice: its packed entries, how many, and the oldest and newest event times among them (what starting a
    new slice and forgetting compare)."""

    __slots__ = ("count", "data", "newest", "oldest")

    def __init__(self, data: bytearray | None = None) -> None:
        self.data = bytearray() if data is None else data
        self.count = len(self.data) // ENTRY_BYTES
        self.oldest = math.inf
        self.newest = -math.inf

    def add_time(self, time: float) -> None:
        if time > self.newest:
            self.newest = time
        if time < self.oldest:
            self.oldest = time

    def __len__(self) -> int:
        return self.count

    def entries(self) -> Iterator[tuple[bytes, float]]:
        return _ENTRY.iter_unpack(self.data)


class IdMemory:
    """Remembered ids of one unit: ``first_seen(digest)`` in O(1), ``remember``, ``forget_before`` and the slices.

    The index (digest -> newest accepted time) answers lookups; the slices hold the same entries in acceptance order
    for persistence. ``dirty`` lists the slices changed since ``clean()``: what a stream batch must write.
    """

    __slots__ = ("_current", "_slices", "dirty", "first", "index")

    key_of = staticmethod(id_digest)
    """The key an id is remembered by: its digest."""

    def __init__(self) -> None:
        self.index: dict[bytes, float] = {}
        """Key -> newest accepted event time: the engine's lookups read it directly (the hot path)."""
        self._slices: dict[int, _Slice] = {}
        self._current: _Slice | None = None  # the slice being filled (the last one)
        self.first = 0
        self.dirty: set[int] = set()

    # ------------------------------------------------------------------------------------------------ lookups
    def first_seen(self, digest: bytes) -> float | None:
        """The event time this unit accepted ``digest`` at (the newest acceptance), or None."""
        return self.index.get(digest)

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and id_digest(event_id) in self.index

    def __len__(self) -> int:
        """Ids remembered (each counted once, whatever the number of its entries)."""
        return len(self.index)

    @property
    def entries(self) -> int:
        """Entries held in the slices (an id accepted again after the horizon has two)."""
        return sum(len(s) for s in self._slices.values())

    @property
    def last(self) -> int:
        """Number of the slice being filled (``first - 1`` when there is none)."""
        return self.first + len(self._slices) - 1

    @property
    def bounds(self) -> tuple[int, int, int]:
        """``(first, last, entries in last)``: what the unit's main record keeps to find the slices again."""
        last = self.last
        return self.first, last, len(self._slices[last]) if last >= self.first else 0

    # ------------------------------------------------------------------------------------------------ updates
    def remember(self, digest: bytes, time: float, span: float = math.inf) -> None:
        """Record that the unit accepted ``digest`` at event ``time``: appended to the slice being filled, or to a new
        one when that one is full or would span more than ``span`` seconds of event time."""
        self.index[digest] = time
        current = self._current
        if current is None or current.count >= SLICE_IDS or time - current.oldest > span:
            current = self._current = self._slices[self.first + len(self._slices)] = _Slice()
        self.dirty.add(self.first + len(self._slices) - 1)
        current.data += _pack(digest, time)
        current.count += 1
        if time > current.newest:
            current.newest = time
        if time < current.oldest:
            current.oldest = time

    def forget_before(self, oldest: float) -> list[int]:
        """Drop front slices whose every entry is older than ``oldest``; return their numbers.

        The slice being filled is kept even when old: it is where the next id goes. An entry is removed from the
        index only if the index still points at it (the id was not accepted again since).
        """
        dropped = []
        while len(self._slices) > 1 and self._slices[self.first].newest < oldest:
            gone = self._slices.pop(self.first)
            for digest, time in gone.entries():
                if self.index.get(digest) == time:
                    del self.index[digest]
            self.dirty.discard(self.first)
            dropped.append(self.first)
            self.first += 1
        return dropped

    def clean(self) -> None:
        """Mark every slice as written."""
        self.dirty.clear()

    # ---------------------------------------------------------------------------------------------- persistence
    def slice_bytes(self, number: int) -> bytes:
        """The record of slice ``number``: its packed entries."""
        return bytes(self._slices[number].data)

    @classmethod
    def load(cls, bounds: tuple[int, int, int], read: Callable[[int], bytes | None]) -> IdMemory:
        """Rebuild a memory from its bounds and a reader of slice records (``read(number)``, None when missing).

        Entries of the last slice beyond what ``bounds`` counts (written before a crash lost the record that would have
        counted them) are cut off, so the memory is exactly the one the main record was written with. A missing or
        malformed slice raises ``ValueError``: stored data outlives code, a wrong shape must fail loudly, not misread.
        """
        first, last, last_len = bounds
        memory = cls()
        memory.first = first
        for number in range(first, last + 1):
            raw = read(number)
            size = 0 if raw is None else len(raw)
            wanted = last_len * ENTRY_BYTES if number == last else size
            if raw is None or size < wanted or wanted == 0 or wanted % ENTRY_BYTES:
                raise ValueError(f"id slice {number} holds {size} bytes, expected {wanted or 'some'} (entries of 24)")
            piece = memory._slices[number] = memory._current = _Slice(bytearray(raw[:wanted]))
            for digest, time in piece.entries():
                memory.index[digest] = time
                piece.add_time(time)
        return memory

    def __eq__(self, other: object) -> bool:
        """Equal entries in equal slices (so equal records), whatever was written or not."""
        if not isinstance(other, IdMemory):
            return NotImplemented
        return self.first == other.first and {n: s.data for n, s in self._slices.items()} == {
            n: s.data for n, s in other._slices.items()
        }

    def __repr__(self) -> str:
        return f"IdMemory(ids={len(self)}, slices={self.first}..{self.last})"


class ReplayIds:
    """The replay's dedupe memory: the ids themselves (no digest, no slices), since it is never stored.

    The same interface as ``IdMemory`` where the engine uses it (``key_of``, ``index``, ``remember``,
    ``forget_before``), so ``Engine.process`` treats both alike.
    """

    __slots__ = ("index",)

    @staticmethod
    def key_of(event_id: str) -> str:
        """The key an id is remembered by: the id itself."""
        return event_id

    def __init__(self) -> None:
        self.index: dict[str, float] = {}

    def first_seen(self, key: str) -> float | None:
        return self.index.get(key)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.index

    def __len__(self) -> int:
        return len(self.index)

    def remember(self, key: str, time: float, span: float = math.inf) -> None:
        """Record an acceptance (``span`` is the sliced memory's business, ignored here)."""
        self.index[key] = time

    def forget_before(self, oldest: float) -> list[int]:
        """Drop every id whose newest acceptance is older than ``oldest``; no slices, so none to report."""
        index = self.index
        for key in [key for key, time in index.items() if time < oldest]:
            del index[key]
        return []
