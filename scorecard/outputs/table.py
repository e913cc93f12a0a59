"""The scorecard as a terminal table, drawn from the JSON report alone.

``scorecard replay`` and ``scorecard status`` print the same report, so the table is built from the report dict
(``scorecard.core.evaluation.report``) plus the definition for names and the tree, never from engine state: whatever
produced the JSON can show the table. Units are indented under their parents (pre-order, as in the definition),
with the overall score and status and one column per perspective; scores have one decimal and a dash means no score.

Statuses are coloured (green, yellow for amber, red, dim for no data) but always written out as words, so the table
reads the same without colours: piped into a file or a CI log, rich drops the styles and keeps the text. Names from
the definition go through ``scorecard.outputs.terminal``: no markup is parsed in them and no control character
reaches the terminal.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Final

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scorecard.core.definition import Scorecard
from scorecard.core.engine import OUTCOMES
from scorecard.core.hierarchy import OrgTree
from scorecard.core.scoring import status_from_score
from scorecard.outputs.terminal import plain, printable

__all__ = ["STATUS_STYLES", "events_line", "print_report", "render_text", "scorecard_table", "status_text", "unit_text"]

STATUS_STYLES: Final[dict[str, str]] = {
    "green": "bold green",
    "amber": "bold yellow",
    "red": "bold red",
    "no_data": "dim",
}
_NO_SCORE: Final = "-"
_INDENT: Final = "  "


def _score_text(score: float | None) -> Text:
    """One decimal, coloured by the status that score means; a dash for no score."""
    if score is None:
        return Text(_NO_SCORE, style=STATUS_STYLES["no_data"])
    return Text(f"{score:.1f}", style=STATUS_STYLES[status_from_score(score)])


def status_text(status: str) -> Text:
    """A status (``no_data`` as 'no data') in its status colour."""
    return Text(status.replace("_", " "), style=STATUS_STYLES.get(status, ""))


def unit_text(scorecard: Scorecard, tree: OrgTree, unit_id: str) -> Text:
    """The unit's label indented by its depth in the tree, and its id (dim) when the label differs."""
    label = scorecard.unit(unit_id).label
    text = Text(_INDENT * tree.depth(unit_id) + printable(label))
    if label != unit_id:
        text.append(f"  {unit_id}", style="dim")
    return text


def scorecard_table(scorecard: Scorecard, report: Mapping[str, Any], tree: OrgTree | None = None) -> Table:
    """Units (indented tree) as rows; overall score, status and each perspective's score as columns."""
    org = tree if tree is not None else OrgTree.from_scorecard(scorecard)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Unit", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for perspective in scorecard.perspectives:
        table.add_column(plain(perspective.label), justify="right", no_wrap=True)
    units = report.get("units", {})
    for unit_id in org.units:
        result = units.get(unit_id)
        if result is None:
            continue
        perspectives = result.get("perspectives", {})
        table.add_row(
            unit_text(scorecard, org, unit_id),
            _score_text(result.get("score")),
            status_text(result.get("status", "no_data")),
            *(_score_text(perspectives.get(p.id)) for p in scorecard.perspectives),
        )
    return table


def events_line(report: Mapping[str, Any]) -> Text:
    """The event counts of the report, in outcome order."""
    counts = report.get("events", {})
    return Text("events: " + ", ".join(f"{counts.get(o.value, 0)} {o.value}" for o in OUTCOMES))


def print_report(console: Console, scorecard: Scorecard, report: Mapping[str, Any]) -> None:
    """Title line, the table and the event counts."""
    console.print(plain(f"{scorecard.name} at {report.get('at', '?')}", style="bold"))
    console.print(scorecard_table(scorecard, report))
    console.print(events_line(report))


def render_text(scorecard: Scorecard, report: Mapping[str, Any], *, width: int = 160, color: bool = False) -> str:
    """``print_report`` into a string; without colour unless asked (ANSI codes then included)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None)
    print_report(console, scorecard, report)
    return buffer.getvalue()
