"""``scorecard worker``, ``publish`` and ``simulate``: the commands that run or feed the streaming pipeline.

Kafka, Faust and the simulator are imported inside the commands: they are slow to import, the other commands never
need them, and Faust, aiokafka and uvloop come with the ``worker`` extra only (``services.worker_extra`` turns their
absence into a one-line error naming it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.progress import MofNCompleteColumn, TaskProgressColumn

from scorecard.cli.console import echo, progress_bar
from scorecard.cli.definition_option import load_or_exit, scorecard_option
from scorecard.cli.options import app_id_option, env_option
from scorecard.cli.options_kafka import kafka_options, partitions_option, replication_option, topic_option
from scorecard.cli.options_redis import redis_option
from scorecard.cli.params import Duration, time_param
from scorecard.cli.services import kafka_errors, kafka_reason, quiet_logger, unavailable, worker_extra
from scorecard.cli.settings import make_settings
from scorecard.cli.shape import EXIT_FAILED
from scorecard.cli.web import load_web_config_or_exit, web_config_option
from scorecard.config import KafkaSecurity, RedisOptions, Settings, redact_url
from scorecard.core.lines import read_lines
from scorecard.core.timeutil import format_duration
from scorecard.outputs.terminal import markup

if TYPE_CHECKING:
    from streams.publisher import PublishStats


def _share_option(name: str, default: float, help_text: str) -> Callable[[Any], Any]:
    """A share between 0 and 1 of the simulated events (the trouble rates)."""
    return click.option(name, type=click.FloatRange(0, 1), default=default, show_default=True, help=help_text)


@click.command("worker")
@scorecard_option
@kafka_options
@redis_option
@topic_option
@app_id_option
@partitions_option
@replication_option
@env_option(
    "--metrics-port",
    "SCORECARD_METRICS_PORT",
    "Port of the pipeline metrics (/metrics, /healthz); 0 turns them off.",
    type=click.IntRange(min=0, max=65535),
)
@env_option(
    "--metrics-host",
    "SCORECARD_METRICS_HOST",
    "Address the pipeline metrics listen on (127.0.0.1: this machine only).",
)
@web_config_option("SCORECARD_METRICS_WEB_CONFIG", "the pipeline metrics (/healthz stays open)")
@env_option(
    "--session-timeout",
    "SCORECARD_SESSION_TIMEOUT",
    "How long before a silent worker's partitions move to the others (failover time).",
    type=Duration(minimum=6.0),
)
@env_option(
    "--commit-interval",
    "SCORECARD_COMMIT_INTERVAL",
    "Time between commits of consumed offsets: what a restarted worker re-reads (and skips) after a crash.",
    type=Duration(minimum=0.1),
)
@env_option(
    "--stop-timeout",
    "SCORECARD_STOP_TIMEOUT",
    "How long a stop (SIGTERM, Ctrl-C) may take before the worker exits without a final commit (status 70), as it "
    "must while Kafka is unreachable; a second signal exits at once.",
    type=Duration(minimum=1.0),
)
@env_option(
    "--kafka-wait",
    "SCORECARD_KAFKA_WAIT",
    "How long to keep retrying at start while Kafka is not reachable (a stack starting together, as in compose), "
    "then exit 3; 0 tries once.",
    type=Duration(zero=True),
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
    kafka_security: KafkaSecurity,
    redis_url: str,
    redis_options: RedisOptions,
    topic: str,
    app_id: str,
    partitions: int,
    replication_factor: int,
    metrics_port: int,
    metrics_host: str,
    web_config: str,
    session_timeout: float,
    commit_interval: float,
    stop_timeout: float,
    kafka_wait: float,
    loglevel: str,
) -> None:
    """Run the streaming worker: Kafka events -> unit tables -> Redis cascade (until SIGTERM or Ctrl-C)."""
    from scorecard.outputs.webserver import ListenError

    with worker_extra("worker"):
        from streams.worker import KafkaUnreachable, run_worker  # Faust is slow to import; only this command needs it

    metrics_web_config = load_web_config_or_exit(web_config)
    load_or_exit(scorecard_path)
    settings = make_settings(
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        topic=topic,
        app_id=app_id,
        partitions=partitions,
        redis_options=redis_options,
        kafka_security=kafka_security,
        replication_factor=replication_factor,
    )
    try:
        with kafka_errors(kafka_bootstrap, f"start the worker on topic {topic}", quiet=False):
            run_worker(
                settings,
                str(scorecard_path),
                loglevel=loglevel,
                metrics_port=metrics_port,
                metrics_host=metrics_host,
                metrics_web_config=metrics_web_config,
                session_timeout=session_timeout,
                commit_interval=commit_interval,
                stop_timeout=stop_timeout,
                kafka_wait=kafka_wait,
            )
    except KafkaUnreachable as error:  # Kafka did not answer within --kafka-wait: exit 3 like any unreachable service
        unavailable(str(error))
    except ListenError as error:  # the metrics port is taken, or the address is not ours
        click.echo(f"{error} (--metrics-host, --metrics-port)", err=True)
        sys.exit(1)


@click.command("publish")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@kafka_options
@topic_option
@partitions_option
@replication_option
@click.option(
    "--key/--no-key",
    default=True,
    show_default=True,
    help="Key each event by its unit (keeps a unit's events in file order); --no-key sends them without keys.",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Pace to this many events per second.")
def publish_command(
    events: Path,
    kafka_bootstrap: str,
    kafka_security: KafkaSecurity,
    topic: str,
    partitions: int,
    replication_factor: int,
    key: bool,
    rate: float | None,
) -> None:
    """Publish the EVENTS file (JSON Lines, - for stdin) to the input topic, one event per message."""
    settings = make_settings(
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        partitions=partitions,
        kafka_security=kafka_security,
        replication_factor=replication_factor,
    )
    with worker_extra("publish"), kafka_errors(kafka_bootstrap, f"publish to topic {topic}"):  # both import aiokafka
        stats = _publish(settings, events, key, rate)
    click.echo(stats.summary())


def _publish(settings: Settings, events: Path, key: bool, rate: float | None) -> PublishStats:
    """Publish the file (or stdin), with a progress bar on stderr when a person watches it."""
    import asyncio

    from streams.publisher import MAX_MESSAGE_BYTES, publish_lines

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
                with progress_bar("publishing {task.description}", MofNCompleteColumn()) as progress:
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
    return stats


@click.command("simulate")
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
    "duration_seconds",
    type=Duration(zero=True),
    default="10m",
    show_default=True,
    help="Live phase length (30s, 10m, 1h30m...); 0 runs until Ctrl-C or SIGTERM.",
)
@click.option(
    "--backfill",
    "backfill_seconds",
    type=Duration(zero=True, whole_seconds=True),
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
    "--trend-kpi",
    metavar="KPI",
    help="KPI to drive across its red flag live (a paced sum or count, or a min, max, avg or NPS KPI)."
    "  [default: a min or max, else the avg or NPS with the shortest window]",
)
@click.option(
    "--start",
    "start_text",
    metavar="TIME",
    help="End of the backfill and start of the live phase (RFC 3339 or epoch seconds).  [default: now]",
)
@click.option(
    "-o",
    "--output",
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write JSON Lines to this file (paced the same way) instead of publishing to Kafka (--out: the older name).",
)
@_share_option("--duplicate-rate", 0.005, "Share of events sent again (same id) a few events later.")
@_share_option("--late-rate", 0.002, "Share of events dated 1-6 h before their type's lateness grace.")
@_share_option(
    "--invalid-rate",
    0.002,
    "Share of events followed by a broken copy (no id, bad time, unknown unit, text for a number...).",
)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    help="Instead of history and a live phase, send a fixed batch: this many days of events from --start, planned as "
    "examples/acme-events.jsonl is (no trend, levels shuffled over all teams), as fast as possible.",
)
@_share_option("--ignored-rate", 0.0, "With --days: share of events followed by one of a type no KPI reads.")
@kafka_options
@topic_option
@partitions_option
@replication_option
def simulate_command(
    scorecard_path: Path,
    rate: float,
    duration_seconds: float,
    backfill_seconds: float,
    events_per_day: float,
    seed: int,
    trend_kpi: str | None,
    start_text: str | None,
    out_path: Path | None,
    duplicate_rate: float,
    late_rate: float,
    invalid_rate: float,
    days: float | None,
    ignored_rate: float,
    kafka_bootstrap: str,
    kafka_security: KafkaSecurity,
    topic: str,
    partitions: int,
    replication_factor: int,
) -> None:
    """Publish realistic events for every KPI of a definition: optional history, then a live stream.

    Units get levels aimed at their goals and red flags (some green, some red), events follow business hours, a few
    are duplicated, late or invalid, and one KPI drifts across its red flag in the first two minutes (named at the
    start and in the summary; --trend-kpi chooses it, a paced sum or count too). Stops after --duration, or cleanly on
    Ctrl-C / SIGTERM with a summary. With --days, sends a fixed batch instead (how examples/acme-events.jsonl is made).
    """
    import asyncio
    import functools
    import math

    with worker_extra("simulate"):
        from aiokafka.errors import KafkaError

        from streams.topics import TopicError
    from scorecard.simulator import Simulation, Trouble, generate_batch
    from scorecard.simulator.pacing import (
        batch_summary_lines,
        file_sink,
        run_batch,
        run_simulation,
        summary_lines,
        trend_text,
    )

    _check_simulate_mode(click.get_current_context(), days)
    scorecard = load_or_exit(scorecard_path)
    duration = duration_seconds or None
    backfill = int(backfill_seconds)
    start = time_param(start_text, "--start") if start_text is not None else float(math.floor(time.time()))
    if out_path is not None:
        sink, destination = file_sink(out_path), str(out_path)
    else:
        destination = f"topic {topic} at {redact_url(kafka_bootstrap)}"
        sink = _kafka_sink(
            make_settings(
                kafka_bootstrap=kafka_bootstrap,
                topic=topic,
                partitions=partitions,
                kafka_security=kafka_security,
                replication_factor=replication_factor,
            )
        )
    if days is not None:
        trouble = Trouble(duplicate=duplicate_rate, late=late_rate, invalid=invalid_rate, ignored=ignored_rate)
        batch = generate_batch(
            scorecard, start=start, days=days, events_per_day=events_per_day, seed=seed, trouble=trouble
        )
        echo(f"simulating {scorecard.name} (seed {seed}) to {destination}: {days:g} days of events", err=True)
        try:
            with quiet_logger("aiokafka"):
                stats = asyncio.run(run_batch(batch, sink))
        except (OSError, KafkaError, TopicError) as error:
            _cannot_send(destination, error, to_kafka=out_path is None)
        echo("\n".join(batch_summary_lines(stats, days=days, start=start, destination=destination)))
        return
    try:
        simulation = Simulation(
            scorecard,
            start=start,
            backfill=backfill,
            events_per_day=events_per_day,
            seed=seed,
            trouble=Trouble(duplicate=duplicate_rate, late=late_rate, invalid=invalid_rate),
            trend_kpi=trend_kpi,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--trend-kpi'") from None
    history = f"{format_duration(backfill)} of history, then " if backfill else ""
    until = "until Ctrl-C or SIGTERM" if duration is None else f"for {format_duration(duration)}"
    live = f"{rate:g} events/s {until}" if rate > 0 else "no live phase"
    echo(f"simulating {scorecard.name} (seed {seed}) to {destination}: {history}{live}", err=True)
    echo(f"trend: {trend_text(simulation)}", err=True)
    run = functools.partial(run_simulation, simulation, sink, rate=rate, duration=duration)
    try:
        with quiet_logger("aiokafka"):  # a failure is said once, below
            if backfill and sys.stderr.isatty():
                with progress_bar("backfill {task.description}", TaskProgressColumn()) as progress:
                    task = progress.add_task(format_duration(backfill), total=backfill)
                    stats = asyncio.run(run(progress=lambda seconds: progress.update(task, completed=seconds)))
            else:
                stats = asyncio.run(run())
    except (OSError, KafkaError, TopicError) as error:
        _cannot_send(destination, error, to_kafka=out_path is None)
    echo("\n".join(summary_lines(simulation, stats, rate=rate, destination=destination)))


def _cannot_send(destination: str, error: Exception, *, to_kafka: bool) -> NoReturn:
    """Kafka unreachable: ``EXIT_UNAVAILABLE``; the -o file not writable, or a topic that does not fit the settings
    (``TopicError``, whose message says the fix): ``EXIT_FAILED``. One line either way."""
    from streams.topics import TopicError

    if to_kafka and not isinstance(error, TopicError):
        unavailable(f"cannot send to {destination}: {kafka_reason(error)}")
    message = f"cannot send to {destination}: {error}"
    echo(message, err=True)
    sys.exit(EXIT_FAILED)


_LIVE_ONLY = ("rate", "duration_seconds", "backfill_seconds", "trend_kpi")


def _check_simulate_mode(ctx: click.Context, days: float | None) -> None:
    """--days (a fixed batch) and the live options (--rate, --duration, --backfill, --trend-kpi) exclude each other."""
    given = [
        f"--{name.removesuffix('_seconds').replace('_', '-')}"
        for name in _LIVE_ONLY
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]
    if days is not None and given:
        raise click.UsageError(f"{', '.join(given)}: only for the live simulation, not with --days (a fixed batch)")
    if days is None and ctx.get_parameter_source("ignored_rate") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--ignored-rate applies to a fixed batch (--days) only")


def _kafka_sink(settings: Settings) -> Callable[[Any], Any]:
    from streams.publisher import publish_lines

    async def publish(lines: Any) -> int:
        return (await publish_lines(settings, lines)).sent

    return publish
