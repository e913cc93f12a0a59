"""The definition loader's limits: hostile or absurd files get one clear ``file:line: path: message``, never a
traceback, a hang or unbounded memory; and every duration a valid definition can hold works in the engine at both
ends of the event time range."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorecard.core.definition import (
    MAX_DEDUPE,
    MAX_FILE_BYTES,
    MAX_LATENESS,
    MAX_NESTING,
    MAX_NODES,
    MAX_ORG_DEPTH,
    DefinitionError,
    Problem,
    Scorecard,
    Unit,
    load_scorecard,
    loading,
    parse_scorecard,
    validate_scorecard,
)
from scorecard.core.definition import problems as definition_problems
from scorecard.core.engine import Engine, Outcome, UnitState
from scorecard.core.events import InvalidEvent, decode_event
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import replay
from scorecard.core.timeutil import EVENT_TIME_END, EVENT_TIME_MIN, format_time
from scorecard.core.trends import replay_trends
from scorecard.core.windows import (
    MAX_BUCKETS_PER_UNIT,
    MAX_BUCKETS_PER_WINDOW,
    MAX_WINDOW_SECONDS,
    Rolling,
    Tumbling,
    WindowError,
)
from scorecard.outputs.report_html import render_html
from scorecard.outputs.table import render_text

KPI = "kpis: [{id: k, aggregation: count, source: {event: e}, window: {kind: tumbling, size: 1h}}]\n"
VALID = "name: Limits\norg: {id: solo}\n" + KPI


def base() -> dict[str, Any]:
    return {
        "name": "Limits",
        "org": {"id": "solo"},
        "kpis": [
            {"id": "k", "aggregation": "count", "source": {"event": "e"}, "window": {"kind": "tumbling", "size": 3600}}
        ],
    }


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        parse_scorecard(text, "limits.yaml")
    return caught.value.problems


def data_problems(data: Any) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        validate_scorecard(data)
    return caught.value.problems


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with each of the two loaders: libyaml's parser (the default) and the pure-Python fallback."""
    if request.param == "pure":
        monkeypatch.setattr(loading, "_LOADER", loading._PureLoader)
    yield request.param


def test_both_loaders_read_a_valid_file(loader: str) -> None:
    assert parse_scorecard(VALID).org.id == "solo"


# ------------------------------------------------------------------------------------------------ alias bombs

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_is_refused_at_the_value_budget(loader: str) -> None:
    assert len(BILLION_LAUGHS) < 400  # 9**9 "lol"s once expanded
    [problem] = problems_of(BILLION_LAUGHS)
    assert f"more than {MAX_NODES:,} values once its YAML aliases are expanded" in problem.message
    assert problem.line is not None and problem.path  # where the walk stopped, inside the aliased lists


def test_aliases_within_the_budget_still_work(loader: str) -> None:
    text = VALID.replace("kpis:", "x-defaults: &window {kind: tumbling, size: 1h}\nkpis:")
    text += "  - {id: k2, aggregation: count, source: {event: e}, window: *window}\n"
    text = text.replace("kpis: [", "kpis:\n  - ").replace("1h}}]\n", "1h}}\n")
    [problem] = problems_of(text)  # the unknown top-level key, and nothing about aliases
    assert problem.path == "x-defaults" and "unknown key" in problem.message


def test_a_merge_key_override_is_not_a_duplicate_key(loader: str) -> None:
    text = """\
name: Merge
org: {id: solo}
kpis:
  - {id: k1, aggregation: count, source: {event: e}, window: &w {kind: rolling, size: 7d, step: 1d}}
  - {id: k2, aggregation: count, source: {event: e}, window: {<<: *w, size: 14d}}
"""
    window = parse_scorecard(text).kpi("k2").window
    assert (window.kind, getattr(window, "size", None)) == ("rolling", 14 * 86400)


# ------------------------------------------------------------------------------------------------ size and depth


def test_a_file_larger_than_the_cap_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(10**10)  # a sparse 10 GB file: reading it whole would take the machine's memory
    with pytest.raises(DefinitionError) as caught:
        load_scorecard(huge)
    [problem] = caught.value.problems
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in problem.message
    assert str(caught.value).splitlines()[1].startswith(f"{huge}: the file is larger")


def test_the_size_cap_is_exact(tmp_path: Path) -> None:
    padding = MAX_FILE_BYTES - len(VALID) - len("#\n")
    at_cap = VALID + "#" + "x" * padding + "\n"
    path = tmp_path / "at-cap.yaml"
    path.write_text(at_cap)
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_scorecard(path).name == "Limits"
    path.write_text(at_cap + "\n")
    with pytest.raises(DefinitionError, match="larger than"):
        load_scorecard(path)
    with pytest.raises(DefinitionError, match="larger than"):
        parse_scorecard(at_cap + "\n")
    # multi-byte characters count in bytes, as in the file
    with pytest.raises(DefinitionError, match="larger than"):
        parse_scorecard(VALID + "#" + "é" * (MAX_FILE_BYTES // 2))


@pytest.mark.parametrize(
    "deep",
    [
        pytest.param("description: " + "[" * 5000 + "]" * 5000 + "\n", id="flow lists"),
        pytest.param("description: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", id="flow mappings"),
        pytest.param(
            "description:\n" + "".join(" " * i + "- \n" for i in range(1, 150)) + " " * 150 + "x\n", id="block"
        ),
        pytest.param("description:\n  " + "- " * 5000 + "x\n", id="block list on one line"),
        pytest.param("description: " + "[" * MAX_NESTING + "]" * MAX_NESTING + "\n", id="just over"),
    ],
)
def test_nesting_deeper_than_the_cap_is_one_problem(loader: str, deep: str) -> None:
    [problem] = problems_of(VALID + deep)
    assert f"nested more than {MAX_NESTING} levels deep" in problem.message
    assert problem.line is not None and problem.line >= 3


def test_nesting_at_the_cap_is_fine(loader: str) -> None:
    at_cap = "description: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "\n"  # the root mapping is 1
    [problem] = problems_of(VALID + at_cap)
    assert problem.path == "description" and "expected text" in problem.message


@pytest.mark.parametrize(
    ("links", "kind"),
    [(300, "aliases"), (3000, "merge keys")],
)
def test_chains_of_aliases_deeper_than_the_cap_are_refused_before_construction(
    loader: str, links: int, kind: str
) -> None:
    if kind == "aliases":
        chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, links))
    else:  # PyYAML merges recursively: this used to be a RecursionError in the constructor
        chain = "m0: &m0 {x: 1}\n" + "".join(f"m{i}: &m{i} {{<<: *m{i - 1}}}\n" for i in range(1, links))
    [problem] = problems_of(chain + VALID)
    assert f"nested more than {MAX_NESTING} levels deep (aliases included)" in problem.message


def test_data_given_directly_has_the_same_limits() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    [problem] = data_problems({**base(), "description": deep})
    assert f"nested more than {MAX_NESTING} levels deep" in problem.message
    shared = ["x"] * 1000
    [problem] = data_problems({**base(), "description": [shared] * 1000})  # a million values, a thousand objects
    assert f"more than {MAX_NODES:,} values" in problem.message


# ------------------------------------------------------------------------------------------------ org depth


def chain(levels: int) -> dict[str, Any]:
    """A root with ``levels`` units nested below it, one per level."""
    unit: dict[str, Any] = {"id": f"u{levels}"}
    for level in range(levels - 1, -1, -1):
        unit = {"id": f"u{level}", "children": [unit]}
    return unit


def chain_text(levels: int) -> str:
    """``chain`` as a YAML file, written out by hand: PyYAML's dumper recurses and cannot write a very deep one."""
    org = "".join(f"{{id: u{level}, children: [" for level in range(levels)) + f"{{id: u{levels}}}" + "]}" * levels
    return "name: Deep\norg: " + org + "\n" + KPI


def test_an_org_as_deep_as_the_cap_is_valid() -> None:
    scorecard = parse_scorecard(yaml.safe_dump({**base(), "org": chain(MAX_ORG_DEPTH)}))
    assert OrgTree.from_scorecard(scorecard).height == MAX_ORG_DEPTH


def test_an_org_one_level_deeper_names_the_unit_and_the_fix() -> None:
    text = yaml.safe_dump({**base(), "org": chain(MAX_ORG_DEPTH + 1)}, sort_keys=False)
    [problem] = problems_of(text)
    assert problem.path == "org" + ".children[0]" * (MAX_ORG_DEPTH + 1)
    assert f"at most {MAX_ORG_DEPTH} levels deep" in problem.message and "attach it higher up" in problem.message
    assert problem.line is not None and problem.line > MAX_ORG_DEPTH


@pytest.mark.parametrize("levels", [250, 2000])
def test_a_very_deep_org_is_a_problem_not_a_recursion_error(levels: int) -> None:
    [problem] = problems_of(chain_text(levels))
    assert "nested more than" in problem.message and f"org tree of {MAX_ORG_DEPTH} levels" in problem.message
    data = {**base(), "org": chain(levels)}  # as data (no YAML), the depth is checked before pydantic recurses
    [problem] = data_problems(data)
    assert "nested more than" in problem.message


def test_the_org_depth_is_checked_before_pydantic_even_within_the_nesting_cap() -> None:
    data = {**base(), "org": chain(40)}  # 40 levels: 83 nested values, under the nesting cap
    [problem] = data_problems(data)
    assert f"at most {MAX_ORG_DEPTH} levels deep" in problem.message


def test_org_tree_refuses_a_too_deep_tree_built_in_code() -> None:
    unit = Unit(id="leaf")
    for level in range(MAX_ORG_DEPTH + 1):
        unit = Unit(id=f"u{level}", children=(unit,))
    with pytest.raises(ValueError, match=f"more than {MAX_ORG_DEPTH}"):
        OrgTree(unit)
    assert OrgTree(unit.children[0]).height == MAX_ORG_DEPTH


# ------------------------------------------------------------------------------------------------ durations


def with_settings(**settings: Any) -> str:
    return yaml.safe_dump({**base(), **settings}, sort_keys=False)


def with_window(window: dict[str, Any], **kpi: Any) -> str:
    data = base()
    data["kpis"][0].update(window=window, **kpi)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        (with_settings(lateness="99999999w"), "lateness", ["at most 1095d (3 years)", "got 99999999w"]),
        (with_settings(lateness="1096d"), "lateness", ["at most 1095d", "got 1096d"]),
        (with_settings(lateness=10**40), "lateness", ["at most 1095d", "got a very large number"]),
        (with_window({"kind": "tumbling", "size": "1h"}, lateness="4000w"), "kpis[0].lateness", ["at most 1095d"]),
        (with_settings(dedupe="1096d"), "dedupe", ["dedupe horizon of at most 1095d", "got 1096d"]),
        (with_settings(dedupe="9" * 5000 + "s"), "dedupe", ["at most 1095d", "got '9999"]),
        (
            with_window({"kind": "tumbling", "size": "99999999999999w"}),
            "kpis[0].window.size",
            ["window of at most 104w (728 days)", "'99999999999999w'", "period: year"],
        ),
        (with_window({"kind": "tumbling", "size": "105w"}), "kpis[0].window.size", ["at most 104w", "got 105w"]),
        (
            with_window({"kind": "rolling", "size": "106w", "step": "53w"}),
            "kpis[0].window.size",
            ["at most 104w", "got 106w"],
        ),
    ],
)
def test_durations_beyond_what_the_engine_represents_are_refused(text: str, path: str, words: list[str]) -> None:
    [problem] = problems_of(text)
    assert problem.path == path and problem.line is not None
    for word in words:
        assert word in problem.message, (word, problem.message)
    assert len(problem.message) < 300


def test_durations_at_their_limits_are_valid() -> None:
    scorecard = parse_scorecard(with_settings(lateness="1095d", dedupe=MAX_DEDUPE))
    assert (scorecard.lateness, scorecard.dedupe) == (MAX_LATENESS, MAX_DEDUPE)
    window = parse_scorecard(with_window({"kind": "tumbling", "size": "104w"})).kpi("k").window
    assert getattr(window, "size", None) == MAX_WINDOW_SECONDS


def extreme_definition(timezone: str) -> Scorecard:
    """Every window kind at the largest size allowed, lateness and dedupe at their limits."""
    kpis: list[dict[str, Any]] = [
        {"id": "tumbling", "window": {"kind": "tumbling", "size": "104w"}},
        {"id": "rolling", "window": {"kind": "rolling", "size": "104w", "step": "1w"}},
        {"id": "fine", "window": {"kind": "rolling", "size": "1000s", "step": "1s"}},
        *({"id": f"cal-{p}", "window": {"kind": "calendar", "period": p}} for p in ("day", "week", "month", "year")),
        {"id": "quarter", "window": {"kind": "calendar", "period": "quarter"}, "lateness": 0},
    ]
    for kpi in kpis:
        kpi.update(aggregation="sum", source={"event": "e", "field": "x"}, goal=10, red_flag=1)
    data = {
        "name": "Extremes",
        "timezone": timezone,
        "lateness": "1095d",
        "dedupe": "1095d",
        "org": {"id": "root", "children": [{"id": "leaf"}]},
        "kpis": kpis,
    }
    return parse_scorecard(yaml.safe_dump(data))


def test_the_event_time_range_is_the_one_the_decoder_accepts() -> None:
    def event(when: float) -> str:
        return json.dumps({"id": "1", "type": "e", "unit": "leaf", "time": when})

    for when in (EVENT_TIME_MIN, EVENT_TIME_END - 1):
        assert decode_event(event(when)).time == when
    for when in (EVENT_TIME_MIN - 1, EVENT_TIME_END):
        with pytest.raises(InvalidEvent):
            decode_event(event(when))


# The two ends of the event time range: the first second, and the last instant before the end.
ENDS = [EVENT_TIME_MIN, EVENT_TIME_END - 1, EVENT_TIME_END - 0.001]


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"])  # UTC+14 and UTC-12
def test_the_largest_durations_work_in_the_engine_at_both_ends_of_time(timezone: str) -> None:
    scorecard = extreme_definition(timezone)
    engine = Engine(scorecard)
    for t in ENDS:
        for compiled in engine.kpis.values():
            window = compiled.window
            for when in (t, t - compiled.lateness, t - scorecard.dedupe):
                start, end = window.span(when)
                assert start <= window.bucket(when) <= when < end
                assert window.oldest_needed(when) < start
                assert len(window.buckets_at(when)) <= MAX_BUCKETS_PER_WINDOW
                assert format_time(start) and format_time(end)  # inside datetime's years 1-9999
        state = UnitState()
        times = (t, max(t - 1, EVENT_TIME_MIN), max(t - MAX_LATENESS + 1, EVENT_TIME_MIN), t)
        for number, when in enumerate(times):
            event = decode_event(
                json.dumps({"id": f"e{number}", "type": "e", "unit": "leaf", "time": when, "fields": {"x": 1}})
            )
            assert engine.process(state, event).outcome is Outcome.ACCEPTED
        duplicate = decode_event(json.dumps({"id": "e0", "type": "e", "unit": "leaf", "time": t, "fields": {"x": 1}}))
        assert engine.process(state, duplicate).outcome is Outcome.DUPLICATE
        engine.expire(state)
        engine.expire(state, at=t - MAX_LATENESS)
        assert state.aggregates  # the current windows stay


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_reports_trends_and_pages_work_at_both_ends_of_time(timezone: str) -> None:
    scorecard = extreme_definition(timezone)
    for t in ENDS:
        lines = [
            json.dumps({"id": f"e{n}", "type": "e", "unit": "leaf", "time": when, "fields": {"x": 5}})
            for n, when in enumerate((t, max(t - MAX_LATENESS + 1, EVENT_TIME_MIN), max(t - 1, EVENT_TIME_MIN)))
        ]
        result = replay(scorecard, lines)
        assert result.counts.get("accepted") == 3
        for at in (t, EVENT_TIME_MIN, EVENT_TIME_END - 1):
            report = result.evaluate(at)
            assert report["units"]["root"]["kpis"]["tumbling"]["window"]["end"]
            assert "Extremes at" in render_text(scorecard, report)
            trends = replay_trends(result, at, 100, report)
            assert "<html" in render_html(scorecard, report, trends=trends)


def test_window_classes_refuse_what_the_definition_refuses() -> None:
    assert Tumbling(MAX_WINDOW_SECONDS).size == MAX_WINDOW_SECONDS
    with pytest.raises(WindowError, match="at most"):
        Tumbling(MAX_WINDOW_SECONDS + 1)
    assert Rolling(MAX_BUCKETS_PER_WINDOW, 1).count == MAX_BUCKETS_PER_WINDOW
    with pytest.raises(WindowError, match="use a step of at least 2s"):
        Rolling(MAX_BUCKETS_PER_WINDOW + 2, 1)


# ------------------------------------------------------------------------------------------------ buckets


def test_a_rolling_window_of_absurdly_many_buckets_names_the_smallest_step() -> None:
    [problem] = problems_of(with_window({"kind": "rolling", "size": "365d", "step": "1s"}))
    assert problem.path == "kpis[0].window.step"
    assert f"at most {MAX_BUCKETS_PER_WINDOW:,} buckets per window" in problem.message
    assert "got 31,536,000" in problem.message and "at least 31536s" in problem.message
    [problem] = problems_of(with_window({"kind": "rolling", "size": "7d", "step": "1m"}))
    assert "got 10,080" in problem.message and "at least 630s" in problem.message  # 960 buckets of 10m30s


def test_the_buckets_per_window_cap_is_exact() -> None:
    assert parse_scorecard(with_window({"kind": "rolling", "size": 1000, "step": 1})).kpi("k")
    [problem] = problems_of(with_window({"kind": "rolling", "size": 1001, "step": 1}))
    assert problem.path == "kpis[0].window.step" and "at least 7s" in problem.message  # 1001 = 7 x 143


def test_the_kpis_together_may_need_at_most_the_unit_cap() -> None:
    full = MAX_BUCKETS_PER_UNIT // MAX_BUCKETS_PER_WINDOW

    def kpis(count: int) -> list[dict[str, Any]]:
        window = {"kind": "rolling", "size": MAX_BUCKETS_PER_WINDOW * 60, "step": 60}
        return [{**copy.deepcopy(base()["kpis"][0]), "id": f"k{i}", "window": window} for i in range(count)]

    assert len(parse_scorecard(yaml.safe_dump({**base(), "kpis": kpis(full)})).kpis) == full
    [problem] = problems_of(yaml.safe_dump({**base(), "kpis": [*kpis(full), base()["kpis"][0]]}))
    assert problem.path == "kpis"
    assert f"need {MAX_BUCKETS_PER_UNIT + 1:,} buckets per unit together" in problem.message
    assert f"at most {MAX_BUCKETS_PER_UNIT:,}" in problem.message and "kpis[0] (1,000)" in problem.message


# ------------------------------------------------------------------------------------------------ reserved ids


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (lambda d: d["org"].update(children=[{"id": "__invalid__"}]), "org.children[0].id"),
        (lambda d: d["org"].update(id="__root"), "org.id"),
        (lambda d: d["kpis"][0].update(id="__k"), "kpis[0].id"),
        (lambda d: d.update(objectives=[{"id": "__o", "perspective": "financial"}]), "objectives[0].id"),
        (lambda d: d.update(perspectives=[{"id": "__p"}]), "perspectives[0].id"),
    ],
)
def test_ids_starting_with_two_underscores_are_reserved(where: Any, path: str) -> None:
    data = base()
    where(data)
    [problem] = problems_of(yaml.safe_dump(data, sort_keys=False))
    assert problem.path == path
    assert "reserved for the pipeline's own keys" in problem.message and "'__invalid__'" in problem.message


def test_a_reference_to_a_reserved_id_gets_one_message_and_other_underscores_are_fine() -> None:
    data = base()
    data["kpis"][0]["objective"] = "__grow"
    [problem] = problems_of(yaml.safe_dump(data))
    assert problem.path == "kpis[0].objective" and "reserved" in problem.message
    data = base()
    data["org"]["children"] = [{"id": "_one"}, {"id": "a__b"}, {"id": "x__"}]
    assert len(parse_scorecard(yaml.safe_dump(data)).org.children) == 3


# ------------------------------------------------------------------------------------------------ suggestions


def test_suggestions_cost_linear_time_in_a_file_full_of_wrong_references(monkeypatch: pytest.MonkeyPatch) -> None:
    units, wrong = 2000, 2000
    compared: list[int] = []
    original = definition_problems.difflib.get_close_matches

    def counting(word: str, possibilities: Any, *args: Any, **kwargs: Any) -> list[str]:
        compared.append(len(possibilities))
        return original(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(definition_problems.difflib, "get_close_matches", counting)
    data = base()
    data["org"]["children"] = [{"id": f"unit-{i:05d}"} for i in range(units)]
    data["kpis"] = [
        {
            **base()["kpis"][0],
            "id": f"k{k}",
            "targets": {f"unit-{k * 50 + j:05d}x": {"goal": 2, "red_flag": 1} for j in range(50)},
        }
        for k in range(wrong // 50)
    ]
    problems = problems_of(yaml.safe_dump(data))
    assert len(problems) == wrong
    assert sum(compared) <= definition_problems._SUGGESTION_BUDGET  # was units x wrong = 4,000,000 comparisons
    assert problems[0].message.endswith("did you mean 'unit-00000'?")  # the first ones still get their hint
    assert all(p.message.startswith("unknown unit") for p in problems)
