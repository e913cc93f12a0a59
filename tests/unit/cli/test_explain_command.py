"""`scorecard explain --events`: the worked example of docs/semantics.md section 7 as a tree and as JSON, --top,
hostile names, and one-line errors for every bad input."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from scorecard.cli import main
from tests.paths import ACME, ACME_EVENTS, REPLAY_FIXTURES

SHOP = str(REPLAY_FIXTURES / "shop.yaml")
SHOP_EVENTS = str(REPLAY_FIXTURES / "shop-events.jsonl")
SINCE = "2026-11-26T12:00:00Z"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["explain", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_tree_of_the_worked_example() -> None:
    code, out, err = run("--scorecard", SHOP, "--events", SHOP_EVENTS, "--unit", "shop", "--since", SINCE)
    assert code == 0, err
    assert out.splitlines() == [
        "The Shop  shop  1.67 -> 5.83  +4.17  from 2026-11-26T12:00:00Z to 2026-11-27T10:06:00Z",
        "└── financial  0.00 -> 4.17  +4.17",
        "    └── revenue  0.00 -> 4.17  +4.17  value changed 0 -> 300; children moved",
        "        ├── South store  south  0.00 -> 2.50  +2.50",
        "        └── North store  north  0.00 -> 1.67  +1.67",
    ]
    assert err == "3 invalid events skipped (`scorecard replay --errors FILE` lists them)\n"


def test_json_has_the_exact_numbers_and_every_move_with_top_0() -> None:
    code, out, _ = run(
        "--scorecard",
        SHOP,
        "--events",
        SHOP_EVENTS,
        "--unit",
        "shop",
        "--since",
        SINCE,
        "--format",
        "json",
        "--top",
        "0",
    )
    assert code == 0
    document: dict[str, Any] = orjson.loads(out)
    assert (document["since"], document["at"]) == (SINCE, "2026-11-27T10:06:00Z")
    assert document["reported"] == {"before": 5 / 3, "after": 35 / 6}
    assert (document["before"], document["after"], document["delta"]) == (5 / 3, 35 / 6, 25 / 6)
    perspectives = {p["perspective"]: p for p in document["perspectives"]}
    assert list(perspectives) == ["financial", "customer"]  # largest move first, the unmoved one kept with --top 0
    revenue = perspectives["financial"]["kpis"][0]
    assert revenue["reasons"] == ["value_changed", "children_changed"]
    assert (revenue["was"]["value"], revenue["now"]["value"]) == (0.0, 300.0)
    assert [(c["unit"], c["delta"]) for c in revenue["children"]] == [("south", 2.5), ("north", 5 / 3)]
    assert perspectives["customer"]["kpis"][0]["reasons"] == []


def test_at_moves_the_later_time() -> None:
    code, out, _ = run(
        "--scorecard", SHOP, "--events", SHOP_EVENTS, "--unit", "south", "--since", SINCE,
        "--at", "2026-11-28T12:00:00Z", "--format", "json",
    )  # fmt: skip
    assert code == 0
    document = orjson.loads(out)
    assert document["at"] == "2026-11-28T12:00:00Z"
    assert document["delta"] == 0.0 and document["perspectives"] == []  # a new empty day, as the day before


def test_acme_moves_sum_to_the_score_change() -> None:
    code, out, _ = run(
        "--scorecard", str(ACME), "--events", str(ACME_EVENTS), "--unit", "acme",
        "--since", "2026-11-19T22:00:00Z", "--format", "json", "--top", "0",
    )  # fmt: skip
    assert code == 0
    document = orjson.loads(out)
    deltas = [k["delta"] for p in document["perspectives"] for k in p["kpis"]]
    assert math.isclose(math.fsum(deltas), document["reported"]["after"] - document["reported"]["before"], abs_tol=1e-9)
    assert any(d != 0 for d in deltas)


def test_names_are_printed_escaped(tmp_path: Path) -> None:
    hostile = Path(SHOP).read_text().replace("name: North store", 'name: "[bold red]North\\x1b[2J\\u202e"')
    definition = tmp_path / "hostile.yaml"
    definition.write_text(hostile)
    code, out, _ = run("--scorecard", str(definition), "--events", SHOP_EVENTS, "--unit", "shop", "--since", SINCE)
    assert code == 0
    assert "[bold red]North\\x1b[2J\\u202e  north  0.00 -> 1.67  +1.67" in out
    assert "\x1b" not in out


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": "x", "type": "order", "unit": "nowhere", "time": "2026-11-27T10:00:00Z"}\n')
    cases = [
        (["--unit", "west\x1b"], 2, "Invalid value for --unit: no unit 'west\\x1b' in shop.yaml; units: shop, north"),
        (["--unit", "shop", "--since", "yesterday"], 2, "Invalid value for --since: expected RFC 3339 time"),
        (["--unit", "shop", "--at", "9999-01-01T00:00:00Z"], 2, "Invalid value for --at"),
        (
            ["--unit", "shop", "--events", str(empty)],
            1,
            "no accepted event to evaluate at; give the later time with --at",
        ),
    ]
    for extra, expected_code, message in cases:
        args = ["--scorecard", SHOP, "--events", SHOP_EVENTS, "--since", SINCE, *extra]
        code, out, err = run(*args)
        assert code == expected_code, (extra, err)
        assert message in err, (extra, err)
        assert "Traceback" not in err and out == ""


def _flatten(moves: list[dict[str, Any]], key: str) -> list[tuple[str, str, str]]:
    """(before, after, delta) of every row of an explain JSON tree, in the order the report lists them."""
    rows = []
    for move in moves:
        rows.append((f"{move['before']:.2f}", f"{move['after']:.2f}", f"{move['delta']:+.2f}"))
        rows += _flatten(move.get(key, []), "children")
    return rows


MOVED_ROW = re.compile(
    r'<tr class="moved level-\d"><td class="name"[^>]*>[^<]*</td><td class="num">([^<]*)</td>'
    r'<td class="num">([^<]*)</td>\s*<td class="num delta \w+">([^<]*)</td>'
)


def test_report_since_shows_the_numbers_of_explain(tmp_path: Path) -> None:
    """`scorecard report --since` lists, for every unit, the rows `scorecard explain` gives (top 5, two decimals)."""
    since = "2026-11-19T22:00:00Z"
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        ["report", "--scorecard", str(ACME), "--events", str(ACME_EVENTS), "--since", since, "-o", str(page)],
    )
    assert result.exit_code == 0, result.output
    html = page.read_text()
    sections = html.split('<section class="unit" id="unit-')[1:]
    assert len(sections) == 12
    compared = 0
    for section in sections:
        unit = section.split('"', 1)[0]
        code, out, _ = run(
            "--scorecard", str(ACME), "--events", str(ACME_EVENTS), "--unit", unit, "--since", since, "--format", "json"
        )
        assert code == 0
        document = orjson.loads(out)
        heading = f"score {document['before']:.2f} → {document['after']:.2f}"
        assert f'What moved since <time datetime="{since}">{since}</time>: {heading}' in section, unit
        rows = [
            (p_row, *_flatten(p["kpis"], "children"))
            for p in document["perspectives"]
            for p_row in [(f"{p['before']:.2f}", f"{p['after']:.2f}", f"{p['delta']:+.2f}")]
        ]
        expected = [row for group in rows for row in group]
        assert MOVED_ROW.findall(section.split("<h3>", 2)[1]) == expected, unit
        compared += len(expected)
    assert compared > 40
