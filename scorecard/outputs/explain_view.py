"""``scorecard explain`` on a terminal: what moved a unit's score, as a tree drawn from an ``Explanation``.

The root line is the unit's overall score at both ends and its change; below it the perspectives (their share of the
overall score), their KPIs (contribution before and after, the change and why), and below a rolled-up KPI the child
units whose share moved, down the tree. Contributions have two decimals, changes a sign; names from the definition
go through ``scorecard.outputs.terminal`` so no markup is parsed and no control character reaches the terminal.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Final

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from scorecard.core.contributions import KpiScore
from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.movers import ChildMove, Explanation, KpiMove
from scorecard.outputs.terminal import plain, printable

__all__ = ["REASON_TEXT", "explanation_tree", "render_explanation"]

REASON_TEXT: Final = {
    "gained_score": "gained a score",
    "lost_score": "lost its score",
    "thresholds_changed": "thresholds changed",
    "value_changed": "value changed",
    "children_changed": "children moved",
    "weights_changed": "its share of the unit changed",
}


def _number(value: Fraction | float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _change(before: Fraction | None, after: Fraction | None) -> Text:
    delta = float((after or 0) - (before or 0))
    style = "green" if delta > 0 else "red" if delta < 0 else "dim"
    return Text(f"{delta:+.2f}", style=style)


def _line(label: str, before: Fraction | None, after: Fraction | None, unit_id: str | None = None) -> Text:
    text = plain(label, style="bold")
    if unit_id is not None and unit_id != label:
        text.append(f"  {printable(unit_id)}", style="dim")
    text.append(f"  {_number(before)} -> {_number(after)}  ")
    text.append_text(_change(before, after))
    return text


def _value(kpi: Kpi, value: float | None) -> str:
    if value is None:
        return "no value"
    return f"{value:.6g}" + (f" {printable(kpi.unit)}" if kpi.unit else "")


def _why(kpi: Kpi, move: KpiMove) -> str:
    was, now = move.was or KpiScore(None, None, None, None), move.now or KpiScore(None, None, None, None)
    parts = []
    for reason in move.reasons:
        words = REASON_TEXT.get(reason, reason)
        if reason == "value_changed":
            words += f" {_value(kpi, was.value)} -> {_value(kpi, now.value)}"
        elif reason == "thresholds_changed":
            words += f" (goal {was.goal} -> {now.goal}, red flag {was.red_flag} -> {now.red_flag})"
        parts.append(words)
    return "; ".join(parts)


def _add_children(scorecard: Scorecard, node: Tree, children: tuple[ChildMove, ...]) -> None:
    for child in children:
        branch = node.add(_line(scorecard.unit(child.unit).label, child.before, child.after, child.unit))
        _add_children(scorecard, branch, child.children)


def explanation_tree(scorecard: Scorecard, explanation: Explanation, since: str, at: str) -> Tree:
    """The explanation as a rich ``Tree`` (perspective, KPI, child units), largest move first at every level."""
    unit = scorecard.unit(explanation.unit)
    title = _line(unit.label, explanation.before, explanation.after, unit.id)
    title.append(f"  from {since} to {at}", style="dim")
    tree = Tree(title)
    for perspective in explanation.perspectives:
        p_node = tree.add(
            _line(scorecard.perspective(perspective.perspective).label, perspective.before, perspective.after)
        )
        for move in perspective.kpis:
            kpi = scorecard.kpi(move.kpi)
            line = _line(kpi.label, move.before, move.after, kpi.id)
            if move.reasons:
                line.append(f"  {_why(kpi, move)}", style="italic")
            _add_children(scorecard, p_node.add(line), move.children)
    if not explanation.perspectives:
        tree.add(Text("nothing moved", style="dim"))
    return tree


def render_explanation(
    scorecard: Scorecard, explanation: Explanation, since: str, at: str, *, width: int = 160, color: bool = False
) -> str:
    """``explanation_tree`` as text; without colour unless asked."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None)
    console.print(explanation_tree(scorecard, explanation, since, at))
    return buffer.getvalue()
