"""``--format csv``: RFC 4180 quoting of any name, full-precision numbers, formula cells disarmed."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml

from scorecard.core.definition import Scorecard, parse_scorecard
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
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
                "pace": "none",  # judged on the whole day's total: the numbers below are the full-period ones
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


# A paced sum (f is the share of the day passed) beside an average that is never paced, both named for trouble, and a
# paced count with targets at one unit only.
PACED = {
    "name": "Paced",
    "perspectives": [{"id": "money", "name": "Money"}],
    "org": {"id": "shop", "name": "=Shop\x1b[2J", "children": [{"id": "north", "name": "North"}]},
    "objectives": [{"id": "earn", "perspective": "money"}],
    "kpis": [
        {
            "id": "sales",
            "name": "=SUM(A1:A9)",
            "unit": "-EUR\r",
            "objective": "earn",
            "aggregation": "sum",
            "source": {"event": "sale", "field": "amount"},
            "window": {"kind": "tumbling", "size": "1d"},
            "pace": "linear",
            "goal": 100,
            "red_flag": 50,
        },
        {
            "id": "basket",
            "name": "Basket",
            "objective": "earn",
            "aggregation": "avg",
            "source": {"event": "sale", "field": "amount"},
            "window": {"kind": "tumbling", "size": "1d"},
            "goal": 30,
            "red_flag": 10,
        },
        {
            "id": "orders",
            "name": "Orders",
            "objective": "earn",
            "aggregation": "count",
            "source": {"event": "sale"},
            "window": {"kind": "tumbling", "size": "1d"},
            "targets": {"north": {"goal": 6, "red_flag": 2}},  # the shop has no targets of its own
        },
    ],
}
PACED_EVENTS = [
    {"id": "1", "type": "sale", "unit": "north", "time": "2026-11-27T00:00:00Z", "fields": {"amount": 30}},
    {"id": "2", "type": "sale", "unit": "north", "time": "2026-11-27T03:00:00Z", "fields": {"amount": 10}},
]


def _paced_records(at: str, *, terminal: bool = False) -> dict[tuple[str, str], dict[str, str]]:
    scorecard = parse_scorecard(yaml.safe_dump(PACED))
    document = replay(scorecard, [json.dumps(e) for e in PACED_EVENTS]).evaluate(parse_time(at))
    rows = _rows(kpis_csv(scorecard, document, terminal=terminal))
    assert rows[0] == list(KPI_COLUMNS)
    return {(row[1], row[3]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def test_the_pace_columns_come_after_the_older_ones() -> None:
    assert KPI_COLUMNS[:13] == (
        "at",
        "unit_id",
        "unit",
        "kpi_id",
        "kpi",
        "value",
        "measure",
        "goal",
        "red_flag",
        "score",
        "status",
        "window_start",
        "window_end",
    )
    assert KPI_COLUMNS[13:] == ("period_goal", "period_red_flag", "elapsed", "forecast")


def test_a_paced_kpi_has_its_period_targets_elapsed_share_and_forecast() -> None:
    records = _paced_records("2026-11-27T12:00:00Z")  # half the day: to date 50 and 25, 40 so far, 80 at this pace
    sales = records["north", "sales"]
    assert (sales["value"], sales["goal"], sales["red_flag"]) == ("40.0", "50.0", "25.0")
    assert (sales["period_goal"], sales["period_red_flag"], sales["elapsed"], sales["forecast"]) == (
        "100.0",
        "50.0",
        "0.5",
        "80.0",
    )
    assert sales["status"] == "amber" and sales["window_start"] == "2026-11-27T00:00:00Z"
    # names that a spreadsheet would run as formulas are disarmed, the others stay exact
    assert sales["kpi"] == "'=SUM(A1:A9)" and sales["measure"] == "'-EUR\r" and sales["unit"] == "North"
    assert records["shop", "sales"]["unit"] == "'=Shop\x1b[2J" and records["shop", "sales"]["forecast"] == "80.0"
    basket = records["north", "basket"]  # an average is never paced: no pace cells, its targets are the period's
    assert (basket["value"], basket["goal"], basket["red_flag"]) == ("20.0", "30.0", "10.0")
    assert [basket[c] for c in KPI_COLUMNS[13:]] == ["", "", "", ""]


def test_at_the_period_start_a_paced_kpi_has_a_value_but_no_score_or_forecast() -> None:
    records = _paced_records("2026-11-27T00:00:00Z")  # f = 0 (the replay's value holds the whole file's events)
    sales = records["north", "sales"]
    assert sales["value"] == "40.0" and sales["score"] == "" and sales["status"] == "no_data"
    assert (sales["period_goal"], sales["period_red_flag"], sales["elapsed"], sales["forecast"]) == (
        "100.0",
        "50.0",
        "0.0",
        "",
    )


def test_on_a_terminal_the_pace_rows_keep_their_cells_and_escape_names() -> None:
    records = _paced_records("2026-11-27T12:00:00Z", terminal=True)
    assert records["shop", "sales"]["unit"] == "'=Shop\\x1b[2J" and records["north", "sales"]["measure"] == "'-EUR\\r"
    assert records["north", "sales"]["forecast"] == "80.0"


def test_a_unit_without_targets_of_its_own_has_the_elapsed_share_and_forecast_but_no_period_pair() -> None:
    records = _paced_records("2026-11-27T12:00:00Z")
    north, shop = records["north", "orders"], records["shop", "orders"]
    assert [north[c] for c in KPI_COLUMNS[13:]] == ["6.0", "2.0", "0.5", "4.0"]  # 2 orders by midday: 4 by midnight
    assert (north["goal"], north["red_flag"]) == ("3.0", "1.0")
    assert [shop[c] for c in KPI_COLUMNS[13:]] == ["", "", "0.5", "4.0"]
    assert shop["goal"] == "" and shop["score"] == north["score"]  # rolled up from its only child
