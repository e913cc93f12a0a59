"""The Prometheus history options: ``--prometheus-url`` and ``--prometheus-match``, where ``explain`` and
``report --since`` read the live scorecard of an earlier time.

Apart from the Redis and Kafka groups because only the readers of history take them.
"""

from __future__ import annotations

from typing import Any

import click

from scorecard.cli.options import env_option


def prometheus_history_options(function: Any) -> Any:
    """``--prometheus-url`` and ``--prometheus-match``: where ``explain`` and ``report --since`` read the live
    scorecard of an earlier time (Prometheus' history of the exporter)."""
    function = click.option(
        "--prometheus-match",
        metavar="MATCHERS",
        default="",
        help="Label matchers added to every Prometheus query, e.g. 'job=\"scorecard-exporter\"'.",
    )(function)
    return env_option(
        "--prometheus-url",
        "SCORECARD_PROMETHEUS_URL",
        "Prometheus scraping the exporter: the live scorecard at --since comes from its history.",
    )(function)
