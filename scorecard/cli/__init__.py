"""The ``scorecard`` command line: one click group, its commands grouped by what they work on.

- ``define``: ``validate``;
- ``read``: ``replay``, ``status``, ``report`` (the scorecard from a replay or from Redis);
- ``explain``: ``explain`` (what moved a unit's score between two times);
- ``pipeline``: ``worker``, ``publish``, ``simulate``;
- ``outputs``: ``exporter``, ``board``, ``rules``, ``alertmanager``, ``dashboards``;
- ``common``: the shared options, errors, time options and progress bars.
"""

from __future__ import annotations

import click

from scorecard import __version__
from scorecard.cli import define, explain, outputs, pipeline, read

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="scorecard")
def main() -> None:
    """Live balanced scorecard: definitions, streaming and scores."""


for command in (
    define.validate,
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
):
    main.add_command(command)
