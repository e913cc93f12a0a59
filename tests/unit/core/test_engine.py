"""The engine's per-event contract: outcomes and their order, where, lateness (per unit, per KPI), dedupe horizon,
invalid reasons, own states, touched keys, state records and expiry. Every expected number is written by hand."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from scorecard.core import dedupe
from scorecard.core.aggregates import MinMax, NpsCounts, Ratio, SumCount
from scorecard.core.dedupe import id_digest
from scorecard.core.definition import parse_scorecard
from scorecard.core.engine import Engine, Outcome, Result, UnitState
from scorecard.core.events import Event, InvalidEvent, Reason

# 10:00 on 2026-11-27 UTC; every time below is an offset from it in minutes.
T0 = 1_795_773_600.0
assert T0 % 86400 == 36000


def at(minutes: float) -> float:
    return T0 + minutes * 60


SHOP = """
name: Shop
lateness: 1h
dedupe: 30m
org:
  id: root
  children:
    - id: a
      children: [{id: a1}]
    - id: b
objectives:
  - {id: sell, perspective: financial}
kpis:
  - id: revenue
    objective: sell
    aggregation: sum
    source: {event: order, field: amount}
    window: {kind: tumbling, size: 1d}
    goal: 100
    red_flag: 50
  - id: urgent
    aggregation: count
    source: {event: ticket, where: {priority: urgent}}
    window: {kind: tumbling, size: 1d}
  - id: nps
    aggregation: nps
    source: {event: survey, field: score}
    window: {kind: tumbling, size: 1d}
    lateness: 3h
  - id: answers
    aggregation: count
    source: {event: survey}
    window: {kind: tumbling, size: 1d}
  - id: late-delay
    aggregation: max
    source: {event: shipment, field: delay, where: {on_time: false}}
    window: {kind: tumbling, size: 1d}
  - id: on-time
    aggregation: ratio
    numerator: {event: shipment, aggregation: count, where: {on_time: true}}
    denominator: {event: shipment, aggregation: count}
    multiplier: 100
    window: {kind: tumbling, size: 1d}
"""
DAY = int(T0) - 36000  # bucket start of the day of T0


@pytest.fixture
def engine() -> Engine:
    return Engine(parse_scorecard(SHOP))


def ev(event_id: str, event_type: str, unit: str, minutes: float, **fields: Any) -> Event:
    return Event(event_id, event_type, unit, at(minutes), fields)


def run(engine: Engine, states: dict[str, UnitState], *events: Event) -> list[Outcome]:
    def state_of(unit: str) -> UnitState:
        return states.setdefault(unit, UnitState())

    return [engine.process(state_of, event).outcome for event in events]


# -------------------------------------------------------------------------------------------- outcomes


def test_accepted_event_updates_only_its_own_unit_state(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    result = engine.process(states.setdefault("a1", UnitState()), ev("e1", "order", "a1", 0, amount=12.5))
    assert result == Result(Outcome.ACCEPTED, (("revenue", DAY),))
    assert states["a1"].aggregates == {("revenue", DAY): SumCount(12_500_000, 1)}
    assert states["a1"].stream_time == at(0)
    assert states["a1"].seen.first_seen(id_digest("e1")) == at(0) and len(states["a1"].seen) == 1
    assert set(states) == {"a1"}  # ancestors are a read-time merge, never written here


def test_getter_is_not_called_for_unknown_units_ignored_or_invalid_events(engine: Engine) -> None:
    asked: list[str] = []

    def state_of(unit: str) -> UnitState:
        asked.append(unit)
        return UnitState()

    assert engine.process(state_of, ev("e1", "order", "nowhere", 0, amount=1)).outcome == Outcome.INVALID
    assert engine.process(state_of, ev("e2", "page_viewed", "a", 0)).outcome == Outcome.IGNORED
    assert engine.process(state_of, ev("e3", "order", "a", 0, amount="12")).outcome == Outcome.INVALID
    assert asked == []


def test_unused_type_is_ignored_whatever_its_fields(engine: Engine) -> None:
    state = UnitState()
    result = engine.process(state, ev("e1", "page_viewed", "a", 0, amount="garbage"))
    assert result.outcome == Outcome.IGNORED
    assert state == UnitState()  # neither stream time nor dedupe memory


def test_check_order_unknown_unit_before_ignored(engine: Engine) -> None:
    result = engine.process(UnitState(), ev("e1", "page_viewed", "nowhere", 0))
    assert result.outcome == Outcome.INVALID
    assert result.reason == Reason.UNKNOWN_UNIT


def test_check_order_field_before_duplicate_and_duplicate_before_late(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    assert run(engine, states, ev("e1", "order", "a", 0, amount=1)) == [Outcome.ACCEPTED]
    # the same id with a broken field is invalid, not a duplicate
    assert run(engine, states, ev("e1", "order", "a", 0, amount="x")) == [Outcome.INVALID]
    # an id inside the dedupe horizon that is also too old is a duplicate, not late
    states["a"].stream_time = at(20)  # as if a newer event had come; e1 (at 0) still within 30m
    assert run(engine, states, ev("e1", "order", "a", -120, amount=1)) == [Outcome.DUPLICATE]


# ------------------------------------------------------------------------------------------------ where


def test_where_matches_only_when_all_fields_equal_and_missing_field_is_no_match(engine: Engine) -> None:
    state = UnitState()
    urgent = engine.process(state, ev("e1", "ticket", "a", 0, priority="urgent"))
    normal = engine.process(state, ev("e2", "ticket", "a", 1, priority="normal"))
    missing = engine.process(state, ev("e3", "ticket", "a", 2))
    assert urgent.touched == (("urgent", DAY),)
    assert (normal.outcome, normal.touched) == (Outcome.ACCEPTED, ())
    assert (missing.outcome, missing.touched) == (Outcome.ACCEPTED, ())
    assert state.aggregates == {("urgent", DAY): SumCount(0, 1)}


def test_event_matching_no_where_still_moves_stream_time_and_dedupe(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    assert run(
        engine,
        states,
        ev("e1", "ticket", "a", 0, priority="normal"),  # feeds nothing, accepted
        ev("e1", "ticket", "a", 1, priority="urgent"),  # same id: duplicate
        ev("e2", "ticket", "a", -61, priority="urgent"),  # older than 10:00 - 1h: late
    ) == [Outcome.ACCEPTED, Outcome.DUPLICATE, Outcome.LATE]
    assert states["a"].aggregates == {}


def test_boolean_where_does_not_match_one(engine: Engine) -> None:
    state = UnitState()
    engine.process(state, ev("e1", "shipment", "a", 0, on_time=1, delay=3))
    engine.process(state, ev("e2", "shipment", "a", 0, on_time=True))
    # denominator counts both, numerator only the real true; late-delay needs on_time false: neither
    assert state.aggregates == {("on-time", DAY): Ratio(1, 2)}


def test_field_is_required_only_by_kpis_whose_where_matches(engine: Engine) -> None:
    state = UnitState()
    on_time = engine.process(state, ev("e1", "shipment", "a", 0, on_time=True))  # no delay: fine
    late = engine.process(state, ev("e2", "shipment", "a", 0, on_time=False))  # late-delay needs delay
    assert on_time.outcome == Outcome.ACCEPTED
    assert (late.outcome, late.reason) == (Outcome.INVALID, Reason.MISSING_FIELD)
    assert "fields.delay" in (late.detail or "")


def test_ratio_with_both_sides_on_one_type_touches_one_key(engine: Engine) -> None:
    state = UnitState()
    result = engine.process(state, ev("e1", "shipment", "a", 0, on_time=False, delay=7.5))
    assert result.touched == (("late-delay", DAY), ("on-time", DAY))
    assert state.aggregates == {("late-delay", DAY): MinMax(1, 7_500_000, 7_500_000), ("on-time", DAY): Ratio(0, 1)}


# ------------------------------------------------------------------------------------------------ invalid


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", Reason.NOT_JSON),
        (b"[1, 2]", Reason.NOT_OBJECT),
        (b'{"type": "order", "unit": "a", "time": 0}', Reason.MISSING_ID),
        (b'{"id": "", "type": "order", "unit": "a", "time": 0}', Reason.MISSING_ID),
        (b'{"id": "e", "unit": "a", "time": 0}', Reason.MISSING_TYPE),
        (b'{"id": "e", "type": "", "unit": "a", "time": 0}', Reason.MISSING_TYPE),
        (b'{"id": "e", "type": "order", "time": 0}', Reason.MISSING_UNIT),
        (b'{"id": "e", "type": "order", "unit": "a"}', Reason.MISSING_TIME),
        (b'{"id": "e", "type": "order", "unit": "a", "time": ""}', Reason.MISSING_TIME),
        (b'{"id": "e", "type": "order", "unit": "a", "time": "yesterday"}', Reason.BAD_TIME),
        (b'{"id": "e", "type": "order", "unit": "a", "time": "2026-11-27T10:00:00"}', Reason.BAD_TIME),
        (b'{"id": "e", "type": "order", "unit": "zz", "time": 0, "fields": {"amount": 1}}', Reason.UNKNOWN_UNIT),
        (b'{"id": "e", "type": "order", "unit": "a", "time": 0, "fields": {}}', Reason.MISSING_FIELD),
        (b'{"id": "e", "type": "order", "unit": "a", "time": 0, "fields": {"amount": "12"}}', Reason.NOT_A_NUMBER),
        (b'{"id": "e", "type": "order", "unit": "a", "time": 0, "fields": {"amount": true}}', Reason.NOT_A_NUMBER),
        (b'{"id": "e", "type": "order", "unit": "a", "time": 0, "fields": {"amount": null}}', Reason.NOT_A_NUMBER),
        (b'{"id": "e", "type": "survey", "unit": "a", "time": 0, "fields": {"score": 11}}', Reason.NPS_OUT_OF_RANGE),
        (b'{"id": "e", "type": "survey", "unit": "a", "time": 0, "fields": {"score": -1}}', Reason.NPS_OUT_OF_RANGE),
    ],
)
def test_each_invalid_reason(engine: Engine, raw: bytes, reason: Reason) -> None:
    state = UnitState()
    result = engine.process_raw(state, raw)
    assert (result.outcome, result.reason) == (Outcome.INVALID, reason)
    assert result.detail
    assert state == UnitState()


def test_huge_integer_and_non_finite_numbers_are_not_numbers(engine: Engine) -> None:
    for value in (10**30, float("inf"), float("nan")):
        result = engine.process(UnitState(), ev("e", "order", "a", 0, amount=value))
        assert (result.outcome, result.reason) == (Outcome.INVALID, Reason.NOT_A_NUMBER)


def test_invalid_result_keeps_the_event_id(engine: Engine) -> None:
    result = engine.process_raw(UnitState(), b'{"id": "e-9", "type": "order", "unit": "a", "time": 0}')
    assert result.error is not None and result.error.event_id == "e-9"


def test_decode_raises_invalid_event(engine: Engine) -> None:
    with pytest.raises(InvalidEvent) as caught:
        engine.decode(b'{"id": 1}')
    assert caught.value.reason == Reason.MISSING_TYPE
    assert engine.decode(b'{"id": 7, "type": "order", "unit": "a", "time": 60}').time == 60.0


def test_nps_accepts_the_bounds(engine: Engine) -> None:
    state = UnitState()
    assert run(engine, {"a": state}, ev("e1", "survey", "a", 0, score=0), ev("e2", "survey", "a", 0, score=10)) == [
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
    ]
    assert state.aggregates[("nps", DAY)] == NpsCounts(promoters=1, passives=0, detractors=1)


# ------------------------------------------------------------------------------------------------ lateness


def test_late_event_is_dropped_and_grace_boundary_is_kept(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "order", "a", 0, amount=1),
        ev("e2", "order", "a", -30, amount=10),  # out of order within the 1h grace: counts
        ev("e3", "order", "a", -60, amount=100),  # exactly stream time - grace: not older, counts
        ev("e4", "order", "a", -60.5, amount=1000),  # older: late
    )
    assert outcomes == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.LATE]
    assert states["a"].aggregates[("revenue", DAY)] == SumCount(111_000_000, 3)
    assert states["a"].stream_time == at(0)  # out-of-order events never move it back
    assert "e4" not in states["a"].seen


def test_stream_time_is_per_unit(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "order", "a", 0, amount=1),
        ev("e2", "order", "b", -120, amount=1),  # late for a, but b has seen nothing newer
        ev("e3", "order", "a1", -120, amount=1),  # a's child has its own stream time too
        ev("e4", "order", "a", -120, amount=1),
    )
    assert outcomes == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.LATE]


def test_type_grace_is_the_largest_kpi_lateness_and_smaller_kpis_skip(engine: Engine) -> None:
    # survey feeds nps (lateness 3h) and answers (1h, the file default): the type's grace is 3h
    assert engine.grace_of("survey") == 3 * 3600
    assert engine.grace_of("order") == 3600
    assert engine.grace_of("page_viewed") is None
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "survey", "a", 0, score=10),
        ev("e2", "survey", "a", -120, score=0),  # 2h old: nps counts it, answers skips it
        ev("e3", "survey", "a", -181, score=9),  # beyond 3h: late for the type
    )
    assert outcomes == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.LATE]
    assert states["a"].aggregates[("nps", DAY)] == NpsCounts(1, 0, 1)
    assert states["a"].aggregates[("answers", DAY)] == SumCount(0, 1)
    assert engine.stats.late_skipped == {
        "revenue": 0,
        "urgent": 0,
        "nps": 0,
        "answers": 1,
        "late-delay": 0,
        "on-time": 0,
    }


def test_an_event_exactly_on_a_kpis_own_lateness_limit_counts_for_that_kpi(engine: Engine) -> None:
    # survey: nps has 3h, answers the file's 1h; stream time 10:00 after e1
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "survey", "a", 0, score=10),
        ev("e2", "survey", "a", -60, score=0),  # 09:00, exactly answers' limit: both KPIs count it
        ev("e3", "survey", "a", -60 - 1 / 60, score=8),  # one second older: answers skips it, nps counts it
        ev("e4", "survey", "a", -180, score=9),  # 07:00, exactly the type's 3h grace: accepted, nps counts it
        ev("e5", "survey", "a", -180 - 1 / 60, score=9),  # one second older: late for the type
    )
    assert outcomes == [Outcome.ACCEPTED] * 4 + [Outcome.LATE]
    assert states["a"].aggregates[("answers", DAY)] == SumCount(0, 2)  # e1 and e2
    assert states["a"].aggregates[("nps", DAY)] == NpsCounts(promoters=2, passives=1, detractors=1)
    assert engine.stats.late_skipped["answers"] == 2  # e3 and e4
    assert engine.stats.late_skipped["nps"] == 0


def test_zero_lateness_accepts_events_at_the_stream_time_and_refuses_anything_older() -> None:
    engine = Engine(parse_scorecard(SHOP.replace("lateness: 1h", "lateness: 0s")))
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "order", "a", 0, amount=1),
        ev("e2", "order", "a", 0, amount=10),  # the same instant: not older than the stream time
        ev("e3", "order", "a", -1 / 600, amount=100),  # 0.1 s older: late
        ev("e4", "order", "a", 1 / 600, amount=1000),  # newer: moves the stream time on
        ev("e5", "order", "a", 0, amount=10000),  # now 0.1 s older than the stream time: late
    )
    assert outcomes == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.LATE, Outcome.ACCEPTED, Outcome.LATE]
    assert states["a"].aggregates[("revenue", DAY)] == SumCount(1011_000_000, 3)
    assert states["a"].stream_time == at(1 / 600)


def test_skipped_kpi_is_not_in_touched(engine: Engine) -> None:
    state = UnitState()
    engine.process(state, ev("e1", "survey", "a", 0, score=10))
    result = engine.process(state, ev("e2", "survey", "a", -120, score=8))
    assert result.touched == (("nps", DAY),)


# ------------------------------------------------------------------------------------------------ duplicates


def test_duplicate_within_horizon_dropped_after_horizon_accepted(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "order", "a", 0, amount=1),
        ev("e1", "order", "a", 0, amount=1),  # duplicate
        ev("e2", "order", "a", 30, amount=10),  # stream time 10:30: e1 (10:00) is still >= 10:30 - 30m
        ev("e1", "order", "a", 0, amount=1),  # duplicate, on the horizon
        ev("e3", "order", "a", 31, amount=100),  # stream time 10:31: e1 is now beyond the horizon
        ev("e1", "order", "a", 0, amount=1),  # judged afresh: 31 min old is within the 1h grace, accepted
    )
    assert outcomes == [
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
    ]
    assert states["a"].aggregates[("revenue", DAY)] == SumCount(112_000_000, 4)


def test_duplicate_is_per_unit(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    assert run(engine, states, ev("e1", "order", "a", 0, amount=1), ev("e1", "order", "b", 0, amount=1)) == [
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
    ]


def test_late_or_invalid_copy_was_not_accepted_so_the_next_copy_is_judged_afresh(engine: Engine) -> None:
    states: dict[str, UnitState] = {}
    outcomes = run(
        engine,
        states,
        ev("e1", "order", "a", 0, amount=1),
        ev("e2", "order", "a", -90, amount=1),  # late
        ev("e2", "order", "a", -10, amount=1),  # a corrected copy: not a duplicate
        ev("e3", "order", "a", 0, amount="x"),  # invalid
        ev("e3", "order", "a", 0, amount=2),  # accepted
    )
    assert outcomes == [Outcome.ACCEPTED, Outcome.LATE, Outcome.ACCEPTED, Outcome.INVALID, Outcome.ACCEPTED]


# ------------------------------------------------------------------------------------------------ records


def test_unit_state_json_round_trip(engine: Engine) -> None:
    state = UnitState()
    for event in (
        ev("e1", "order", "a", 0, amount=12.5),
        ev("e2", "survey", "a", 1, score=9),
        ev("e3", "shipment", "a", 2, on_time=False, delay=4),
        ev("e4", "ticket", "a", 3, priority="urgent"),
    ):
        engine.process(state, event)
    data = state.to_json()
    assert data["t"] == at(3)
    assert ["late-delay", DAY, "mm", [1, 4_000_000, 4_000_000]] in data["agg"]
    assert [row[0] for row in data["agg"]] == ["answers", "late-delay", "nps", "on-time", "revenue", "urgent"]
    assert data["ids"] == [0, 0, 4]  # the ids live in slice 0, a record of its own
    restored = UnitState.from_json(orjson.loads(orjson.dumps(data)), state.seen.slice_bytes)
    assert restored == state
    assert UnitState.from_json(UnitState().to_json()) == UnitState()


def test_unit_state_of_the_earlier_format_with_inline_ids_is_read_and_its_ids_become_slices(engine: Engine) -> None:
    old = {"t": at(3), "seen": {"e2": at(1), "e1": at(0)}, "agg": [["revenue", DAY, "sc", [12_500_000, 1]]]}
    state = UnitState.from_json(old)
    assert state.stream_time == at(3) and state.aggregates == {("revenue", DAY): SumCount(12_500_000, 1)}
    assert {i for i in ("e1", "e2", "e3") if i in state.seen} == {"e1", "e2"}
    assert state.seen.dirty == {0}  # written in the new form with the record's next write
    assert engine.process(state, ev("e1", "order", "a", 3, amount=1)).outcome == Outcome.DUPLICATE


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"t": "x", "seen": {}, "agg": []},
        {"t": 1.0, "seen": {}, "agg": [["revenue", 1.5, "sc", [1, 2]]]},
        {"t": 1.0, "seen": {}, "agg": [["revenue", 1, "zz", [1, 2]]]},
        {"t": 1.0, "seen": {}, "agg": [["revenue", 1, "sc", [1, 2, 3]]]},
        {"t": 1.0, "ids": [0, 0], "agg": []},
        {"t": 1.0, "ids": [0, 0, 1.5], "agg": []},
        {"t": 1.0, "ids": [0, 0, 1], "agg": []},  # a slice it names is missing
    ],
)
def test_unit_state_from_json_refuses_malformed_records(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        UnitState.from_json(data)


def test_expire_keeps_current_and_previous_windows_and_the_dedupe_horizon(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedupe, "SLICE_IDS", 2)  # ids are forgotten a slice at a time: two ids a slice here
    state = UnitState()
    day = 86400 / 60
    engine.process(state, ev("old", "order", "a", -3 * day, amount=1))
    engine.process(state, ev("prev", "order", "a", -1 * day, amount=1))
    engine.process(state, ev("e1", "order", "a", -20, amount=1))
    engine.process(state, ev("now", "order", "a", 0, amount=1))
    assert state.stream_time == at(0)
    dropped = engine.expire(state)
    # revenue (1d tumbling, 1h grace): keeps today's and yesterday's buckets; ids older than 10:00 - 30m go
    assert sorted(state.aggregates) == [("revenue", DAY - 86400), ("revenue", DAY)]
    assert remembered(state, "old", "prev", "e1", "now") == {"e1", "now"}
    assert dropped == 1 + 2
    assert engine.expire(state) == 0


def test_expire_keeps_buckets_a_late_but_accepted_event_can_still_reach(engine: Engine) -> None:
    state = UnitState()
    engine.process(state, ev("e1", "order", "a", -2 * 1440 + 30, amount=1))  # two days ago, 10:30
    engine.process(state, ev("e2", "order", "a", -1440 - 590, amount=1))  # yesterday 00:10
    engine.process(state, ev("e3", "order", "a", -600 + 30, amount=1))  # today 00:30 (10:00 - 9h30)
    # stream time today 00:30; grace 1h reaches back to yesterday 23:30: yesterday stays, and so does the day
    # before it (the previous window of the oldest time still acceptable)
    engine.expire(state)
    assert sorted(state.aggregates) == [("revenue", DAY - 2 * 86400), ("revenue", DAY - 86400), ("revenue", DAY)]


def test_expire_with_an_older_at_keeps_more_never_less(engine: Engine) -> None:
    state = UnitState()
    engine.process(state, ev("e1", "order", "a", -3 * 1440, amount=1))
    engine.process(state, ev("e2", "order", "a", 0, amount=1))
    engine.expire(state, at=at(-2 * 1440))
    assert len(state.aggregates) == 2
    engine.expire(state, at=at(10 * 1440))  # a future at is clamped to the stream time
    assert sorted(state.aggregates) == [("revenue", DAY)]


def test_expire_on_an_empty_state_does_nothing(engine: Engine) -> None:
    assert engine.expire(UnitState()) == 0
    assert engine.forget_ids(UnitState()) == 0


def test_forget_ids_drops_only_ids_beyond_the_dedupe_horizon_and_keeps_buckets(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedupe, "SLICE_IDS", 1)  # ids are forgotten a slice at a time: one id a slice, so exactly
    state = UnitState()
    engine.process(state, ev("e1", "order", "a", -3 * 1440, amount=1))
    engine.process(state, ev("e2", "order", "a", -31, amount=1))
    engine.process(state, ev("e3", "order", "a", -30, amount=1))
    engine.process(state, ev("e4", "order", "a", 0, amount=1))
    assert engine.forget_ids(state) == 2  # e1 and e2 are older than 10:00 - 30m; e3 is on the horizon
    assert remembered(state, "e1", "e2", "e3", "e4") == {"e3", "e4"}
    assert len(state.aggregates) == 2  # buckets are expire's business


def test_forget_ids_keeps_a_slice_while_any_of_its_ids_is_within_the_horizon(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedupe, "SLICE_IDS", 3)
    state = UnitState()
    engine.process(state, ev("e1", "order", "a", -36, amount=1))
    engine.process(state, ev("e2", "order", "a", -31, amount=1))
    engine.process(state, ev("e3", "order", "a", -30, amount=1))  # on the horizon, in e1's slice (6 min apart)
    engine.process(state, ev("e4", "order", "a", 0, amount=1))  # a slice of its own: it spans at most 30m / 4
    assert engine.forget_ids(state) == 0  # memory only: e1 and e2 can never make a duplicate anyway
    assert engine.process(state, ev("e3", "order", "a", 0, amount=1)).outcome == Outcome.DUPLICATE
    assert engine.process(state, ev("e2", "order", "a", 0, amount=1)).outcome == Outcome.ACCEPTED  # judged afresh


def remembered(state: UnitState, *event_ids: str) -> set[str]:
    """Which of ``event_ids`` the unit remembers; checks that it remembers no other."""
    found = {event_id for event_id in event_ids if event_id in state.seen}
    assert len(state.seen) == len(found), (len(state.seen), found)
    return found
