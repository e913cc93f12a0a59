"""Fuzzing the event path (hypothesis): arbitrary bytes and arbitrary JSON, mixed with valid events generated on
purpose, go to the decoder, the engine, the replay and the stream's batch processor.

Properties: nothing raises; every non-blank line gets exactly one outcome; every refusal has a known reason and a
bounded detail and id; and the stream's batches (``BatchProcessor`` over a plain dict standing in for the Faust
table, records serialized between batches, cut anywhere) give exactly the replay's counts, dead letters and report.
Each test counts what it saw and asserts that accepted and refused events both really occurred, so the properties
are exercised, not vacuously true. Budgets are fixed (``HYPO_N``, default below) to keep the suite fast.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, MutableMapping
from typing import Any

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scorecard.contract import INVALID_UNIT
from scorecard.core.definition import parse_scorecard
from scorecard.core.engine import OUTCOMES, Engine, Outcome, UnitState
from scorecard.core.evaluation import dumps, evaluate
from scorecard.core.events import MAX_DETAIL, MAX_SHOWN_ID, REASONS, InvalidEvent, decode_event, nesting_depth
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from streams.processor import BatchProcessor, Item, is_unit_key, routing_key
from streams.publisher import unit_key

EXAMPLES = int(os.environ.get("HYPO_N", "150"))
FUZZ = settings(deadline=None, max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])

DEFINITION = """
name: Fuzz
lateness: 30m
dedupe: 1h
max_ahead: 1h
limits: {event_bytes: 3000, event_depth: 6}
org:
  id: root
  children:
    - id: a
      children: [{id: a1}]
    - id: b
kpis:
  - {id: revenue, aggregation: sum, source: {event: order, field: amount}, window: {kind: tumbling, size: 1h}}
  - {id: basket, aggregation: avg, source: {event: order, field: amount, where: {channel: web}},
     window: {kind: rolling, size: 2h, step: 1h}}
  - {id: low, aggregation: min, source: {event: order, field: amount}, window: {kind: calendar, period: day},
     lateness: 0}
  - {id: high, aggregation: max, source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}}
  - {id: nps, aggregation: nps, source: {event: survey, field: score}, window: {kind: tumbling, size: 1d}}
  - {id: answers, aggregation: count, source: {event: survey}, window: {kind: tumbling, size: 1d}, lateness: 2h}
  - id: refund-rate
    aggregation: ratio
    numerator: {event: refund, field: amount, aggregation: sum}
    denominator: {event: order, aggregation: count}
    multiplier: 100
    window: {kind: tumbling, size: 1d}
"""
SCORECARD = parse_scorecard(DEFINITION)
BASE = parse_time("2026-11-27T20:00:00Z")
RECEIVED = BASE + 6 * 3600
UNITS = ["root", "a", "a1", "b", "zz", "__invalid__", "", "a\x00", "<b>a</b>"]
REASON_SET = frozenset(REASONS)

# ------------------------------------------------------------------------------------------------- strategies

edge_numbers = st.sampled_from(
    [0, -0.0, 5e-324, 1e-7, 0.1, 999_999_999_999, 10**12, -(10**12), 4e11, -4e11, 9.007e9, 1e10, 1e303,
     1.7976931348623157e308, 2**53 + 1, 2**63 - 1, 2**63, 10**30, -(10**30), float("inf"), float("nan")]
)  # fmt: skip
numbers = st.one_of(
    st.integers(-50, 500),
    st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)),
    edge_numbers,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
)
texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "web", "store", "\x1b[31m", "[/]", "{", "\ud800", "é" * 50]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=600),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value nested 1 to 40 levels, around the depth cap of the definition (6)."""
    value: Any = draw(scalars)
    for _ in range(draw(st.integers(1, 40))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


times = st.one_of(
    st.integers(0, 6 * 3600).map(lambda s: BASE + s),  # mostly valid, in order or not
    st.integers(0, 6 * 3600).map(lambda s: BASE + s),
    st.sampled_from(
        [RECEIVED + 3600, RECEIVED + 3601, BASE + 36 * 365 * 86400, 2**31, 1e18, -1, "2026-11-27T21:00:00Z", "soon"]
    ),
    scalars,
)
valid_fields = st.fixed_dictionaries(
    {
        "amount": st.one_of(st.integers(-50, 500), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3))),
        "score": st.integers(0, 10),
    },
    optional={"channel": st.sampled_from(["web", "store"])},
)
hostile_fields = st.dictionaries(
    st.sampled_from(["amount", "score", "channel", "note"]) | texts, json_values | deep(), max_size=4
)
valid_events = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"]),
        "type": st.sampled_from(["order", "order", "survey", "refund", "page"]),
        "unit": st.sampled_from(UNITS[:4]),
        "time": st.integers(0, 6 * 3600).map(lambda s: BASE + s),
        "fields": valid_fields,
    }
)  # valid on purpose; duplicates and late events come from the small id and time ranges


@st.composite
def edge_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with one part at an edge: a huge or odd number, a time far ahead of its receipt, a unit that
    is no unit, a deep or odd field value."""
    event = draw(valid_events)
    part = draw(st.sampled_from(["amount", "amount", "score", "time", "unit", "fields"]))
    if part in ("amount", "score"):
        event["fields"][part] = draw(edge_numbers | numbers)
    elif part == "time":
        event["time"] = draw(st.sampled_from([RECEIVED + 3600, RECEIVED + 3601, BASE + 36 * 365 * 86400]))
    elif part == "unit":
        event["unit"] = draw(st.sampled_from(UNITS[4:]) | texts)
    else:
        event["fields"]["note"] = draw(json_values | deep())
    return event


@st.composite
def hostile_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event-shaped object whose every part may be wrong: values, types, depth, size, a key missing."""
    event: dict[str, Any] = {
        "id": draw(st.sampled_from(["e0", "e1", "e2"]) | scalars),
        "type": draw(st.sampled_from(["order", "survey", "refund"]) | texts),
        "unit": draw(st.sampled_from(UNITS) | texts),
        "time": draw(times),
        "fields": draw(hostile_fields),
    }
    if draw(st.booleans()):
        del event[draw(st.sampled_from(list(event)))]
    if draw(st.booleans()):
        event["fields"] = draw(json_values)
    return event


def encode(value: Any) -> bytes:
    """JSON text as a careless producer writes it: big ints, NaN/Infinity literals, lone surrogates, raw unicode."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


lines = st.one_of(
    valid_events.map(encode),
    hostile_events().map(encode),
    edge_events().map(encode),
    valid_events.map(encode),
    json_values.map(encode),
    valid_events.map(encode),
    deep().map(encode),
    valid_events.map(encode),
    st.binary(max_size=200),
    hostile_events().map(encode).flatmap(lambda raw: st.integers(0, len(raw)).map(lambda n: raw[:n])),  # cut short
    st.just(b'{"id":"big","type":"order","unit":"a","time":' + str(int(BASE)).encode() + b',"fields":{"x":"'
            + b"y" * 3000 + b'","amount":1}}'),
    st.just(b"\n"),
)  # fmt: skip


def order(event_id: str, minutes: int, amount: Any, **extra: Any) -> bytes:
    event = {"id": event_id, "type": "order", "unit": "a", "time": BASE + minutes * 60, "fields": {"amount": amount}}
    return encode(event | extra)


SAMPLE = [
    order("big1", 0, 4e11),
    order("big2", 1, 4e11),
    order("big3", 2, 4e11),  # the hour's revenue would reach 1.2e12: out_of_range
    order("huge", 3, 1e303),  # out_of_range on its own
    order("typo", 4, 1, time=BASE + 36 * 365 * 86400),  # time_in_future
    order("big1", 5, 4e11),  # duplicate
    order("old", -120, 1),  # late
    order("who", 6, 1, unit="nowhere"),  # unknown_unit
    order("page", 7, 1, type="page"),  # ignored
    order("deep", 8, [[[[[[[1]]]]]]]),  # too_deep
    order("long", 9, 1, note="x" * 3000),  # too_large
    b"{oops",  # not_json
]
"""Every outcome and the new refusals, as a fixed example: each property below runs it besides random ones."""


# -------------------------------------------------------------------------------------------------- properties


def check_refusal(error: InvalidEvent) -> None:
    assert error.reason.value in REASON_SET
    assert 0 < len(error.detail) <= MAX_DETAIL
    assert error.event_id is None or len(error.event_id) <= MAX_SHOWN_ID


def test_decoder_never_raises_anything_but_invalid_event() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(st.one_of(lines, st.binary(max_size=400)))
    # Fixed refusals besides the draws, so that the count of refusal kinds asserted below is certain, not likely:
    @example(SAMPLE[9])  # too_deep
    @example(SAMPLE[10])  # too_large
    @example(SAMPLE[11])  # not_json
    @example(b"[1]")  # not_object
    @example(b'{"type": "order", "unit": "a", "time": 1, "fields": {}}')  # missing_id
    @example(b'{"id": "t", "type": "order", "unit": "a", "time": "noon", "fields": {}}')  # bad_time
    def decode(raw: bytes) -> None:
        for text in (raw, raw.decode("utf-8", "replace"), bytearray(raw), memoryview(raw)):
            try:
                event = decode_event(text, max_bytes=3000, max_depth=6)
            except InvalidEvent as error:
                check_refusal(error)
                seen[error.reason.value] += 1
            else:
                assert type(event.id) is str and event.id and event.type and event.unit
                assert type(event.fields) is dict and nesting_depth(raw) <= 6
                seen["decoded"] += 1
        key = unit_key(raw)  # what `scorecard publish` reads: never fails either
        assert key is None or isinstance(key, bytes)

    decode()
    assert seen["decoded"] >= EXAMPLES // 10, seen
    assert seen["not_json"] >= EXAMPLES // 10, seen
    assert len(seen) >= 6, seen  # several different refusals really occurred


def test_engine_gives_every_line_one_outcome_and_never_raises() -> None:
    seen: Counter[str] = Counter()
    engine = Engine(SCORECARD)

    @FUZZ
    @given(st.lists(lines, max_size=40))
    @example(SAMPLE)
    def process(batch: list[bytes]) -> None:
        states: dict[str, UnitState] = {}
        for raw in batch:
            result = engine.process_raw(lambda unit: states.setdefault(unit, UnitState()), raw, RECEIVED)
            assert result.outcome in OUTCOMES
            assert (result.error is not None) == (result.outcome is Outcome.INVALID)
            if result.error is not None:
                check_refusal(result.error)
                seen[result.error.reason.value] += 1
            seen[result.outcome.value] += 1
        for state in states.values():
            for aggregate in state.aggregates.values():
                assert all(abs(n) < 10**18 for n in aggregate.to_list())

    process()
    assert seen["accepted"] >= EXAMPLES // 2, seen
    assert seen["invalid"] >= EXAMPLES // 2, seen
    for reason in ("out_of_range", "time_in_future", "too_deep", "too_large", "not_json", "unknown_unit"):
        assert seen[reason] > 0, (reason, seen)


class JsonTable(MutableMapping[str, Any]):
    """A dict that stores unit records as msgspec JSON bytes and id slices as they are (bytes), as the worker's
    table does (``streams.faust_fixes.table.BytesKeys``)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> Any:
        return msgspec.json.decode(self.data[key]) if is_unit_key(key) else self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = msgspec.json.encode(value) if is_unit_key(key) else value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_stream_batches_equal_the_replay_on_hostile_input() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(st.lists(lines, max_size=60), st.lists(st.integers(0, 60), max_size=5))
    @example(SAMPLE, [2, 5, 9])
    def compare(batch: list[bytes], cut_at: list[int]) -> None:
        whole = replay(SCORECARD, batch, received_at=RECEIVED)
        seen.update(whole.counts)
        seen.update(item.reason for item in whole.invalid)
        events = [raw.rstrip(b"\r\n") for raw in batch if raw.strip()]  # what `scorecard publish` sends
        engine = Engine(SCORECARD)
        table = JsonTable()
        processor = BatchProcessor(engine, table, dict.fromkeys(engine.kpis, 1))
        items = [Item(routing_key(engine, raw), raw, 0, offset, None, RECEIVED) for offset, raw in enumerate(events)]
        cuts = sorted(min(cut, len(items)) for cut in cut_at)
        outcomes: Counter[str] = Counter()
        dead: list[str] = []
        for start, end in zip([0, *cuts], [*cuts, len(items)], strict=True):
            result = BatchProcessor(Engine(SCORECARD), table, processor.retention_ms).process(items[start:end])
            outcomes.update(result.outcomes)
            dead += [letter.reason for letter in result.dead_letters]
        assert {k: outcomes[k] for k in whole.counts} == whole.counts
        assert sum(outcomes.values()) == len(events)  # one outcome per line
        invalid_reasons = [r for r in dead if r not in ("duplicate", "late")]
        assert invalid_reasons == [item.reason for item in whole.invalid]
        assert len(dead) == whole.counts["invalid"] + whole.counts["duplicate"] + whole.counts["late"]
        if whole.newest is None:
            return
        own = {
            key: processor.load(key).state.aggregates for key in table if key != INVALID_UNIT and engine.knows_unit(key)
        }
        assert dumps(evaluate(SCORECARD, engine.tree, own, whole.newest, whole.counts)) == dumps(whole.evaluate())

    compare()
    assert seen["accepted"] >= EXAMPLES // 2, seen
    assert seen["invalid"] >= EXAMPLES // 2, seen
    assert seen["duplicate"] > 0 and seen["late"] > 0 and seen["ignored"] > 0, seen
    assert seen["out_of_range"] >= 2 and seen["time_in_future"] >= 1, seen
