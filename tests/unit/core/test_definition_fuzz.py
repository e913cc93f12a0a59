"""Fuzzing the definition loader: any text or data gives a valid Scorecard or a DefinitionError whose problems each
say where and what, never another exception, in bounded time.

Most inputs are near-valid on purpose (the example and the minimal definition with a few mutations, as data or as
text), because random junk is rejected at the first line and would exercise little; the junk generators are there
too. Each test counts how many inputs were valid and how many were not and asserts both happened often enough, so a
generator that drifted into producing only one kind would fail instead of passing vacuously. The example budgets
are fixed and the runs derandomized: the same inputs on every run, a few seconds in all.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorecard.core.definition import (
    MAX_LATENESS,
    MAX_ORG_DEPTH,
    DefinitionError,
    Scorecard,
    lint_balance,
    parse_scorecard,
    validate_scorecard,
)
from scorecard.core.engine import Engine
from scorecard.core.windows import MAX_BUCKETS_PER_UNIT, MAX_BUCKETS_PER_WINDOW, Rolling
from tests.paths import REPO

SOURCES = {
    "minimal": (REPO / "tests" / "fixtures" / "definitions" / "minimal.yaml").read_text(),
    "acme": (REPO / "examples" / "acme.yaml").read_text(),
}
DATA = {name: yaml.safe_load(text) for name, text in SOURCES.items()}

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),  # one load, however odd the input; generous for a busy machine
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_outcome(load: Callable[[], Scorecard], seen: Counter[str], *, located: bool) -> None:
    """Run one load: a valid scorecard must be usable by the engine, an error must locate and explain each problem.

    ``located``: the input was YAML text, so every problem has a path or a line (data given directly has no lines,
    and a document that is not a mapping has no path).
    """
    try:
        scorecard = load()
    except DefinitionError as error:
        seen["invalid"] += 1
        assert error.problems
        text = str(error)
        for problem in error.problems:
            assert isinstance(problem.path, str)
            assert isinstance(problem.message, str) and problem.message.strip()
            assert problem.line is None or problem.line >= 1
            assert not located or problem.path or problem.line is not None, problem
            assert problem.format(error.source) in text
        return
    seen["valid"] += 1
    engine = Engine(scorecard)  # every window compiles: the loader's limits are the windows' limits
    assert engine.tree.height <= MAX_ORG_DEPTH
    assert all(kpi.lateness is not None and kpi.lateness <= MAX_LATENESS for kpi in scorecard.kpis)
    buckets = [c.window.count if isinstance(c.window, Rolling) else 1 for c in engine.kpis.values()]
    assert max(buckets) <= MAX_BUCKETS_PER_WINDOW and sum(buckets) <= MAX_BUCKETS_PER_UNIT
    lint_balance(scorecard)


# ------------------------------------------------------------------------------------------------ strategies

ODD_TEXT = st.sampled_from(["", " ", "[/]", "[bold]x", "\x1b[2J", "a\rb", "nul\x00", "{{ $x }}", "EUR{", "é€😀"])
ODD_IDS = st.sampled_from(["__invalid__", "__x", "Sales", "a b", "-", "_", "x" * 300, "sales-emea", "acme"])
ODD_DURATIONS = st.sampled_from(
    ["0", "0s", "1s", "15m", "1h", "7d", "104w", "105w", "1095d", "1096d", "99999999w", "9" * 40 + "s", "1x", "-1h"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | ODD_TEXT
    | ODD_IDS
    | ODD_DURATIONS
)
KEYS = st.sampled_from(
    ["id", "name", "children", "kpis", "org", "window", "kind", "size", "step", "period", "goal", "red_flag"]
) | st.text(max_size=8)
NESTED = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=20
)


def paths_of(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the data (mapping keys and list indexes), the root excluded."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found.append((*path, key))
        found += paths_of(value, (*path, key))
    return found


def mutate(data: Any, draw: Callable[..., Any]) -> Any:
    """One random edit of a random place: delete, replace with an odd value, rename the key, repeat, deepen, or
    (often valid) give a text value odd text (markup, control characters) and a number another number."""
    data = copy.deepcopy(data)
    path = draw(st.sampled_from(paths_of(data)))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = draw(st.sampled_from(["retype", "delete", "replace", "rename", "repeat", "deepen"]))
    if action == "retype" and isinstance(parent[last], str):
        parent[last] = draw(ODD_TEXT | st.text(min_size=1, max_size=20))
    elif action == "retype" and isinstance(parent[last], int | float) and not isinstance(parent[last], bool):
        parent[last] = draw(st.integers(0, 10**6) | st.floats(-1e12, 1e12))
    elif action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = draw(NESTED)
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(KEYS)] = parent.pop(last)
    elif action == "repeat" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif action == "deepen":
        levels = draw(st.integers(1, 60))
        value = parent[last]
        for _ in range(levels):
            value = {"id": f"deep-{levels}", "children": [value]} if isinstance(value, dict) else [value]
        parent[last] = value
    return data


@st.composite
def near_valid_data(draw: st.DrawFn) -> Any:
    data = DATA[draw(st.sampled_from(sorted(DATA)))]
    for _ in range(draw(st.integers(0, 3))):
        data = mutate(data, draw)
    return data


@st.composite
def near_valid_text(draw: st.DrawFn) -> str:
    """The shipped files edited as text: lines deleted, repeated or moved, characters inserted anywhere."""
    lines = SOURCES[draw(st.sampled_from(sorted(SOURCES)))].splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "repeat", "move", "insert", "indent"]))
        if action == "delete":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, lines[index])
        elif action == "move":
            lines.insert(draw(st.integers(0, len(lines))), lines.pop(index))
        elif action == "insert":
            at = draw(st.integers(0, len(lines[index])))
            inserted = draw(st.sampled_from(["&a ", "*a", "<<: *a", "{", "]", "- ", ": ", "'", "\t", "#", "!!str "]))
            lines[index] = lines[index][:at] + inserted + lines[index][at:]
        else:
            lines[index] = "  " + lines[index]
        if not lines:
            break
    return "".join(lines)


YAMLISH = st.lists(
    st.sampled_from(
        [
            *(
                "name: x\n",
                "org: ",
                "kpis:\n",
                "- ",
                "  ",
                "{",
                "}",
                "[",
                "]",
                ", ",
                "id: a",
                "&a ",
                "*a",
                "<<: ",
                "\n",
            ),
            *("window: {kind: rolling, size: 7d, step: 1d}", "aggregation: count", "source: {event: e}", "'", '"'),
        ]
    ),
    max_size=60,
).map("".join)


# ------------------------------------------------------------------------------------------------ the properties


NEAR_VALID: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], Scorecard], bool]] = {
    "data as YAML text": (
        near_valid_data(),
        lambda data: parse_scorecard(yaml.safe_dump(data, allow_unicode=True), "fuzz.yaml"),
        True,
    ),
    "data given directly": (near_valid_data(), lambda data: validate_scorecard(data, "fuzz"), False),
    "edited text": (near_valid_text(), lambda text: parse_scorecard(text, "fuzz.yaml"), True),
}


@pytest.mark.parametrize("kind", list(NEAR_VALID))
def test_near_valid_inputs(kind: str) -> None:
    strategy, load, located = NEAR_VALID[kind]
    seen: Counter[str] = Counter()

    @FUZZ
    @given(strategy)
    def check(value: Any) -> None:
        check_outcome(lambda: load(value), seen, located=located)

    check()
    assert seen["valid"] >= 20 and seen["invalid"] >= 80, seen  # of 200: both kinds, at least one in ten


def test_arbitrary_text_and_data() -> None:
    seen: Counter[str] = Counter()

    @settings(FUZZ, max_examples=300)
    @given(st.one_of(st.text(max_size=300), YAMLISH, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
    def check_text(text: str) -> None:
        check_outcome(lambda: parse_scorecard(text, "junk.yaml"), seen, located=True)

    @settings(FUZZ, max_examples=200)
    @given(NESTED)
    def check_data(data: Any) -> None:
        check_outcome(lambda: validate_scorecard(data, "junk"), seen, located=False)

    check_text()
    check_data()
    assert seen["invalid"] >= 450, seen  # junk is never a scorecard; the point is that it fails cleanly
