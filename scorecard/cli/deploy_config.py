"""``scorecard deploy-config``: everything Prometheus, Alertmanager and Grafana need for one definition, in one folder
and one command (what the compose stack's ``deploy-config`` service runs on the mounted definition).

It runs ``rules``, ``alertmanager`` and ``dashboards`` with their own code and options, into
``DIR/rules/*.yml``, ``DIR/alertmanager.yml`` and ``DIR/dashboards/*.json`` (``--check`` checks all three).
"""

from __future__ import annotations

from pathlib import Path

import click

from scorecard.cli.definition_option import definition_option
from scorecard.cli.files import check_option, output_dir_option
from scorecard.cli.outputs import (
    DEFAULT_FOR,
    DEFAULT_GRAFANA_URL,
    DEFAULT_STALE_AFTER,
    alertmanager_command,
    dashboards_command,
    rules_command,
)
from scorecard.cli.params import Duration

RULES_DIR = "rules"
ALERTMANAGER_FILE = "alertmanager.yml"
DASHBOARDS_DIR = "dashboards"


@click.command("deploy-config")
@definition_option(positional=True)
@output_dir_option(f"Folder to write {RULES_DIR}/, {ALERTMANAGER_FILE} and {DASHBOARDS_DIR}/ into")
@click.option("--for", "pending", type=Duration(), default=DEFAULT_FOR, show_default=True, help="As `rules --for`.")
@click.option(
    "--stale-after",
    "stale_after",
    type=Duration(whole_seconds=True),
    default=DEFAULT_STALE_AFTER,
    show_default=True,
    help="As `rules --stale-after`.",
)
@click.option("--grafana-url", default=DEFAULT_GRAFANA_URL, show_default=True, help="As `rules --grafana-url`.")
@click.option("--webhook-url", metavar="URL", help="As `alertmanager --webhook-url`.")
@check_option
@click.pass_context
def deploy_config_command(
    ctx: click.Context,
    scorecard_path: Path,
    output_dir: Path,
    pending: float,
    stale_after: float,
    grafana_url: str,
    webhook_url: str | None,
    check: bool,
) -> None:
    """Write the alert rules, the Alertmanager config and the Grafana boards of the scorecard into one folder."""
    ctx.invoke(
        rules_command,
        scorecard_path=scorecard_path,
        output_dir=output_dir / RULES_DIR,
        pending=pending,
        stale_after=stale_after,
        grafana_url=grafana_url,
        check=check,
    )
    ctx.invoke(
        alertmanager_command,
        scorecard_path=scorecard_path,
        output_path=output_dir / ALERTMANAGER_FILE,
        webhook_url=webhook_url,
        check=check,
    )
    ctx.invoke(dashboards_command, scorecard_path=scorecard_path, output_dir=output_dir / DASHBOARDS_DIR, check=check)
