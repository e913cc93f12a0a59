"""The stream's batch step: Kafka messages -> engine decisions -> unit records -> Redis cascade updates.

This module holds everything the worker does with a batch except talking to Kafka, so it can be tested against a
plain dict (standing in for the Faust table) and the real Redis. ``streams.app`` hands it each fetch of input
records as one batch (``Pipeline.handle`` calls ``BatchProcessor.process`` and sends the dead letters it returns).

Why a record per routing key, with the input offsets it applied
-----------------------------------------------------------------
Faust's at-least-once delivery replays messages after a crash, and its changelog writes are not atomic across keys.
So everything one message changes lives in ONE table record, the one of its unit: the unit's engine state (stream
time, remembered ids, own aggregates), its outcome counts, a version (events applied, monotone and determined by
content) and, per input partition, the offset of the newest message applied. A replayed message whose offset is not
newer than the record's is skipped: nothing is counted twice, whatever was or was not persisted before the crash.
Messages that name no known unit are kept in the record of the pseudo unit ``INVALID_UNIT``.

Why the ids are not in that record
----------------------------------
A unit's dedupe memory grows with its event rate (every id accepted within the dedupe horizon), so it is kept in
slices of bounded size (``scorecard.core.dedupe``), each a table record of its own under ``slice_key(unit, n)``, in the
same changelog partition as the unit's record (``unit_of_key``). A batch writes the slices it filled, then the unit's
record, then the deletions of the slices it forgot. Kafka keeps that order within the partition, so whatever prefix of
a batch's writes survives a crash, the unit's record never counts an entry that was not written (the slices are
written first) and never names a slice that was deleted (deletions come last); entries written after the surviving
unit record are cut off when the slices are read back (``IdMemory.load``), and the messages that made them are
re-applied. Reading a unit's slices costs as much as its ids, so decoded states are cached between batches and
reused while the table still holds the version the cache was made from (``BatchProcessor.load``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from scorecard.contract import INVALID_UNIT
from scorecard.core.dedupe import IdMemory
from scorecard.core.engine import Engine, Outcome, Result, UnitState, state_fingerprints
from scorecard.core.events import Event, InvalidEvent
from scorecard.core.updates import CountsUpdate, OwnUpdate

"""The routing key (and table record) of messages that name no known unit: undecodable ones and unknown units."""

_SLICE_MARK: Final = "/ids/"


def slice_key(unit: str, number: int) -> str:
    """The table key of slice ``number`` of a unit's id memory (unit ids never hold a ``/``)."""
    return f"{unit}{_SLICE_MARK}{number}"


def unit_of_key(key: str) -> str:
    """The unit (or ``INVALID_UNIT``) a table key belongs to: the key itself, or the unit of an id slice."""
    return key.partition(_SLICE_MARK)[0]


def is_unit_key(key: str) -> bool:
    """True for a unit's record, False for one of its id slices."""
    return _SLICE_MARK not in key


DEAD_OUTCOMES: Final = frozenset({Outcome.INVALID, Outcome.DUPLICATE, Outcome.LATE})
"""Outcomes whose message goes to the dead-letter topic, so an operator can see, fix and re-publish it."""


@dataclass(frozen=True, slots=True)
class Item:
    """One input message, identified by its input partition and offset wherever it is processed.

    ``event`` is the decoded event when the router already decoded it (so the hot path decodes once); None means
    "decode ``raw`` here" (messages that came through the by-unit topic, and invalid ones). ``received_at`` is the
    input record's Kafka timestamp (epoch seconds), against which the engine judges ``time_in_future``; None when
    the record has none.
    """

    key: str
    raw: bytes
    partition: int
    offset: int
    event: Event | None = None
    received_at: float | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A refused message with its reason; ``streams.app`` publishes it to the dead-letter topic."""

    item: Item
    reason: str
    detail: str
    event_id: str | None


@dataclass(slots=True)
class Record:
    """One table record: a unit's engine state plus what makes replays harmless (see the module docstring)."""

    state: UnitState = field(default_factory=UnitState)
    applied: dict[int, int] = field(default_factory=dict)
    version: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    kpis: dict[str, str] = field(default_factory=dict)
    """KPI id -> state fingerprint (``engine.state_fingerprints``) of the definition that built the states."""

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.to_json(),
            "applied": {str(p): o for p, o in self.applied.items()},
            "version": self.version,
            "counts": dict(self.counts),
            "kpis": dict(self.kpis),
        }

    @classmethod
    def from_json(
        cls, data: dict[str, Any] | None, read_slice: Callable[[int], bytes | None], *, seen: IdMemory | None = None
    ) -> Record:
        """The record as written, its id memory read back through ``read_slice(number)`` (or ``seen``, see
        ``UnitState.from_json``)."""
        if not data:
            return cls()
        return cls(
            UnitState.from_json(data["state"], read_slice, seen=seen),
            {int(p): int(o) for p, o in data["applied"].items()},
            int(data["version"]),
            {str(k): int(v) for k, v in data["counts"].items()},
            {str(k): str(v) for k, v in data.get("kpis", {}).items()},
        )


@dataclass(slots=True)
class BatchResult:
    """What one batch did: outcome counts, dead letters, and the Redis updates to flush."""

    outcomes: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    accepted_times: list[float] = field(default_factory=list)
    """Event times of the accepted events, for the worker's lag histogram."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    updates: list[OwnUpdate] = field(default_factory=list)
    counts: list[CountsUpdate] = field(default_factory=list)
    records: dict[str, Record] = field(default_factory=dict)
    """The updated records, by key, to write to the table."""
    forgotten: dict[str, range] = field(default_factory=dict)
    """Per key, the id slices forgotten in this batch, to delete from the table after the record is written."""


def decode_and_route(engine: Engine, raw: bytes) -> tuple[str, Event | None]:
    """The unit a message belongs to (its record and partition) and the decoded event.

    The key is ``INVALID_UNIT`` when the message names no known unit; the event is None when it does not decode.
    """
    try:
        event = engine.decode(raw)
    except InvalidEvent:
        return INVALID_UNIT, None
    return (event.unit if engine.knows_unit(event.unit) else INVALID_UNIT), event


def routing_key(engine: Engine, raw: bytes) -> str:
    """The routing key alone (see ``decode_and_route``)."""
    return decode_and_route(engine, raw)[0]


class BatchProcessor:
    """Applies batches of messages to unit records in a table (a Faust table, or a dict in tests).

    ``retention_ms`` per KPI sets how long Redis keeps a bucket after its last write: the tables expire by event
    time and are the source of truth, Redis is the readers' copy.
    """

    def __init__(self, engine: Engine, table: MutableMapping[str, Any], retention_ms: dict[str, int]) -> None:
        self.engine = engine
        self.table = table
        self.retention_ms = retention_ms
        self._ops = {kpi_id: c.aggregation.component_ops for kpi_id, c in engine.kpis.items()}
        self._fingerprints = state_fingerprints(engine.scorecard)
        self._memories: dict[str, tuple[int, IdMemory]] = {}  # key -> (record version, its id memory)

    def forget_cache(self) -> None:
        """Drop the decoded id memories: after a rebalance the table may hold other versions (or other units)."""
        self._memories.clear()

    def load(self, key: str, *, ids: bool = True) -> Record:
        """A unit's record, with the states of KPIs removed or re-shaped since it was written dropped.

        That is how a definition change takes effect on restart without wiping what is still valid: a new unit gets a
        new record, a new KPI starts empty, a KPI whose aggregation, source or window changed starts over, and every
        other state is kept (goals and names are read-time settings and never invalidate a state).

        The id memory is taken from the cache when it was made from the very version the table holds (a version
        counts the messages applied to the record, so equal versions are equal records); else read from the slices.
        ``ids=False`` leaves it empty, for a caller that only reads the aggregates and counts (a resync).
        """
        data = self.table.get(key)
        cached = self._memories.get(key)
        if not ids:
            record = Record.from_json(data, _no_slice, seen=IdMemory())
        elif data and cached is not None and cached[0] == data["version"]:
            record = Record.from_json(data, _no_slice, seen=cached[1])
        else:
            record = Record.from_json(data, lambda number: self.table.get(slice_key(key, number)))
        if record.kpis != self._fingerprints:
            current = self._fingerprints
            stale = [k for k in record.state.aggregates if record.kpis.get(k[0]) != current.get(k[0])]
            for bucket_key in stale:
                del record.state.aggregates[bucket_key]
            record.kpis = dict(current)
        return record

    def process(self, items: Iterable[Item], *, write: bool = True) -> BatchResult:
        """Apply a batch: each record is read once, updated in memory and written back once (coalesced).

        With ``write=False`` the updated records are left in ``result.records`` for ``write(result)``: the worker
        first makes the batch's dead letters durable, then writes the records (see ``streams.app.Pipeline.handle``).
        """
        result = BatchResult()
        records: dict[str, Record] = {}
        touched: dict[str, set[tuple[str, int]]] = {}
        stored: dict[str, tuple[int, int, int]] = {}  # id slice bounds of each record as loaded from the table
        for item in items:
            record = records.get(item.key)
            if record is None:
                record = records[item.key] = self.load(item.key)
                stored[item.key] = ids_of(record).bounds
            if item.offset <= record.applied.get(item.partition, -1):
                result.replayed += 1
                continue
            record.applied[item.partition] = item.offset
            record.version += 1
            outcome = self._apply(record, item, result, touched.setdefault(item.key, set()))
            record.counts[outcome] = record.counts.get(outcome, 0) + 1
            result.outcomes[outcome] += 1
        for key, record in records.items():
            self.engine.expire(record.state)
            # Slices in the table (as loaded) that expiry dropped; one made and dropped in this batch was never written.
            first, last, _ = stored[key]
            now_first = ids_of(record).first
            if now_first > first and last >= first:
                result.forgotten[key] = range(first, min(now_first, last + 1))
            result.counts.append(CountsUpdate.for_unit(key, record.version, self.counts_payload(record)))
            result.updates.extend(self.own_updates(key, record, touched.get(key, ())))
        result.records = records
        if write:
            self.write(result)
        return result

    def write(self, result: BatchResult) -> None:
        """Write the batch's updated records to the table: per unit, the id slices it filled, then its record, then
        the deletion of the slices it forgot (this order is what makes a crash harmless, see the module docstring).
        """
        for key, record in result.records.items():
            seen = ids_of(record)
            for number in sorted(seen.dirty):
                self.table[slice_key(key, number)] = seen.slice_bytes(number)
            seen.clean()
            self.table[key] = record.to_json()
            for number in result.forgotten.get(key, ()):
                del self.table[slice_key(key, number)]
            self._memories[key] = (record.version, seen)

    def _apply(self, record: Record, item: Item, result: BatchResult, touched: set[tuple[str, int]]) -> str:
        event = item.event
        if event is None:
            try:
                event = self.engine.decode(item.raw)
            except InvalidEvent as decode_error:
                event = None
                engine_result = Result(Outcome.INVALID, error=decode_error)
        if event is not None:
            engine_result = self.engine.process(record.state, event, item.received_at)
            if engine_result.outcome is Outcome.ACCEPTED:
                result.accepted_times.append(event.time)
        outcome = engine_result.outcome
        if outcome in DEAD_OUTCOMES:
            error = engine_result.error
            result.dead_letters.append(
                DeadLetter(
                    item,
                    str(error.reason) if error is not None else outcome.value,
                    error.detail if error is not None else _DEAD_DETAIL[outcome],
                    error.event_id if error is not None else event.id if event is not None else None,
                )
            )
        touched.update(engine_result.touched)
        return outcome.value

    def own_updates(self, unit: str, record: Record, keys: Iterable[tuple[str, int]]) -> list[OwnUpdate]:
        """Redis updates for some of a unit's own states (all of them when resyncing)."""
        if not self.engine.knows_unit(unit):  # INVALID_UNIT, or a unit the definition no longer has
            return []
        ancestors = self.engine.tree.ancestors(unit)
        updates = []
        for kpi_id, bucket in keys:
            state = record.state.aggregates.get((kpi_id, bucket))
            if state is None:  # expired in this very batch
                continue
            updates.append(
                OwnUpdate(
                    kpi_id,
                    bucket,
                    unit,
                    record.version,
                    state.to_list(),
                    ancestors,
                    self._ops[kpi_id],
                    self.retention_ms[kpi_id],
                )
            )
        return updates

    @staticmethod
    def counts_payload(record: Record) -> dict[str, Any]:
        return {"counts": record.counts, "stream_time": record.state.stream_time}

    def resync_updates(self, keys: Sequence[str]) -> tuple[list[OwnUpdate], list[CountsUpdate]]:
        """Every own state and counts record of the given table keys: what Redis needs after it lost its data."""
        updates: list[OwnUpdate] = []
        counts: list[CountsUpdate] = []
        for key in keys:
            if not is_unit_key(key):
                continue  # an id slice: read with its unit's record
            if key != INVALID_UNIT and not self.engine.knows_unit(key):
                continue  # a unit removed from the definition: its record stays in the table, unused
            record = self.load(key, ids=False)
            updates.extend(self.own_updates(key, record, list(record.state.aggregates)))
            counts.append(CountsUpdate.for_unit(key, record.version, self.counts_payload(record)))
        return updates, counts


def ids_of(record: Record) -> IdMemory:
    """A stream record's id memory: always the sliced kind (the plain kind is the replay's)."""
    seen = record.state.seen
    assert isinstance(seen, IdMemory), "stream records keep their ids in slices"
    return seen


def _no_slice(number: int) -> bytes | None:
    """The slice reader for a record whose id memory comes from the cache."""
    return None


_DEAD_DETAIL: Final = {
    Outcome.DUPLICATE: "an event with this unit and id was already accepted within the dedupe horizon",
    Outcome.LATE: "older than the unit's stream time minus the lateness grace",
}
