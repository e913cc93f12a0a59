"""``scorecard deploy-config``: everything Prometheus, Alertmanager and Grafana need for one definition, in one folder
and one command (what the compose stack's ``deploy-config`` service runs on the mounted definition).

It runs ``rules``, ``alertmanager`` and ``dashboards`` with their own code and options, into
``DIR/rules/*.yml``, ``DIR/alertmanager.yml`` and ``DIR/dashboards/*.json``.
"""

from __future__ import annotations

from pathlib import Path

import click

from scorecard.cli.outputs import alertmanager_command, dashboards_command, rules_command

RULES_DIR = "rules"
ALERTMANAGER_FILE = "alertmanager.yml"
DASHBOARDS_DIR = "dashboards"


@click.command("deploy-config")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder to write {RULES_DIR}/, {ALERTMANAGER_FILE} and {DASHBOARDS_DIR}/ into (created when missing).",
)
@click.option("--for", "pending_text", default="5m", show_default=True, metavar="DURATION", help="As `rules --for`.")
@click.option(
    "--stale-after", "stale_text", default="2h", show_default=True, metavar="DURATION", help="As `rules --stale-after`."
)
@click.option("--grafana-url", default="http://localhost:3000", show_default=True, help="As `rules --grafana-url`.")
@click.option("--webhook-url", metavar="URL", help="As `alertmanager --webhook-url`.")
@click.pass_context
def deploy_config_command(
    ctx: click.Context,
    file: Path,
    output: Path,
    pending_text: str,
    stale_text: str,
    grafana_url: str,
    webhook_url: str | None,
) -> None:
    """Write the alert rules, the Alertmanager config and the Grafana boards of the scorecard FILE into one folder."""
    ctx.invoke(
        rules_command,
        file=file,
        output_dir=output / RULES_DIR,
        pending_text=pending_text,
        stale_text=stale_text,
        grafana_url=grafana_url,
    )
    ctx.invoke(alertmanager_command, file=file, output_path=output / ALERTMANAGER_FILE, webhook_url=webhook_url)
    ctx.invoke(dashboards_command, file=file, output=output / DASHBOARDS_DIR, check=False)
