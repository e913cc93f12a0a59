"""The example event generator: deterministic, feeds every KPI source of any definition, mixes good and bad units,
adds the requested trouble, and reproduces the committed example file."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import Scorecard, load_scorecard, parse_scorecard
from scorecard.core.events import decode_event
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import replay
from scorecard.simulator import generate_events
from tests.paths import ACME, REPO


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(ACME)


def events(scorecard: Scorecard, **overrides: Any) -> list[dict[str, Any]]:
    arguments: dict[str, Any] = {
        "start": "2026-11-13T00:00:00+01:00",
        "days": 7,
        "events_per_day": 100,
        "seed": 7,
        "duplicate_rate": 0.0,
        "late_rate": 0.0,
        "invalid_rate": 0.0,
    }
    return list(generate_events(scorecard, **{**arguments, **overrides}))


def test_same_seed_same_events_other_seed_other_events(acme: Scorecard) -> None:
    first = events(acme, duplicate_rate=0.02, late_rate=0.01, invalid_rate=0.01)
    assert first == events(acme, duplicate_rate=0.02, late_rate=0.01, invalid_rate=0.01)
    assert first != events(acme, seed=8, duplicate_rate=0.02, late_rate=0.01, invalid_rate=0.01)


def test_clean_events_are_valid_time_ordered_from_leaves_and_all_accepted(acme: Scorecard) -> None:
    generated = events(acme)
    tree = OrgTree.from_scorecard(acme)
    decoded = [decode_event(orjson.dumps(event)) for event in generated]
    assert all(tree.is_leaf(event.unit) for event in decoded)
    times = [event.time for event in decoded]
    assert times == sorted(times)
    assert len({(event.unit, event.id) for event in decoded}) == len(decoded)
    result = replay(acme, [orjson.dumps(event) for event in generated])
    assert result.counts == {"accepted": len(generated), "duplicate": 0, "late": 0, "invalid": 0, "ignored": 0}


def test_every_kpi_source_gets_matching_events_with_numbers(acme: Scorecard) -> None:
    generated = events(acme)
    for kpi in acme.kpis:
        terms = [kpi.source] if kpi.source is not None else [kpi.numerator, kpi.denominator]
        for term in terms:
            assert term is not None
            matching = [
                e
                for e in generated
                if e["type"] == term.event and all(e["fields"].get(k) == v for k, v in term.where.items())
            ]
            assert matching, (kpi.id, term)
            if term.field is not None:
                assert all(type(e["fields"][term.field]) in (int, float) for e in matching), kpi.id
    nps = [e["fields"]["score"] for e in generated if e["type"] == "survey_answered"]
    assert set(nps) <= set(range(11))


def test_trouble_is_added_at_the_requested_rates(acme: Scorecard) -> None:
    generated = events(acme, duplicate_rate=0.05, late_rate=0.03, invalid_rate=0.03, ignored_rate=0.02)
    counts = replay(acme, [orjson.dumps(event) for event in generated]).counts
    regular = counts["accepted"]
    assert counts["duplicate"] > 0.02 * regular
    assert counts["late"] > 0.01 * regular
    assert counts["invalid"] > 0.01 * regular
    assert counts["ignored"] > 0.005 * regular


def test_volume_follows_events_per_day(acme: Scorecard) -> None:
    small, large = len(events(acme, events_per_day=100)), len(events(acme, events_per_day=1000))
    assert 3 * small < large  # count KPIs pin some rates; everything else scales


def test_units_differ_some_green_some_red(acme: Scorecard) -> None:
    generated = events(acme, days=14)
    document = replay(acme, [orjson.dumps(event) for event in generated]).evaluate()
    tree = OrgTree.from_scorecard(acme)
    leaves = {unit: result["status"] for unit, result in document["units"].items() if tree.is_leaf(unit)}
    assert "green" in leaves.values()
    assert "red" in leaves.values()


GENERIC = """
name: Generic
org:
  id: hq
  children:
    - {id: east, children: [{id: east-1}, {id: east-2}]}
    - {id: west}
kpis:
  - {id: calls, aggregation: count, source: {event: call, where: {answered: false}}, window: {kind: tumbling, size: 1d},
     goal: 2, red_flag: 10}
  - {id: talk, aggregation: avg, source: {event: call, field: minutes, where: {answered: true}},
     window: {kind: rolling, size: 2d, step: 1h}, goal: 5, red_flag: 12}
  - {id: low-stock, aggregation: min, source: {event: stock, field: level}, window: {kind: tumbling, size: 8h},
     goal: 50, red_flag: 10}
  - id: scrap
    aggregation: ratio
    numerator: {event: scrapped, aggregation: count}
    denominator: {event: produced, field: qty, aggregation: sum}
    multiplier: 1000
    window: {kind: calendar, period: week}
    goal: 1
    red_flag: 3
  - {id: orders, aggregation: sum, source: {event: sale, field: amount, where: {channel: 3}},
     window: {kind: calendar, period: month}}
"""


def test_any_definition_gets_events_for_every_kpi() -> None:
    scorecard = parse_scorecard(GENERIC)
    generated = events(scorecard, days=10)
    document = replay(scorecard, [orjson.dumps(event) for event in generated]).evaluate()
    for kpi in ("calls", "talk", "low-stock", "scrap", "orders"):
        assert document["units"]["hq"]["kpis"][kpi]["value"] not in (None, 0.0), kpi
    answered = {e["fields"]["answered"] for e in generated if e["type"] == "call"}
    assert answered == {True, False}


def documented_command() -> list[str]:
    """The arguments of the ``scorecard simulate`` command in examples/README.md (continuation lines joined)."""
    text = (REPO / "examples" / "README.md").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("scorecard simulate "))
    return shlex.split(line)[1:]


def test_committed_example_is_what_the_documented_command_makes(tmp_path: Path) -> None:
    output = tmp_path / "acme-events.jsonl"
    args = [str(REPO / a) if a.startswith("examples/") else a for a in documented_command()]
    result = CliRunner().invoke(main, [*args[: args.index("--out") + 1], str(output)])  # examples/README.md's command
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == (REPO / "examples" / "acme-events.jsonl").read_bytes()
