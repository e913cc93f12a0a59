"""The batch replay: counts, invalid lines, default evaluation time; and the properties that let the stream equal it:
splitting units across partitions, or cutting the input into batches (with state records saved, reloaded and
expired in between), gives the identical JSON report."""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorecard.core import replay as replay_module
from scorecard.core.aggregates import State
from scorecard.core.definition import Scorecard, parse_scorecard
from scorecard.core.engine import Engine, UnitState, compile_kpis
from scorecard.core.evaluation import dumps, evaluate
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import InvalidLine, invalid_lines_jsonl, replay
from scorecard.core.timeutil import parse_time

settings.register_profile(
    "replay",
    deadline=None,
    max_examples=int(os.environ.get("HYPO_N", "150")),
    suppress_health_check=[HealthCheck.too_slow],
)

SHOP = """
name: Shop
lateness: 1h
dedupe: 30m
org:
  id: root
  children: [{id: a}, {id: b}]
objectives:
  - {id: sell, perspective: financial}
kpis:
  - {id: revenue, objective: sell, aggregation: sum, source: {event: order, field: amount},
     window: {kind: tumbling, size: 1d}, goal: 100, red_flag: 50}
  - {id: nps, aggregation: nps, source: {event: survey, field: score}, window: {kind: tumbling, size: 1d}, lateness: 3h}
  - {id: answers, aggregation: count, source: {event: survey}, window: {kind: tumbling, size: 1d}}
"""


def line(event_id: str, event_type: str, unit: str, time: str, **fields: Any) -> bytes:
    return orjson.dumps({"id": event_id, "type": event_type, "unit": unit, "time": time, "fields": fields})


def test_replay_counts_outcomes_and_lists_invalid_lines() -> None:
    lines = [
        line("e1", "order", "a", "2026-11-27T10:00:00Z", amount=10),
        line("e1", "order", "a", "2026-11-27T10:00:00Z", amount=10),  # duplicate
        b"",  # blank: skipped, but still a line for the numbering
        line("e2", "order", "a", "2026-11-27T08:00:00Z", amount=10),  # late
        b"not json\n",
        line("e3", "order", "b", "2026-11-27T11:00:00Z", amount="ten"),  # invalid
        line("e4", "page_viewed", "b", "2026-11-27T11:00:00Z"),  # ignored
        line("e5", "order", "b", "2026-11-27T09:30:00Z", amount=5),  # b's own stream time: accepted
        b"   \n",
    ]
    result = replay(parse_scorecard(SHOP), lines)
    assert result.counts == {"accepted": 2, "duplicate": 1, "late": 1, "invalid": 2, "ignored": 1}
    assert [(i.line, i.reason, i.event_id) for i in result.invalid] == [
        (5, "not_json", None),
        (6, "not_a_number", "e3"),
    ]
    assert result.newest == parse_time("2026-11-27T10:00:00Z")
    assert result.at == result.newest
    document = result.evaluate()
    assert document["at"] == "2026-11-27T10:00:00Z"
    assert document["events"] == result.counts
    assert document["units"]["root"]["kpis"]["revenue"]["value"] == 15.0


def test_replay_accepts_text_lines_and_remembers_the_requested_time() -> None:
    at = parse_time("2026-11-28T12:00:00Z")
    result = replay(parse_scorecard(SHOP), [line("e1", "order", "a", "2026-11-27T10:00:00Z", amount=10).decode()], at)
    assert result.at == at
    document = result.evaluate()
    assert document["at"] == "2026-11-28T12:00:00Z"
    assert document["units"]["a"]["kpis"]["revenue"]["value"] == 0.0  # the next day's window is empty
    assert result.evaluate(parse_time("2026-11-27T23:00:00Z"))["units"]["a"]["kpis"]["revenue"]["value"] == 10.0


def test_replay_without_accepted_events_needs_a_time() -> None:
    result = replay(parse_scorecard(SHOP), [b"{}"])
    assert result.at is None
    try:
        result.evaluate()
    except ValueError as err:
        assert "--at" in str(err)
    else:
        raise AssertionError("expected ValueError")


def test_late_skipped_is_in_the_stats_not_in_the_report() -> None:
    lines = [
        line("e1", "survey", "a", "2026-11-27T10:00:00Z", score=10),
        line("e2", "survey", "a", "2026-11-27T08:00:00Z", score=0),  # 2h old: nps (3h) counts, answers (1h) skips
    ]
    result = replay(parse_scorecard(SHOP), lines)
    assert result.stats.late_skipped["answers"] == 1
    assert result.counts["accepted"] == 2
    kpis = result.evaluate()["units"]["a"]["kpis"]
    assert (kpis["nps"]["value"], kpis["answers"]["value"]) == (0.0, 1.0)


def test_progress_is_reported() -> None:
    seen: list[int] = []
    replay(parse_scorecard(SHOP), [b"{}"] * 3, progress=seen.append)
    assert seen == [3]


def test_invalid_lines_as_json_lines() -> None:
    data = invalid_lines_jsonl(
        [InvalidLine(3, "e1", "not_a_number", "fields.amount: ..."), InvalidLine(9, None, "x", "y")]
    )
    assert data.splitlines() == [
        b'{"line":3,"id":"e1","reason":"not_a_number","detail":"fields.amount: ..."}',
        b'{"line":9,"id":null,"reason":"x","detail":"y"}',
    ]


# ---------------------------------------------------------------------------------------------- properties

PROP = """
name: Prop
timezone: Europe/Paris
lateness: 30m
dedupe: 1h
org:
  id: root
  children:
    - id: a
      weight: 2
      children: [{id: a1}, {id: a2}]
    - id: b
objectives:
  - {id: sell, perspective: financial}
  - {id: please, perspective: customer}
kpis:
  - {id: revenue, objective: sell, aggregation: sum, source: {event: order, field: amount},
     window: {kind: tumbling, size: 1h}, goal: 300, red_flag: 100}
  - id: basket
    objective: sell
    aggregation: avg
    source: {event: order, field: amount, where: {channel: online}}
    window: {kind: rolling, size: 3h, step: 1h}
    targets: {a1: {goal: 60, red_flag: 20}, b: {goal: 50, red_flag: 30}}
  - {id: nps, objective: please, aggregation: nps, source: {event: survey, field: score},
     window: {kind: calendar, period: day}, lateness: 2h, goal: 30, red_flag: 0}
  - {id: wait, objective: please, aggregation: max, source: {event: survey, field: wait, where: {kind: support}},
     window: {kind: tumbling, size: 2h}, goal: 5, red_flag: 20}
  - {id: refund-rate, objective: sell, aggregation: ratio, numerator: {event: refund, field: amount, aggregation: sum},
     denominator: {event: order, aggregation: count}, multiplier: 100, window: {kind: tumbling, size: 2h},
     goal: 1, red_flag: 5}
  - {id: low, aggregation: min, source: {event: order, field: amount}, window: {kind: calendar, period: week}}
"""
UNITS = ["root", "a", "a1", "a2", "b", "zz"]
BASE = parse_time("2026-11-27T20:00:00Z")  # the Paris day ends at 23:00Z, inside the generated span

amounts = st.one_of(st.integers(-50, 500), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)), st.just("x"))
fields = st.fixed_dictionaries(
    {},
    optional={
        "amount": amounts,
        "channel": st.sampled_from(["online", "store"]),
        "score": st.integers(-1, 11),
        "wait": st.integers(0, 30),
        "kind": st.sampled_from(["support", "sales"]),
    },
)
events = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["", "e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"]),
        "type": st.sampled_from(["order", "order", "survey", "refund", "page"]),
        "unit": st.sampled_from(UNITS),
        "time": st.integers(0, 8 * 3600).map(lambda s: BASE + s),
        "fields": fields,
    }
)
event_lists = st.lists(events, max_size=60)


def encode(items: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(item) for item in items]


def merge_own(scorecard: Scorecard, parts: list[dict[str, dict[tuple[str, int], State]]]) -> dict[str, Any]:
    """Merge per-partition own states (units may even appear in several parts)."""
    kpis = compile_kpis(scorecard)
    merged: dict[str, dict[tuple[str, int], State]] = {}
    for part in parts:
        for unit, states in part.items():
            into = merged.setdefault(unit, {})
            for key, state in states.items():
                aggregation = kpis[key[0]].aggregation
                aggregation.merge_into(into.setdefault(key, aggregation.new()), state)
    return merged


@settings(settings.get_profile("replay"))
@given(event_lists, st.data())
def test_two_partitions_by_unit_give_the_same_report(items: list[dict[str, Any]], data: st.DataObject) -> None:
    scorecard = parse_scorecard(PROP)
    tree = OrgTree.from_scorecard(scorecard)
    partition = {unit: data.draw(st.integers(0, 1)) for unit in UNITS}
    whole = replay(scorecard, encode(items))
    parts = [replay(scorecard, encode([i for i in items if partition[i["unit"]] == k])) for k in (0, 1)]
    own = merge_own(scorecard, [part.own_states() for part in parts])
    counts = {name: parts[0].counts[name] + parts[1].counts[name] for name in whole.counts}
    assert counts == whole.counts
    times = [t for t in (whole.newest, BASE + data.draw(st.integers(-3600, 10 * 3600))) if t is not None]
    for at in times:
        expected = dumps(whole.evaluate(at))
        assert dumps(evaluate(scorecard, tree, own, at, counts)) == expected


@settings(settings.get_profile("replay"))
@given(event_lists, st.data())
def test_batches_with_saved_reloaded_and_expired_records_give_the_same_report(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    scorecard = parse_scorecard(PROP)
    tree = OrgTree.from_scorecard(scorecard)
    lines = encode(items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=4)))
    expire = data.draw(st.booleans())
    whole = replay(scorecard, lines)
    records: dict[str, dict[str, Any]] = {}  # what a Faust table would hold between batches
    slices: dict[str, dict[int, bytes]] = {}  # and the units' id slices, records of their own
    counts = dict.fromkeys(whole.counts, 0)
    for start, end in zip([0, *cuts], [*cuts, len(lines)], strict=True):
        engine = Engine(scorecard)  # a worker restarted between batches keeps nothing in memory
        states = {
            unit: UnitState.from_json(orjson.loads(orjson.dumps(record)), slices[unit].get)
            for unit, record in records.items()
        }

        def state_of(unit: str, states: dict[str, UnitState] = states) -> UnitState:
            return states.setdefault(unit, UnitState())

        for raw in lines[start:end]:
            counts[engine.process_raw(state_of, raw).outcome.value] += 1
        if expire:
            for state in states.values():
                engine.expire(state)
        records = {unit: state.to_json() for unit, state in states.items()}
        slices = {
            unit: {n: state.seen.slice_bytes(n) for n in range(state.seen.first, state.seen.last + 1)}
            for unit, state in states.items()
        }
    own = {unit: UnitState.from_json(record, slices[unit].get).aggregates for unit, record in records.items()}
    assert counts == whole.counts
    if whole.newest is None:
        return
    times = [whole.newest] if expire else [whole.newest, BASE + data.draw(st.integers(-3600, 10 * 3600))]
    for at in times:
        assert dumps(evaluate(scorecard, tree, own, at, counts)) == dumps(whole.evaluate(at))


@settings(settings.get_profile("replay"))
@given(event_lists)
def test_forgetting_ids_during_the_replay_changes_nothing(items: list[dict[str, Any]]) -> None:
    scorecard = parse_scorecard(PROP)
    lines = encode(items)
    reference = replay(scorecard, lines)
    with mock.patch.object(replay_module, "PROGRESS_EVERY", 1), mock.patch.object(replay_module, "FORGET_EVERY", 1):
        pruned = replay(scorecard, lines)
    assert pruned.counts == reference.counts
    if reference.newest is not None:
        assert dumps(pruned.evaluate()) == dumps(reference.evaluate())
    assert sum(len(s.seen) for s in pruned.states.values()) <= sum(len(s.seen) for s in reference.states.values())
