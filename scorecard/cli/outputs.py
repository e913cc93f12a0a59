"""``scorecard exporter``, ``board``, ``rules``, ``alertmanager`` and ``dashboards``: the commands of
``scorecard.outputs``, which serve the live scorecard or generate what Prometheus, Alertmanager and Grafana read.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from scorecard.cli.common import (
    app_id_option,
    duration_param,
    echo,
    env_option,
    load_or_exit,
    plural,
    redis_option,
    scorecard_option,
    terminal_console,
)


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
def exporter_command(scorecard_path: Path, redis_url: str, app_id: str, port: int, host: str) -> None:
    """Serve the live scorecard to Prometheus: /metrics read from Redis and scored on every scrape."""
    from scorecard.outputs.exporter import run_exporter
    from scorecard.outputs.webserver import ListenError

    scorecard = load_or_exit(scorecard_path)
    try:
        run_exporter(
            scorecard, redis_url, app_id, host, port, announce=lambda url: click.echo(f"serving {url}", err=True)
        )
    except ListenError as error:  # the port is taken, or the address is not ours
        click.echo(str(error), err=True)
        sys.exit(1)


@click.command("board")
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

    scorecard = load_or_exit(scorecard_path)
    store = RedisStore.from_url(redis_url, app_id)
    console = terminal_console()
    signal.signal(signal.SIGTERM, _interrupt)  # leave the terminal as Ctrl-C would (cursor shown again)
    try:
        run_board(scorecard, store, console, refresh=refresh, metrics_url=metrics_url or None, duration=duration)
    except KeyboardInterrupt:
        console.print("board stopped")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command("dashboards")
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

    scorecard = load_or_exit(file)
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
        echo(f"{board.uid:<20} {plural(board.panels, 'panel'):>10}  {board.title}  -> {board.path}")
    click.echo(f"{plural(len(written), 'board')} written to {output}")


def _finite(value: float, expected: str) -> float:
    """Click's float ranges let ``nan`` through (every comparison with it is false); refuse it by name."""
    if not math.isfinite(value):
        raise click.BadParameter(f"expected {expected}, got {value!r}")
    return value


@click.command("rules")
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
    "drop_text",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="... within this time.",
)
def rules_command(
    file: Path,
    output_dir: Path,
    pending_text: str,
    stale_text: str,
    grafana_url: str,
    drop_points: float,
    drop_text: str,
) -> None:
    """Write the Prometheus alert and recording rules of the scorecard FILE (see docs/alerts.md)."""
    from scorecard.outputs import rules

    scorecard = load_or_exit(file)
    try:
        url = rules.check_grafana_url(grafana_url)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--grafana-url") from None
    options = rules.RuleOptions(
        duration_param(pending_text, "--for"),
        duration_param(stale_text, "--stale-after"),
        url,
        drop_points,
        duration_param(drop_text, "--drop-window"),
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    header = rules.rules_header(file.name, scorecard, options)
    for name, document in rules.rule_files(scorecard, options).items():
        path = output_dir / name
        path.write_text(rules.to_yaml(document, header), encoding="utf-8")
        alerting, recording = rules.count_rules(document)
        click.echo(f"wrote {path}: {plural(alerting, 'alerting rule')}, {plural(recording, 'recording rule')}")
    click.echo(
        f"{plural(len(scorecard.kpis), 'KPI')}, owners routed by `scorecard alertmanager`:"
        f" {plural(len(rules.owner_teams(scorecard)), 'team')}; a running Prometheus loads new rules on reload"
        " (POST /-/reload)"
    )


@click.command("alertmanager")
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

    scorecard = load_or_exit(file)
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
    echo(f"wrote {output_path}: {plural(len(teams), 'team receiver')} ({', '.join(teams)}) and default")
