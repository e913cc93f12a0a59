"""``scorecard replay``, ``status`` and ``report``: the scorecard from a replay of events or from Redis.

``replay FILE EVENTS`` feeds a JSON Lines event file (``-`` for stdin) through the engine in file order and prints
the whole scorecard at ``--at`` (default: the newest accepted event time), as a table (``scorecard.outputs.table``;
``--kpis``: by KPI, ``kpi_table``), as CSV (``--format csv``, ``csv_report``) or as the JSON report (``--format json``);
``status`` prints the same shapes. Invalid events are listed on stderr, a few
with their line number and reason; ``--errors FILE`` writes them all as JSON Lines, as they come (the replay keeps
only the first 1,000 in memory). ``--received-at`` is the time the events count as received, for the
``time_in_future`` rule (default: now; give the publish time to replay old files as the stream judged them). A
progress bar is drawn on stderr only when stderr is a terminal, so pipes and logs stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import DownloadColumn, Progress, TaskID

from scorecard.cli.console import echo, plural, progress_bar, terminal_console
from scorecard.cli.definition_option import definition_flag, load_or_exit, resolve_definition, scorecard_option
from scorecard.cli.files import output_file_option, write_document
from scorecard.cli.options import app_id_option
from scorecard.cli.options_prometheus import prometheus_history_options
from scorecard.cli.options_redis import redis_option
from scorecard.cli.params import parse_at
from scorecard.cli.services import require_live, unavailable
from scorecard.cli.shape import EXIT_FAILED
from scorecard.config import RedisOptions
from scorecard.core.definition import Scorecard
from scorecard.core.evaluation import dumps
from scorecard.core.hierarchy import OrgTree
from scorecard.core.lines import read_lines
from scorecard.core.replay import MAX_INVALID, InvalidLine, ReplayResult, invalid_line_json, replay
from scorecard.outputs.csv_report import kpis_csv, units_csv
from scorecard.outputs.kpi_table import print_kpi_report
from scorecard.outputs.table import print_report
from scorecard.outputs.terminal import markup

_SHOWN_INVALID = 10
table_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table: for people; json: the whole report; csv: for spreadsheets (units x perspectives, or x KPIs).",
)
kpis_option = click.option(
    "--kpis",
    "show_kpis",
    is_flag=True,
    help=(
        "Table and CSV: one row per unit and KPI (value, goal, red flag, score, status; for a paced KPI also the"
        " share of its period elapsed, the forecast and the period goal) instead of perspectives."
    ),
)
_PROGRESS_LINES = 20_000


@click.command("replay")
@definition_flag(positional=True)
@click.argument(
    "paths",
    nargs=-1,
    metavar="[FILE] EVENTS",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
)
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="Evaluate at TIME (RFC 3339 or epoch seconds).  [default: newest accepted event]",
)
@table_format_option
@kpis_option
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every invalid event to this file as JSON Lines (line, id, reason, detail).",
)
@click.option(
    "--received-at",
    "received_text",
    metavar="TIME",
    help="The time the events count as received (RFC 3339 or epoch seconds): an event timed more than the "
    "definition's max_ahead after it is invalid (time_in_future), as in the stream.  [default: now]",
)
@click.option(
    "--fail-on-invalid",
    is_flag=True,
    help="Exit 1 when any event was invalid (after printing the scorecard), so a CI job fails on bad events.",
)
def replay_command(
    scorecard_path: Path | None,
    paths: tuple[Path, ...],
    at_text: str | None,
    output_format: str,
    show_kpis: bool,
    errors_path: Path | None,
    received_text: str | None,
    fail_on_invalid: bool,
) -> None:
    """Replay the EVENTS file (JSON Lines, - for stdin) against the scorecard (-s FILE, or FILE) and print it."""
    if len(paths) not in (1, 2) or (len(paths) == 2 and str(paths[0]) == "-"):
        raise click.UsageError("expected [FILE] EVENTS: the events file, after the definition unless -s gives it")
    events = paths[-1]
    file = resolve_definition(scorecard_path, paths[0] if len(paths) == 2 else None)
    scorecard = load_or_exit(file)
    at = parse_at(at_text)
    received_at = parse_at(received_text, "--received-at")
    if errors_path is None:
        result = _replay_file(scorecard, events, at, received_at)
    else:
        with errors_path.open("wb") as errors:
            result = _replay_file(
                scorecard, events, at, received_at, lambda item: errors.write(invalid_line_json(item))
            )
    _report_invalid(result, errors_path)
    if result.at is None:
        click.echo("no accepted event to evaluate at; give the time with --at", err=True)
        sys.exit(EXIT_FAILED)
    _print_document(scorecard, result.evaluate(), output_format, show_kpis)
    invalid = result.counts.get("invalid", 0)
    if fail_on_invalid and invalid:
        click.echo(f"{plural(invalid, 'invalid event')}: failing (--fail-on-invalid)", err=True)
        sys.exit(EXIT_FAILED)


@click.command("status")
@scorecard_option
@redis_option
@app_id_option
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="Evaluate at TIME (RFC 3339 or epoch seconds).  [default: now]",
)
@table_format_option
@kpis_option
def status_command(
    scorecard_path: Path,
    redis_url: str,
    redis_options: RedisOptions,
    app_id: str,
    at_text: str | None,
    output_format: str,
    show_kpis: bool,
) -> None:
    """Print the live scorecard from Redis, in the table or JSON shape of `scorecard replay`."""
    from scorecard.redis.live import live_report
    from scorecard.redis.store import RedisStore, StoreError

    scorecard = load_or_exit(scorecard_path)
    at = parse_at(at_text)
    store = RedisStore.from_url(redis_url, app_id, options=redis_options)
    try:
        require_live(store, app_id)
        document = live_report(scorecard, store, at if at is not None else time.time())
    except StoreError as error:
        unavailable(f"cannot read the live scorecard: {error}")
    _print_document(scorecard, document, output_format, show_kpis)


@click.command("report")
@scorecard_option
@click.option("--format", "output_format", type=click.Choice(["html", "json"]), default="html", show_default=True)
@output_file_option("Where to write the page")
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this JSON Lines event file instead of reading the live scorecard from Redis.",
)
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="Evaluate at TIME (RFC 3339 or epoch seconds).  [default: newest accepted event with --events, else now]",
)
@click.option(
    "--trend",
    "trend_windows",
    type=click.IntRange(min=0, max=100),
    default=8,
    show_default=True,
    help="Past windows per KPI in the trend sparklines (from Redis at most 1: it keeps the previous window only).",
)
@click.option(
    "--since",
    "since_text",
    metavar="TIME",
    help="HTML: add to each unit what moved its score since TIME, as `scorecard explain` shows it (live: the "
    "scorecard at TIME comes from Prometheus' history).",
)
@redis_option
@app_id_option
@prometheus_history_options
def report_command(
    scorecard_path: Path,
    output_format: str,
    output_path: Path,
    events_path: Path | None,
    at_text: str | None,
    trend_windows: int,
    since_text: str | None,
    redis_url: str,
    redis_options: RedisOptions,
    app_id: str,
    prometheus_url: str,
    prometheus_match: str,
) -> None:
    """Write the scorecard as one self-contained HTML page (or the JSON report), from Redis or from a replay."""
    from scorecard.core.trends import Trends, replay_trends
    from scorecard.outputs.report_html import render_html
    from scorecard.redis.live import live_report, live_trends
    from scorecard.redis.store import RedisStore, StoreError

    scorecard = load_or_exit(scorecard_path)
    at = parse_at(at_text)
    since = parse_at(since_text, "--since")
    html = output_format == "html"
    trends: Trends | None = None
    before: dict[str, Any] | None = None
    if events_path is not None:
        result = _replay_file(scorecard, events_path, at)
        _report_invalid(result, None)
        if result.at is None:
            click.echo("no accepted event to evaluate at; give the time with --at", err=True)
            sys.exit(1)
        document = result.evaluate()
        before = result.evaluate(since) if since is not None and html else None
        trends = replay_trends(result, result.at, trend_windows, document) if html else None
        source = f"replay of {events_path.name}"
    else:
        store = RedisStore.from_url(redis_url, app_id, options=redis_options)
        when = at if at is not None else time.time()
        try:
            require_live(store, app_id, " (or give --events FILE to report from a replay)")
            document = live_report(scorecard, store, when)
            trends = live_trends(scorecard, store, when, min(trend_windows, 1), document) if html else None
        except StoreError as error:
            unavailable(f"cannot read the live scorecard: {error}")
        source = f"live scorecard in Redis ({store.url}, app id {app_id})"
        if since is not None and html:
            from scorecard.cli.explain import prometheus_history_reports

            before = prometheus_history_reports(scorecard, prometheus_url, since, prometheus_match)
    moved = None
    if before is not None and html:
        from scorecard.cli.explain import explain_units

        moved = explain_units(scorecard, OrgTree.from_scorecard(scorecard), before, document)
    since_shown = before["at"] if before is not None else ""
    data = (
        render_html(scorecard, document, trends=trends, source=source, moved=moved, since=since_shown).encode()
        if html
        else dumps(document)
    )
    if write_document(output_path, data):
        echo(f"wrote {output_path} ({scorecard.name} at {document['at']}, {source})")


def _print_document(scorecard: Scorecard, document: dict[str, Any], output_format: str, kpis: bool = False) -> None:
    """Print a report as JSON (exact bytes of ``dumps``), CSV or the terminal table; ``kpis``: by KPI."""
    if output_format == "json":
        sys.stdout.buffer.write(dumps(document))
        sys.stdout.flush()
        return
    if output_format == "csv":
        terminal = sys.stdout.isatty()
        text = (kpis_csv if kpis else units_csv)(scorecard, document, terminal=terminal)
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
        return
    console = terminal_console()
    (print_kpi_report if kpis else print_report)(console, scorecard, document)


def _replay_file(
    scorecard: Scorecard,
    events: Path,
    at: float | None,
    received_at: float | None = None,
    on_invalid: Callable[[InvalidLine], object] | None = None,
) -> ReplayResult:
    """Replay from a file or stdin, with a progress bar on stderr when a person is watching it.

    Lines are read with a bounded size (``read_lines``); the events count as received at ``received_at``, by default
    now; ``on_invalid`` hears of every invalid line.
    """
    options: dict[str, Any] = {
        "received_at": received_at if received_at is not None else time.time(),
        "on_invalid": on_invalid,
    }
    max_bytes = scorecard.limits.event_bytes
    if str(events) == "-":
        return replay(scorecard, read_lines(sys.stdin.buffer, max_bytes), at, **options)
    with events.open("rb") as handle:
        if not sys.stderr.isatty():
            return replay(scorecard, read_lines(handle, max_bytes), at, **options)
        with progress_bar("replaying {task.description}", DownloadColumn()) as progress:
            task = progress.add_task(markup(events.name), total=events.stat().st_size)
            return replay(scorecard, _counted(handle, max_bytes, progress, task), at, **options)


def _counted(handle: IO[bytes], max_bytes: int, progress: Progress, task: TaskID) -> Iterator[bytes]:
    for number, line in enumerate(read_lines(handle, max_bytes), 1):
        if number % _PROGRESS_LINES == 0:
            progress.update(task, completed=handle.tell())
        yield line
    progress.update(task, completed=handle.tell())


def _report_invalid(result: ReplayResult, errors_path: Path | None) -> None:
    """A short list on stderr (a person reads it); everything in the --errors file (a program reads it)."""
    total = result.counts.get("invalid", 0)
    if not total:
        return
    click.echo(f"{plural(total, 'invalid event')}:", err=True)
    for item in result.invalid[:_SHOWN_INVALID]:
        echo(f"  {item.format()}", err=True)
    if total > _SHOWN_INVALID:
        more = total - _SHOWN_INVALID
        where = f"all in {errors_path}" if errors_path is not None else "use --errors FILE to get them all"
        kept = f"; only the first {MAX_INVALID:,} were kept in memory" if result.invalid_cut else ""
        click.echo(f"  ... and {more:,} more ({where}{kept})", err=True)
