"""The scorecard's KPIs as a terminal table (``--kpis``): one row per unit and KPI, with value, goal, red flag, score
and status, drawn from the JSON report alone like ``scorecard.outputs.table``.

When the report holds a paced KPI (docs/semantics.md, section 8), a last column ``Pace`` says, on that KPI's rows
only, how much of its period has passed, the forecast and the full-period goal: ``50% elapsed, forecast 80, period
goal 100``; the ``Goal`` and ``Red flag`` columns then hold the targets to date, against which the status is judged.
A report without paced KPIs gets no such column, so its table is as it was.

Rows follow the org tree (pre-order, as in the definition) and, within a unit, the KPIs in file order; the unit is
named on its first row only and a rule separates units. Values keep their magnitude readable: thousands separated
and no decimals from 1,000 up, at most two decimals below, scientific notation from 1e15 (goals may be any finite
number). Names go through ``scorecard.outputs.terminal``: no markup is parsed in them, no control character reaches
the terminal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scorecard.core.definition import Scorecard
from scorecard.core.hierarchy import OrgTree
from scorecard.outputs.table import STATUS_STYLES, events_line, status_text, unit_text
from scorecard.outputs.terminal import plain

__all__ = ["format_number", "kpi_table", "pace_summary", "print_kpi_report"]

_NO_VALUE: Final = "-"
_HUGE: Final = 1e15


def format_number(value: float | None) -> str:
    """A KPI value, goal or red flag for people: ``393,265``, ``94.67``, ``0.5``, ``1.000e+20``; a dash for none."""
    if value is None or not math.isfinite(value):
        return _NO_VALUE if value is None else str(value)
    if abs(value) >= _HUGE:
        return f"{value:.3e}"
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def pace_summary(result: Mapping[str, Any]) -> str:
    """``50% elapsed, forecast 80, period goal 100`` for a paced KPI's result; "" when it is not paced.

    The forecast is a dash at f = 0 (nothing to extrapolate yet); a unit without targets of its own has no period
    goal, so that part is left out.
    """
    elapsed = result.get("elapsed")
    if elapsed is None:
        return ""
    parts = [f"{elapsed:.0%} elapsed", f"forecast {format_number(result.get('forecast'))}"]
    if result.get("period_goal") is not None:
        parts.append(f"period goal {format_number(result['period_goal'])}")
    return ", ".join(parts)


def kpi_table(scorecard: Scorecard, report: Mapping[str, Any], tree: OrgTree | None = None) -> Table:
    """Units x KPIs: unit, KPI, value (with the KPI's unit of measure), goal, red flag, score and status; ``Pace``
    too when a KPI of the report is paced."""
    org = tree if tree is not None else OrgTree.from_scorecard(scorecard)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Unit")  # names wrap in a narrow terminal; numbers and statuses never do
    table.add_column("KPI")
    for header in ("Value", "Goal", "Red flag", "Score"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    units = report.get("units", {})
    paced = any(r.get("elapsed") is not None for u in units.values() for r in u.get("kpis", {}).values())
    if paced:
        table.add_column("Pace")  # the one column that wraps before the names do
    shown = [unit_id for unit_id in org.units if unit_id in units]
    for position, unit_id in enumerate(shown):
        kpis = units[unit_id].get("kpis", {})
        rows = [kpi for kpi in scorecard.kpis if kpi.id in kpis]
        for index, kpi in enumerate(rows):
            result = kpis[kpi.id]
            status = result.get("status", "no_data")
            value = format_number(result.get("value"))
            if kpi.unit and result.get("value") is not None:
                value += f" {kpi.unit}"
            score = result.get("score")
            table.add_row(
                unit_text(scorecard, org, unit_id) if index == 0 else Text(""),
                plain(kpi.label),
                plain(value),
                Text(format_number(result.get("goal"))),
                Text(format_number(result.get("red_flag"))),
                Text(_NO_VALUE if score is None else f"{score:.1f}", style=STATUS_STYLES.get(status, "")),
                status_text(status),
                *([Text(pace_summary(result), style="dim")] if paced else []),
                end_section=index == len(rows) - 1 and position < len(shown) - 1,
            )
    return table


def print_kpi_report(console: Console, scorecard: Scorecard, report: Mapping[str, Any]) -> None:
    """Title line, the KPI table and the event counts."""
    console.print(plain(f"{scorecard.name} at {report.get('at', '?')}", style="bold"))
    console.print(kpi_table(scorecard, report))
    console.print(events_line(report))
