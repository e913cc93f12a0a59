"""The ``scorecard`` command line: a click group, one function per command.

``scorecard validate FILE`` checks a definition. Problems go to stderr, one per line as ``FILE:LINE: path: message``
(the shape editors and CI annotators already understand), and the exit code is 1; a valid file gets a one-screen
summary on stdout and exit code 0 (``--strict`` also fails on balance warnings). Output is plain text so it reads
the same in a terminal, a pipe or a CI log.

``scorecard replay FILE EVENTS`` feeds a JSON Lines event file (``-`` for stdin) through the engine in file order
and prints the whole scorecard at ``--at`` (default: the newest accepted event time), as a table
(``scorecard.outputs.table``) or as the JSON report (``--format json``, the shape ``scorecard status`` prints too).
Invalid events are listed on stderr, a few with their line number and reason; ``--errors FILE`` writes them all as
JSON Lines, as they come (the replay keeps only the first 1,000 in memory). ``--received-at`` is the time the events
count as received, for the ``time_in_future`` rule (default: now; give the publish time to replay old files as the
stream judged them). A progress bar is drawn on stderr only when stderr is a terminal, so pipes and logs stay clean.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from scorecard import __version__
from scorecard.config import ENV_DEFAULTS, Settings, redact_url
from scorecard.core.definition import (
    AGGREGATIONS,
    CalendarWindow,
    DefinitionError,
    Problem,
    Scorecard,
    lint_balance,
    load_scorecard,
)
from scorecard.core.evaluation import dumps
from scorecard.core.hierarchy import OrgTree
from scorecard.core.lines import read_lines
from scorecard.core.replay import MAX_INVALID, InvalidLine, ReplayResult, invalid_line_json, replay
from scorecard.core.timeutil import TimeFormatError, check_event_time, format_duration, parse_time_text
from scorecard.outputs.table import print_report
from scorecard.outputs.terminal import markup, printable

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
            _echo(problem.format(str(file)), err=True)
        click.echo(f"{_plural(len(err.problems), 'problem')} found; {file} is not valid", err=True)
        sys.exit(1)
    warnings = lint_balance(scorecard)
    _echo(_summary(scorecard, str(file), warnings))
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
@click.option(
    "--received-at",
    "received_text",
    metavar="TIME",
    help="The time the events count as received (RFC 3339 or epoch seconds): an event timed more than the "
    "definition's max_ahead after it is invalid (time_in_future), as in the stream.  [default: now]",
)
def replay_command(
    file: Path,
    events: Path,
    at_text: str | None,
    output_format: str,
    errors_path: Path | None,
    received_text: str | None,
) -> None:
    """Replay the EVENTS file (JSON Lines, - for stdin) against the scorecard FILE and print the scorecard."""
    scorecard = _load_or_exit(file)
    at = _parse_at(at_text)
    received_at = _parse_at(received_text, "--received-at")
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
        sys.exit(1)
    _print_document(scorecard, result.evaluate(), output_format)


def _env_option(name: str, envvar: str, help_text: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A flag that also reads its environment variable, with the shared default of ``scorecard.config``.

    Click converts the default text with the option's type, so "8" becomes 8 for an integer option.
    """
    return click.option(
        name, envvar=envvar, default=ENV_DEFAULTS[envvar], show_default=True, show_envvar=True, help=help_text, **kwargs
    )


kafka_option = _env_option("--kafka-bootstrap", "SCORECARD_KAFKA_BOOTSTRAP", "Kafka bootstrap servers.")


def _check_redis_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A URL redis-py cannot read is a one-line usage error (it names no password: neither the URL nor a value)."""
    import redis

    try:
        redis.ConnectionPool.from_url(value)
    except ValueError as error:
        reason = re.sub(r" as '.*'", "", str(error))  # "Port could not be cast ... as '<what followed the colon>'"
        raise click.BadParameter(
            f"not a Redis URL ({reason}); expected redis://[[user]:password@]host[:port][/db], rediss://... or "
            "unix://path"
        ) from None
    return value


redis_option = _env_option(
    "--redis-url", "SCORECARD_REDIS_URL", "Redis holding the live scorecard.", callback=_check_redis_url
)
topic_option = _env_option("--topic", "SCORECARD_TOPIC", "Input topic; the dead-letter topic is TOPIC.dlq.")
app_id_option = _env_option(
    "--app-id", "SCORECARD_APP_ID", "Faust app id: consumer group, changelog topics and Redis key prefix."
)
partitions_option = _env_option(
    "--partitions",
    "SCORECARD_PARTITIONS",
    "Partitions of the topics it creates (must match an existing input topic).",
    type=click.IntRange(min=1),
)
scorecard_option = click.option(
    "--scorecard",
    "scorecard_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scorecard definition (YAML).",
)


def _settings(
    *,
    kafka_bootstrap: str = ENV_DEFAULTS["SCORECARD_KAFKA_BOOTSTRAP"],
    redis_url: str = ENV_DEFAULTS["SCORECARD_REDIS_URL"],
    topic: str = ENV_DEFAULTS["SCORECARD_TOPIC"],
    app_id: str = ENV_DEFAULTS["SCORECARD_APP_ID"],
    partitions: int = int(ENV_DEFAULTS["SCORECARD_PARTITIONS"]),
) -> Settings:
    return Settings(kafka_bootstrap, redis_url, ENV_DEFAULTS["SCORECARD_PROMETHEUS_URL"], topic, app_id, partitions)


def _echo(message: str, err: bool = False) -> None:
    """Print text that holds names from a definition or values from events (``terminal.printable``)."""
    click.echo(printable(message, keep_newlines=True), err=err)


def _load_or_exit(path: Path) -> Scorecard:
    """Load a definition for a command that needs a valid one; problems go to stderr with a pointer to validate."""
    try:
        return load_scorecard(path)
    except DefinitionError as err:
        for problem in err.problems:
            _echo(problem.format(str(path)), err=True)
        click.echo(f"{path} is not a valid scorecard; see `scorecard validate {path}`", err=True)
        sys.exit(1)


@main.command("worker")
@scorecard_option
@kafka_option
@redis_option
@topic_option
@app_id_option
@partitions_option
@_env_option(
    "--metrics-port",
    "SCORECARD_METRICS_PORT",
    "Port of the pipeline metrics (/metrics, /healthz); 0 turns them off.",
    type=click.IntRange(min=0, max=65535),
)
@_env_option(
    "--metrics-host",
    "SCORECARD_METRICS_HOST",
    "Address the pipeline metrics listen on (127.0.0.1: this machine only).",
)
@_env_option(
    "--session-timeout",
    "SCORECARD_SESSION_TIMEOUT",
    "Seconds before a silent worker's partitions move to the others (failover time).",
    type=click.FloatRange(min=6.0),
)
@_env_option(
    "--commit-interval",
    "SCORECARD_COMMIT_INTERVAL",
    "Seconds between commits of consumed offsets: what a restarted worker re-reads (and skips) after a crash.",
    type=click.FloatRange(min=0.1),
)
@_env_option(
    "--stop-timeout",
    "SCORECARD_STOP_TIMEOUT",
    "Seconds a stop (SIGTERM, Ctrl-C) may take before the worker exits without a final commit (status 70), as it "
    "must while Kafka is unreachable; a second signal exits at once.",
    type=click.FloatRange(min=1.0),
)
@click.option(
    "--loglevel",
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
    default="warn",
    show_default=True,
    help="Faust log level.",
)
def worker_command(
    scorecard_path: Path,
    kafka_bootstrap: str,
    redis_url: str,
    topic: str,
    app_id: str,
    partitions: int,
    metrics_port: int,
    metrics_host: str,
    session_timeout: float,
    commit_interval: float,
    stop_timeout: float,
    loglevel: str,
) -> None:
    """Run the streaming worker: Kafka events -> unit tables -> Redis cascade (until SIGTERM or Ctrl-C)."""
    from scorecard.outputs.webserver import ListenError
    from streams.worker import run_worker  # Faust is slow to import; only this command needs it

    _load_or_exit(scorecard_path)
    settings = _settings(
        kafka_bootstrap=kafka_bootstrap, redis_url=redis_url, topic=topic, app_id=app_id, partitions=partitions
    )
    try:
        run_worker(
            settings,
            str(scorecard_path),
            loglevel=loglevel,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            session_timeout=session_timeout,
            commit_interval=commit_interval,
            stop_timeout=stop_timeout,
        )
    except ListenError as error:  # the metrics port is taken, or the address is not ours
        click.echo(f"{error} (--metrics-host, --metrics-port)", err=True)
        sys.exit(1)


@main.command("publish")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@kafka_option
@topic_option
@partitions_option
@click.option(
    "--key/--no-key",
    default=True,
    show_default=True,
    help="Key each event by its unit (keeps a unit's events in file order); --no-key sends them without keys.",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Pace to this many events per second.")
def publish_command(
    events: Path, kafka_bootstrap: str, topic: str, partitions: int, key: bool, rate: float | None
) -> None:
    """Publish the EVENTS file (JSON Lines, - for stdin) to the input topic, one event per message."""
    import asyncio

    from streams.publisher import MAX_MESSAGE_BYTES, publish_lines

    settings = _settings(kafka_bootstrap=kafka_bootstrap, topic=topic, partitions=partitions)
    if str(events) == "-":
        stats = asyncio.run(
            publish_lines(settings, read_lines(sys.stdin.buffer, MAX_MESSAGE_BYTES), keyed=key, rate=rate)
        )
    else:
        with events.open("rb") as handle:
            if not sys.stderr.isatty():
                stats = asyncio.run(
                    publish_lines(settings, read_lines(handle, MAX_MESSAGE_BYTES), keyed=key, rate=rate)
                )
            else:
                total = sum(1 for line in read_lines(handle, MAX_MESSAGE_BYTES) if line.strip())
                handle.seek(0)
                with _progress("publishing") as progress:
                    task = progress.add_task(markup(events.name), total=total)
                    stats = asyncio.run(
                        publish_lines(
                            settings,
                            read_lines(handle, MAX_MESSAGE_BYTES),
                            keyed=key,
                            rate=rate,
                            progress=lambda sent: progress.update(task, completed=sent),
                        )
                    )
    click.echo(stats.summary())


@main.command("status")
@scorecard_option
@redis_option
@app_id_option
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="Evaluate at TIME (RFC 3339 or epoch seconds).  [default: now]",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status_command(scorecard_path: Path, redis_url: str, app_id: str, at_text: str | None, output_format: str) -> None:
    """Print the live scorecard from Redis, in the table or JSON shape of `scorecard replay`."""
    from scorecard.redis.live import live_report
    from scorecard.redis.store import RedisStore, StoreError

    scorecard = _load_or_exit(scorecard_path)
    at = _parse_at(at_text)
    store = RedisStore.from_url(redis_url, app_id)
    try:
        if not store.is_initialized():
            click.echo(
                f"no live scorecard for app id {app_id!r} in {store!r} yet: is a worker running with the same "
                "SCORECARD_APP_ID and SCORECARD_REDIS_URL?",
                err=True,
            )
            sys.exit(1)
        document = live_report(scorecard, store, at if at is not None else time.time())
    except StoreError as error:
        click.echo(f"cannot read the live scorecard: {error}", err=True)
        sys.exit(1)
    _print_document(scorecard, document, output_format)


def _print_document(scorecard: Scorecard, document: dict[str, Any], output_format: str) -> None:
    """Print a report as JSON (exact bytes of ``dumps``) or as the terminal table."""
    if output_format == "json":
        sys.stdout.buffer.write(dumps(document))
        sys.stdout.flush()
        return
    console = Console(width=None if sys.stdout.isatty() else max(120, _columns()))
    print_report(console, scorecard, document)


def _progress(verb: str) -> Progress:
    return Progress(
        TextColumn(verb + " {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _parse_at(text: str | None, option: str = "--at") -> float | None:
    if text is None:
        return None
    return _time_param(text, option)


def _time_param(text: str, option: str) -> float:
    """A time option: RFC 3339 or epoch seconds, within the range events may have (years 1000-9997)."""
    try:
        return check_event_time(parse_time_text(text), text)
    except TimeFormatError as err:
        raise click.BadParameter(printable(err), param_hint=option) from None


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


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
        with Progress(
            TextColumn("replaying {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
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
    click.echo(f"{_plural(total, 'invalid event')}:", err=True)
    for item in result.invalid[:_SHOWN_INVALID]:
        _echo(f"  {item.format()}", err=True)
    if total > _SHOWN_INVALID:
        more = total - _SHOWN_INVALID
        where = f"all in {errors_path}" if errors_path is not None else "use --errors FILE to get them all"
        kept = f"; only the first {MAX_INVALID:,} were kept in memory" if result.invalid_cut else ""
        click.echo(f"  ... and {more:,} more ({where}{kept})", err=True)


def _summary(scorecard: Scorecard, source: str, warnings: list[Problem]) -> str:
    """What a reviewer wants to see at a glance: shape of the tree, balance, and the mix of measures."""
    tree = OrgTree.from_scorecard(scorecard)
    leaves = _plural(sum(1 for unit in tree if tree.is_leaf(unit)), "leaf", "leaves")
    export = "all levels" if scorecard.export.max_depth is None else f"depth <= {scorecard.export.max_depth}"
    lines = [
        f"{printable(scorecard.name)}  ({source}: valid)",
        f"  timezone      {scorecard.timezone}",
        f"  lateness      {_duration(scorecard.lateness)}, dedupe {_duration(scorecard.dedupe)}, export {export}",
        f"  org           {_plural(len(tree), 'unit')}, depth {tree.height} (root {tree.root}, {leaves})",
        f"  objectives    {len(scorecard.objectives)}",
        f"  KPIs          {len(scorecard.kpis)}",
        "  perspectives",
    ]
    labels = {p.id: printable(p.label) for p in scorecard.perspectives}
    width = max(len(label) for label in labels.values())
    for perspective in scorecard.perspectives:
        count = len(scorecard.kpis_of(perspective.id))
        label = labels[perspective.id]
        lines.append(f"    {label:<{width}}  weight {perspective.weight:g}  {_plural(count, 'KPI')}")
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


@main.command("dashboards")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("deploy/grafana/dashboards"),
    show_default=True,
    help="Folder for the board JSON files (the folder Grafana provisions from).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the files in the folder are stale.")
def dashboards_command(file: Path, output: Path, check: bool) -> None:
    """Generate the Grafana boards (overview, KPI detail, pipeline health) of the scorecard FILE."""
    from scorecard.outputs.dashboards import stale_boards, write_boards

    scorecard = _load_or_exit(file)
    if check:
        stale = stale_boards(scorecard, output)
        for path in stale:
            click.echo(f"{path} is missing or stale; run `scorecard dashboards {file} -o {output}`", err=True)
        if stale:
            sys.exit(1)
        click.echo(f"{output}: boards are up to date with {file}")
        return
    written = write_boards(scorecard, output)
    for board in written:
        _echo(f"{board.uid:<20} {_plural(board.panels, 'panel'):>10}  {board.title}  -> {board.path}")
    click.echo(f"{_plural(len(written), 'board')} written to {output}")


# ------------------------------------------------------------------------------------------------ rules, alertmanager
@main.command("rules")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the rule files (created when missing), e.g. deploy/prometheus/rules.",
)
@click.option(
    "--for",
    "pending_text",
    default="5m",
    show_default=True,
    metavar="DURATION",
    help="How long a KPI status or an exporter failure must last before its alert fires.",
)
@click.option(
    "--stale-after",
    "stale_text",
    default="2h",
    show_default=True,
    metavar="DURATION",
    help="ScorecardStale fires for a unit with no accepted event for longer than this.",
)
@click.option(
    "--grafana-url",
    default="http://localhost:3000",
    show_default=True,
    help="Grafana base URL of the KPI board links in the alert annotations.",
)
def rules_command(file: Path, output_dir: Path, pending_text: str, stale_text: str, grafana_url: str) -> None:
    """Write the Prometheus alert and recording rules of the scorecard FILE (see docs/alerts.md)."""
    from scorecard.outputs import rules

    scorecard = _load_or_exit(file)
    try:
        url = rules.check_grafana_url(grafana_url)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--grafana-url") from None
    options = rules.RuleOptions(
        _duration_param(pending_text, "--for"), _duration_param(stale_text, "--stale-after"), url
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    header = rules.rules_header(file.name, scorecard, options)
    for name, document in rules.rule_files(scorecard, options).items():
        path = output_dir / name
        path.write_text(rules.to_yaml(document, header), encoding="utf-8")
        alerting, recording = rules.count_rules(document)
        click.echo(f"wrote {path}: {_plural(alerting, 'alerting rule')}, {_plural(recording, 'recording rule')}")
    click.echo(
        f"{_plural(len(scorecard.kpis), 'KPI')}, owners routed by `scorecard alertmanager`:"
        f" {_plural(len(rules.owner_teams(scorecard)), 'team')}; a running Prometheus loads new rules on reload"
        " (POST /-/reload)"
    )


@main.command("alertmanager")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output_path",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Alertmanager config to write (- for stdout), e.g. deploy/alertmanager/alertmanager.yml.",
)
@click.option(
    "--webhook-url",
    metavar="URL",
    help="Webhook of every receiver; {team} becomes the owner team (URL-quoted), 'default' for the default one."
    "  [default: the placeholder http://alert-webhook.invalid/scorecard/{team}]",
)
def alertmanager_command(file: Path, output_path: Path, webhook_url: str | None) -> None:
    """Write an Alertmanager config routing the scorecard FILE's alerts to one receiver per owner team."""
    from scorecard.outputs import rules

    scorecard = _load_or_exit(file)
    webhook_url = webhook_url or rules.PLACEHOLDER_WEBHOOK
    try:
        config = rules.alertmanager_config(scorecard, webhook_url)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--webhook-url") from None
    text = rules.to_yaml(config, rules.alertmanager_header(file.name, scorecard, webhook_url))
    if str(output_path) == "-":
        click.echo(text, nl=False)
        return
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(text, encoding="utf-8")
    teams = rules.owner_teams(scorecard)
    _echo(f"wrote {output_path}: {_plural(len(teams), 'team receiver')} ({', '.join(teams)}) and default")


def _duration_param(text: str, option: str) -> int:
    from scorecard.core.timeutil import parse_duration

    try:
        return parse_duration(text)
    except TimeFormatError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


@main.command("report")
@scorecard_option
@click.option("--format", "output_format", type=click.Choice(["html", "json"]), default="html", show_default=True)
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    default="-",
    show_default=True,
    help="Where to write the page (- for stdout).",
)
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
@redis_option
@app_id_option
def report_command(
    scorecard_path: Path,
    output_format: str,
    output_path: Path,
    events_path: Path | None,
    at_text: str | None,
    trend_windows: int,
    redis_url: str,
    app_id: str,
) -> None:
    """Write the scorecard as one self-contained HTML page (or the JSON report), from Redis or from a replay."""
    from scorecard.core.trends import Trends, replay_trends
    from scorecard.outputs.report_html import render_html
    from scorecard.redis.live import live_report, live_trends
    from scorecard.redis.store import RedisStore, StoreError

    scorecard = _load_or_exit(scorecard_path)
    at = _parse_at(at_text)
    html = output_format == "html"
    trends: Trends | None = None
    if events_path is not None:
        result = _replay_file(scorecard, events_path, at)
        _report_invalid(result, None)
        if result.at is None:
            click.echo("no accepted event to evaluate at; give the time with --at", err=True)
            sys.exit(1)
        document = result.evaluate()
        trends = replay_trends(result, result.at, trend_windows, document) if html else None
        source = f"replay of {events_path.name}"
    else:
        store = RedisStore.from_url(redis_url, app_id)
        when = at if at is not None else time.time()
        try:
            if not store.is_initialized():
                click.echo(
                    f"no live scorecard for app id {app_id!r} in {store!r} yet: is a worker running with the same "
                    "SCORECARD_APP_ID and SCORECARD_REDIS_URL? (or give --events FILE to report from a replay)",
                    err=True,
                )
                sys.exit(1)
            document = live_report(scorecard, store, when)
            trends = live_trends(scorecard, store, when, min(trend_windows, 1), document) if html else None
        except StoreError as error:
            click.echo(f"cannot read the live scorecard: {error}", err=True)
            sys.exit(1)
        source = f"live scorecard in Redis ({store.url}, app id {app_id})"
    data = render_html(scorecard, document, trends=trends, source=source).encode() if html else dumps(document)
    if str(output_path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_bytes(data)
    _echo(f"wrote {output_path} ({scorecard.name} at {document['at']}, {source})")


@main.command("exporter")
@scorecard_option
@redis_option
@app_id_option
@_env_option(
    "--port",
    "SCORECARD_EXPORTER_PORT",
    "Port of /metrics and /healthz (0: any free port).",
    type=click.IntRange(min=0, max=65535),
)
@_env_option("--host", "SCORECARD_EXPORTER_HOST", "Address to listen on (127.0.0.1: this machine only).")
def exporter_command(scorecard_path: Path, redis_url: str, app_id: str, port: int, host: str) -> None:
    """Serve the live scorecard to Prometheus: /metrics read from Redis and scored on every scrape."""
    from scorecard.outputs.exporter import run_exporter
    from scorecard.outputs.webserver import ListenError

    scorecard = _load_or_exit(scorecard_path)
    try:
        run_exporter(
            scorecard, redis_url, app_id, host, port, announce=lambda url: click.echo(f"serving {url}", err=True)
        )
    except ListenError as error:  # the port is taken, or the address is not ours
        click.echo(str(error), err=True)
        sys.exit(1)


@main.command("board")
@scorecard_option
@click.option(
    "--refresh", type=click.FloatRange(min=0.2), default=2.0, show_default=True, help="Seconds between redraws."
)
@redis_option
@app_id_option
@click.option(
    "--metrics-url",
    default="http://127.0.0.1:9109/metrics",
    show_default=True,
    help="The worker's pipeline metrics (consumer lag, Redis errors); '' to leave them out.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many seconds.  [default: until Ctrl-C]",
)
def board_command(
    scorecard_path: Path, refresh: float, redis_url: str, app_id: str, metrics_url: str, duration: float | None
) -> None:
    """Show the live scorecard from Redis on a refreshing terminal board (plain text frames when not a terminal)."""
    import signal

    from scorecard.outputs.board import run_board
    from scorecard.redis.store import RedisStore

    scorecard = _load_or_exit(scorecard_path)
    store = RedisStore.from_url(redis_url, app_id)
    console = Console(width=None if sys.stdout.isatty() else max(120, _columns()))
    signal.signal(signal.SIGTERM, _interrupt)  # leave the terminal as Ctrl-C would (cursor shown again)
    try:
        run_board(scorecard, store, console, refresh=refresh, metrics_url=metrics_url or None, duration=duration)
    except KeyboardInterrupt:
        console.print("board stopped")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@main.command("simulate")
@scorecard_option
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=500,
    show_default=True,
    help="Live events per second (0: send the backfill only).",
)
@click.option(
    "--duration",
    "duration_text",
    default="10m",
    show_default=True,
    help="Live phase length (30s, 10m, 2h...); 0 runs until Ctrl-C or SIGTERM.",
)
@click.option(
    "--backfill",
    "backfill_text",
    default="0",
    show_default=True,
    help="History sent first, as fast as possible: event times over this span (e.g. 30d) up to the start.",
)
@click.option(
    "--events-per-day",
    type=click.FloatRange(min=0, min_open=True),
    default=2000,
    show_default=True,
    help="History volume per day; live, the event types counts and sums read keep these daily rates.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed and start: same events.")
@click.option(
    "--start",
    "start_text",
    metavar="TIME",
    help="End of the backfill and start of the live phase (RFC 3339 or epoch seconds).  [default: now]",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write JSON Lines to this file (paced the same way) instead of publishing to Kafka.",
)
@click.option(
    "--duplicate-rate",
    type=click.FloatRange(0, 1),
    default=0.005,
    show_default=True,
    help="Share of events sent again (same id) a few events later.",
)
@click.option(
    "--late-rate",
    type=click.FloatRange(0, 1),
    default=0.002,
    show_default=True,
    help="Share of events dated 1-6 h before their type's lateness grace.",
)
@click.option(
    "--invalid-rate",
    type=click.FloatRange(0, 1),
    default=0.002,
    show_default=True,
    help="Share of events followed by a broken copy (no id, bad time, unknown unit, text for a number...).",
)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    help="Instead of history and a live phase, send a fixed batch: this many days of events from --start, planned as "
    "examples/acme-events.jsonl is (no trend, levels shuffled over all teams), as fast as possible.",
)
@click.option(
    "--ignored-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="With --days: share of events followed by one of a type no KPI reads.",
)
@kafka_option
@topic_option
@partitions_option
def simulate_command(
    scorecard_path: Path,
    rate: float,
    duration_text: str,
    backfill_text: str,
    events_per_day: float,
    seed: int,
    start_text: str | None,
    out_path: Path | None,
    duplicate_rate: float,
    late_rate: float,
    invalid_rate: float,
    days: float | None,
    ignored_rate: float,
    kafka_bootstrap: str,
    topic: str,
    partitions: int,
) -> None:
    """Publish realistic events for every KPI of a definition: optional history, then a live stream.

    Units get levels aimed at their goals and red flags (some green, some red), events follow business hours, a few
    are duplicated, late or invalid, and one KPI drifts across its red flag in the first two minutes (named at the
    start and in the summary). Stops after --duration, or cleanly on Ctrl-C / SIGTERM with a summary. With --days,
    sends a fixed batch instead (how examples/acme-events.jsonl is made).
    """
    import asyncio
    import functools
    import math

    from aiokafka.errors import KafkaError

    from scorecard.simulator import Simulation, Trouble, generate_batch
    from scorecard.simulator.pacing import (
        batch_summary_lines,
        file_sink,
        run_batch,
        run_simulation,
        summary_lines,
        trend_text,
    )
    from streams.topics import TopicError

    _check_simulate_mode(click.get_current_context(), days)
    scorecard = _load_or_exit(scorecard_path)
    duration = None if duration_text.strip() == "0" else float(_duration_param(duration_text, "--duration"))
    backfill = 0 if backfill_text.strip() == "0" else _duration_param(backfill_text, "--backfill")
    start = _simulate_start(start_text) if start_text is not None else float(math.floor(time.time()))
    if out_path is not None:
        sink, destination = file_sink(out_path), str(out_path)
    else:
        destination = f"topic {topic} at {redact_url(kafka_bootstrap)}"
        sink = _kafka_sink(kafka_bootstrap, topic, partitions)
    if days is not None:
        trouble = Trouble(duplicate=duplicate_rate, late=late_rate, invalid=invalid_rate, ignored=ignored_rate)
        batch = generate_batch(
            scorecard, start=start, days=days, events_per_day=events_per_day, seed=seed, trouble=trouble
        )
        _echo(f"simulating {scorecard.name} (seed {seed}) to {destination}: {days:g} days of events", err=True)
        try:
            stats = asyncio.run(run_batch(batch, sink))
        except (OSError, KafkaError, TopicError) as error:
            click.echo(f"cannot send to {destination}: {error}", err=True)
            sys.exit(1)
        _echo("\n".join(batch_summary_lines(stats, days=days, start=start, destination=destination)))
        return
    simulation = Simulation(
        scorecard,
        start=start,
        backfill=backfill,
        events_per_day=events_per_day,
        seed=seed,
        trouble=Trouble(duplicate=duplicate_rate, late=late_rate, invalid=invalid_rate),
    )
    history = f"{format_duration(backfill)} of history, then " if backfill else ""
    until = "until Ctrl-C or SIGTERM" if duration is None else f"for {duration_text}"
    live = f"{rate:g} events/s {until}" if rate > 0 else "no live phase"
    _echo(f"simulating {scorecard.name} (seed {seed}) to {destination}: {history}{live}", err=True)
    _echo(f"trend: {trend_text(simulation)}", err=True)
    run = functools.partial(run_simulation, simulation, sink, rate=rate, duration=duration)
    try:
        if backfill and sys.stderr.isatty():
            with _simulate_progress() as progress:
                task = progress.add_task(format_duration(backfill), total=backfill)
                stats = asyncio.run(run(progress=lambda seconds: progress.update(task, completed=seconds)))
        else:
            stats = asyncio.run(run())
    except (OSError, KafkaError, TopicError) as error:
        click.echo(f"cannot send to {destination}: {error}", err=True)
        sys.exit(1)
    _echo("\n".join(summary_lines(simulation, stats, rate=rate, destination=destination)))


_LIVE_ONLY = ("rate", "duration_text", "backfill_text")


def _check_simulate_mode(ctx: click.Context, days: float | None) -> None:
    """--days (a fixed batch) and the live options (--rate, --duration, --backfill) exclude each other."""
    given = [
        f"--{name.removesuffix('_text')}"
        for name in _LIVE_ONLY
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]
    if days is not None and given:
        raise click.UsageError(f"{', '.join(given)}: only for the live simulation, not with --days (a fixed batch)")
    if days is None and ctx.get_parameter_source("ignored_rate") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--ignored-rate applies to a fixed batch (--days) only")


def _simulate_start(text: str) -> float:
    return _time_param(text, "--start")


def _kafka_sink(kafka_bootstrap: str, topic: str, partitions: int) -> Callable[[Any], Any]:
    from streams.publisher import publish_lines

    settings = _settings(kafka_bootstrap=kafka_bootstrap, topic=topic, partitions=partitions)

    async def publish(lines: Any) -> int:
        return (await publish_lines(settings, lines)).sent

    return publish


def _simulate_progress() -> Progress:
    from rich.progress import TaskProgressColumn

    return Progress(
        TextColumn("backfill {task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
