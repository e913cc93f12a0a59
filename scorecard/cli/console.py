"""Writing to the terminal: ``echo`` (text holding names from a definition or values from events, made
printable), ``plural``, the console of tables and boards, and progress bars on stderr.

The lowest layer of the command line: every other module prints through it, and it imports none of them.
"""

from __future__ import annotations

import os
import sys

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn

from scorecard.outputs.terminal import printable


def echo(message: str, err: bool = False) -> None:
    """Print text that holds names from a definition or values from events (``terminal.printable``)."""
    click.echo(printable(message, keep_newlines=True), err=err)


def plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def terminal_console() -> Console:
    """The console of tables and boards: the terminal's width, or at least 120 columns (``$COLUMNS``) in a pipe."""
    return Console(width=None if sys.stdout.isatty() else max(120, _columns()))


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


def progress_bar(template: str, *counters: ProgressColumn) -> Progress:
    """A bar on stderr that disappears when done: ``template`` (a ``TextColumn`` text), the bar, ``counters``, the
    time remaining. Commands draw one only when stderr is a terminal."""
    return Progress(
        TextColumn(template),
        BarColumn(),
        *counters,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
