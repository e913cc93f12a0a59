"""The ``scorecard`` command line: one click group, its commands grouped by what they work on.

- ``define``: ``validate``;
- ``author``: ``schema``, ``init``, ``events`` (writing a definition, and the events it reads);
- ``read``: ``replay``, ``status``, ``report`` (the scorecard from a replay or from Redis);
- ``explain``: ``explain`` (what moved a unit's score between two times);
- ``pipeline``: ``worker``, ``publish``, ``simulate``;
- ``outputs``: ``exporter``, ``board``, ``rules``, ``alertmanager``, ``dashboards``;
- ``deploy_config``: ``deploy-config`` (rules, Alertmanager config and boards into one folder);
- what the commands share, one concept a module: ``shape`` (exit codes, -h, the command group), ``console`` (echo,
  plural, tables, progress bars), ``options`` (flags with their variables, secrets, --app-id), ``options_redis``,
  ``options_kafka`` and ``options_prometheus`` (the option groups), ``definition_option`` (-s FILE, loading it),
  ``params`` (durations and times), ``files`` (-o, --check, writing), ``services`` (Kafka or Redis errors, the worker
  extra), ``settings`` (``make_settings``).
"""

from __future__ import annotations

import click

from scorecard import __version__
from scorecard.cli import author, define, deploy_config, explain, outputs, pipeline, read
from scorecard.cli.shape import CONTEXT_SETTINGS, ScorecardGroup

__all__ = ["main"]


@click.group(cls=ScorecardGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="scorecard")
def main() -> None:
    """Live balanced scorecard: definitions, streaming and scores.

    Every command takes the definition as -s FILE (or SCORECARD_DEFINITION); exit codes: 0 done, 1 failed (invalid
    input, stale files), 2 bad command line, 3 Kafka or Redis unreachable (docs/cli.md).
    """


for command in (
    define.validate,
    author.schema_command,
    author.init_command,
    author.events_command,
    read.replay_command,
    read.status_command,
    read.report_command,
    explain.explain_command,
    pipeline.worker_command,
    pipeline.publish_command,
    pipeline.simulate_command,
    outputs.exporter_command,
    outputs.board_command,
    outputs.rules_command,
    outputs.alertmanager_command,
    outputs.dashboards_command,
    deploy_config.deploy_config_command,
):
    main.add_command(command)
