"""Every event gets an outcome, never an exception: the numeric range of states (``out_of_range``), times too far
ahead of their receipt (``time_in_future``), the decoder's size and depth caps (``too_large``, ``too_deep``) and its
catch-all (``undecodable``), bounded details, the bounded replay and line reader, and a publisher that reads any
line. Each case of issue 13 ("one event can stop or freeze it") is here with the numbers that once broke it."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core import events as events_module
from scorecard.core.aggregates import STATE_LIMIT, SumCount
from scorecard.core.definition import DefinitionError, parse_scorecard
from scorecard.core.engine import Engine, Outcome, UnitState
from scorecard.core.events import (
    MAX_DETAIL,
    MAX_SHOWN_ID,
    Event,
    InvalidEvent,
    Reason,
    decode_event,
    nesting_depth,
    show,
)
from scorecard.core.lines import read_lines
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from streams.processor import BatchProcessor, Item
from streams.publisher import unit_key

T0 = parse_time("2026-11-27T10:00:00Z")
DAY = int(T0) - 36000

SHOP = """
name: Shop
lateness: 1h
dedupe: 30m
org:
  id: root
  children: [{id: a}, {id: b}]
kpis:
  - {id: revenue, aggregation: sum, source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}}
  - {id: basket, aggregation: avg, source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}}
  - {id: biggest, aggregation: max, source: {event: order, field: amount}, window: {kind: tumbling, size: 1d}}
  - {id: nps, aggregation: nps, source: {event: survey, field: score}, window: {kind: tumbling, size: 1d}}
  - id: refund-share
    aggregation: ratio
    numerator: {event: refund, field: amount, aggregation: sum}
    denominator: {event: refund, field: basis, aggregation: sum}
    window: {kind: tumbling, size: 1d}
  - {id: quick, aggregation: sum, source: {event: tip, field: amount}, window: {kind: tumbling, size: 1d},
     lateness: 0}
  - {id: tips, aggregation: sum, source: {event: tip, field: amount}, window: {kind: tumbling, size: 1d}}
  - {id: fees, aggregation: sum, source: {event: fee, field: amount}, window: {kind: tumbling, size: 1d}}
"""


@pytest.fixture
def engine() -> Engine:
    return Engine(parse_scorecard(SHOP))


def ev(event_id: str, event_type: str, unit: str, minutes: float = 0, **fields: Any) -> Event:
    return Event(event_id, event_type, unit, T0 + minutes * 60, fields)


def line(**event: Any) -> bytes:
    base = {"id": "e1", "type": "order", "unit": "a", "time": "2026-11-27T10:00:00Z", "fields": {"amount": 1}}
    return orjson.dumps(base | event)


# ------------------------------------------------------------------------------------------------ numeric range


@pytest.mark.parametrize("value", [999_999_999_999, -999_999_999_999, 999_999_999_999.9999, 1e10, 9.007e9, 0.000001])
def test_values_within_the_state_range_are_accepted_exactly(engine: Engine, value: float) -> None:
    state = UnitState()
    assert engine.process(state, ev("e1", "order", "a", amount=value)).outcome is Outcome.ACCEPTED
    assert state.aggregates[("revenue", DAY)] == SumCount(round(value * 1_000_000), 1)
    assert abs(state.aggregates[("revenue", DAY)].total) < STATE_LIMIT


@pytest.mark.parametrize("value", [10**12, -(10**12), 1e12, -1e12, 1e303, -1e303, 1.7976931348623157e308, 2**62])
def test_a_value_beyond_the_state_range_is_out_of_range_and_changes_nothing(engine: Engine, value: float) -> None:
    state = UnitState()
    engine.process(state, ev("e0", "order", "a", -5, amount=1))
    before = copy.deepcopy(state)
    result = engine.process(state, ev("e1", "order", "a", amount=value))
    assert (result.outcome, result.reason) == (Outcome.INVALID, Reason.OUT_OF_RANGE)
    assert result.detail is not None and "fields.amount" in result.detail and "1e+12" in result.detail
    assert result.error is not None and result.error.event_id == "e1"
    assert state == before  # no stream time move, no remembered id, no state


def test_the_1e303_amount_that_once_aborted_the_replay_is_one_invalid_line() -> None:
    lines = [line(id="ok", fields={"amount": 5}), line(id="big", fields={"amount": 1e303})]
    result = replay(parse_scorecard(SHOP), lines)
    assert result.counts == {"accepted": 1, "duplicate": 0, "late": 0, "invalid": 1, "ignored": 0}
    assert [(i.line, i.reason, i.event_id) for i in result.invalid] == [(2, "out_of_range", "big")]
    assert result.evaluate()["units"]["a"]["kpis"]["revenue"]["value"] == 5.0


def test_a_sum_that_would_leave_the_state_range_is_out_of_range_before_anything_changes(engine: Engine) -> None:
    state = UnitState()
    assert engine.process(state, ev("e1", "order", "a", 0, amount=600_000_000_000)).outcome is Outcome.ACCEPTED
    before = copy.deepcopy(state)
    result = engine.process(state, ev("e2", "order", "a", 10, amount=400_000_000_000))  # 1e12: one too many
    assert (result.outcome, result.reason) == (Outcome.INVALID, Reason.OUT_OF_RANGE)
    assert result.detail is not None and "revenue sum of unit 'a'" in result.detail
    assert state == before  # avg and max would have fitted, but the event is applied whole or not at all
    ok = engine.process(state, ev("e3", "order", "a", 10, amount=399_999_999_999))
    assert ok.outcome is Outcome.ACCEPTED
    assert state.aggregates[("revenue", DAY)].total == STATE_LIMIT - 1_000_000  # 999,999,999,999 exactly


def test_an_event_feeding_one_sum_is_bounded_the_same_way(engine: Engine) -> None:
    state = UnitState()
    assert engine.process(state, ev("f1", "fee", "a", 0, amount=999_999_999_999)).outcome is Outcome.ACCEPTED
    before = copy.deepcopy(state)
    result = engine.process(state, ev("f2", "fee", "a", 1, amount=1))  # exactly 1e12: one micro-unit too many
    assert result.reason == Reason.OUT_OF_RANGE and "fees sum" in (result.detail or "")
    assert state == before
    assert engine.process(state, ev("f3", "fee", "a", 1, amount=0.5)).outcome is Outcome.ACCEPTED
    assert state.aggregates[("fees", DAY)] == SumCount(STATE_LIMIT - 500_000, 2)


def test_negative_sums_are_bounded_too(engine: Engine) -> None:
    state = UnitState()
    assert engine.process(state, ev("e1", "order", "a", amount=-700_000_000_000)).outcome is Outcome.ACCEPTED
    result = engine.process(state, ev("e2", "order", "a", amount=-300_000_000_000))
    assert result.reason == Reason.OUT_OF_RANGE
    assert engine.process(state, ev("e3", "order", "a", amount=300_000_000_000)).outcome is Outcome.ACCEPTED


def test_each_side_of_a_ratio_is_bounded(engine: Engine) -> None:
    state = UnitState()
    assert engine.process(state, ev("r1", "refund", "a", amount=1, basis=900_000_000_000)).outcome is Outcome.ACCEPTED
    result = engine.process(state, ev("r2", "refund", "a", amount=1, basis=100_000_000_000))
    assert result.reason == Reason.OUT_OF_RANGE and "refund-share" in (result.detail or "")
    assert engine.process(state, ev("r3", "refund", "a", amount=900_000_000_000, basis=1)).outcome is Outcome.ACCEPTED


def test_the_sum_bound_is_per_unit_and_bucket(engine: Engine) -> None:
    states = {"a": UnitState(), "b": UnitState()}
    for unit in states:
        assert engine.process(states[unit], ev("e1", "order", unit, amount=900_000_000_000)).outcome is Outcome.ACCEPTED
    next_day = ev("e2", "order", "a", 24 * 60, amount=900_000_000_000)
    assert engine.process(states["a"], next_day).outcome is Outcome.ACCEPTED


def test_nps_keeps_its_own_reason_for_huge_answers(engine: Engine) -> None:
    result = engine.process(UnitState(), ev("s1", "survey", "a", score=1e300))
    assert result.reason == Reason.NPS_OUT_OF_RANGE


def test_a_duplicate_or_late_copy_stays_duplicate_or_late_when_the_sum_is_full(engine: Engine) -> None:
    state = UnitState()
    assert engine.process(state, ev("e1", "order", "a", 60, amount=900_000_000_000)).outcome is Outcome.ACCEPTED
    assert engine.process(state, ev("e1", "order", "a", 60, amount=900_000_000_000)).outcome is Outcome.DUPLICATE
    assert engine.process(state, ev("e9", "order", "a", -60, amount=900_000_000_000)).outcome is Outcome.LATE


def test_a_kpi_that_skips_the_event_as_late_does_not_make_it_out_of_range(engine: Engine) -> None:
    state = UnitState()
    assert engine.process(state, ev("t1", "tip", "a", 0, amount=900_000_000_000)).outcome is Outcome.ACCEPTED
    # 30 minutes older: 'quick' (lateness 0) skips it, so only 'tips' would overflow
    assert engine.process(state, ev("t2", "tip", "a", 10, amount=1)).outcome is Outcome.ACCEPTED
    over = engine.process(state, ev("t3", "tip", "a", -20, amount=200_000_000_000))
    assert over.reason == Reason.OUT_OF_RANGE and "tips sum" in (over.detail or "")


# ---------------------------------------------------------------------------------------------- far-future times


def test_time_in_future_is_judged_against_the_received_time(engine: Engine) -> None:
    state = UnitState()
    received = T0
    exactly = Event("e1", "order", "a", received + 3600, {"amount": 1})  # max_ahead defaults to 1h: kept
    assert engine.process(state, exactly, received).outcome is Outcome.ACCEPTED
    before = copy.deepcopy(state)
    beyond = Event("e2", "order", "a", received + 3600.001, {"amount": 1})
    result = engine.process(state, beyond, received)
    assert (result.outcome, result.reason) == (Outcome.INVALID, Reason.TIME_IN_FUTURE)
    assert result.detail is not None and "2026-11-27T10:00:00Z" in result.detail and "max_ahead (1h)" in result.detail
    assert state == before
    assert engine.process(state, beyond).outcome is Outcome.ACCEPTED  # no received time: no check


def test_an_event_dated_2062_no_longer_poisons_its_unit(engine: Engine) -> None:
    states: dict[str, UnitState] = {}

    def state_of(unit: str) -> UnitState:
        return states.setdefault(unit, UnitState())

    typo = line(id="typo", time="2062-11-27T10:00:00Z", fields={"amount": 5})
    assert engine.process_raw(state_of, typo, T0).reason == Reason.TIME_IN_FUTURE
    later = [line(id=f"e{i}", time=f"2026-11-27T1{i}:00:00Z", fields={"amount": 1}) for i in range(3)]
    assert [engine.process_raw(state_of, raw, T0 + 3 * 3600).outcome for raw in later] == [Outcome.ACCEPTED] * 3
    assert states["a"].stream_time == parse_time("2026-11-27T12:00:00Z")


def test_time_in_future_comes_before_unknown_unit_and_ignored(engine: Engine) -> None:
    future = T0 + 86400
    for event_type, unit in (("order", "nowhere"), ("page_viewed", "a")):
        result = engine.process(UnitState(), Event("x", event_type, unit, future, {}), T0)
        assert result.reason == Reason.TIME_IN_FUTURE


def test_max_ahead_is_a_setting_of_the_definition() -> None:
    strict = Engine(parse_scorecard(SHOP + "max_ahead: 0\n"))
    assert strict.process(UnitState(), ev("e1", "order", "a", amount=1), T0).outcome is Outcome.ACCEPTED
    result = strict.process(UnitState(), Event("e2", "order", "a", T0 + 1, {"amount": 1}), T0)
    assert result.reason == Reason.TIME_IN_FUTURE and "max_ahead (0s)" in (result.detail or "")
    loose = Engine(parse_scorecard(SHOP + "max_ahead: 2d\n"))
    assert loose.process(UnitState(), Event("e3", "order", "a", T0 + 86400, {"amount": 1}), T0).outcome == "accepted"


def test_replay_received_at_matches_the_stream_items_received_time() -> None:
    scorecard = parse_scorecard(SHOP)
    lines = [line(id="now", fields={"amount": 2}), line(id="later", time="2026-11-27T12:00:00Z")]
    result = replay(scorecard, lines, received_at=T0)
    assert [(i.event_id, i.reason) for i in result.invalid] == [("later", "time_in_future")]
    table: dict[str, Any] = {}
    processor = BatchProcessor(Engine(scorecard), table, {k: 1 for k in ("revenue", "basket", "biggest")})
    items = [Item("a", raw, 0, offset, received_at=T0) for offset, raw in enumerate(lines)]
    batch = processor.process(items)
    assert [(d.event_id, d.reason) for d in batch.dead_letters] == [("later", "time_in_future")]
    assert batch.outcomes == {"accepted": 1, "invalid": 1}


# ------------------------------------------------------------------------------------------ decoder size, depth


def test_size_cap_boundary_ignores_trailing_whitespace() -> None:
    raw = line()
    assert decode_event(raw, max_bytes=len(raw)).id == "e1"
    assert decode_event(raw + b" \t\r\n", max_bytes=len(raw)).id == "e1"  # a replayed line's newline is not counted
    with pytest.raises(InvalidEvent) as caught:
        decode_event(raw, max_bytes=len(raw) - 1)
    assert caught.value.reason == Reason.TOO_LARGE
    assert f"{len(raw) - 1:,} bytes" in caught.value.detail and caught.value.event_id is None


def test_the_default_size_cap_is_one_mebibyte() -> None:
    padding = b" " * 10
    filler = "x" * (1_048_576 - len(line(fields={"amount": 1, "note": ""})))
    exact = line(fields={"amount": 1, "note": filler})
    assert len(exact) == 1_048_576
    assert decode_event(exact + padding).fields["note"] == filler
    with pytest.raises(InvalidEvent) as caught:
        decode_event(line(fields={"amount": 1, "note": filler + "y"}))
    assert caught.value.reason == Reason.TOO_LARGE


def nested(depth: int, inner: bytes = b"1") -> bytes:
    """An event whose fields hold a list nested so that the whole line is ``depth`` levels deep."""
    value = b"[" * (depth - 2) + inner + b"]" * (depth - 2)
    return b'{"id":"d","type":"order","unit":"a","time":0,"fields":{"amount":1,"deep":' + value + b"}}"


def test_depth_cap_boundary() -> None:
    assert nesting_depth(nested(32)) == 32
    assert decode_event(nested(32)).fields["amount"] == 1
    with pytest.raises(InvalidEvent) as caught:
        decode_event(nested(33))
    assert caught.value.reason == Reason.TOO_DEEP and "32 levels" in caught.value.detail
    assert decode_event(nested(40), max_depth=40).id == "d"


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_nesting_that_once_raised_recursion_error_is_too_deep(depth: int) -> None:
    engine = Engine(parse_scorecard(SHOP))
    result = engine.process_raw(UnitState(), nested(depth))
    assert (result.outcome, result.reason) == (Outcome.INVALID, Reason.TOO_DEEP)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[[["}', 1),  # brackets inside strings do not count
        (b'{"a": "\\"[[[[", "b": [[]]}', 3),  # nor after an escaped quote
        (b'{"a": "\\\\", "b": [[]]}', 3),  # an escaped backslash ends nothing
        (b'["\\u005b", "]]]]"]', 1),
        (b"[[[[[", 5),  # invalid JSON: some number, always the same
    ],
)
def test_nesting_depth(text: bytes, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_many_openers_in_strings_are_not_too_deep() -> None:
    brackets = "[{" * 5000
    raw = line(fields={"amount": 1, "note": brackets})
    assert decode_event(raw).fields["note"] == brackets


def test_any_other_decoder_failure_is_undecodable(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        def decode(self, raw: bytes) -> Any:
            raise RecursionError("maximum recursion depth exceeded while deserializing an object")

    monkeypatch.setattr(events_module, "_FAST_DECODER", Exploding())
    monkeypatch.setattr(events_module, "_ANY_DECODER", Exploding())
    with pytest.raises(InvalidEvent) as caught:
        decode_event(line())
    assert caught.value.reason == Reason.UNDECODABLE and "RecursionError" in caught.value.detail
    result = Engine(parse_scorecard(SHOP)).process_raw(UnitState(), line())
    assert result.reason == Reason.UNDECODABLE


def test_a_limits_section_sets_the_caps() -> None:
    engine = Engine(parse_scorecard(SHOP + "limits: {event_bytes: 100, event_depth: 3}\n"))
    assert engine.process_raw(UnitState(), line()).outcome is Outcome.ACCEPTED
    assert engine.process_raw(UnitState(), line(fields={"amount": 1, "x": "y" * 100})).reason == Reason.TOO_LARGE
    assert engine.process_raw(UnitState(), line(fields={"amount": 1, "x": [[]]})).reason == Reason.TOO_DEEP


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("limits: {event_bytes: 0}", "limits.event_bytes: "),
        ("limits: {event_depth: 1000}", "limits.event_depth: "),
        ("limits: {event_depth: 1}", "limits.event_depth: "),
        ("limits: {event_rows: 3}", "limits.event_rows: "),
        ("max_ahead: soon", "max_ahead: "),
    ],
)
def test_bad_limits_name_file_line_and_path(extra: str, words: str) -> None:
    text = SHOP + extra + "\n"
    with pytest.raises(DefinitionError) as caught:
        parse_scorecard(text, "shop.yaml")
    line_number = text.splitlines().index(extra) + 1
    assert f"shop.yaml:{line_number}: {words}" in str(caught.value)


# ----------------------------------------------------------------------------------------------- bounded details


def test_a_megabyte_unit_name_makes_a_short_detail() -> None:
    huge = "x" * 600_000
    result = Engine(parse_scorecard(SHOP)).process_raw(UnitState(), line(unit=huge, id="i" * 400_000))
    assert result.reason == Reason.UNKNOWN_UNIT
    assert result.error is not None and result.detail is not None
    assert len(result.detail) < 300 and "(600,000 characters)" in result.detail
    assert result.error.event_id is not None and len(result.error.event_id) == MAX_SHOWN_ID
    assert result.error.event_id.startswith("iii") and result.error.event_id.endswith("\u2026")


def test_details_are_capped_and_values_shown_escaped() -> None:
    assert len(InvalidEvent(Reason.NOT_JSON, "d" * 5000).detail) == MAX_DETAIL
    assert show("\x1b[31mred\x1b[0m") == "'\\x1b[31mred\\x1b[0m'"  # no terminal escape reaches a terminal raw
    assert len(show(list(range(100_000)))) <= 100
    assert len(show({"k" * 1000: ["v" * 1000] * 1000})) <= 100
    assert len(show(10**4000)) <= 100  # huge integers are cut too (their repr alone is 4,001 digits)


def test_replay_keeps_the_first_invalid_lines_and_exact_counts() -> None:
    lines = [line(id=f"bad{i}", unit="u" * 10_000) for i in range(1500)] + [line(id="ok")]
    heard: list[int] = []
    result = replay(parse_scorecard(SHOP), lines, max_invalid=1000, on_invalid=lambda item: heard.append(item.line))
    assert result.counts["invalid"] == 1500 and result.counts["accepted"] == 1
    assert len(result.invalid) == 1000 and result.invalid_cut
    assert [item.line for item in result.invalid] == list(range(1, 1001))
    assert heard == list(range(1, 1501))
    assert max(len(item.detail) for item in result.invalid) < 300
    assert not replay(parse_scorecard(SHOP), lines[-2:]).invalid_cut


# ------------------------------------------------------------------------------------------------- line reading


def test_read_lines_keeps_short_lines_whole_and_numbered() -> None:
    data = b'{"a": 1}\n\n   \n{"b": 2}\r\nlast'
    assert list(read_lines(io.BytesIO(data), 100)) == [b'{"a": 1}\n', b"\n", b"   \n", b'{"b": 2}\r\n', b"last"]


def test_read_lines_stands_in_for_long_lines_with_a_bounded_too_large_line() -> None:
    engine = Engine(parse_scorecard(SHOP + "limits: {event_bytes: 1000}\n"))
    exact = line(fields={"amount": 1, "n": "x" * (1000 - len(line(fields={"amount": 1, "n": ""})))})
    assert len(exact) == 1000
    huge = line(fields={"amount": 1, "n": "x" * 20_000_000})
    padded = exact + b" " * 5_000_000  # only whitespace beyond the cap: the same event
    data = b"\n".join([exact, huge, padded, b"\t" * 3_000_000, huge]) + b"\n" + huge
    items = list(read_lines(io.BytesIO(data), 1000))
    assert len(items) == 6
    assert max(len(item) for item in items) <= 1002
    outcomes = [engine.process_raw(UnitState(), item) for item in items if item.strip()]
    assert [r.reason or r.outcome for r in outcomes] == ["accepted", "too_large", "accepted", "too_large", "too_large"]
    assert not items[3].strip()  # a blank line stays blank (skipped, as the publisher skips it)


def test_replay_command_reads_a_huge_line_in_bounded_pieces(tmp_path: Path) -> None:
    definition = tmp_path / "shop.yaml"
    definition.write_text(SHOP + "limits: {event_bytes: 4096}\n")
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(id="ok") + b"\n" + line(id="huge", fields={"n": "x" * 3_000_000}) + b"\n")
    errors = tmp_path / "errors.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(definition),
            str(events),
            "--format",
            "json",
            "--errors",
            str(errors),
            "--received-at",
            "2026-12-01T00:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(row) for row in errors.read_bytes().splitlines()]
    assert [(r["line"], r["reason"]) for r in rows] == [(2, "too_large")]
    assert orjson.loads(result.stdout)["events"]["invalid"] == 1


def test_replay_command_says_when_the_kept_list_was_cut(tmp_path: Path) -> None:
    definition = tmp_path / "shop.yaml"
    definition.write_text(SHOP)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"oops\n" * 1200 + line(id="ok") + b"\n")
    errors = tmp_path / "errors.jsonl"
    result = CliRunner().invoke(main, ["replay", str(definition), str(events), "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "1200 invalid events:"
    assert result.stderr.splitlines()[-1] == (
        f"  ... and 1,190 more (all in {errors}; only the first 1,000 were kept in memory)"
    )
    assert len(errors.read_bytes().splitlines()) == 1200


def test_replay_command_received_at_defaults_to_now(tmp_path: Path) -> None:
    definition = tmp_path / "shop.yaml"
    definition.write_text(SHOP)
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(id="past") + b"\n" + line(id="far", time="2999-01-01T00:00:00Z") + b"\n")
    default = CliRunner().invoke(main, ["replay", str(definition), str(events), "--format", "json"])
    assert orjson.loads(default.stdout)["events"]["invalid"] == 1
    assert "time_in_future" in default.stderr
    pinned = CliRunner().invoke(
        main, ["replay", str(definition), str(events), "--format", "json", "--received-at", "2999-01-01T00:00:00Z"]
    )
    assert orjson.loads(pinned.stdout)["events"] == {
        "accepted": 2,
        "duplicate": 0,
        "late": 0,
        "invalid": 0,
        "ignored": 0,
    }
    bad = CliRunner().invoke(main, ["replay", str(definition), str(events), "--received-at", "yesterday"])
    assert bad.exit_code == 2 and "--received-at" in bad.stderr


# ---------------------------------------------------------------------------------------------------- publisher


@pytest.mark.parametrize(
    "raw",
    [
        b'{"unit": "a", "fields": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"unit": ' + b"[" * 100_000,
        b'{"unit": "\xff\xfe"}',
        b"\x00" * 10,
    ],
)
def test_reading_the_key_never_fails(raw: bytes) -> None:
    assert unit_key(raw) is None
    with pytest.raises((msgspec.DecodeError, RecursionError)):
        msgspec.json.decode(raw)  # what used to escape from the publisher


def test_a_long_unit_is_still_a_key() -> None:
    assert unit_key(b'{"unit": "' + b"u" * 2_000_000 + b'", "fields": [[[]]]}') == b"u" * 2_000_000


# ------------------------------------------------------------------------------------------- worker's helpers


def test_dead_letter_headers_are_cut_on_a_character_boundary() -> None:
    from streams.headers import bounded

    assert bounded("abc", 1024) == b"abc"
    assert bounded("x" * 5000, 1024) == b"x" * 1024
    cut = bounded("é" * 1000, 1023)  # two bytes each: 511 whole characters fit
    assert cut == "é".encode() * 511 and len(cut) == 1022


def test_the_received_time_travels_with_a_forwarded_message() -> None:
    from streams.headers import SOURCE_TIMESTAMP_HEADER, received_at, source_timestamp

    assert received_at(1_795_773_600.123) == 1_795_773_600.123
    assert received_at(None) is None and received_at(-0.001) is None and received_at(0.0) is None
    header = str(round(1_795_773_600.123 * 1000)).encode()  # what the route agent writes
    assert source_timestamp([(SOURCE_TIMESTAMP_HEADER, header)]) == 1_795_773_600.123  # the very same float
    assert source_timestamp({SOURCE_TIMESTAMP_HEADER.encode(): header}) == 1_795_773_600.123
    assert source_timestamp([]) is None and source_timestamp([(SOURCE_TIMESTAMP_HEADER, b"soon")]) is None
