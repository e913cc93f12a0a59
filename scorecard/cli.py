"""The ``scorecard`` command line: a click group, one function per command.

``scorecard validate FILE`` checks a definition. Problems go to stderr, one per line as ``FILE:LINE: path: message``
(the shape editors and CI annotators already understand), and the exit code is 1; a valid file gets a one-screen
summary on stdout and exit code 0 (``--strict`` also fails on balance warnings). Output is plain text so it reads
the same in a terminal, a pipe or a CI log.

``scorecard replay FILE EVENTS`` feeds a JSON Lines event file (``-`` for stdin) through the engine in file order
and prints the whole scorecard at ``--at`` (default: the newest accepted event time), as a table (``scorecard.render``)
or as the JSON report (``--format json``, the shape ``scorecard status`` prints too). Invalid events are listed on
stderr, a few with their line number and reason; ``--errors FILE`` writes them all as JSON Lines. A progress bar is
drawn on stderr only when stderr is a terminal, so pipes and logs stay clean.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from scorecard import __version__
from scorecard.config import ENV_DEFAULTS, Settings
from scorecard.definition import (
    AGGREGATIONS,
    CalendarWindow,
    DefinitionError,
    Problem,
    Scorecard,
    lint_balance,
    load_scorecard,
)
from scorecard.evaluation import dumps
from scorecard.hierarchy import OrgTree
from scorecard.render import print_report
from scorecard.replay import InvalidLine, ReplayResult, invalid_lines_jsonl, replay
from scorecard.timeutil import TimeFormatError, format_duration, parse_time

# Invalid events listed on stderr; the rest are counted (and all of them go to --errors).
_SHOWN_INVALID = 10
_PROGRESS_LINES = 20_000


@click.group()
@click.version_option(__version__, prog_name="scorecard")
def main() -> None:
    """Live balanced scorecard: definitions, streaming and scores."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Also exit 1 when there are balance warnings.")
def validate(file: Path, strict: bool) -> None:
    """Check the scorecard definition FILE and summarise it."""
    try:
        scorecard = load_scorecard(file)
    except DefinitionError as err:
        for problem in err.problems:
            click.echo(problem.format(str(file)), err=True)
        click.echo(f"{_plural(len(err.problems), 'problem')} found; {file} is not valid", err=True)
        sys.exit(1)
    warnings = lint_balance(scorecard)
    click.echo(_summary(scorecard, str(file), warnings))
    if strict and warnings:
        sys.exit(1)


@main.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("events", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="Evaluate at TIME (RFC 3339 or epoch seconds).  [default: newest accepted event]",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every invalid event to this file as JSON Lines (line, id, reason, detail).",
)
def replay_command(file: Path, events: Path, at_text: str | None, output_format: str, errors_path: Path | None) -> None:
    """Replay the EVENTS file (JSON Lines, - for stdin) against the scorecard FILE and print the scorecard."""
    try:
        scorecard = load_scorecard(file)
    except DefinitionError as err:
        for problem in err.problems:
            click.echo(problem.format(str(file)), err=True)
        click.echo(f"{file} is not a valid scorecard; see `scorecard validate {file}`", err=True)
        sys.exit(1)
    at = _parse_at(at_text)
    result = _replay_file(scorecard, events, at)
    _report_invalid(result.invalid, errors_path)
    if result.at is None:
        click.echo("no accepted event to evaluate at; give the time with --at", err=True)
        sys.exit(1)
    document = result.evaluate()
    if output_format == "json":
        sys.stdout.buffer.write(dumps(document))
        sys.stdout.flush()
        return
    console = Console(width=None if sys.stdout.isatty() else max(120, _columns()))
    print_report(console, scorecard, document)


@main.command("worker")
@click.option(
    "--scorecard", "scorecard_path", required=True, type=click.Path(exists=True, dir_okay=False), help="Definition."
)
@click.option(
    "--kafka-bootstrap",
    envvar="SCORECARD_KAFKA_BOOTSTRAP",
    default=ENV_DEFAULTS["SCORECARD_KAFKA_BOOTSTRAP"],
    show_default=True,
    show_envvar=True,
    help="Kafka bootstrap servers.",
)
@click.option(
    "--redis-url",
    envvar="SCORECARD_REDIS_URL",
    default=ENV_DEFAULTS["SCORECARD_REDIS_URL"],
    show_default=True,
    show_envvar=True,
    help="Redis holding the live scorecard.",
)
@click.option(
    "--topic",
    envvar="SCORECARD_TOPIC",
    default=ENV_DEFAULTS["SCORECARD_TOPIC"],
    show_default=True,
    show_envvar=True,
    help="Input topic; the dead-letter topic is TOPIC.dlq.",
)
@click.option(
    "--app-id",
    envvar="SCORECARD_APP_ID",
    default=ENV_DEFAULTS["SCORECARD_APP_ID"],
    show_default=True,
    show_envvar=True,
    help="Faust app id: consumer group, changelog topics and Redis key prefix.",
)
@click.option(
    "--partitions",
    envvar="SCORECARD_PARTITIONS",
    default=int(ENV_DEFAULTS["SCORECARD_PARTITIONS"]),
    type=click.IntRange(min=1),
    show_default=True,
    show_envvar=True,
    help="Partitions of the topics it creates.",
)
@click.option(
    "--loglevel",
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
    default="warn",
    show_default=True,
    help="Faust log level.",
)
def worker_command(
    scorecard_path: str, kafka_bootstrap: str, redis_url: str, topic: str, app_id: str, partitions: int, loglevel: str
) -> None:
    """Run the streaming worker: Kafka events -> unit tables -> Redis cascade (until SIGTERM or Ctrl-C)."""
    from streams.worker import run_worker  # Faust is slow to import; only this command needs it

    settings = Settings(kafka_bootstrap, redis_url, ENV_DEFAULTS["SCORECARD_PROMETHEUS_URL"], topic, app_id, partitions)
    run_worker(settings, scorecard_path, loglevel=loglevel)


def _parse_at(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_time(float(text)) if _is_number(text) else parse_time(text)
    except TimeFormatError as err:
        raise click.BadParameter(str(err), param_hint="--at") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


def _replay_file(scorecard: Scorecard, events: Path, at: float | None) -> ReplayResult:
    """Replay from a file or stdin, with a progress bar on stderr when a person is watching it."""
    if str(events) == "-":
        return replay(scorecard, sys.stdin.buffer, at)
    with events.open("rb") as handle:
        if not sys.stderr.isatty():
            return replay(scorecard, handle, at)
        with Progress(
            TextColumn("replaying {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task(events.name, total=events.stat().st_size)
            return replay(scorecard, _counted(handle, progress, task), at)


def _counted(handle: IO[bytes], progress: Progress, task: TaskID) -> Iterator[bytes]:
    done = 0
    for number, line in enumerate(handle, 1):
        done += len(line)
        if number % _PROGRESS_LINES == 0:
            progress.update(task, completed=done)
        yield line
    progress.update(task, completed=done)


def _report_invalid(invalid: list[InvalidLine], errors_path: Path | None) -> None:
    """A short list on stderr (a person reads it); everything in the --errors file (a program reads it)."""
    if errors_path is not None:
        errors_path.write_bytes(invalid_lines_jsonl(invalid))
    if not invalid:
        return
    click.echo(f"{_plural(len(invalid), 'invalid event')}:", err=True)
    for item in invalid[:_SHOWN_INVALID]:
        click.echo(f"  {item.format()}", err=True)
    if len(invalid) > _SHOWN_INVALID:
        more = len(invalid) - _SHOWN_INVALID
        where = f"all in {errors_path}" if errors_path is not None else "use --errors FILE to get them all"
        click.echo(f"  ... and {more} more ({where})", err=True)


def _summary(scorecard: Scorecard, source: str, warnings: list[Problem]) -> str:
    """What a reviewer wants to see at a glance: shape of the tree, balance, and the mix of measures."""
    tree = OrgTree.from_scorecard(scorecard)
    leaves = _plural(sum(1 for unit in tree if tree.is_leaf(unit)), "leaf", "leaves")
    export = "all levels" if scorecard.export.max_depth is None else f"depth <= {scorecard.export.max_depth}"
    lines = [
        f"{scorecard.name}  ({source}: valid)",
        f"  timezone      {scorecard.timezone}",
        f"  lateness      {_duration(scorecard.lateness)}, dedupe {_duration(scorecard.dedupe)}, export {export}",
        f"  org           {_plural(len(tree), 'unit')}, depth {tree.height} (root {tree.root}, {leaves})",
        f"  objectives    {len(scorecard.objectives)}",
        f"  KPIs          {len(scorecard.kpis)}",
        "  perspectives",
    ]
    width = max(len(p.label) for p in scorecard.perspectives)
    for perspective in scorecard.perspectives:
        count = len(scorecard.kpis_of(perspective.id))
        lines.append(f"    {perspective.label:<{width}}  weight {perspective.weight:g}  {_plural(count, 'KPI')}")
    aggregations: Counter[str] = Counter(k.aggregation for k in scorecard.kpis)
    lines.append("  aggregations  " + _counts(aggregations, AGGREGATIONS))
    lines.append("  windows       " + _windows(scorecard))
    polarities: Counter[str] = Counter(k.polarity or "no goal" for k in scorecard.kpis)
    lines.append("  polarity      " + _counts(polarities, ("higher_is_better", "lower_is_better", "no goal")))
    if warnings:
        lines.append(f"  balance       {_plural(len(warnings), 'warning')}")
        lines += [f"    warning: {w.format(source)}" for w in warnings]
    else:
        lines.append("  balance       no warnings")
    return "\n".join(lines)


def _windows(scorecard: Scorecard) -> str:
    kinds: Counter[str] = Counter(k.window.kind for k in scorecard.kpis)
    periods: Counter[str] = Counter(k.window.period for k in scorecard.kpis if isinstance(k.window, CalendarWindow))
    text = _counts(kinds, ("tumbling", "calendar", "rolling"))
    if periods:
        text += f" (calendar: {', '.join(f'{p} {n}' for p, n in sorted(periods.items()))})"
    return text


def _counts(counter: Counter[str], order: tuple[str, ...]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {counter[name]}" for name in order if counter[name]) or "none"


def _duration(seconds: int) -> str:
    return format_duration(seconds) if seconds else "0s"


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"
