"""The definition file: the example, defaults, every rejection rule, line numbers, lookups and the balance lint."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorecard.core.definition import (
    AGGREGATIONS,
    CLASSIC_PERSPECTIVES,
    CalendarSpec,
    DefinitionError,
    Problem,
    RollingSpec,
    Scorecard,
    TumblingSpec,
    lint_balance,
    load_scorecard,
    parse_scorecard,
    validate_scorecard,
)

# kpis[0] sum with a target, kpis[1] ratio (lower is better), kpis[2] nps, kpis[3] count without goal.
BASE: dict[str, Any] = {
    "name": "Test scorecard",
    "org": {
        "id": "acme",
        "children": [
            {"id": "sales", "weight": 2, "children": [{"id": "sales-emea"}, {"id": "sales-na"}]},
            {"id": "support"},
        ],
    },
    "objectives": [
        {"id": "grow", "perspective": "financial"},
        {"id": "delight", "perspective": "customer"},
        {"id": "improve", "perspective": "internal_process"},
        {"id": "learn", "perspective": "learning_growth"},
    ],
    "kpis": [
        {
            "id": "revenue",
            "objective": "grow",
            "aggregation": "sum",
            "source": {"event": "order_completed", "field": "amount", "where": {"channel": "online"}},
            "window": {"kind": "tumbling", "size": "1d"},
            "goal": 100,
            "red_flag": 90,
            "targets": {"sales-emea": {"goal": 40, "red_flag": 36}},
        },
        {
            "id": "defect_rate",
            "objective": "improve",
            "aggregation": "ratio",
            "numerator": {"event": "defect_found", "aggregation": "count"},
            "denominator": {"event": "units_produced", "field": "qty", "aggregation": "sum"},
            "window": {"kind": "rolling", "size": "7d", "step": "1d"},
            "goal": 2,
            "red_flag": 5,
        },
        {
            "id": "nps",
            "objective": "delight",
            "aggregation": "nps",
            "source": {"event": "survey_answered", "field": "score"},
            "window": {"kind": "calendar", "period": "quarter"},
            "goal": 40,
            "red_flag": 10,
        },
        {
            "id": "trainings",
            "objective": "learn",
            "aggregation": "count",
            "source": {"event": "training_completed"},
            "window": {"kind": "calendar", "period": "month"},
            "lateness": "2d",
        },
    ],
}


def definition(mutate: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    if mutate is not None:
        mutate(data)
    return data


def parse(data: dict[str, Any]) -> Scorecard:
    return parse_scorecard(yaml.safe_dump(data, sort_keys=False), "test.yaml")


def problems_of(data: Any) -> list[Problem]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(DefinitionError) as caught:
        parse_scorecard(text, "test.yaml")
    return caught.value.problems


def classic_with_financial_weight(weight: float) -> list[dict[str, Any]]:
    return [{"id": "financial", "weight": weight}] + [{"id": p.id} for p in CLASSIC_PERSPECTIVES[1:]]


# ------------------------------------------------------------------------------------------------ valid files


def test_base_definition_is_valid() -> None:
    scorecard = parse(definition())
    assert [k.id for k in scorecard.kpis] == ["revenue", "defect_rate", "nps", "trainings"]


def test_example_validates_without_balance_warnings(example_path: Path) -> None:
    scorecard = load_scorecard(example_path)
    assert lint_balance(scorecard) == []
    assert {k.aggregation for k in scorecard.kpis} == set(AGGREGATIONS)
    assert {k.window.kind for k in scorecard.kpis} == {"tumbling", "calendar", "rolling"}
    periods = {k.window.period for k in scorecard.kpis if isinstance(k.window, CalendarSpec)}
    assert len(periods) >= 2
    assert 12 <= len(scorecard.kpis) <= 18
    assert {p.id for p in scorecard.perspectives} == {p.id for p in CLASSIC_PERSPECTIVES}


def test_example_has_the_features_the_demo_relies_on(example_path: Path) -> None:
    scorecard = load_scorecard(example_path)
    units = list(scorecard._units)
    assert len(units) >= 10
    assert any(k.polarity == "lower_is_better" for k in scorecard.kpis)
    assert any(k.source is not None and k.source.where for k in scorecard.kpis)
    assert any(k.targets for k in scorecard.kpis)
    no_default = [k for k in scorecard.kpis if k.default_target is None]
    assert no_default and all(k.targets for k in no_default)
    assert all(k.owner for k in scorecard.kpis)
    assert all(scorecard.unit(u).owner for u in units)


# ------------------------------------------------------------------------------------------------ defaults


def test_defaults_fill_perspectives_weights_and_settings() -> None:
    scorecard = parse(definition())
    assert scorecard.perspectives == CLASSIC_PERSPECTIVES
    assert [(p.id, p.name, p.weight) for p in scorecard.perspectives] == [
        ("financial", "Financial", 1.0),
        ("customer", "Customer", 1.0),
        ("internal_process", "Internal Process", 1.0),
        ("learning_growth", "Learning & Growth", 1.0),
    ]
    assert scorecard.timezone == "UTC"
    assert scorecard.lateness == 3600
    assert scorecard.dedupe == 86400
    assert scorecard.export.max_depth is None
    assert scorecard.unit("support").weight == 1.0
    assert scorecard.unit("sales").weight == 2.0
    assert scorecard.kpi("revenue").weight == 1.0


def test_kpis_inherit_lateness_unless_they_set_their_own() -> None:
    scorecard = parse(definition(lambda d: d.update(lateness="30m")))
    assert scorecard.kpi("revenue").lateness == 1800
    assert scorecard.kpi("trainings").lateness == 2 * 86400


def test_lateness_may_be_zero() -> None:
    scorecard = parse(definition(lambda d: d.update(lateness="0s")))
    assert scorecard.kpi("revenue").lateness == 0


def test_ratio_multiplier_defaults_to_one_and_stays_none_elsewhere() -> None:
    scorecard = parse(definition())
    assert scorecard.kpi("defect_rate").multiplier == 1.0
    assert scorecard.kpi("revenue").multiplier is None
    with_multiplier = parse(definition(lambda d: d["kpis"][1].update(multiplier=1000)))
    assert with_multiplier.kpi("defect_rate").multiplier == 1000.0


def test_durations_are_seconds_and_still_readable() -> None:
    scorecard = parse(definition())
    tumbling = scorecard.kpi("revenue").window
    rolling = scorecard.kpi("defect_rate").window
    assert isinstance(tumbling, TumblingSpec) and tumbling.size == 86400
    assert isinstance(rolling, RollingSpec) and (rolling.size, rolling.step, rolling.buckets) == (604800, 86400, 7)
    assert tumbling.describe() == "tumbling 1d"
    assert rolling.describe() == "rolling 1w every 1d"


def test_custom_perspectives_replace_the_classic_ones() -> None:
    def two_perspectives(d: dict[str, Any]) -> None:
        d["perspectives"] = [{"id": "money", "weight": 2}, {"id": "people"}]
        d["objectives"] = [{"id": "grow", "perspective": "money"}, {"id": "learn", "perspective": "people"}]
        d["kpis"] = [d["kpis"][0], d["kpis"][3]]

    scorecard = parse(definition(two_perspectives))
    assert [(p.id, p.label, p.weight) for p in scorecard.perspectives] == [
        ("money", "money", 2.0),
        ("people", "people", 1.0),
    ]


# ------------------------------------------------------------------------------------------------ lookups


def test_targets_for_prefers_the_override_then_the_default_then_none() -> None:
    scorecard = parse(definition())
    assert scorecard.targets_for("revenue", "sales-emea") == (40.0, 36.0)
    assert scorecard.targets_for("revenue", "sales-na") == (100.0, 90.0)
    assert scorecard.targets_for("trainings", "acme") is None


def test_lookups_raise_key_error_naming_the_unknown_id() -> None:
    scorecard = parse(definition())
    with pytest.raises(KeyError, match="unknown KPI 'profit'"):
        scorecard.kpi("profit")
    with pytest.raises(KeyError, match="unknown unit 'hr'"):
        scorecard.targets_for("revenue", "hr")


def test_polarity_comes_from_goal_versus_red_flag() -> None:
    scorecard = parse(definition())
    assert scorecard.kpi("revenue").polarity == "higher_is_better"
    assert scorecard.kpi("defect_rate").polarity == "lower_is_better"
    assert scorecard.kpi("trainings").polarity is None


def test_polarity_without_default_comes_from_targets() -> None:
    scorecard = parse(definition(lambda d: d["kpis"][3].update(targets={"support": {"goal": 2, "red_flag": 8}})))
    assert scorecard.kpi("trainings").polarity == "lower_is_better"


def test_perspective_of_and_kpis_of_follow_objectives() -> None:
    scorecard = parse(definition())
    perspective = scorecard.perspective_of("defect_rate")
    assert perspective is not None and perspective.id == "internal_process"
    assert [k.id for k in scorecard.kpis_of("customer")] == ["nps"]


def test_event_types_lists_every_event_once() -> None:
    scorecard = parse(definition())
    assert scorecard.kpi("defect_rate").event_types == ("defect_found", "units_produced")
    assert scorecard.kpi("revenue").event_types == ("order_completed",)


# ------------------------------------------------------------------------------------------------ rejections


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _append(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in path:
            node = node[key]
        node.append(value)

    return mutate


# (id, mutation, expected path, words the message must contain). Each mutation makes exactly one problem.
REJECTIONS: list[tuple[str, Callable[[dict[str, Any]], object], str, list[str]]] = [
    ("unknown top-level key", _set(["colour"], "red"), "colour", ["unknown key 'colour'", "allowed keys"]),
    ("unknown kpi key with hint", _set(["kpis", 0, "red_flg"], 1), "kpis[0].red_flg", ["did you mean 'red_flag'"]),
    ("unknown unit key", _set(["org", "children", 1, "manager"], "x"), "org.children[1].manager", ["unknown key"]),
    ("goal not a number", _set(["kpis", 0, "goal"], "high"), "kpis[0].goal", ["expected a number", "'high'"]),
    ("name not text", _set(["name"], 42), "name", ["expected text", "42"]),
    ("kpis not a list", _set(["kpis"], {"id": "x"}), "kpis", ["expected a list"]),
    ("kpi not a mapping", _set(["kpis", 3], "trainings"), "kpis[3]", ["expected a mapping"]),
    ("missing name", _delete(["name"]), "name", ["required"]),
    ("missing org", _delete(["org"]), "org", ["required", "root unit"]),
    ("missing kpis", _delete(["kpis"]), "kpis", ["required"]),
    ("missing window", _delete(["kpis", 2, "window"]), "kpis[2].window", ["required"]),
    ("empty kpis", _set(["kpis"], []), "kpis", ["at least one KPI"]),
    (
        "duplicate unit id",
        _set(["org", "children", 1, "id"], "sales-na"),
        "org.children[1].id",
        ["duplicate unit id 'sales-na'", "org.children[0].children[1]"],
    ),
    (
        "duplicate perspective id",
        _set(["perspectives"], [{"id": p.id} for p in CLASSIC_PERSPECTIVES] + [{"id": "financial"}]),
        "perspectives[4].id",
        ["duplicate perspective id 'financial'"],
    ),
    (
        "duplicate objective id",
        _append(["objectives"], {"id": "grow", "perspective": "customer"}),
        "objectives[4].id",
        ["duplicate objective id 'grow'"],
    ),
    ("duplicate kpi id", _set(["kpis", 3, "id"], "nps"), "kpis[3].id", ["duplicate KPI id 'nps'"]),
    (
        "objective with unknown perspective",
        _set(["objectives", 0, "perspective"], "finance"),
        "objectives[0].perspective",
        ["unknown perspective 'finance'", "did you mean 'financial'"],
    ),
    (
        "kpi with unknown objective",
        _set(["kpis", 0, "objective"], "growth"),
        "kpis[0].objective",
        ["unknown objective 'growth'", "grow"],
    ),
    (
        "target for unknown unit",
        _set(["kpis", 0, "targets", "sales-apac"], {"goal": 1, "red_flag": 0}),
        "kpis[0].targets.sales-apac",
        ["unknown unit 'sales-apac'"],
    ),
    (
        "several roots",
        lambda d: d.update(org=[d["org"], {"id": "other"}]),
        "org",
        ["exactly one root", "list of 2"],
    ),
    (
        "unit id not lowercase",
        _set(["org", "children", 1, "id"], "Support Desk"),
        "org.children[1].id",
        ["lowercase id", "'Support Desk'"],
    ),
    ("kpi id not lowercase", _set(["kpis", 2, "id"], "NPS"), "kpis[2].id", ["lowercase id"]),
    (
        "objective id not lowercase",
        _append(["objectives"], {"id": "Spare Objective", "perspective": "customer"}),
        "objectives[4].id",
        ["lowercase id"],
    ),
    (
        "field missing for sum",
        _delete(["kpis", 0, "source", "field"]),
        "kpis[0].source.field",
        ["required with aggregation 'sum'"],
    ),
    (
        "field missing for nps",
        _delete(["kpis", 2, "source", "field"]),
        "kpis[2].source.field",
        ["required with aggregation 'nps'", "0-10"],
    ),
    (
        "field given for count",
        _set(["kpis", 3, "source", "field"], "hours"),
        "kpis[3].source.field",
        ["not allowed with aggregation 'count'"],
    ),
    (
        "ratio term sum without field",
        _delete(["kpis", 1, "denominator", "field"]),
        "kpis[1].denominator.field",
        ["required with aggregation 'sum'"],
    ),
    ("ratio without numerator", _delete(["kpis", 1, "numerator"]), "kpis[1].numerator", ["required", "'ratio'"]),
    (
        "ratio with source",
        _set(["kpis", 1, "source"], {"event": "defect_found"}),
        "kpis[1].source",
        ["not allowed with aggregation 'ratio'"],
    ),
    (
        "ratio term with bad aggregation",
        _set(["kpis", 1, "numerator", "aggregation"], "avg"),
        "kpis[1].numerator.aggregation",
        ["'sum' or 'count'", "'avg'"],
    ),
    ("multiplier outside ratio", _set(["kpis", 0, "multiplier"], 100), "kpis[0].multiplier", ["only allowed", "ratio"]),
    (
        "numerator outside ratio",
        _set(["kpis", 0, "numerator"], {"event": "x", "aggregation": "count"}),
        "kpis[0].numerator",
        ["only allowed with aggregation 'ratio'"],
    ),
    ("source missing", _delete(["kpis", 2, "source"]), "kpis[2].source", ["required with aggregation 'nps'"]),
    ("unknown aggregation", _set(["kpis", 0, "aggregation"], "median"), "kpis[0].aggregation", ["'median'", "'nps'"]),
    (
        "rolling size not a multiple of step",
        _set(["kpis", 1, "window", "size"], "36h"),
        "kpis[1].window.size",
        ["whole multiple of step (1d)", "36h"],
    ),
    (
        "rolling size below step",
        _set(["kpis", 1, "window", "size"], "12h"),
        "kpis[1].window.size",
        ["whole multiple of step"],
    ),
    ("bad duration", _set(["kpis", 1, "window", "size"], "7x"), "kpis[1].window.size", ["expected a duration", "'7x'"]),
    ("zero window size", _set(["kpis", 0, "window", "size"], 0), "kpis[0].window.size", ["positive duration"]),
    ("bad lateness", _set(["lateness"], "soon"), "lateness", ["expected a duration", "'soon'"]),
    ("bad kpi lateness", _set(["kpis", 3, "lateness"], -5), "kpis[3].lateness", ["positive duration"]),
    ("bad dedupe", _set(["dedupe"], "0s"), "dedupe", ["positive duration"]),
    (
        "unknown window kind",
        _set(["kpis", 0, "window", "kind"], "sliding"),
        "kpis[0].window.kind",
        ["tumbling, calendar, rolling", "'sliding'"],
    ),
    ("window kind missing", _delete(["kpis", 0, "window", "kind"]), "kpis[0].window.kind", ["required", "rolling"]),
    (
        "calendar period unknown",
        _set(["kpis", 2, "window", "period"], "fortnight"),
        "kpis[2].window.period",
        ["'quarter'", "'fortnight'"],
    ),
    ("tumbling with a step", _set(["kpis", 0, "window", "step"], "1h"), "kpis[0].window.step", ["unknown key 'step'"]),
    ("goal equal to red flag", _set(["kpis", 0, "red_flag"], 100), "kpis[0].red_flag", ["equal to goal (100)"]),
    ("goal without red flag", _delete(["kpis", 0, "red_flag"]), "kpis[0].red_flag", ["required when goal is given"]),
    ("red flag without goal", _delete(["kpis", 0, "goal"]), "kpis[0].goal", ["required when red_flag is given"]),
    (
        "target without red flag",
        _delete(["kpis", 0, "targets", "sales-emea", "red_flag"]),
        "kpis[0].targets.sales-emea.red_flag",
        ["required when goal is given"],
    ),
    (
        "target goal equal to red flag",
        _set(["kpis", 0, "targets", "sales-emea"], {"goal": 36, "red_flag": 36}),
        "kpis[0].targets.sales-emea.red_flag",
        ["equal to goal (36)"],
    ),
    (
        "empty target",
        _set(["kpis", 0, "targets", "sales-emea"], {}),
        "kpis[0].targets.sales-emea",
        ["goal and red_flag", "neither"],
    ),
    (
        "target contradicts default polarity",
        _set(["kpis", 0, "targets", "sales-emea"], {"goal": 36, "red_flag": 40}),
        "kpis[0].targets.sales-emea",
        ["lower is better", "contradicts the KPI default", "higher is better"],
    ),
    (
        "targets contradict each other without default",
        _set(
            ["kpis", 3, "targets"],
            {"sales": {"goal": 10, "red_flag": 2}, "support": {"goal": 2, "red_flag": 10}},
        ),
        "kpis[3].targets.support",
        ["contradicts targets.sales"],
    ),
    (
        "unknown timezone",
        _set(["timezone"], "Europe/Pariss"),
        "timezone",
        ["unknown timezone 'Europe/Pariss'", "IANA", "did you mean 'Europe/Paris'"],
    ),
    ("zero unit weight", _set(["org", "children", 0, "weight"], 0), "org.children[0].weight", ["> 0", "got 0"]),
    (
        "negative perspective weight",
        _set(["perspectives"], classic_with_financial_weight(-1)),
        "perspectives[0].weight",
        ["> 0", "-1"],
    ),
    ("zero kpi weight", _set(["kpis", 2, "weight"], 0), "kpis[2].weight", ["> 0"]),
    ("zero multiplier", _set(["kpis", 1, "multiplier"], 0), "kpis[1].multiplier", ["> 0"]),
    ("infinite goal", _set(["kpis", 2, "goal"], float("inf")), "kpis[2].goal", ["finite"]),
    ("boolean weight", _set(["kpis", 2, "weight"], True), "kpis[2].weight", ["expected a number", "true"]),
    ("nps goal out of range", _set(["kpis", 2, "goal"], 120), "kpis[2].goal", ["between -100 and 100", "120"]),
    (
        "negative count goal",
        lambda d: d["kpis"][3].update(goal=-1, red_flag=5),
        "kpis[3].goal",
        ["count >= 0", "-1"],
    ),
    (
        "where with a list value",
        _set(["kpis", 0, "source", "where", "channel"], ["online", "shop"]),
        "kpis[0].source.where.channel",
        ["string, number or boolean"],
    ),
    ("negative export depth", _set(["export"], {"max_depth": -1}), "export.max_depth", [">= 0"]),
    ("unknown version", _set(["version"], 2), "version", ["expected 1", "2"]),
    ("empty perspectives", _set(["perspectives"], []), "perspectives", ["at least one perspective"]),
]


@pytest.mark.parametrize(("mutate", "path", "words"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_each_rule_reports_one_problem_with_its_path(
    mutate: Callable[[dict[str, Any]], object], path: str, words: list[str]
) -> None:
    problems = problems_of(definition(mutate))
    assert [p.path for p in problems] == [path], problems
    for word in words:
        assert word in problems[0].message, (word, problems[0].message)


def test_all_problems_of_a_file_are_reported_in_file_order_with_lines(definitions_dir: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_scorecard(definitions_dir / "many_problems.yaml")
    found = [(p.line, p.path) for p in caught.value.problems]
    assert found == [
        (2, "timezone"),
        (7, "org.children[1].id"),
        (9, "objectives[0].perspective"),
        (14, "kpis[0].source.field"),
        (15, "kpis[0].window.size"),
        (17, "kpis[0].red_flag"),
    ]


def test_error_text_lists_every_problem_with_file_and_line(definitions_dir: Path) -> None:
    path = definitions_dir / "many_problems.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_scorecard(path)
    text = str(caught.value)
    assert text.startswith(f"6 problems in {path}:")
    assert f"{path}:15: kpis[0].window.size: expected a whole multiple of step (1d), got 36h" in text
    assert len(text.splitlines()) == 7


def test_a_broken_kpi_does_not_hide_problems_elsewhere() -> None:
    def two_mistakes(d: dict[str, Any]) -> None:
        d["kpis"][0]["window"]["size"] = "7x"  # structure error in the KPI...
        d["kpis"][0]["objective"] = "growth"  # ...and a reference error in the same KPI
        d["kpis"][0]["targets"]["sales-apac"] = {"goal": 1, "red_flag": 0}
        d["kpis"][2]["goal"] = d["kpis"][2]["red_flag"]  # a rule error in another KPI
        d["objectives"][1]["colour"] = "blue"  # an objective that fails still counts as known

    paths = {p.path for p in problems_of(definition(two_mistakes))}
    assert paths == {
        "kpis[0].window.size",
        "kpis[0].objective",
        "kpis[0].targets.sales-apac",
        "kpis[2].red_flag",
        "objectives[1].colour",
    }


def test_a_malformed_reference_gets_one_message_not_two() -> None:
    problems = problems_of(definition(_set(["kpis", 0, "objective"], "Grow")))
    assert [p.path for p in problems] == ["kpis[0].objective"]
    assert "lowercase id" in problems[0].message


def test_line_numbers_point_at_the_offending_key() -> None:
    text = """\
name: Lines
org:
  id: acme
  children:
    - id: sales
      weight: -2
kpis:
  - id: orders
    aggregation: count
    source: {event: order_completed}
    window:
      kind: tumbling
      size: 15x
    goal: 5
"""
    problems = problems_of(text)
    assert [(p.line, p.path) for p in problems] == [
        (6, "org.children[0].weight"),
        (8, "kpis[0].red_flag"),  # a missing key gets the line of its closest parent: the KPI item
        (13, "kpis[0].window.size"),
    ]
    assert problems[2].format("lines.yaml").startswith("lines.yaml:13: kpis[0].window.size: expected a duration")


def test_a_cycle_made_with_a_yaml_alias_is_one_duplicate_unit_problem() -> None:
    text = """\
name: Cycle
org: &root
  id: acme
  children:
    - id: sales
      children: [*root]
kpis:
  - {id: k, aggregation: count, source: {event: e}, window: {kind: tumbling, size: 1h}}
"""
    [problem] = problems_of(text)
    assert problem.path == "org.children[0].children[0].id"
    assert "duplicate unit id 'acme' (already used at org, line 2)" in problem.message


def test_duplicate_yaml_keys_are_reported_with_both_lines() -> None:
    text = (
        "name: One\n"
        "name: Two\n"
        "org: {id: acme}\n"
        "kpis:\n"
        "  - {id: k, aggregation: count, source: {event: e}, window: {kind: tumbling, size: 1h}}\n"
    )
    problems = problems_of(text)
    assert [(p.line, p.path) for p in problems] == [(2, "name")]
    assert "duplicate key 'name' (first at line 1)" in problems[0].message


def test_yaml_syntax_error_is_reported_with_its_line(definitions_dir: Path) -> None:
    path = definitions_dir / "syntax_error.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_scorecard(path)
    [problem] = caught.value.problems
    assert problem.line == 7
    assert problem.message.startswith("YAML syntax error")
    assert str(caught.value).splitlines()[1].startswith(f"{path}:7: YAML syntax error")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "got nothing"),
        ("- a\n- b\n", "got a list"),
        ("just text\n", "got 'just text'"),
    ],
)
def test_a_document_that_is_not_a_mapping_is_rejected(text: str, words: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert "expected a mapping with name, org" in problems[0].message and words in problems[0].message


def test_several_documents_are_a_syntax_error() -> None:
    [problem] = problems_of("name: a\n---\nname: b\n")
    assert "YAML syntax error" in problem.message and problem.line == 2


def test_unreadable_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read the file"):
        load_scorecard(tmp_path / "missing.yaml")
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionError, match="cannot read the file"):
        load_scorecard(latin)


def test_validate_scorecard_accepts_parsed_data_and_optional_lines() -> None:
    scorecard = validate_scorecard(definition())
    assert scorecard.kpi("nps").window == CalendarSpec(kind="calendar", period="quarter")
    with pytest.raises(DefinitionError) as caught:
        validate_scorecard(definition(_set(["name"], "")), "data", lines={("name",): 3})
    assert [p.format("data") for p in caught.value.problems] == ["data:3: name: expected non-empty text, got ''"]


def test_problem_format_leaves_out_unknown_parts() -> None:
    assert Problem("kpis[0].goal", "bad", 4).format("f.yaml") == "f.yaml:4: kpis[0].goal: bad"
    assert Problem("kpis[0].goal", "bad").format("f.yaml") == "f.yaml: kpis[0].goal: bad"
    assert Problem("", "unreadable").format() == "unreadable"


# ------------------------------------------------------------------------------------------------ balance lint


def test_balanced_definition_has_no_warnings() -> None:
    assert lint_balance(parse(definition())) == []


def test_perspective_without_kpi_is_warned_about() -> None:
    scorecard = parse(definition(lambda d: d["kpis"].pop(2)))  # the only customer KPI
    messages = {(w.path, w.message) for w in lint_balance(scorecard)}
    assert ("perspectives[1]", "perspective 'customer' has no KPI; its weight counts for nothing") in messages
    assert ("objectives[1]", "objective 'delight' has no KPI measuring it") in messages
    assert len(messages) == 2


def test_objective_without_kpi_is_warned_about_with_its_line() -> None:
    scorecard = parse(definition(_append(["objectives"], {"id": "spare", "perspective": "customer"})))
    [warning] = lint_balance(scorecard)
    assert warning.path == "objectives[4]" and "'spare' has no KPI" in warning.message
    assert warning.line is not None and warning.line > 1


def test_kpi_without_objective_is_warned_about() -> None:
    def detach(d: dict[str, Any]) -> None:
        del d["kpis"][3]["objective"]
        d["kpis"].append({**copy.deepcopy(d["kpis"][2]), "id": "nps-learn", "objective": "learn"})

    [warning] = lint_balance(parse(definition(detach)))
    assert warning.path == "kpis[3]" and "'trainings' is linked to no objective" in warning.message


@pytest.mark.parametrize(("weight", "warned"), [(3, False), (3.01, True)])
def test_more_than_half_of_the_effective_weight_is_warned_about(weight: float, warned: bool) -> None:
    scorecard = parse(definition(_set(["perspectives"], [{"id": p.id} for p in CLASSIC_PERSPECTIVES])))
    assert lint_balance(scorecard) == []
    heavy = definition(
        _set(
            ["perspectives"], [{"id": "financial", "weight": weight}] + [{"id": p.id} for p in CLASSIC_PERSPECTIVES[1:]]
        )
    )
    warnings = lint_balance(parse(heavy))
    assert [w.path for w in warnings] == (["perspectives[0]"] if warned else [])
    if warned:
        assert "more than half" in warnings[0].message


def test_effective_weight_ignores_perspectives_without_kpis() -> None:
    # financial 2 vs customer 1 + internal 1 + (learning 1 but no KPI): 2 / 4 is not more than half...
    balanced = definition(
        lambda d: (
            d.update(
                perspectives=[{"id": "financial", "weight": 2}] + [{"id": p.id} for p in CLASSIC_PERSPECTIVES[1:]]
            ),
            d["kpis"].pop(3),
        )
    )
    paths = [w.path for w in lint_balance(parse(balanced))]
    assert paths == ["perspectives[3]", "objectives[3]"]
    # ...but 2.5 / 4.5 is.
    heavy = copy.deepcopy(balanced)
    heavy["perspectives"][0]["weight"] = 2.5
    paths = [w.path for w in lint_balance(parse(heavy))]
    assert paths == ["perspectives[3]", "perspectives[0]", "objectives[3]"]


@pytest.mark.parametrize(
    ("window", "warned"),
    [
        ({"kind": "tumbling", "size": "1w"}, True),
        ({"kind": "tumbling", "size": "14d"}, True),
        ({"kind": "rolling", "size": "4w", "step": "1w"}, True),
        ({"kind": "tumbling", "size": "1d"}, False),
        ({"kind": "rolling", "size": "7d", "step": "1d"}, False),
        ({"kind": "calendar", "period": "week"}, False),
    ],
)
def test_whole_week_buckets_are_warned_about_they_start_on_thursdays(window: dict[str, Any], warned: bool) -> None:
    warnings = lint_balance(parse(definition(_set(["kpis", 0, "window"], window))))
    assert [w.path for w in warnings] == (["kpis[0].window"] if warned else [])
    if warned:
        assert "Thursdays" in warnings[0].message and "period: week" in warnings[0].message
