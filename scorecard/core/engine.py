"""The event engine: one accepted-or-not decision per event and the unit's own aggregate states, shared by the
batch replay and the Faust stream.

The stream keeps one table record per unit (so a unit's update is atomic) and the replay keeps a dict of the same
records; both call ``Engine.process`` on it, which is the only code that decides what an event does. That is how
"the replay gives exactly the numbers of the stream" is made true by construction rather than by testing alone.

Contract (docs/semantics.md has the worked example)
--------------------------------------------------
Checks run in this order, the first that fails decides the outcome:

1. decode / structure (``decode``: size and nesting within the definition's ``limits``, JSON object, non-empty
   id/type/unit/time, parseable time) -> ``invalid``;
2. time in the future: given the time the event was received, a ``time`` more than ``max_ahead`` after it ->
   ``invalid`` (``time_in_future``);
3. unknown unit -> ``invalid`` (``unknown_unit``);
4. a type no KPI reads -> ``ignored``;
5. KPI field checks: every KPI reading this type whose ``where`` matches needs its field as a number (NPS: 0-10)
   whose fixed-point form fits a state -> ``invalid`` (``missing_field``, ``not_a_number``, ``nps_out_of_range``,
   ``out_of_range``);
6. duplicate: the unit accepted this id and still remembers it -> ``duplicate``;
7. late: older than the unit's stream time minus the type's grace -> ``late``;
8. state range: a sum the event would add to leaving ``(-STATE_LIMIT, STATE_LIMIT)`` -> ``invalid``
   (``out_of_range``);
9. otherwise ``accepted``: the stream time and the dedupe memory are updated and every matching KPI that does not
   find the event too late for itself folds it into the unit's *own* state for (KPI, bucket).

Nothing is changed before the last step, so an event is applied whole or not at all.

*Stream time* is per unit: the newest ``time`` among the unit's accepted events, in arrival order. The *grace* of a
type is the largest ``lateness`` of the KPIs reading it; a KPI with a smaller lateness skips an accepted event that
is late for it (``EngineStats.late_skipped``). The dedupe horizon is in event time: an accepted id is a duplicate
maker while its event time >= stream time - ``dedupe``; pruning (``expire``) is lazy and never changes an outcome.

``where`` matches when every listed field is present and equal; ``true`` only equals ``true`` (not ``1``), because
Python's ``True == 1`` would silently let a numeric flag match a boolean filter.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import Any, Final, TypeAlias

from scorecard.core.aggregates import (
    SCALE,
    STATE_LIMIT,
    SUMMING,
    VALUE_LIMIT,
    Aggregation,
    MinMax,
    NpsCounts,
    Ratio,
    State,
    SumCount,
    make_aggregation,
)
from scorecard.core.dedupe import DedupeMemory, IdMemory, id_digest
from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.events import (
    Event,
    InvalidEvent,
    Reason,
    make_decoder,
    nps_field,
    number_field,
    show,
    unknown_unit,
)
from scorecard.core.hierarchy import OrgTree
from scorecard.core.timeutil import format_duration, format_time
from scorecard.core.windows import Window, make_window

__all__ = [
    "OUTCOMES",
    "BucketKey",
    "CompiledKpi",
    "Engine",
    "EngineStats",
    "Outcome",
    "Result",
    "UnitState",
    "compile_kpis",
    "definition_hash",
    "state_fingerprints",
]

BucketKey: TypeAlias = tuple[str, int]
"""(KPI id, bucket start in epoch seconds): the key of one aggregate state."""


class Outcome(StrEnum):
    """What happened to one event; also the keys of the ``events`` counts in the JSON report."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    LATE = "late"
    INVALID = "invalid"
    IGNORED = "ignored"


OUTCOMES: Final[tuple[Outcome, ...]] = tuple(Outcome)


@dataclass(slots=True)
class Result:
    """The outcome of one event, why it was refused (invalid only) and which own states it changed (accepted).

    Read-only by convention: not ``frozen`` because a frozen dataclass is slower to create (one is made per event),
    and results without payload are shared objects.
    """

    outcome: Outcome
    touched: tuple[BucketKey, ...] = ()
    error: InvalidEvent | None = None

    @property
    def reason(self) -> Reason | None:
        return self.error.reason if self.error is not None else None

    @property
    def detail(self) -> str | None:
        return self.error.detail if self.error is not None else None


# Results without payload are shared: the per-event path allocates only for accepted and invalid events.
_IGNORED: Final = Result(Outcome.IGNORED)
_DUPLICATE: Final = Result(Outcome.DUPLICATE)
_LATE: Final = Result(Outcome.LATE)
_ACCEPTED_UNUSED: Final = Result(Outcome.ACCEPTED)


# ---------------------------------------------------------------------------------------------------- unit state

_STATE_TAGS: Final[dict[type, str]] = {SumCount: "sc", MinMax: "mm", NpsCounts: "nps", Ratio: "ratio"}


def _no_slices(number: int) -> bytes | None:
    """The slice reader of a state that has none stored (a record without ids)."""
    return None


_STATE_OF_TAG: Final[dict[str, Any]] = {tag: cls for cls, tag in _STATE_TAGS.items()}


@dataclass(slots=True)
class UnitState:
    """Everything the engine remembers about one unit: one Faust table record (plus its id slices), one dict entry
    in the replay.

    ``aggregates`` holds the unit's *own* events only (never its children's): a unit's record is then written by
    the one partition that owns the unit, and subtree values are merges made at read time
    (``scorecard.core.evaluation``).
    ``seen`` is the dedupe memory; its size follows the unit's event rate, so it is kept in slices of bounded size
    (``scorecard.core.dedupe``) rather than in this record.
    """

    stream_time: float | None = None
    seen: DedupeMemory = field(default_factory=IdMemory)
    aggregates: dict[BucketKey, State] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A compact JSON-able form: ``{"t": stream_time, "ids": [first, last, n], "agg": [[kpi, bucket, tag, ints]]}``.

        ``ids`` are the bounds of the id slices (``IdMemory.bounds``), which are written as records of their own.
        The state's class travels as a short tag so the record reads back without the definition; rows are sorted
        so equal states serialize to equal bytes.
        """
        rows = [
            [kpi, bucket, _STATE_TAGS[type(state)], state.to_list()] for (kpi, bucket), state in self.aggregates.items()
        ]
        rows.sort(key=lambda row: (row[0], row[1]))
        if not isinstance(self.seen, IdMemory):
            raise TypeError("a replay's state is never stored: its ids are not kept in slices")
        return {"t": self.stream_time, "ids": list(self.seen.bounds), "agg": rows}

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        read_slice: Callable[[int], bytes | None] = _no_slices,
        *,
        seen: IdMemory | None = None,
    ) -> UnitState:
        """Rebuild a state from ``to_json`` output and its id slices (``read_slice(number)``), or with ``seen``, an
        id memory the caller already holds for this very record (the stream's cache).

        A record of the earlier format, with every id inline (``"seen": {id: time}``), is read too: its ids become
        slices, marked dirty so that the next write stores them in the new form. A malformed record raises
        ``ValueError`` instead of misreading.
        """
        try:
            stream_time = data["t"]
            if seen is not None:
                pass
            elif "seen" in data:
                seen = IdMemory()
                for event_id, time in sorted(dict(data["seen"]).items(), key=lambda item: float(item[1])):
                    seen.remember(id_digest(str(event_id)), float(time))
            else:
                first, last, count = data["ids"]
                if not all(type(n) is int for n in (first, last, count)):
                    raise ValueError(f"bad id slice bounds {data['ids']!r}")
                seen = IdMemory.load((first, last, count), read_slice)
            aggregates: dict[BucketKey, State] = {}
            for kpi, bucket, tag, ints in data["agg"]:
                if type(bucket) is not int or tag not in _STATE_OF_TAG:
                    raise ValueError(f"bad aggregate row {[kpi, bucket, tag, ints]!r}")
                aggregates[(str(kpi), bucket)] = _STATE_OF_TAG[tag].from_list(ints)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a unit state record: {exc}") from None
        if stream_time is not None and not isinstance(stream_time, int | float):
            raise ValueError(f"stream time must be a number or null, got {stream_time!r}")
        return cls(None if stream_time is None else float(stream_time), seen, aggregates)


@dataclass(slots=True)
class EngineStats:
    """Counters that are not event outcomes: ``late_skipped[kpi]`` counts accepted events a KPI found too late."""

    late_skipped: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ compiled plan


@dataclass(frozen=True, slots=True)
class CompiledKpi:
    """A KPI with what it takes to fold and read it: the aggregation spec, the window and the lateness (seconds)."""

    kpi: Kpi
    aggregation: Aggregation
    window: Window
    lateness: int

    @property
    def id(self) -> str:
        return self.kpi.id


def state_fingerprints(scorecard: Scorecard) -> dict[str, str]:
    """Per KPI, a short hash of everything that shapes its stored states: aggregation, sources, window (and the
    timezone for calendar windows).

    A worker restarted with a changed definition keeps the states of the KPIs whose fingerprint is unchanged and
    drops the others (they were built by other rules and cannot be converted). Goals, red flags, weights, names and
    the ratio multiplier are read-time settings, so changing them keeps every state.
    """
    out = {}
    for kpi in scorecard.kpis:
        shape = kpi.model_dump(mode="json", include={"aggregation", "source", "numerator", "denominator", "window"})
        if kpi.window.kind == "calendar":
            shape["timezone"] = scorecard.timezone
        out[kpi.id] = _short_hash(shape)
    return out


def definition_hash(scorecard: Scorecard) -> str:
    """A hash of what Redis's derived data depends on: the org tree's shape and the state fingerprints.

    Redis holds subtree merges, which a moved, added or removed unit or a re-shaped KPI invalidates; a worker that
    finds another hash in Redis rebuilds Redis from its tables (``streams.pipeline.Pipeline.resync``).
    """
    tree = OrgTree.from_scorecard(scorecard)
    return _short_hash({"parents": {u: tree.parent(u) for u in tree.units}, "kpis": state_fingerprints(scorecard)})


def _short_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def compile_kpis(scorecard: Scorecard) -> dict[str, CompiledKpi]:
    """Each KPI of the definition, in file order, with its aggregation and window built once."""
    out: dict[str, CompiledKpi] = {}
    for kpi in scorecard.kpis:
        if kpi.aggregation == "ratio":
            assert kpi.numerator is not None and kpi.denominator is not None
            aggregation = make_aggregation(
                "ratio",
                numerator=kpi.numerator.aggregation,
                denominator=kpi.denominator.aggregation,
                multiplier=kpi.multiplier if kpi.multiplier is not None else 1.0,
            )
        else:
            aggregation = make_aggregation(kpi.aggregation)
        window = kpi.window
        if window.kind == "calendar":
            built = make_window("calendar", period=window.period, timezone=scorecard.timezone)
        elif window.kind == "rolling":
            built = make_window("rolling", size=window.size, step=window.step)
        else:
            built = make_window("tumbling", size=window.size)
        lateness = kpi.lateness if kpi.lateness is not None else scorecard.lateness
        out[kpi.id] = CompiledKpi(kpi, aggregation, built, lateness)
    return out


WhereTest: TypeAlias = tuple[str, Any, bool]
"""(field, expected value, expected is a boolean)."""


@dataclass(frozen=True, slots=True)
class _Feed:
    """One way an event type feeds one KPI: a plain KPI source, or one side of a ratio."""

    kpi: str
    field: str | None
    nps: bool
    where: tuple[WhereTest, ...]
    add: Callable[[Any, float], None]
    sum_of: Callable[[Any], int] | None
    """Reads the state component ``add`` adds the value to, for the range check; None when it adds no value."""
    add_within: Callable[[Any, float], bool] | None
    """``add`` with the range check (False: not added); None when ``add`` adds no value."""
    new: Callable[[], State]
    bucket: Callable[[float], int]
    lateness: int


@dataclass(frozen=True, slots=True)
class _TypePlan:
    """Everything one event type does, looked up once per event."""

    feeds: tuple[_Feed, ...]
    grace: int


def _ratio_adder(side: str, aggregation: str) -> Callable[[Any, float], None]:
    if side == "numerator":
        return Ratio.add_numerator_sum if aggregation == "sum" else Ratio.add_numerator_count
    return Ratio.add_denominator_sum if aggregation == "sum" else Ratio.add_denominator_count


def _feed(
    compiled: CompiledKpi, field: str | None, where: Mapping[str, Any], add: Callable[[Any, float], None]
) -> _Feed:
    return _Feed(
        kpi=compiled.id,
        field=field,
        nps=compiled.kpi.aggregation == "nps",
        where=tuple((name, value, type(value) is bool) for name, value in where.items()),
        add=add,
        sum_of=attrgetter(SUMMING[add][0]) if add in SUMMING else None,
        add_within=SUMMING[add][1] if add in SUMMING else None,
        new=compiled.aggregation.new,
        bucket=compiled.window.bucket,
        lateness=compiled.lateness,
    )


def _feeds_of(compiled: CompiledKpi) -> list[tuple[str, _Feed]]:
    """(event type, feed) for each source of a KPI: one for plain KPIs, two (numerator, denominator) for ratios."""
    kpi = compiled.kpi
    if kpi.aggregation == "ratio":
        assert kpi.numerator is not None and kpi.denominator is not None
        return [
            (term.event, _feed(compiled, term.field if term.aggregation == "sum" else None, term.where, adder))
            for term, adder in (
                (kpi.numerator, _ratio_adder("numerator", kpi.numerator.aggregation)),
                (kpi.denominator, _ratio_adder("denominator", kpi.denominator.aggregation)),
            )
        ]
    assert kpi.source is not None
    source = kpi.source
    field = source.field if kpi.aggregation != "count" else None
    return [(source.event, _feed(compiled, field, source.where, compiled.aggregation.adder))]


# ---------------------------------------------------------------------------------------------------- the engine

_MISSING: Final = object()
_VALUE_LOW: Final = -float(VALUE_LIMIT)  # 1e12 is exact as a float; a float bound compares fastest with floats
_VALUE_HIGH: Final = float(VALUE_LIMIT)
_STATE_LOW: Final = -STATE_LIMIT
_HALF_LOW: Final = -STATE_LIMIT // 2  # |total| < 5e17 and |x| < 5e11 (so |to_fixed(x)| <= 5e17): the sum fits
_HALF_HIGH: Final = STATE_LIMIT // 2
_HALF_VALUE_LOW: Final = -float(VALUE_LIMIT // 2)
_HALF_VALUE_HIGH: Final = float(VALUE_LIMIT // 2)
_INT_LIMIT: Final = 2**63  # beyond int64 an "amount" is a producer bug, and a float could no longer hold its sum

StateSource: TypeAlias = UnitState | Callable[[str], UnitState]

SLICE_SPAN_SHARE: Final = 4
"""A unit's id slices span at most dedupe / 4 of event time: memory holds at most 1.25 dedupe horizons of ids."""


class Engine:
    """Applies the contract to one event at a time, against the state of the event's unit.

    Built once per definition: per event type it precompiles the list of feeds (KPI, ratio side, field, where,
    adder, window) and the type's grace, so processing an event is a dict lookup, a few comparisons and a few
    integer additions. The engine holds no per-unit data: units live in ``UnitState`` records owned by the caller.
    """

    def __init__(self, scorecard: Scorecard) -> None:
        self.scorecard = scorecard
        self.tree = OrgTree.from_scorecard(scorecard)
        self.kpis = compile_kpis(scorecard)
        self.dedupe = scorecard.dedupe
        self._slice_span = scorecard.dedupe / SLICE_SPAN_SHARE
        self.max_ahead = float(scorecard.max_ahead)  # compared with float times: float against float is quickest
        self.max_bytes = scorecard.limits.event_bytes
        self.max_depth = scorecard.limits.event_depth
        self._decode = make_decoder(self.max_bytes, self.max_depth)
        self.stats = EngineStats(late_skipped=dict.fromkeys(self.kpis, 0))
        self._units = frozenset(self.tree.units)
        by_type: dict[str, list[_Feed]] = {}
        for compiled in self.kpis.values():
            for event_type, feed in _feeds_of(compiled):
                by_type.setdefault(event_type, []).append(feed)
        self._types = {
            event_type: _TypePlan(tuple(feeds), max(feed.lateness for feed in feeds))
            for event_type, feeds in by_type.items()
        }

    # ------------------------------------------------------------------------------------------ lookups

    def decode(self, raw: bytes | bytearray | memoryview | str) -> Event:
        """Parse one event's JSON text within the definition's limits; raises ``InvalidEvent`` and nothing else (the
        structural checks of ``scorecard.core.events``)."""
        return self._decode(raw)

    def knows_unit(self, unit: str) -> bool:
        return unit in self._units

    def grace_of(self, event_type: str) -> int | None:
        """The lateness grace (seconds) of an event type: the largest of its KPIs'; None for an unused type."""
        plan = self._types.get(event_type)
        return plan.grace if plan is not None else None

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types some KPI reads; any other type is ``ignored``."""
        return tuple(self._types)

    # ----------------------------------------------------------------------------------------- the hot path

    def process_raw(
        self, state: StateSource, raw: bytes | bytearray | memoryview | str, received_at: float | None = None
    ) -> Result:
        """Decode then ``process``; a decoding failure is an ``invalid`` result, not an exception."""
        try:
            event = self._decode(raw)
        except InvalidEvent as error:
            return Result(Outcome.INVALID, error=error)
        return self.process(state, event, received_at)

    def process(self, state: StateSource, event: Event, received_at: float | None = None) -> Result:
        """Judge one decoded event and, when accepted, fold it into its unit's own states.

        ``state`` is the unit's ``UnitState`` or a function returning it for a unit id (called only for a known
        unit of a used type, so a getter that creates records never creates one for junk). ``received_at`` is when
        the event was received (epoch seconds: the Kafka record's timestamp in the stream, ``--received-at`` in the
        replay); an event timed more than the definition's ``max_ahead`` after it is ``time_in_future``. None skips
        that check, for callers that have no such time.

        This is the hot path of both the replay and the stream, written as one function on purpose (bench_replay.py
        measures it): matching, field checks, dedupe, lateness and folding without helper calls.
        """
        if received_at is not None and event.time - received_at > self.max_ahead:
            return Result(Outcome.INVALID, error=_future_error(event, received_at, self.scorecard.max_ahead))
        unit = event.unit
        if unit not in self._units:
            return Result(Outcome.INVALID, error=unknown_unit(event))
        plan = self._types.get(event.type)
        if plan is None:
            return _IGNORED
        # KPI field checks, on every feed whose where matches; the checked values are kept for folding
        fields = event.fields
        matched: list[tuple[_Feed, Any]] = []
        for feed in plan.feeds:
            if feed.where and not _where_matches(feed.where, fields):
                continue
            name = feed.field
            if name is None:
                matched.append((feed, 0.0))
                continue
            value = fields.get(name, _MISSING)
            kind = type(value)
            if not ((kind is float and value - value == 0.0) or (kind is int and -_INT_LIMIT < value < _INT_LIMIT)):
                return Result(Outcome.INVALID, error=_number_error(event, name, value))
            if feed.nps:
                if not 0 <= value <= 10:
                    return Result(Outcome.INVALID, error=_nps_error(event, name))
            elif not _VALUE_LOW < value < _VALUE_HIGH:
                return Result(Outcome.INVALID, error=_range_error(event, name, value))
            matched.append((feed, value))
        # duplicate, then late, against the unit's own record
        record = state if isinstance(state, UnitState) else state(unit)
        time = event.time
        stream_time = record.stream_time
        seen = record.seen
        id_key = seen.key_of(event.id)
        grace = plan.grace
        if stream_time is not None:
            first = seen.index.get(id_key)
            if first is not None and first >= stream_time - self.dedupe:
                return _DUPLICATE
            if time < stream_time - grace:
                return _LATE
        # fold into the unit's own states (except for KPIs with a smaller grace that find the event late), checking
        # the state range before anything changes: stream time and dedupe memory move last
        touched: tuple[BucketKey, ...] = ()
        if len(matched) == 1:  # the usual case, inline: its one state is checked as it is folded
            feed, value = matched[0]
            lateness = feed.lateness
            if lateness < grace and stream_time is not None and time < stream_time - lateness:
                self.stats.late_skipped[feed.kpi] += 1
            else:
                key = (feed.kpi, feed.bucket(time))
                aggregates = record.aggregates
                aggregate = aggregates.get(key)
                if aggregate is None:  # a new state: one bounded value always fits
                    aggregate = aggregates[key] = feed.new()
                    feed.add(aggregate, value)
                elif feed.add_within is None:
                    feed.add(aggregate, value)
                elif not feed.add_within(aggregate, value):
                    return Result(Outcome.INVALID, error=_sum_error(event, feed, key[1]))
                touched = (key,)
        elif matched:
            folded = self._fold_several(record, matched, time, stream_time, grace)
            if type(folded) is _Feed:
                return Result(Outcome.INVALID, error=_sum_error(event, folded, folded.bucket(time)))
            touched = folded  # type: ignore[assignment]
        if stream_time is None or time > stream_time:
            record.stream_time = time
        seen.remember(id_key, time, self._slice_span)
        if not matched:
            return _ACCEPTED_UNUSED
        return Result(Outcome.ACCEPTED, touched)

    def _fold_several(
        self, record: UnitState, matched: list[tuple[_Feed, Any]], time: float, stream_time: float | None, grace: int
    ) -> tuple[BucketKey, ...] | _Feed:
        """``process``'s fold for an event feeding several KPIs: every sum is checked first, then all are folded.

        Returns the touched keys, or the feed whose sum would leave the state range (then nothing has changed)."""
        aggregates = record.aggregates
        keys: list[BucketKey | None] = []
        for feed, value in matched:
            lateness = feed.lateness
            if lateness < grace and stream_time is not None and time < stream_time - lateness:
                keys.append(None)
                continue
            key = (feed.kpi, feed.bucket(time))
            keys.append(key)
            sum_of = feed.sum_of
            if sum_of is not None:
                aggregate = aggregates.get(key)
                # each feed adds to a component of its own (one source per KPI; a ratio's sides are two components);
                # with both halves small (the usual case) the sum fits without computing it
                if aggregate is not None:
                    total = sum_of(aggregate)
                    if not (_HALF_LOW < total < _HALF_HIGH and _HALF_VALUE_LOW < value < _HALF_VALUE_HIGH) and not (
                        _STATE_LOW < total + round(value * SCALE) < STATE_LIMIT
                    ):
                        return feed
        touched: list[BucketKey] = []
        for (feed, value), maybe_key in zip(matched, keys, strict=True):
            if maybe_key is None:
                self.stats.late_skipped[feed.kpi] += 1
                continue
            aggregate = aggregates.get(maybe_key)
            if aggregate is None:
                aggregate = aggregates[maybe_key] = feed.new()
            feed.add(aggregate, value)
            if maybe_key not in touched:
                touched.append(maybe_key)
        return tuple(touched)

    # ------------------------------------------------------------------------------------------ expiry

    def expire(self, state: UnitState, at: float | None = None) -> int:
        """Drop what no future outcome or current value can need; returns how many entries were dropped.

        For each KPI, buckets before ``window.oldest_needed(stream_time - lateness)`` go: the current and previous
        window stay, and so does every bucket an event still acceptable for that KPI could land in, so a late but
        accepted event never re-creates a half-empty bucket that the replay would have complete. Ids whose event
        time is before ``stream_time - dedupe`` go; they could no longer make a duplicate anyway. ``at`` may only
        move the horizon back (keep more, e.g. to answer an older query), never forward. The replay never expires.
        """
        stream_time = state.stream_time
        if stream_time is None:
            return 0
        now = stream_time if at is None else min(at, stream_time)
        horizons = {kpi_id: c.window.oldest_needed(now - c.lateness) for kpi_id, c in self.kpis.items()}
        old_keys = [key for key in state.aggregates if key[1] < horizons.get(key[0], -math.inf)]
        for key in old_keys:
            del state.aggregates[key]
        return len(old_keys) + self.forget_ids(state, now)

    def forget_ids(self, state: UnitState, at: float | None = None) -> int:
        """Drop remembered ids that can no longer make a duplicate (event time before stream time - dedupe), a
        whole slice at a time (``IdMemory.forget_before``); returns how many ids went.

        Outcome-neutral at any moment: the stream time never goes back, so a pruned id would have failed the
        horizon test forever, and an id kept longer fails it too. The replay calls this now and then to keep memory
        bounded; ``expire`` calls it too.
        """
        stream_time = state.stream_time
        if stream_time is None:
            return 0
        oldest = (stream_time if at is None else min(at, stream_time)) - self.dedupe
        before = len(state.seen)
        state.seen.forget_before(oldest)
        return before - len(state.seen)


def _where_matches(where: tuple[WhereTest, ...], fields: Mapping[str, Any]) -> bool:
    """Every listed field present and equal; booleans equal only booleans."""
    for name, expected, is_bool in where:
        value = fields.get(name, _MISSING)
        if value is _MISSING or value != expected or (type(value) is bool) is not is_bool:
            return False
    return True


def _number_error(event: Event, name: str, value: object) -> InvalidEvent:
    """The ``missing_field`` / ``not_a_number`` error for a value the fast check did not accept."""
    if type(value) is int:
        return InvalidEvent(
            Reason.NOT_A_NUMBER, f"fields.{name}: {show(value)} is too large; send a number below 2**63", event.id
        )
    try:
        number_field(event, name)  # raises with the precise reason and message
    except InvalidEvent as error:
        return error
    return InvalidEvent(Reason.NOT_A_NUMBER, f"fields.{name}: {show(value)} is not a finite number", event.id)


def _range_error(event: Event, name: str, value: float) -> InvalidEvent:
    return InvalidEvent(
        Reason.OUT_OF_RANGE,
        f"fields.{name}: {show(value)} is beyond what a state holds exactly (magnitude below {VALUE_LIMIT:.0e});"
        " check the unit of the value",
        event.id,
    )


def _sum_error(event: Event, feed: _Feed, bucket: int) -> InvalidEvent:
    name = feed.field or ""  # a feed that sums a value always reads a field
    return InvalidEvent(
        Reason.OUT_OF_RANGE,
        f"fields.{name}: adding {show(event.fields.get(name))} would take the {feed.kpi} sum of unit "
        f"{show(event.unit)} for the bucket starting {_when(bucket)} beyond {VALUE_LIMIT:.0e} in magnitude, more "
        "than a state holds exactly; check the values sent to this unit",
        event.id,
    )


def _future_error(event: Event, received_at: float, max_ahead: int) -> InvalidEvent:
    ahead = event.time - received_at
    return InvalidEvent(
        Reason.TIME_IN_FUTURE,
        f"time: {_when(event.time)} is {_span(ahead)} after the event was received "
        f"({_when(received_at)}), more than max_ahead ({format_duration(max_ahead) if max_ahead else '0s'}); check "
        "the time field and the producer's clock",
        event.id,
    )


def _span(seconds: float) -> str:
    for size, unit in ((86400, "days"), (3600, "hours"), (60, "minutes")):
        if seconds >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.3g} seconds"


def _when(epoch: float) -> str:
    """RFC 3339 when datetime can show it, else epoch seconds (a Kafka timestamp can be anything)."""
    try:
        return format_time(epoch)
    except (ValueError, OverflowError, OSError):
        return f"{epoch!r} (epoch seconds)"


def _nps_error(event: Event, name: str) -> InvalidEvent:
    try:
        nps_field(event, name)  # raises nps_out_of_range with its message
    except InvalidEvent as error:
        return error
    raise AssertionError(f"nps_field accepted {event.fields.get(name)!r}")  # pragma: no cover
