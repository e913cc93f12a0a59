"""The scorecard as CSV (``--format csv``), for the spreadsheets of reviews: units x perspectives, or units x KPIs.

Written with the ``csv`` module (RFC 4180 quoting: a name with a comma, a quote or a newline is quoted, quotes
doubled), one header row, then rows in org-tree order. Every row starts with the evaluation time (``at``) so that
exports of several dates can be appended into one sheet. By KPI, a paced KPI's period goal and red flag, elapsed
share and forecast follow the older columns (empty when the KPI is not paced). Numbers are written in full precision
(``repr`` of the float), an empty cell means no value. Names are written as they are, except that one starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's guard against formula injection:
a spreadsheet would run such a cell as a formula). ``terminal=True`` (the command's stdout is a terminal, so a
person reads it) also writes control characters in names as their escapes (``scorecard.outputs.terminal.printable``),
so that no name acts on the terminal; in a pipe or a file the names stay exact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any, Final

from scorecard.core.definition import Scorecard
from scorecard.core.hierarchy import OrgTree
from scorecard.outputs.terminal import printable

__all__ = ["KPI_COLUMNS", "UNIT_COLUMNS", "kpis_csv", "units_csv"]

UNIT_COLUMNS: Final = ("at", "unit_id", "unit", "parent_id", "depth", "score", "status")
"""The first columns of ``units_csv``; one column per perspective id follows."""
KPI_COLUMNS: Final = (
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
    "period_goal",
    "period_red_flag",
    "elapsed",
    "forecast",
)
"""The columns of ``kpis_csv``. The last four are a paced KPI's (``goal`` and ``red_flag`` are then to date): the
full-period goal and red flag, the share of the period elapsed (0 to 1) and the forecast; empty when not paced."""
_PACE_FIELDS: Final = KPI_COLUMNS[-4:]
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def units_csv(scorecard: Scorecard, report: Mapping[str, Any], *, terminal: bool = False) -> str:
    """One row per unit: its score, status and the score of each perspective (columns named by perspective id)."""
    tree = OrgTree.from_scorecard(scorecard)
    at = report.get("at")
    units = report.get("units", {})
    rows: list[list[Any]] = [[*UNIT_COLUMNS, *(_text(p.id, terminal) for p in scorecard.perspectives)]]
    for unit_id in tree.units:
        result = units.get(unit_id)
        if result is None:
            continue
        perspectives = result.get("perspectives", {})
        rows.append(
            [
                at,
                unit_id,
                _text(scorecard.unit(unit_id).label, terminal),
                tree.parent(unit_id) or "",
                tree.depth(unit_id),
                _number(result.get("score")),
                result.get("status", "no_data"),
                *(_number(perspectives.get(p.id)) for p in scorecard.perspectives),
            ]
        )
    return _csv(rows)


def kpis_csv(scorecard: Scorecard, report: Mapping[str, Any], *, terminal: bool = False) -> str:
    """One row per unit and KPI: value, unit of measure, goal, red flag, score, status, window, then the pace fields.

    The pace fields (period goal and red flag, elapsed share, forecast) come last so that readers of the older
    columns keep working. They are all empty for a KPI that is not paced (the JSON report still has its period pair,
    equal to ``goal`` and ``red_flag``); the forecast is also empty at f = 0, the period pair at a unit without
    targets of its own.
    """
    tree = OrgTree.from_scorecard(scorecard)
    at = report.get("at")
    units = report.get("units", {})
    rows: list[list[Any]] = [list(KPI_COLUMNS)]
    for unit_id in tree.units:
        kpis = units.get(unit_id, {}).get("kpis", {})
        for kpi in scorecard.kpis:
            result = kpis.get(kpi.id)
            if result is None:
                continue
            window = result.get("window") or {}
            paced = result.get("elapsed") is not None  # the report has a period pair for every KPI with targets
            rows.append(
                [
                    at,
                    unit_id,
                    _text(scorecard.unit(unit_id).label, terminal),
                    kpi.id,
                    _text(kpi.label, terminal),
                    _number(result.get("value")),
                    _text(kpi.unit or "", terminal),
                    _number(result.get("goal")),
                    _number(result.get("red_flag")),
                    _number(result.get("score")),
                    result.get("status", "no_data"),
                    window.get("start", ""),
                    window.get("end", ""),
                    *(_number(result.get(field) if paced else None) for field in _PACE_FIELDS),
                ]
            )
    return _csv(rows)


def _csv(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _text(value: str, terminal: bool) -> str:
    guarded = "'" + value if value.startswith(_FORMULA_START) else value
    return printable(guarded) if terminal else guarded
