"""The names the exporter, the worker's metrics, the alert rules and the Grafana boards must agree on.

A rule or a panel that queries a series nobody exports is silently empty, so every name that crosses from one of them
to another is spelled once, here: the metric names, the scrape job names, the status codes of
``scorecard_kpi_status``, the board uids the alert links point to, the counts key of events that name no known unit,
and which units are exported at all.
docs/metrics.md documents the same names for people (tests/integration/test_metrics_doc.py keeps it complete).

Metric names are the family names given to the Prometheus client; a counter's samples add ``_total``
(``scorecard_pipeline_events`` is queried as ``scorecard_pipeline_events_total``), a histogram's ``_bucket``,
``_sum`` and ``_count``.
"""

from __future__ import annotations

from typing import Final

from scorecard.core.definition import Scorecard
from scorecard.core.hierarchy import OrgTree

__all__ = [
    "EXPORTER_JOB",
    "EXPORTER_REDIS_UP",
    "EXPORTER_SCRAPE_DURATION",
    "EXPORTER_SCRAPE_ERRORS",
    "INVALID_UNIT",
    "KPI_BOARD_UID",
    "KPI_CONTRIBUTION",
    "KPI_ELAPSED_RATIO",
    "KPI_FORECAST",
    "KPI_GOAL",
    "KPI_INFO",
    "KPI_PERIOD_END",
    "KPI_PERIOD_GOAL",
    "KPI_PERIOD_RED_FLAG",
    "KPI_RED_FLAG",
    "KPI_SCORE",
    "KPI_STATUS",
    "KPI_VALUE",
    "LAST_EVENT_TIMESTAMP",
    "OVERVIEW_BOARD_UID",
    "PERSPECTIVE_SCORE",
    "PIPELINE_BOARD_UID",
    "PIPELINE_CASCADE_BATCH_SIZE",
    "PIPELINE_CASCADE_DURATION",
    "PIPELINE_CONSUMER_LAG",
    "PIPELINE_DEAD_LETTERS",
    "PIPELINE_EVENTS",
    "PIPELINE_EVENT_LAG",
    "PIPELINE_REDIS_ERRORS",
    "PIPELINE_REPLAYED",
    "STATUS_CODES",
    "UNIT_INFO",
    "UNIT_SCORE",
    "WORKER_JOB",
    "exported_units",
]

# ------------------------------------------------------------------------------------ the exporter (the scorecard)
KPI_VALUE: Final = "scorecard_kpi_value"
KPI_GOAL: Final = "scorecard_kpi_goal"
KPI_RED_FLAG: Final = "scorecard_kpi_red_flag"
KPI_PERIOD_GOAL: Final = "scorecard_kpi_period_goal"
"""The full-period goal in force; ``KPI_GOAL`` is the paced (to-date) goal the status is judged against."""
KPI_PERIOD_RED_FLAG: Final = "scorecard_kpi_period_red_flag"
KPI_ELAPSED_RATIO: Final = "scorecard_kpi_elapsed_ratio"
"""The share f (0-1) of a paced KPI's period that has passed; no sample when the KPI is not paced."""
KPI_FORECAST: Final = "scorecard_kpi_forecast"
"""A paced KPI's value at its period's end if the pace holds (value / f); no sample when not paced or f = 0."""
KPI_PERIOD_END: Final = "scorecard_kpi_period_end_timestamp_seconds"
"""End (Unix seconds, exclusive) of the current period of a KPI on a calendar or tumbling window; no sample for a
rolling window. The forecast alert subtracts ``time()`` from it to say how long is left."""
KPI_SCORE: Final = "scorecard_kpi_score"
KPI_STATUS: Final = "scorecard_kpi_status"
KPI_CONTRIBUTION: Final = "scorecard_kpi_contribution"
"""Points a KPI adds to its unit's overall score (docs/semantics.md, section 7): a unit's samples sum to its
``scorecard_unit_score``, so ``delta`` over a range names the KPIs that moved it."""
PERSPECTIVE_SCORE: Final = "scorecard_perspective_score"
UNIT_SCORE: Final = "scorecard_unit_score"
LAST_EVENT_TIMESTAMP: Final = "scorecard_last_event_timestamp_seconds"
UNIT_INFO: Final = "scorecard_unit_info"
"""Info series per exported unit (name, parent, depth, owner): what rules and boards join on for owners and trees."""
KPI_INFO: Final = "scorecard_kpi_info"
"""Info series per KPI (name, perspective, objective, display unit, polarity, owner)."""

EXPORTER_SCRAPE_DURATION: Final = "scorecard_exporter_scrape_duration_seconds"
EXPORTER_SCRAPE_ERRORS: Final = "scorecard_exporter_scrape_errors"  # a counter
EXPORTER_REDIS_UP: Final = "scorecard_exporter_redis_up"

STATUS_CODES: Final = {"green": 2, "amber": 1, "red": 0}
"""The value of a ``scorecard_kpi_status`` sample per status; ``no_data`` has no sample, so ``absent()`` and
``unless`` can tell it from red."""

# ------------------------------------------------------------------------------------------ the worker (the pipeline)
PIPELINE_EVENTS: Final = "scorecard_pipeline_events"  # a counter, by outcome
PIPELINE_REPLAYED: Final = "scorecard_pipeline_replayed"  # a counter
PIPELINE_DEAD_LETTERS: Final = "scorecard_pipeline_dead_letters"  # a counter, by reason
PIPELINE_EVENT_LAG: Final = "scorecard_pipeline_event_lag_seconds"  # a histogram
PIPELINE_CASCADE_BATCH_SIZE: Final = "scorecard_pipeline_cascade_batch_size"  # a histogram
PIPELINE_CASCADE_DURATION: Final = "scorecard_pipeline_cascade_duration_seconds"  # a histogram
PIPELINE_REDIS_ERRORS: Final = "scorecard_pipeline_redis_errors"  # a counter
PIPELINE_CONSUMER_LAG: Final = "scorecard_pipeline_consumer_lag"  # a gauge, by topic and partition

# ------------------------------------------------------------------------------------------ Prometheus scrape jobs
EXPORTER_JOB: Final = "scorecard-exporter"
"""The ``job`` label Prometheus gives the exporter's series (deploy/prometheus/*.yml name their scrape jobs so)."""
WORKER_JOB: Final = "scorecard-worker"
"""The ``job`` label of the workers' pipeline metrics."""

# ------------------------------------------------------------------------------------------------- Grafana boards
OVERVIEW_BOARD_UID: Final = "scorecard-overview"
KPI_BOARD_UID: Final = "scorecard-kpi"
"""The KPI detail board: the alert annotations link to it (``/d/scorecard-kpi/?var-unit=...&var-kpi=...``)."""
PIPELINE_BOARD_UID: Final = "scorecard-pipeline"

# ------------------------------------------------------------------------------------------------------ special keys
INVALID_UNIT: Final = "__invalid__"
"""The counts record (table key and Redis ``unit:`` field) of events that name no known unit. Definition ids may
not start with ``__`` (``scorecard.core.definition.RESERVED_ID_PREFIX``), so no unit can take this name; readers
that walk the org tree never meet it."""


def exported_units(scorecard: Scorecard, tree: OrgTree | None = None) -> tuple[str, ...]:
    """The units the exporter publishes, in definition pre-order: every unit at depth ``export.max_depth`` or less
    (root 0; None exports all). Only these have series, so only these can raise alerts or fill a board."""
    tree = tree if tree is not None else OrgTree.from_scorecard(scorecard)
    limit = scorecard.export.max_depth
    return tuple(u for u in tree.units if limit is None or tree.depth(u) <= limit)
