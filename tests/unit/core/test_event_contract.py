"""The event contract (``scorecard events``): its example lines are accepted by the real decoder and engine, and its
JSON Schema accepts them and refuses what the engine refuses."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from scorecard.core.definition import Scorecard, load_scorecard, parse_scorecard
from scorecard.core.definition.starter import starter_definition
from scorecard.core.event_contract import EXAMPLE_TIME, event_contract, events_json_schema
from scorecard.core.events import decode_event
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from tests.paths import ACME, REPLAY_FIXTURES

# Names a producer or a definition writer might really use: markup, quotes, commas, control and bidi characters.
HOSTILE = """
name: "Hostile [bold]co\\u202e"
org:
  id: root
  children: [{id: "a-1"}, {id: b_2}]
objectives: [{id: o, perspective: financial}]
kpis:
  - id: k1
    aggregation: sum
    source:
      event: "order [red]\\"done\\",\\n\\u001b[2J"
      field: "amount, EUR"
      where: {"chan\\tnel": "on\\"line", vip: true}
    window: {kind: tumbling, size: 1h}
    objective: o
  - id: k2
    aggregation: count
    source: {event: "order [red]\\"done\\",\\n\\u001b[2J", where: {vip: false, tier: 2}}
    window: {kind: tumbling, size: 1h}
    objective: o
  - id: k3
    aggregation: ratio
    numerator: {event: "örder", aggregation: sum, field: "x y"}
    denominator: {event: "örder", aggregation: count}
    window: {kind: tumbling, size: 1h}
    objective: o
  - id: k4
    aggregation: nps
    source: {event: "örder", field: score, where: {big: 1.5}}
    window: {kind: tumbling, size: 1h}
    objective: o
"""


def _scorecards() -> list[tuple[str, Scorecard]]:
    return [
        ("acme", load_scorecard(ACME)),
        ("shop", load_scorecard(REPLAY_FIXTURES / "shop.yaml")),
        ("starter", parse_scorecard(starter_definition("Starter", "s.json"))),
        ("hostile", parse_scorecard(HOSTILE)),
    ]


@pytest.mark.parametrize(("name", "scorecard"), _scorecards(), ids=[name for name, _ in _scorecards()])
def test_every_example_line_is_accepted_by_the_decoder_and_the_engine(name: str, scorecard: Scorecard) -> None:
    contract = event_contract(scorecard)
    lines = [line for event_type in contract for line in event_type.example_lines()]
    assert {event_type.type for event_type in contract} == {t for kpi in scorecard.kpis for t in kpi.event_types}
    types = {event_type.type for event_type in contract}
    for line in lines:
        line.encode("ascii")  # printable anywhere, whatever the names
        event = decode_event(line)
        assert event.type in types and event.unit in {unit.id for unit in _units(scorecard)}
    result = replay(scorecard, [line.encode() for line in lines], received_at=parse_time(EXAMPLE_TIME))
    assert result.counts.get("invalid", 0) == 0, [item.format() for item in result.invalid]
    assert result.counts.get("accepted", 0) == len(lines)


@pytest.mark.parametrize(("name", "scorecard"), _scorecards(), ids=[name for name, _ in _scorecards()])
def test_the_events_schema_accepts_the_examples(name: str, scorecard: Scorecard) -> None:
    schema = events_json_schema(scorecard)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for event_type in event_contract(scorecard):
        for example in event_type.examples:
            assert list(validator.iter_errors(example)) == []


def test_the_schema_refuses_what_the_engine_refuses() -> None:
    scorecard = parse_scorecard(starter_definition("S", "s.json"))
    validator = Draft202012Validator(events_json_schema(scorecard))
    base = {"id": "e-1", "type": "survey_answered", "unit": "sales", "time": EXAMPLE_TIME}
    refused = [
        {**base, "fields": {}},  # the NPS answer is missing
        {**base, "fields": {"score": 11}},  # outside 0-10
        {**base, "fields": {"score": "9"}},  # a string is not a number
        {**base, "unit": "nowhere", "fields": {"score": 9}},
    ]
    for event in refused:
        assert list(validator.iter_errors(event)), event
        result = replay(scorecard, [json.dumps(event).encode()], received_at=parse_time(EXAMPLE_TIME))
        assert result.counts.get("invalid") == 1, event


def test_fields_filters_and_units_are_described() -> None:
    contract = {event_type.type: event_type for event_type in event_contract(load_scorecard(ACME))}
    orders = contract["order_completed"]
    assert orders.kpis == ("revenue", "online-basket", "refund-rate")
    (amount,) = orders.fields
    assert amount.name == "amount" and amount.always and not amount.nps
    assert "revenue (summed, EUR)" in amount.uses
    assert [(f.name, f.values) for f in orders.filters] == [("channel", ("online",))]
    assert [e["fields"] for e in orders.examples] == [{"amount": 1}, {"amount": 1, "channel": "online"}]
    assert contract["survey_answered"].fields[0].nps
    assert contract["defect_found"].fields == ()


def _units(scorecard: Scorecard) -> list:
    stack, found = [scorecard.org], []
    while stack:
        unit = stack.pop()
        found.append(unit)
        stack += unit.children
    return found
