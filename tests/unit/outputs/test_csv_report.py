"""``--format csv``: RFC 4180 quoting of any name, full-precision numbers, formula cells disarmed."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml

from scorecard.core.definition import Scorecard, parse_scorecard
from scorecard.core.replay import replay
from scorecard.outputs.csv_report import KPI_COLUMNS, UNIT_COLUMNS, kpis_csv, units_csv

NAMES = {
    "root": 'Root, "Inc."\nsecond line',
    "leaf": "[bold]Leaf[/] <b>&amp;</b>\x1b[2J",
    "evil": '=HYPERLINK("http://x","y")',
}


def _scorecard() -> Scorecard:
    data: dict[str, Any] = {
        "name": 'CSV, "quoted"',
        "perspectives": [{"id": "money", "name": "Money, money"}],
        "org": {
            "id": "root",
            "name": NAMES["root"],
            "children": [{"id": "leaf", "name": NAMES["leaf"]}, {"id": "evil", "name": NAMES["evil"]}],
        },
        "objectives": [{"id": "earn", "perspective": "money"}],
        "kpis": [
            {
                "id": "sales",
                "name": 'Sales; "net", EUR\r\n',
                "unit": "+EUR",
                "objective": "earn",
                "aggregation": "sum",
                "source": {"event": "sale", "field": "amount"},
                "window": {"kind": "tumbling", "size": "1d"},
                "goal": 100.1,
                "red_flag": -1e300,
            }
        ],
    }
    return parse_scorecard(yaml.safe_dump(data))


def _document(scorecard: Scorecard) -> dict[str, Any]:
    events = [
        {"id": "1", "type": "sale", "unit": "leaf", "time": "2026-11-27T10:00:00Z", "fields": {"amount": 0.1}},
        {"id": "2", "type": "sale", "unit": "leaf", "time": "2026-11-27T10:00:01Z", "fields": {"amount": 0.2}},
    ]
    return replay(scorecard, [json.dumps(e) for e in events]).evaluate()


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_units_csv_reads_back_exactly() -> None:
    scorecard = _scorecard()
    document = _document(scorecard)
    rows = _rows(units_csv(scorecard, document))
    assert rows[0] == [*UNIT_COLUMNS, "money"]
    by_id = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert list(by_id) == ["root", "leaf", "evil"]
    assert by_id["root"]["unit"] == NAMES["root"] and by_id["leaf"]["unit"] == NAMES["leaf"]
    assert by_id["evil"]["unit"] == "'" + NAMES["evil"]  # a spreadsheet would run it as a formula
    assert by_id["leaf"]["parent_id"] == "root" and by_id["leaf"]["depth"] == "1" and by_id["root"]["parent_id"] == ""
    for unit_id, row in by_id.items():
        result = document["units"][unit_id]
        assert row["at"] == document["at"] and row["status"] == result["status"]
        assert row["score"] == ("" if result["score"] is None else repr(result["score"]))
        money = result["perspectives"]["money"]
        assert row["money"] == ("" if money is None else repr(money))


def test_kpis_csv_has_a_row_per_unit_and_kpi_in_full_precision() -> None:
    scorecard = _scorecard()
    document = _document(scorecard)
    rows = _rows(kpis_csv(scorecard, document))
    assert rows[0] == list(KPI_COLUMNS)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["unit_id"], r["kpi_id"]) for r in records] == [("root", "sales"), ("leaf", "sales"), ("evil", "sales")]
    leaf = records[1]
    assert leaf["kpi"] == 'Sales; "net", EUR\r\n' and leaf["measure"] == "'+EUR"
    assert float(leaf["value"]) == document["units"]["leaf"]["kpis"]["sales"]["value"]
    assert leaf["goal"] == "100.1" and float(leaf["red_flag"]) == -1e300
    assert leaf["window_start"] == "2026-11-27T00:00:00Z" and leaf["window_end"] == "2026-11-28T00:00:00Z"


def test_csv_lines_end_with_crlf_and_quote_only_what_needs_it() -> None:
    scorecard = _scorecard()
    text = units_csv(scorecard, _document(scorecard))
    assert text.endswith("\r\n")
    assert '"Root, ""Inc.""\nsecond line"' in text
    assert text.splitlines()[0] == ",".join([*UNIT_COLUMNS, "money"])


def test_on_a_terminal_names_show_their_control_characters_as_escapes() -> None:
    scorecard = _scorecard()
    document = _document(scorecard)
    for make in (units_csv, kpis_csv):
        text = make(scorecard, document, terminal=True)
        rows = _rows(text)
        assert "\x1b" not in text and "[bold]Leaf[/] <b>&amp;</b>\\x1b[2J" in text
        assert len(rows) == len(_rows(make(scorecard, document)))  # same rows and cells, only escaped
