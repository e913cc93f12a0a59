"""Contributions and deltas (docs/semantics.md, section 7): the worked example by hand, then the contract's sums as
properties over generated org trees, weights, targets and events replayed through the real engine. Sums are checked
with exact ``==`` on fractions; against the scorecard's float scores within ``FLOAT_TOLERANCE``."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecard.core.contributions import FLOAT_TOLERANCE, Contributions, Share, contributions, scores_from_report
from scorecard.core.definition import Scorecard, validate_scorecard
from scorecard.core.movers import explain
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from tests.paths import REPLAY_FIXTURES

settings.register_profile("contributions", deadline=None, max_examples=int(os.environ.get("HYPO_N", "100")))

SHOP = REPLAY_FIXTURES / "shop.yaml"
SHOP_EVENTS = REPLAY_FIXTURES / "shop-events.jsonl"


def shop_contributions(at: str) -> Contributions:
    from scorecard.core.definition import load_scorecard

    scorecard = load_scorecard(SHOP)
    result = replay(scorecard, SHOP_EVENTS.read_bytes().splitlines())
    return contributions(scorecard, result.tree, scores_from_report(result.evaluate(parse_time(at))))


def test_worked_example_of_the_docs() -> None:
    """docs/semantics.md, section 7, number by number."""
    now = shop_contributions("2026-11-27T10:06:00Z")
    assert now.kpis["shop"] == {"revenue": Fraction(25, 6), "nps": Fraction(5, 3)}
    assert now.overall("shop") == Fraction(35, 6)
    assert now.perspective("shop", "financial") == Fraction(25, 6)
    assert [(s.unit, s.value) for s in now.shares("shop", "revenue")] == [
        ("north", Fraction(5, 3)),
        ("south", Fraction(5, 2)),
    ]
    assert now.shares("shop", "nps") == ()  # the shop's own goal scored NPS
    assert now.kpis["south"] == {"revenue": Fraction(10, 3), "nps": Fraction(0)}

    before = shop_contributions("2026-11-26T12:00:00Z")
    moved = explain(before, now, "shop")
    assert (moved.before, moved.after) == (Fraction(5, 3), Fraction(35, 6))
    top = moved.kpi_moves()[0]
    assert (top.kpi, top.delta, top.reasons) == ("revenue", Fraction(25, 6), ("value_changed", "children_changed"))
    assert [(c.unit, c.delta) for c in top.children] == [("south", Fraction(5, 2)), ("north", Fraction(5, 3))]
    nps = moved.kpi_moves()[1]
    assert (nps.kpi, nps.delta, nps.reasons) == ("nps", 0, ())
    top = moved.top(1)  # the largest KPI move only, with its largest child; perspectives keep their whole share
    assert [(p.perspective, [k.kpi for k in p.kpis]) for p in top.perspectives] == [("financial", ["revenue"])]
    assert [c.unit for c in top.perspectives[0].kpis[0].children] == ["south"]
    assert top.delta == moved.delta


# ------------------------------------------------------------------------------------------ generated scorecards

BASE = parse_time("2026-11-27T00:00:00Z")
DAY = 86_400
KPIS = ("k0", "k1", "k2", "k3")
WEIGHTS = st.sampled_from([1.0, 2.0, 3.0, 0.5, 1e-3, 7.25, 1e6])
HIGHER = st.sampled_from([(100.0, 50.0), (0.1, 0.0), (1e9, -1e9), (75.5, 75.0)])
LOWER = st.sampled_from([(10.0, 40.0), (-5.0, 0.0), (0.0, 1e6)])


@st.composite
def scorecards(draw: st.DrawFn) -> tuple[Scorecard, list[str]]:
    """An org tree of 1-9 units, 1-3 perspectives, four sum KPIs (one outside every perspective) with random
    default and per-unit targets: units without a goal roll up from their children."""
    count = draw(st.integers(1, 9))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, count)]
    nodes: list[dict[str, Any]] = [{"id": f"u{i}", "weight": draw(WEIGHTS), "children": []} for i in range(count)]
    for child, parent in enumerate(parents, 1):
        nodes[parent]["children"].append(nodes[child])
    n_persp = draw(st.integers(1, 3))
    perspectives = [{"id": f"p{i}", "weight": draw(WEIGHTS)} for i in range(n_persp)]
    objectives = [{"id": f"o{i}", "perspective": f"p{i}"} for i in range(n_persp)]
    units = [f"u{i}" for i in range(count)]
    kpis = []
    for index, kpi_id in enumerate(KPIS):
        kpi: dict[str, Any] = {
            "id": kpi_id,
            "aggregation": "sum",
            "source": {"event": f"e{kpi_id}", "field": "v"},
            "window": {"kind": "tumbling", "size": "1d"},
            "weight": draw(WEIGHTS),
        }
        if index < 3:
            kpi["objective"] = f"o{draw(st.integers(0, n_persp - 1))}"
        targets = draw(st.sampled_from([HIGHER, LOWER]))  # one direction per KPI
        if draw(st.booleans()):
            kpi["goal"], kpi["red_flag"] = draw(targets)
        targeted = draw(st.lists(st.sampled_from(units), unique=True, max_size=count))
        kpi["targets"] = {}
        for unit in targeted:
            goal, red_flag = draw(targets)
            kpi["targets"][unit] = {"goal": goal, "red_flag": red_flag}
        kpis.append(kpi)
    data = {
        "name": "generated",
        "lateness": "30d",
        "perspectives": perspectives,
        "objectives": objectives,
        "org": nodes[0],
        "kpis": kpis,
    }
    return validate_scorecard(data), units


Row = tuple[int, str, float, int]  # unit index, KPI, value, day (0 or 1)


def rows(units: int) -> st.SearchStrategy[list[Row]]:
    values = st.one_of(st.integers(-200, 200).map(float), st.sampled_from([0.1, 1e-6, 49.999999, 75.5, -1e6]))
    return st.lists(st.tuples(st.integers(0, units - 1), st.sampled_from(KPIS), values, st.integers(0, 1)), max_size=30)


def lines(event_rows: list[Row], prefix: str = "e") -> list[bytes]:
    return [
        orjson.dumps(
            {
                "id": f"{prefix}{n}",
                "type": f"e{kpi}",
                "unit": f"u{unit}",
                "time": BASE + day * DAY + n,
                "fields": {"v": v},
            }
        )
        for n, (unit, kpi, v, day) in enumerate(event_rows)
    ]


def evaluate(scorecard: Scorecard, event_lines: list[bytes], at: float) -> tuple[Contributions, dict[str, Any]]:
    result = replay(scorecard, event_lines)
    document = result.evaluate(at)
    return contributions(scorecard, result.tree, scores_from_report(document)), document


def check_shares(shares: tuple[Share, ...], expected: Fraction) -> None:
    """A split sums exactly to what it splits, at every level."""
    if not shares:
        return
    assert sum((s.value for s in shares), Fraction(0)) == expected
    for share in shares:
        check_shares(share.children, share.value)


@settings.get_profile("contributions")
@given(scorecards().flatmap(lambda made: st.tuples(st.just(made), rows(len(made[1])))))
def test_contributions_sum_to_the_score_at_every_unit(case: tuple[tuple[Scorecard, list[str]], list[Row]]) -> None:
    (scorecard, units), event_rows = case
    made, document = evaluate(scorecard, lines(event_rows), BASE + DAY + 3600)
    for unit in units:
        reported = document["units"][unit]
        exact = made.overall(unit)
        assert (exact is None) == (reported["score"] is None)
        if exact is not None:
            assert sum(made.kpis[unit].values(), Fraction(0)) == exact
            assert abs(float(exact) - reported["score"]) <= FLOAT_TOLERANCE
        for p_id, p_score in reported["perspectives"].items():
            share = made.perspective(unit, p_id)
            assert p_score is not None or share == 0
        assert "k3" not in made.kpis[unit]  # in no perspective: contributes nothing
        for kpi_id, contribution in made.kpis[unit].items():
            assert abs(float(made.exact[unit][kpi_id]) - reported["kpis"][kpi_id]["score"]) <= FLOAT_TOLERANCE
            check_shares(made.shares(unit, kpi_id), contribution)


@settings.get_profile("contributions")
@given(scorecards().flatmap(lambda made: st.tuples(st.just(made), rows(len(made[1])))))
def test_deltas_sum_to_the_score_change(case: tuple[tuple[Scorecard, list[str]], list[Row]]) -> None:
    (scorecard, units), event_rows = case
    event_lines = lines(event_rows)
    before, old = evaluate(scorecard, event_lines, BASE + 3600)
    after, new = evaluate(scorecard, event_lines, BASE + DAY + 3600)
    for unit in units:
        moved = explain(before, after, unit)
        deltas = [k.delta for k in moved.kpi_moves()]
        assert sum(deltas, Fraction(0)) == moved.delta
        assert sum((p.delta for p in moved.perspectives), Fraction(0)) == moved.delta
        old_score, new_score = old["units"][unit]["score"] or 0.0, new["units"][unit]["score"] or 0.0
        assert abs(float(moved.delta) - (new_score - old_score)) <= 2 * FLOAT_TOLERANCE
        for kpi in moved.kpi_moves():
            assert bool(kpi.reasons) == (kpi.delta != 0)
            both_rolled = kpi.was is not None and kpi.now is not None and kpi.was.rolled_up and kpi.now.rolled_up
            if both_rolled and kpi.before and kpi.after:
                assert sum((c.delta for c in kpi.children), Fraction(0)) == kpi.delta


@settings.get_profile("contributions")
@given(
    scorecards().flatmap(
        lambda made: st.tuples(
            st.just(made), rows(len(made[1])), rows(len(made[1])).filter(bool), st.integers(0, len(made[1]) - 1)
        )
    )
)
def test_a_change_in_one_team_moves_only_its_ancestors(
    case: tuple[tuple[Scorecard, list[str]], list[Row], list[Row], int],
) -> None:
    (scorecard, units), event_rows, extra_rows, team = case
    extra = [(team, kpi, v, day) for _, kpi, v, day in extra_rows]
    at = BASE + DAY + 3600
    before, _ = evaluate(scorecard, lines(event_rows), at)
    after, _ = evaluate(scorecard, lines(event_rows) + lines(extra, prefix="x"), at)
    ancestors = set(before.tree.ancestors(f"u{team}"))
    for unit in units:
        if unit not in ancestors:
            assert after.kpis[unit] == before.kpis[unit]
            assert all(k.delta == 0 for k in explain(before, after, unit).kpi_moves())
