"""``scorecard validate``: check a definition and summarise it.

Problems go to stderr, one per line as ``FILE:LINE: path: message`` (the shape editors and CI annotators already
understand), and the exit code is 1; a valid file gets a one-screen summary on stdout and exit code 0 (``--strict``
also fails on balance warnings). Output is plain text so it reads the same in a terminal, a pipe or a CI log.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from scorecard.cli.console import echo, plural
from scorecard.cli.definition_option import definition_option
from scorecard.core.definition import (
    AGGREGATIONS,
    CalendarSpec,
    DefinitionError,
    Problem,
    Scorecard,
    lint_balance,
    load_scorecard,
)
from scorecard.core.hierarchy import OrgTree
from scorecard.core.timeutil import format_duration
from scorecard.outputs.terminal import printable


@click.command()
@definition_option(positional=True)
@click.option("--strict", is_flag=True, help="Also exit 1 when there are balance warnings.")
def validate(scorecard_path: Path, strict: bool) -> None:
    """Check the scorecard definition (-s FILE, or FILE) and summarise it."""
    file = scorecard_path
    try:
        scorecard = load_scorecard(file)
    except DefinitionError as err:
        for problem in err.problems:
            echo(problem.format(str(file)), err=True)
        click.echo(f"{plural(len(err.problems), 'problem')} found; {file} is not valid", err=True)
        sys.exit(1)
    warnings = lint_balance(scorecard)
    echo(_summary(scorecard, str(file), warnings))
    if strict and warnings:
        sys.exit(1)


def _summary(scorecard: Scorecard, source: str, warnings: list[Problem]) -> str:
    """What a reviewer wants to see at a glance: shape of the tree, balance, and the mix of measures."""
    tree = OrgTree.from_scorecard(scorecard)
    leaves = plural(sum(1 for unit in tree if tree.is_leaf(unit)), "leaf", "leaves")
    export = "all levels" if scorecard.export.max_depth is None else f"depth <= {scorecard.export.max_depth}"
    lines = [
        f"{printable(scorecard.name)}  ({source}: valid)",
        f"  timezone      {scorecard.timezone}",
        f"  lateness      {_duration(scorecard.lateness)}, dedupe {_duration(scorecard.dedupe)}, export {export}",
        f"  org           {plural(len(tree), 'unit')}, depth {tree.height} (root {tree.root}, {leaves})",
        f"  objectives    {len(scorecard.objectives)}",
        f"  KPIs          {len(scorecard.kpis)}",
        "  perspectives",
    ]
    labels = {p.id: printable(p.label) for p in scorecard.perspectives}
    width = max(len(label) for label in labels.values())
    for perspective in scorecard.perspectives:
        count = len(scorecard.kpis_of(perspective.id))
        label = labels[perspective.id]
        lines.append(f"    {label:<{width}}  weight {perspective.weight:g}  {plural(count, 'KPI')}")
    aggregations: Counter[str] = Counter(k.aggregation for k in scorecard.kpis)
    lines.append("  aggregations  " + _counts(aggregations, AGGREGATIONS))
    lines.append("  windows       " + _windows(scorecard))
    polarities: Counter[str] = Counter(k.polarity or "no goal" for k in scorecard.kpis)
    lines.append("  polarity      " + _counts(polarities, ("higher_is_better", "lower_is_better", "no goal")))
    if warnings:
        lines.append(f"  balance       {plural(len(warnings), 'warning')}")
        lines += [f"    warning: {w.format(source)}" for w in warnings]
    else:
        lines.append("  balance       no warnings")
    return "\n".join(lines)


def _windows(scorecard: Scorecard) -> str:
    kinds: Counter[str] = Counter(k.window.kind for k in scorecard.kpis)
    periods: Counter[str] = Counter(k.window.period for k in scorecard.kpis if isinstance(k.window, CalendarSpec))
    text = _counts(kinds, ("tumbling", "calendar", "rolling"))
    if periods:
        text += f" (calendar: {', '.join(f'{p} {n}' for p, n in sorted(periods.items()))})"
    return text


def _counts(counter: Counter[str], order: tuple[str, ...]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {counter[name]}" for name in order if counter[name]) or "none"


def _duration(seconds: int) -> str:
    return format_duration(seconds) if seconds else "0s"
