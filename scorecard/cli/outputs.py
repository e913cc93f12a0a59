"""``scorecard exporter``, ``board``, ``rules``, ``alertmanager`` and ``dashboards``: the commands of
``scorecard.outputs``, which serve the live scorecard or generate what Prometheus, Alertmanager and Grafana read.
"""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path

import click

from scorecard.cli.console import echo, plural, terminal_console
from scorecard.cli.definition_option import definition_option, load_or_exit, scorecard_option
from scorecard.cli.files import check_option, output_dir_option, output_file_option, write_document, write_or_check
from scorecard.cli.options import app_id_option, env_option
from scorecard.cli.options_redis import redis_option
from scorecard.cli.params import Duration
from scorecard.cli.shape import EXIT_FAILED
from scorecard.cli.web import load_web_config_or_exit, web_config_option
from scorecard.config import RedisOptions
from scorecard.core.timeutil import format_duration

DEFAULT_FOR = "5m"
"""``rules --for`` when not given (``deploy-config --for`` too)."""
DEFAULT_STALE_AFTER = "2h"
"""``rules --stale-after`` when not given (``deploy-config --stale-after`` too)."""
DEFAULT_GRAFANA_URL = "http://localhost:3000"
"""``rules --grafana-url`` when not given: the Docker stack's Grafana."""


@click.command("exporter")
@scorecard_option
@redis_option
@app_id_option
@env_option(
    "--port",
    "SCORECARD_EXPORTER_PORT",
    "Port of /metrics and /healthz (0: any free port).",
    type=click.IntRange(min=0, max=65535),
)
@env_option("--host", "SCORECARD_EXPORTER_HOST", "Address to listen on (127.0.0.1: this machine only).")
@web_config_option("SCORECARD_EXPORTER_WEB_CONFIG", "/metrics (/healthz stays open)")
def exporter_command(
    scorecard_path: Path,
    redis_url: str,
    redis_options: RedisOptions,
    app_id: str,
    port: int,
    host: str,
    web_config: str,
) -> None:
    """Serve the live scorecard to Prometheus: /metrics read from Redis and scored on every scrape."""
    from scorecard.outputs.exporter import run_exporter
    from scorecard.outputs.webserver import ListenError

    protection = load_web_config_or_exit(web_config)
    scorecard = load_or_exit(scorecard_path)
    suffix = f" ({protection.describe()})" if protection is not None else ""
    try:
        run_exporter(
            scorecard,
            redis_url,
            app_id,
            host,
            port,
            web_config=protection,
            announce=lambda url: click.echo(f"serving {url}{suffix}", err=True),
            options=redis_options,
        )
    except ListenError as error:  # the port is taken, or the address is not ours
        click.echo(str(error), err=True)
        sys.exit(1)


@click.command("board")
@scorecard_option
@click.option("--refresh", type=Duration(minimum=0.2), default="2s", show_default=True, help="Time between redraws.")
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
    type=Duration(zero=True),
    default="0",
    help="Stop after this long (e.g. 30s, 10m; a plain number is seconds); 0 runs until Ctrl-C.  [default: 0]",
)
def board_command(
    scorecard_path: Path,
    refresh: float,
    redis_url: str,
    redis_options: RedisOptions,
    app_id: str,
    metrics_url: str,
    duration: float | None,
) -> None:
    """Show the live scorecard from Redis on a refreshing terminal board (plain text frames when not a terminal)."""
    import signal

    from scorecard.outputs.board import run_board
    from scorecard.redis.store import RedisStore

    scorecard = load_or_exit(scorecard_path)
    store = RedisStore.from_url(redis_url, app_id, options=redis_options)
    console = terminal_console()
    signal.signal(signal.SIGTERM, _interrupt)  # leave the terminal as Ctrl-C would (cursor shown again)
    try:
        run_board(
            scorecard, store, console, refresh=refresh, metrics_url=metrics_url or None, duration=duration or None
        )
    except KeyboardInterrupt:
        console.print("board stopped")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command("dashboards")
@definition_option(positional=True)
@output_dir_option(
    "Folder for the board JSON files, e.g. deploy/grafana/dashboards (the folder Grafana provisions from)"
)
@check_option
@click.option(
    "--for-import",
    is_flag=True,
    help="Boards for Grafana's Import page: it asks which Prometheus to use (__inputs) instead of the provisioned"
    " datasource uid scorecard-prometheus.",
)
def dashboards_command(scorecard_path: Path, output_dir: Path, check: bool, for_import: bool) -> None:
    """Generate the Grafana boards (overview, KPI detail, pipeline health) of the scorecard (-s FILE, or FILE)."""
    from scorecard.outputs.dashboards import stale_boards, write_boards

    file, output = scorecard_path, output_dir
    scorecard = load_or_exit(file)
    if check:
        stale = stale_boards(scorecard, output, for_import=for_import)
        again = f"scorecard dashboards -s {file} -o {output}" + (" --for-import" if for_import else "")
        for path in stale:
            click.echo(f"{path} is missing or stale; run `{again}`", err=True)
        if stale:
            sys.exit(EXIT_FAILED)
        click.echo(f"{output}: boards are up to date with {file}")
        return
    written = write_boards(scorecard, output, for_import=for_import)
    for board in written:
        echo(f"{board.uid:<20} {plural(board.panels, 'panel'):>10}  {board.title}  -> {board.path}")
    click.echo(f"{plural(len(written), 'board')} written to {output}")


def _finite(value: float, expected: str) -> float:
    """Click's float ranges let ``nan`` through (every comparison with it is false); refuse it by name."""
    if not math.isfinite(value):
        raise click.BadParameter(f"expected {expected}, got {value!r}")
    return value


@click.command("rules")
@definition_option(positional=True)
@output_dir_option("Folder for the rule files, e.g. deploy/prometheus/rules")
@click.option(
    "--for",
    "pending",
    type=Duration(),
    default=DEFAULT_FOR,
    show_default=True,
    help="How long a KPI status (unless the KPI sets alert.for) or a pipeline failure must last before its alert"
    " fires (e.g. 90s, 1h30m, 500ms).",
)
@click.option(
    "--stale-after",
    "stale_after",
    type=Duration(whole_seconds=True),
    default=DEFAULT_STALE_AFTER,
    show_default=True,
    help="ScorecardStale fires for a unit with no accepted event for longer than this.",
)
@click.option(
    "--grafana-url",
    default=DEFAULT_GRAFANA_URL,
    show_default=True,
    help="Grafana base URL of the KPI board links in the alert annotations.",
)
@click.option(
    "--min-elapsed",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Share of its period (0-1) a paced KPI must be through before its alerts fire.",
)
@click.option(
    "--max-lag",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="ScorecardConsumerLagHigh fires when more messages than this wait in a topic (all partitions) for --for.",
)
@click.option(
    "--dead-letter-share",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=0.05,
    show_default=True,
    help="ScorecardDeadLetterSurge fires when one dead-letter reason takes more than this share of the input events"
    " within 10m.",
)
@click.option(
    "--drop-points",
    type=click.FloatRange(min=0, min_open=True, max=10),
    callback=lambda ctx, param, value: _finite(value, "a number of points, more than 0 and at most 10"),
    default=1.0,
    show_default=True,
    help="ScorecardUnitScoreDropped fires when a unit's score (0-10) falls by more than this ...",
)
@click.option(
    "--drop-window",
    type=Duration(whole_seconds=True),
    default="1h",
    show_default=True,
    help="... within this time.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["files", "prometheusrule"]),
    default="files",
    show_default=True,
    help="files: one rule file per group, for rule_files; prometheusrule: one Kubernetes PrometheusRule resource"
    " (scorecard-prometheusrule.yml) for the Prometheus Operator.",
)
@click.option("--namespace", help="Namespace of the PrometheusRule (--format prometheusrule).  [default: none]")
@click.option(
    "--resource-label",
    "resource_labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="A label of the PrometheusRule, e.g. release=kube-prometheus-stack for its ruleSelector (repeatable).",
)
@check_option
def rules_command(
    scorecard_path: Path,
    output_dir: Path,
    pending: float,
    stale_after: float,
    grafana_url: str,
    max_lag: int,
    dead_letter_share: float,
    min_elapsed: float,
    drop_points: float,
    drop_window: float,
    output_format: str,
    namespace: str | None,
    resource_labels: tuple[str, ...],
    check: bool,
) -> None:
    """Write the Prometheus alert and recording rules of the scorecard (-s FILE, or FILE; see docs/alerts.md)."""
    from scorecard.outputs import rules

    file = scorecard_path
    scorecard = load_or_exit(file)
    try:
        url = rules.check_grafana_url(grafana_url)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--grafana-url") from None
    if output_format == "files" and (namespace or resource_labels):
        raise click.UsageError("--namespace and --resource-label apply to --format prometheusrule only")
    try:
        labels = dict(rules.check_resource_label(text) for text in resource_labels)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--resource-label") from None
    try:
        namespace = rules.check_namespace(namespace) if namespace is not None else None
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--namespace") from None
    options = rules.RuleOptions(
        _whole(pending),
        int(stale_after),
        url,
        max_lag=max_lag,
        dead_letter_share=dead_letter_share,
        min_elapsed=min_elapsed,
        drop_points=drop_points,
        drop_window=int(drop_window),
    )
    header = rules.rules_header(file.name, scorecard, options)
    regenerate = f"scorecard rules -s {file} -o {output_dir} {_given_options()}".strip()
    if output_format == "prometheusrule":
        resource = rules.prometheus_rule(scorecard, options, namespace, labels)
        path = output_dir / rules.FILE_PROMETHEUS_RULE
        write_or_check({path: rules.to_yaml(resource, header).encode()}, check, regenerate)
        if check:
            return
        alerting, recording = rules.count_rules(resource["spec"])
        echo(
            f"wrote {path}: PrometheusRule {resource['metadata']['name']} with {plural(alerting, 'alerting rule')},"
            f" {plural(recording, 'recording rule')}"
        )
        return
    documents = rules.rule_files(scorecard, options)
    files = {output_dir / name: rules.to_yaml(document, header).encode() for name, document in documents.items()}
    write_or_check(files, check, regenerate)
    if check:
        return
    for name, document in documents.items():
        path = output_dir / name
        alerting, recording = rules.count_rules(document)
        click.echo(f"wrote {path}: {plural(alerting, 'alerting rule')}, {plural(recording, 'recording rule')}")
    click.echo(
        f"{plural(len(scorecard.kpis), 'KPI')}, owners routed by `scorecard alertmanager`:"
        f" {plural(len(rules.owner_teams(scorecard)), 'team')}; a running Prometheus loads new rules on reload"
        " (POST /-/reload)"
    )


@click.command("alertmanager")
@definition_option(positional=True)
@output_file_option("Alertmanager config to write, e.g. deploy/alertmanager/alertmanager.yml")
@click.option(
    "--webhook-url",
    metavar="URL",
    help="Webhook of every receiver; {team} becomes the owner team (URL-quoted), 'default' for the default one."
    "  [default: the placeholder http://alert-webhook.invalid/scorecard/{team}]",
)
@click.option(
    "--fragment",
    is_flag=True,
    help="Write a route subtree and its receivers to merge into an existing Alertmanager config instead of a whole"
    " config.",
)
@check_option
def alertmanager_command(
    scorecard_path: Path, output_path: Path, webhook_url: str | None, fragment: bool, check: bool
) -> None:
    """Write an Alertmanager config routing the scorecard's (-s FILE, or FILE) alerts to one receiver per team."""
    from scorecard.outputs import rules

    file = scorecard_path
    if check and str(output_path) == "-":
        raise click.UsageError("--check compares with a file: give it with -o FILE")
    scorecard = load_or_exit(file)
    webhook_url = webhook_url or rules.PLACEHOLDER_WEBHOOK
    make, header = (
        (rules.alertmanager_fragment, rules.fragment_header)
        if fragment
        else (rules.alertmanager_config, rules.alertmanager_header)
    )
    try:
        config = make(scorecard, webhook_url)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--webhook-url") from None
    text = rules.to_yaml(config, header(file.name, scorecard, webhook_url))
    if check:
        regenerate = f"scorecard alertmanager -s {file} -o {output_path} {_given_options()}".strip()
        write_or_check({output_path: text.encode()}, True, regenerate)
        return
    if not write_document(output_path, text.encode()):
        return
    teams = rules.owner_teams(scorecard)
    what = "a route fragment with " if fragment else ""
    echo(f"wrote {output_path}: {what}{plural(len(teams), 'team receiver')} ({', '.join(teams)}) and default")


def _whole(seconds: float) -> float:
    """Whole seconds as an int, so generated files say ``300``, never ``300.0``."""
    return int(seconds) if seconds == int(seconds) else seconds


def _given_options() -> str:
    """The options given on the command line apart from the definition, -o and --check, as text for a hint that
    repeats the command (the --check failure names the command that brings the files up to date)."""
    ctx = click.get_current_context()
    words = []
    for param in ctx.command.params:
        name = param.name or ""
        if name in ("scorecard_path", "definition_argument", "output_dir", "output_path", "check"):
            continue
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[name]
        if isinstance(param, click.Option) and param.is_flag:
            words.append(param.opts[-1])
            continue
        for item in value if isinstance(value, tuple) else (value,):  # a repeatable option: once per value
            text = format_duration(item) if isinstance(param.type, Duration) else str(item)
            words.append(f"{param.opts[-1]} {shlex.quote(text)}")
    return " ".join(words)
