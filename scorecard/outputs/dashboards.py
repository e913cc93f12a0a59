"""Grafana dashboards generated from the scorecard definition: overview, KPI detail and pipeline health.

The boards are code, not hand-edited JSON, because the overview has a panel per KPI and a row per perspective:
a KPI added to the definition must show up without anyone opening Grafana. ``scorecard dashboards FILE -o DIR``
writes one JSON file per board; Grafana's file provisioning (deploy/grafana/provisioning) loads them.

Why the grafana-foundation-sdk rather than hand-built dicts
----------------------------------------------------------
Grafana's own dashboards-as-code SDK (grafanalib is unmaintained) installs cleanly from PyPI as one pure-Python,
typed package with no dependencies, and its builders follow Grafana's schema for the pinned version, so a field
name typo is a type error instead of a panel Grafana silently ignores. Its versions are ``EPOCH!GRAFANA_VERSION``
(one build per Grafana schema, many epochs): a version *range* could resolve to another Grafana's schema (the
newest epoch ships the 10.1 types), so pyproject.toml pins the exact build for Grafana 11.2, the image of
docker-compose.yml. Two SDK behaviours are worked around here: its ``Row`` nests panels inside the row, which
Grafana reads as a *collapsed* row (hidden panels), so rows are added empty and expanded with their panels after
them, the layout Grafana itself saves; and it leaves panel ids unset, so ``_finish`` numbers them.

The boards are plain dicts once built (``json.loads`` of the SDK's encoder output), so the tests, the staleness
check and ``panel_queries`` read them without the SDK.

Boards (uids are part of the metric contract)
--------------------------------------------
- ``scorecard-overview``: ``unit`` variable; overall score gauge, perspective scores, one row per perspective with a
  stat per KPI (status as green/amber/red text and colour next to the value), "What moved" over the dashboard's
  range (the KPIs whose contributions changed most, the children whose scores changed most), score history.
- ``scorecard-kpi``: ``unit`` and ``kpi`` variables; value against goal and red flag, score and status over time,
  and the children of the unit side by side (line of sight through ``scorecard_unit_info{parent="$unit"}``).
- ``scorecard-pipeline``: worker and exporter health (event outcomes, lag, freshness, dead letters, cascade,
  Redis errors, consumer lag, exporter scrapes).

Checking queries
----------------
``panel_queries(board)`` lists every panel's PromQL with the Grafana variables replaced by concrete values (the
variables' default selection, ``$__rate_interval`` -> ``1m``, ``$__range`` -> ``1h``...), and ``check_queries``
sends them to a Prometheus and returns the problems (errors, and optionally empty results), so tests can prove
that every panel parses and, with the pipeline running, returns data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, gauge, prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from scorecard.contract import (
    EXPORTER_JOB,
    EXPORTER_REDIS_UP,
    EXPORTER_SCRAPE_DURATION,
    EXPORTER_SCRAPE_ERRORS,
    KPI_BOARD_UID,
    KPI_CONTRIBUTION,
    KPI_ELAPSED_RATIO,
    KPI_FORECAST,
    KPI_GOAL,
    KPI_INFO,
    KPI_PERIOD_GOAL,
    KPI_RED_FLAG,
    KPI_SCORE,
    KPI_STATUS,
    KPI_VALUE,
    LAST_EVENT_TIMESTAMP,
    OVERVIEW_BOARD_UID,
    PERSPECTIVE_SCORE,
    PIPELINE_BOARD_UID,
    PIPELINE_CASCADE_BATCH_SIZE,
    PIPELINE_CASCADE_DURATION,
    PIPELINE_CONSUMER_LAG,
    PIPELINE_DEAD_LETTERS,
    PIPELINE_EVENT_LAG,
    PIPELINE_EVENTS,
    PIPELINE_REDIS_ERRORS,
    STATUS_CODES,
    UNIT_INFO,
    UNIT_SCORE,
    WORKER_JOB,
)
from scorecard.core.definition import Kpi, Perspective, Scorecard
from scorecard.core.scoring import SCORE_GOAL, SCORE_MAX, SCORE_RED_FLAG

DATASOURCE_UID = "scorecard-prometheus"
"""The uid of the provisioned datasource (deploy/grafana/provisioning): the ``datasource`` variable's default."""
DATASOURCE_VARIABLE = "datasource"
DATASOURCE_INPUT = "DS_PROMETHEUS"
"""The ``__inputs`` entry of the boards for Grafana's Import: the datasource chosen there replaces
``${DS_PROMETHEUS}``."""
GRAFANA_VERSION = "11.2.0"
TAG = "scorecard"

# Every panel, target and query variable reads the datasource the `datasource` variable selects.
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")
MOVERS = 5
"""How many KPIs and child units the overview's "What moved" panels show."""

# scorecard_kpi_status encodes the status as a number (no sample means no data); amber is Grafana's "orange".
STATUS_TEXT = {
    STATUS_CODES[status]: (status, color) for status, color in (("green", "green"), ("amber", "orange"), ("red", "red"))
}

# Values the built-in Grafana variables get when a query is run outside Grafana (panel_queries / check_queries).
BUILTIN_VALUES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

# Definition display units that Grafana knows; anything else is shown as a suffix, exactly as written.
_GRAFANA_UNITS = {"%": "percent", "EUR": "currencyEUR", "USD": "currencyUSD", "GBP": "currencyGBP"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", re.DOTALL)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.DOTALL)


# ----------------------------------------------------------------------------------------------- building blocks


def _query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    """A Prometheus range query; the legend is Grafana's ``legendFormat`` (``{{label}}`` placeholders)."""
    target = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE).range()
    return target.legend_format(legend) if legend else target


def _merged(selector: str) -> str:
    """One series per identity however many exporters serve it: replicas of the exporter serve the same series,
    told apart only by the ``job`` and ``instance`` Prometheus adds, so those are dropped (``max``: the replicas agree,
    and ``sum`` would double every value)."""
    return f"max without (job, instance) ({selector})"


def _score_thresholds() -> dashboard_builders.ThresholdsConfig:
    """Score colours matching ``scoring.status_from_score``: red below the red-flag score, green from the goal's."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps(
            [
                model.Threshold(value=None, color="red"),
                model.Threshold(value=SCORE_RED_FLAG, color="orange"),
                model.Threshold(value=SCORE_GOAL, color="green"),
            ]
        )
    )


def _status_mappings() -> list[model.ValueMapping]:
    return [
        model.ValueMap(
            options={
                str(code): model.ValueMappingResult(text=text, color=color)
                for code, (text, color) in STATUS_TEXT.items()
            }
        )
    ]


def _up_mappings(up: str, down: str) -> list[model.ValueMapping]:
    return [
        model.ValueMap(
            options={
                "1": model.ValueMappingResult(text=up, color="green"),
                "0": model.ValueMappingResult(text=down, color="red"),
            }
        )
    ]


def _last_value() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _display_unit(kpi: Kpi) -> str:
    """The Grafana unit id for a KPI's display unit: known ones natively, others as a literal suffix."""
    if not kpi.unit:
        return "none"
    return _GRAFANA_UNITS.get(kpi.unit, f"suffix: {kpi.unit}")


def _score_panel(title: str, expr: str) -> gauge.Panel:
    return (
        gauge.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(_query(expr, "score"))
        .min(0)
        .max(SCORE_MAX)
        .decimals(1)
        .thresholds(_score_thresholds())
        .reduce_options(_last_value())
        .no_value("no data")
    )


def _status_stat(title: str, expr: str, legend: str = "status") -> stat.Panel:
    """Statuses as green/amber/red text on their colour (one box per series)."""
    return (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(_query(expr, legend))
        .mappings(_status_mappings())
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(_last_value())
        .no_value("no data")
    )


def _time_series(title: str, unit: str = "short") -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .unit(unit)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
    )


def _dashed(color: str) -> list[model.DynamicConfigValue]:
    """Override properties that draw a series as a dashed line of a fixed colour (goal and red-flag lines)."""
    return [
        model.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": color}),
        model.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
        model.DynamicConfigValue(id_val="custom.fillOpacity", value=0),
    ]


def _quantiles(histogram: str, quantiles: Iterable[float]) -> list[Builder[Dataquery]]:
    """``histogram_quantile`` over the whole pipeline (all workers), one query per quantile."""
    return [
        _query(
            f"histogram_quantile({q:g}, sum by (le) (rate({histogram}_bucket[$__rate_interval])))",
            f"p{q * 100:g}",
            chr(ord("A") + i),
        )
        for i, q in enumerate(quantiles)
    ]


def _datasource_variable() -> dashboard_builders.DatasourceVariable:
    """The Prometheus datasource every panel reads; the provisioned one by default, any other can be picked."""
    return (
        dashboard_builders.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Data source")
        .type("prometheus")
        .current(model.VariableOption(selected=True, text=DATASOURCE_UID, value=DATASOURCE_UID))
    )


def _unit_variable(scorecard: Scorecard) -> dashboard_builders.QueryVariable:
    """The units the exporter publishes (``export.max_depth`` may leave deep units out), the root selected."""
    root = scorecard.org.id
    return (
        dashboard_builders.QueryVariable("unit")
        .label("Unit")
        .datasource(DATASOURCE)
        .query(f"label_values({UNIT_INFO}, unit)")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .current(model.VariableOption(selected=True, text=root, value=root))
    )


def _links() -> dashboard_builders.DashboardLink:
    """A drop-down of the other scorecard boards that keeps the time range and the selected unit."""
    return (
        dashboard_builders.DashboardLink("Scorecard boards")
        .type(model.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
    )


def _dashboard(uid: str, title: str, description: str, time_from: str, refresh: str) -> dashboard_builders.Dashboard:
    return (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .time(time_from, "now")
        .refresh(refresh)
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .link(_links())
        .with_variable(_datasource_variable())
    )


def _row(title: str) -> dashboard_builders.Row:
    # Expanded and empty: the panels added after it belong to it (see the module docstring).
    return dashboard_builders.Row(title).collapsed(False)


def _finish(board: dashboard_builders.Dashboard) -> dict[str, Any]:
    """The dashboard as plain JSON data, panels numbered 1..n in layout order."""
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    for number, panel in enumerate(data["panels"], start=1):
        panel["id"] = number
    return data


# ------------------------------------------------------------------------------------------------------ overview


def _kpi_description(scorecard: Scorecard, kpi: Kpi) -> str:
    parts = [kpi.description or kpi.label]
    if kpi.objective:
        parts.append(f"Objective: {scorecard.objective(kpi.objective).label}.")
    if kpi.owner:
        parts.append(f"Owner: {kpi.owner}.")
    if kpi.default_target:
        goal, red_flag = kpi.default_target
        parts.append(f"Goal {goal:g}, red flag {red_flag:g} (units may have their own targets).")
    if kpi.polarity:
        parts.append(kpi.polarity.replace("_", " ").capitalize() + ".")
    return " ".join(parts)


def _kpi_stat(scorecard: Scorecard, kpi: Kpi) -> stat.Panel:
    """Status (coloured text) and value side by side; the status mapping only touches the status query."""
    selector = f'unit="$unit",kpi="{kpi.id}"'
    return (
        stat.Panel()
        .title(kpi.label)
        .description(_kpi_description(scorecard, kpi))
        .datasource(DATASOURCE)
        .with_target(_query(_merged(f"{KPI_STATUS}{{{selector}}}"), "status", "A"))
        .with_target(_query(_merged(f"{KPI_VALUE}{{{selector}}}"), "value", "B"))
        .unit(_display_unit(kpi))
        .override_by_query(
            "A",
            [
                model.DynamicConfigValue(id_val="mappings", value=_status_mappings()),
                model.DynamicConfigValue(id_val="unit", value="none"),
            ],
        )
        .override_by_query(
            "B", [model.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "transparent"})]
        )
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(_last_value())
        .no_value("no data")
        .links(
            [
                dashboard_builders.DashboardLink("KPI detail").url(
                    f"/d/{KPI_BOARD_UID}?var-unit=${{unit}}&var-kpi={kpi.id}&${{__url_time_range}}"
                )
            ]
        )
        .height(5)
        .span(6)
    )


def _perspective_title(perspective: Perspective) -> str:
    weight = f" (weight {perspective.weight:g})" if perspective.weight != 1 else ""
    return perspective.label + weight


def overview_board(scorecard: Scorecard) -> dict[str, Any]:
    """Scores of the selected unit and every KPI of the definition, grouped by perspective."""
    board = _dashboard(
        OVERVIEW_BOARD_UID,
        f"{scorecard.name}: overview",
        "Scores and KPI statuses of one unit; generated by `scorecard dashboards` from the definition.",
        "now-24h",
        "1m",
    ).with_variable(_unit_variable(scorecard))
    perspective_scores = bargauge.Panel().title("Perspective scores").datasource(DATASOURCE)
    for index, perspective in enumerate(scorecard.perspectives):
        expr = _merged(f'{PERSPECTIVE_SCORE}{{unit="$unit",perspective="{perspective.id}"}}')
        perspective_scores = perspective_scores.with_target(_query(expr, perspective.label, chr(ord("A") + index)))
    board = (
        board.with_panel(_score_panel("Overall score", _merged(f'{UNIT_SCORE}{{unit="$unit"}}')).height(7).span(6))
        .with_panel(
            perspective_scores.min(0)
            .max(SCORE_MAX)
            .decimals(1)
            .thresholds(_score_thresholds())
            .display_mode(common.BarGaugeDisplayMode.GRADIENT)
            .orientation(common.VizOrientation.HORIZONTAL)
            .reduce_options(_last_value())
            .no_value("no data")
            .height(7)
            .span(12)
        )
        .with_panel(
            stat.Panel()
            .title("Unit")
            .datasource(DATASOURCE)
            .with_target(_query(_merged(f'{UNIT_INFO}{{unit="$unit"}}'), "{{name}} (owner: {{owner}})"))
            .text_mode(common.BigValueTextMode.NAME)
            .color_mode(common.BigValueColorMode.NONE)
            .graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last_value())
            .height(7)
            .span(6)
        )
    )
    placed: set[str] = set()
    for perspective in scorecard.perspectives:
        kpis = scorecard.kpis_of(perspective.id)
        board = board.with_row(_row(_perspective_title(perspective)))
        for kpi in kpis:
            board = board.with_panel(_kpi_stat(scorecard, kpi))
            placed.add(kpi.id)
    unplaced = [kpi for kpi in scorecard.kpis if kpi.id not in placed]
    if unplaced:  # KPIs without an objective have no perspective yet, but they are measured: show them
        board = board.with_row(_row("Not yet in a perspective"))
        for kpi in unplaced:
            board = board.with_panel(_kpi_stat(scorecard, kpi))
    board = _what_moved(board)
    history = (
        _time_series("Score history")
        .min(0)
        .max(SCORE_MAX)
        .with_target(_query(_merged(f'{UNIT_SCORE}{{unit="$unit"}}'), "overall", "A"))
    )
    for index, perspective in enumerate(scorecard.perspectives, start=1):
        expr = _merged(f'{PERSPECTIVE_SCORE}{{unit="$unit",perspective="{perspective.id}"}}')
        history = history.with_target(_query(expr, perspective.label, chr(ord("A") + index)))
    board = board.with_row(_row("History")).with_panel(history.height(9).span(24))
    return _finish(board)


def _change(selector: str) -> str:
    """The change of ``selector``'s series over the dashboard's range, merged over exporter replicas; a series present
    at one end only counts 0 at the other (a KPI without a score contributes nothing, docs/semantics.md section 7)."""
    now = _merged(selector)
    before = _merged(f"{selector} offset $__range")
    return f"(({now} or 0 * {before}) - ({before} or 0 * {now}))"


def _what_moved(board: dashboard_builders.Dashboard) -> dashboard_builders.Dashboard:
    """The row "What moved": the KPIs whose contribution to the selected unit's score changed most over the
    dashboard's range (signed, in points; they add up to the score's change), linking to the KPI board, and the
    children of the unit whose own score changed most, linking to their overview."""
    kpis = _change(f'{KPI_CONTRIBUTION}{{unit="$unit"}}')
    unit_children = _merged(f'{UNIT_INFO}{{parent="$unit"}}')
    children = f"on(unit) group_left(name) {unit_children}"
    child_change = f"{_change(UNIT_SCORE)} * {children}"
    moved_kpis = (
        _movers_panel("What moved: KPI contributions (points of the unit's score)")
        .description(
            "Change of each KPI's contribution to the unit's overall score over the dashboard's time range, the"
            f" {MOVERS} largest by size; the contributions of a unit add up to its score. `scorecard explain` gives"
            " the same split down to the child units."
        )
        .with_target(
            _instant(
                f"({kpis} * on(kpi) group_left(name) {_merged(KPI_INFO)}) and on(kpi) topk({MOVERS}, abs({kpis}))",
                "{{name}}",
            )
        )
        .data_links(
            [
                dashboard_builders.DashboardLink("KPI detail").url(
                    f"/d/{KPI_BOARD_UID}?var-unit=${{unit}}&var-kpi=${{__field.labels.kpi}}&${{__url_time_range}}"
                )
            ]
        )
    )
    moved_children = (
        _movers_panel("What moved: child units' scores")
        .description(
            f"Change of the overall score of the unit's children over the dashboard's time range, the {MOVERS} largest"
            " by size."
        )
        .with_target(_instant(f"({child_change}) and on(unit) topk({MOVERS}, abs({child_change}))", "{{name}}"))
        .data_links(
            [
                dashboard_builders.DashboardLink("Overview of the child").url(
                    f"/d/{OVERVIEW_BOARD_UID}?var-unit=${{__field.labels.unit}}&${{__url_time_range}}"
                )
            ]
        )
    )
    return (
        board.with_row(_row("What moved over the time range"))
        .with_panel(moved_kpis.height(8).span(12))
        .with_panel(moved_children.height(8).span(12))
    )


def _instant(expr: str, legend: str) -> prometheus.Dataquery:
    """An instant query at the end of the dashboard's range."""
    return prometheus.Dataquery().expr(expr).ref_id("A").datasource(DATASOURCE).instant().legend_format(legend)


def _movers_panel(title: str) -> bargauge.Panel:
    """Signed changes as horizontal bars: red for a fall, green for a rise."""
    return (
        bargauge.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .decimals(2)
        .thresholds(
            dashboard_builders.ThresholdsConfig()
            .mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=None, color="red"), model.Threshold(value=0, color="green")])
        )
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(_last_value())
        .no_value("nothing moved")
    )


# ---------------------------------------------------------------------------------------------------- KPI detail


def kpi_board(scorecard: Scorecard) -> dict[str, Any]:
    """One KPI at one unit over time, and the same KPI at the unit's children (line of sight)."""
    first_kpi = scorecard.kpis[0].id
    kpi_variable = (
        dashboard_builders.QueryVariable("kpi")
        .label("KPI")
        .datasource(DATASOURCE)
        .query(f"label_values({KPI_INFO}, kpi)")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .current(model.VariableOption(selected=True, text=first_kpi, value=first_kpi))
    )
    here = 'unit="$unit",kpi="$kpi"'
    # A KPI that is not paced has no forecast or elapsed series: it is judged on its value against its whole period,
    # so the board shows its value as its forecast and 100% elapsed (``or`` matches on the labels, not the name).
    forecast = f"{KPI_FORECAST}{{{here}}} or {KPI_VALUE}{{{here}}}"
    elapsed = f"{KPI_ELAPSED_RATIO}{{{here}}} or ({KPI_VALUE}{{{here}}} * 0 + 1)"
    # Children of the selected unit: every KPI series joined with the unit info of units whose parent is $unit;
    # group_left(name) keeps the KPI labels and adds the child's display name (unit_info is 1, so values stay).
    # Both sides are merged over exporter replicas first: two info series per unit would make the join many-to-many.
    unit_children = _merged(f'{UNIT_INFO}{{parent="$unit"}}')
    children = f"on(unit) group_left(name) {unit_children}"
    this_kpi = '{kpi="$kpi"}'
    board = (
        _dashboard(
            KPI_BOARD_UID,
            f"{scorecard.name}: KPI detail",
            "One KPI of one unit against its goal and red flag, and the unit's children side by side.",
            "now-7d",
            "1m",
        )
        .with_variable(_unit_variable(scorecard))
        .with_variable(kpi_variable)
        .with_panel(
            stat.Panel()
            .title("KPI")
            .datasource(DATASOURCE)
            .with_target(
                _query(
                    _merged(f'{KPI_INFO}{{kpi="$kpi"}}'), "{{name}} ({{polarity}}, owner: {{owner}}) {{display_unit}}"
                )
            )
            .text_mode(common.BigValueTextMode.NAME)
            .color_mode(common.BigValueColorMode.NONE)
            .graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last_value())
            .height(5)
            .span(8)
        )
        .with_panel(_status_stat("Status", _merged(f"{KPI_STATUS}{{{here}}}")).height(5).span(4))
        .with_panel(
            stat.Panel()
            .title("Value, goal and red flag")
            .datasource(DATASOURCE)
            .with_target(_query(_merged(f"{KPI_VALUE}{{{here}}}"), "value", "A"))
            .with_target(_query(_merged(f"{KPI_GOAL}{{{here}}}"), "goal to date", "B"))
            .with_target(_query(_merged(f"{KPI_RED_FLAG}{{{here}}}"), "red flag to date", "C"))
            .with_target(_query(_merged(f"{KPI_PERIOD_GOAL}{{{here}}}"), "period goal", "D"))
            .with_target(_query(_merged(forecast), "forecast", "E"))
            .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
            .color_mode(common.BigValueColorMode.NONE)
            .graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last_value())
            .no_value("no data")
            .height(5)
            .span(8)
        )
        .with_panel(_score_panel("Score", _merged(f"{KPI_SCORE}{{{here}}}")).height(5).span(4))
        .with_panel(
            _time_series("Value against goal and red flag")
            .with_target(_query(_merged(f"{KPI_VALUE}{{{here}}}"), "value", "A"))
            .with_target(_query(_merged(f"{KPI_GOAL}{{{here}}}"), "goal to date", "B"))
            .with_target(_query(_merged(f"{KPI_RED_FLAG}{{{here}}}"), "red flag to date", "C"))
            .with_target(_query(_merged(f"{KPI_PERIOD_GOAL}{{{here}}}"), "period goal", "D"))
            .with_target(_query(_merged(forecast), "forecast", "E"))
            .override_by_query("B", _dashed("green"))
            .override_by_query("C", _dashed("red"))
            .override_by_query("D", _dashed("blue"))
            .height(9)
            .span(20)
        )
        .with_panel(
            stat.Panel()
            .title("Period elapsed")
            .description(
                "Share of a paced KPI's period that has passed: the goal and red flag to date are the period's times"
                " this share, and the forecast is the value divided by it. 100% for a KPI that is not paced (judged"
                " against its whole period; its forecast is its value)."
            )
            .datasource(DATASOURCE)
            .with_target(_query(_merged(elapsed), "elapsed"))
            .unit("percentunit")
            .color_mode(common.BigValueColorMode.NONE)
            .graph_mode(common.BigValueGraphMode.AREA)
            .reduce_options(_last_value())
            .no_value("no data")
            .height(9)
            .span(4)
        )
        .with_panel(
            _time_series("Score over time")
            .min(0)
            .max(SCORE_MAX)
            .thresholds(_score_thresholds())
            .with_target(_query(_merged(f"{KPI_SCORE}{{{here}}}"), "score"))
            .height(8)
            .span(12)
        )
        .with_panel(
            statetimeline.Panel()
            .title("Status over time")
            .datasource(DATASOURCE)
            .with_target(_query(_merged(f"{KPI_STATUS}{{{here}}}"), "status"))
            .mappings(_status_mappings())
            .height(8)
            .span(12)
        )
        .with_row(_row("Line of sight: the children of $unit"))
        .with_panel(
            _status_stat("Children status", f"{_merged(KPI_STATUS + this_kpi)} * {children}", "{{name}}")
            .height(5)
            .span(24)
        )
        .with_panel(
            _time_series("Children values")
            .with_target(_query(f"{_merged(KPI_VALUE + this_kpi)} * {children}", "{{name}}"))
            .height(9)
            .span(12)
        )
        .with_panel(
            bargauge.Panel()
            .title("Children scores")
            .datasource(DATASOURCE)
            .with_target(_query(f"{_merged(KPI_SCORE + this_kpi)} * {children}", "{{name}}"))
            .min(0)
            .max(SCORE_MAX)
            .decimals(1)
            .thresholds(_score_thresholds())
            .display_mode(common.BarGaugeDisplayMode.GRADIENT)
            .orientation(common.VizOrientation.HORIZONTAL)
            .reduce_options(_last_value())
            .no_value("no children with data")
            .height(9)
            .span(12)
        )
    )
    return _finish(board)


# ------------------------------------------------------------------------------------------------------ pipeline


def pipeline_board() -> dict[str, Any]:
    """Health of the worker and the exporter; independent of the definition."""
    board = (
        _dashboard(
            PIPELINE_BOARD_UID,
            "Scorecard pipeline health",
            "Worker and exporter metrics: throughput, lag, freshness, dead letters, Redis cascade, Kafka lag.",
            "now-1h",
            "30s",
        )
        .with_row(_row("Events"))
        .with_panel(
            _time_series("Events by outcome", "ops")
            .with_target(_query(f"sum by (outcome) (rate({PIPELINE_EVENTS}_total[$__rate_interval]))", "{{outcome}}"))
            .height(8)
            .span(12)
        )
        .with_panel(
            _time_series("Event lag (now - event time)", "s")
            .targets(_quantiles(PIPELINE_EVENT_LAG, (0.5, 0.9, 0.99)))
            .height(8)
            .span(12)
        )
        .with_panel(
            _time_series("Freshness: age of the newest event per unit", "s")
            .with_target(_query(f"time() - {_merged(LAST_EVENT_TIMESTAMP)}", "{{unit}}"))
            .height(8)
            .span(12)
        )
        .with_panel(
            _time_series("Dead letters by reason", "ops")
            .with_target(
                _query(f"sum by (reason) (rate({PIPELINE_DEAD_LETTERS}_total[$__rate_interval]))", "{{reason}}")
            )
            .height(8)
            .span(12)
        )
        .with_row(_row("Redis cascade"))
        .with_panel(
            _time_series("Cascade batch size (own-state updates per flush)")
            .targets(_quantiles(PIPELINE_CASCADE_BATCH_SIZE, (0.5, 0.99)))
            .with_target(
                _query(
                    f"sum(rate({PIPELINE_CASCADE_BATCH_SIZE}_sum[$__rate_interval]))"
                    f" / sum(rate({PIPELINE_CASCADE_BATCH_SIZE}_count[$__rate_interval]))",
                    "mean",
                    "C",
                )
            )
            .height(8)
            .span(8)
        )
        .with_panel(
            _time_series("Cascade duration", "s")
            .targets(_quantiles(PIPELINE_CASCADE_DURATION, (0.5, 0.9, 0.99)))
            .height(8)
            .span(8)
        )
        .with_panel(
            _time_series("Redis errors", "ops")
            .with_target(_query(f"sum(rate({PIPELINE_REDIS_ERRORS}_total[$__rate_interval]))", "errors"))
            .height(8)
            .span(8)
        )
        .with_row(_row("Kafka and exporter"))
        .with_panel(
            _time_series("Consumer lag (messages)")
            # Each partition once: during a rebalance two worker replicas may report the same partition.
            .with_target(_query(f"max by (topic, partition) ({PIPELINE_CONSUMER_LAG})", "{{topic}} [{{partition}}]"))
            .height(8)
            .span(12)
        )
        .with_panel(
            _time_series("Exporter collection duration", "s")
            .with_target(_query(EXPORTER_SCRAPE_DURATION, "{{instance}}"))
            .height(8)
            .span(6)
        )
        .with_panel(
            stat.Panel()
            .title("Exporter to Redis")
            .datasource(DATASOURCE)
            .with_target(_query(EXPORTER_REDIS_UP, "{{instance}}"))
            .mappings(_up_mappings("up", "down"))
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last_value())
            .no_value("no exporter")
            .height(8)
            .span(6)
        )
        .with_panel(
            stat.Panel()
            .title("Scrape targets")
            .datasource(DATASOURCE)
            .with_target(_query(f'up{{job=~"{EXPORTER_JOB}|{WORKER_JOB}"}}', "{{job}} {{instance}}"))
            .mappings(_up_mappings("up", "down"))
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .graph_mode(common.BigValueGraphMode.NONE)
            .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
            .reduce_options(_last_value())
            .no_value("no targets")
            .height(6)
            .span(12)
        )
        .with_panel(
            _time_series("Exporter collection errors", "ops")
            .with_target(_query(f"sum(rate({EXPORTER_SCRAPE_ERRORS}_total[$__rate_interval]))", "errors"))
            .height(6)
            .span(12)
        )
    )
    return _finish(board)


# ------------------------------------------------------------------------------------------------ boards on disk


def build_boards(scorecard: Scorecard, *, for_import: bool = False) -> list[dict[str, Any]]:
    """The three boards, in the order the CLI lists them; ``for_import``: as ``importable`` makes them."""
    boards = [overview_board(scorecard), kpi_board(scorecard), pipeline_board()]
    return [importable(board) for board in boards] if for_import else boards


def importable(board: Mapping[str, Any]) -> dict[str, Any]:
    """The board for Grafana's Import (Dashboards > New > Import) into a Grafana with datasources of its own.

    Provisioned boards select the datasource with the fixed uid ``scorecard-prometheus`` that our provisioning
    creates; another Grafana has no such datasource. Here the ``datasource`` variable's selection is
    ``${DS_PROMETHEUS}``, declared in ``__inputs``: Grafana's import asks which Prometheus to use and replaces that
    text everywhere in the board with the chosen datasource's uid, which the panels then read through the variable.
    ``__requires`` tells the import which Grafana and plugins the board needs.
    """
    data: dict[str, Any] = json.loads(json.dumps(board))
    for variable in data["templating"]["list"]:
        if variable["name"] == DATASOURCE_VARIABLE:
            placeholder = f"${{{DATASOURCE_INPUT}}}"
            variable["current"] = {"selected": True, "text": placeholder, "value": placeholder}
    return {
        "__inputs": [
            {
                "name": DATASOURCE_INPUT,
                "label": "Prometheus",
                "description": "The Prometheus that scrapes the scorecard exporter and worker",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": GRAFANA_VERSION},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ],
        **data,
    }


def board_json(board: Mapping[str, Any]) -> str:
    """Stable JSON text (sorted keys, trailing newline) so regenerated files diff cleanly."""
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def board_path(directory: Path, board: Mapping[str, Any]) -> Path:
    return directory / f"{board['uid']}.json"


def panels(board: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a board except rows (including any nested in a collapsed row)."""
    found: list[dict[str, Any]] = []
    for panel in board.get("panels", []):
        if panel.get("type") == "row":
            found += [p for p in panel.get("panels", []) if p.get("type") != "row"]
        else:
            found.append(panel)
    return found


@dataclass(frozen=True)
class WrittenBoard:
    path: Path
    uid: str
    title: str
    panels: int


def write_boards(scorecard: Scorecard, directory: Path, *, for_import: bool = False) -> list[WrittenBoard]:
    """Write every board as ``<uid>.json`` into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for board in build_boards(scorecard, for_import=for_import):
        path = board_path(directory, board)
        path.write_text(board_json(board), encoding="utf-8")
        written.append(WrittenBoard(path, board["uid"], board["title"], len(panels(board))))
    return written


def stale_boards(scorecard: Scorecard, directory: Path, *, for_import: bool = False) -> list[Path]:
    """The board files in ``directory`` that are missing or differ from what the definition generates now."""
    return [
        board_path(directory, board)
        for board in build_boards(scorecard, for_import=for_import)
        if not board_path(directory, board).is_file()
        or board_path(directory, board).read_text(encoding="utf-8") != board_json(board)
    ]


# -------------------------------------------------------------------------------------------- queries, checked


def variable_values(board: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Concrete values for every variable: Grafana's built-ins, the board's default selections, then ``overrides``."""
    values = dict(BUILTIN_VALUES)
    for variable in board.get("templating", {}).get("list", []):
        current = variable.get("current") or {}
        if isinstance(current.get("value"), str):
            values[variable["name"]] = current["value"]
    values.update(overrides or {})
    return values


def substitute(text: str, values: Mapping[str, str], where: str = "") -> str:
    """Replace ``$name``, ``${name}`` and ``[[name]]``; an unknown variable is an error naming ``where``."""

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise ValueError(f"{where}: variable ${name} has no value; give one in `values` or define it on the board")
        return values[name]

    return _VARIABLE.sub(replace, text)


def panel_queries(board: Mapping[str, Any], values: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every panel target, Grafana variables replaced by concrete values.

    Defaults: each variable's selected value on the board (the root unit, the first KPI) and ``BUILTIN_VALUES``;
    ``values`` overrides them (e.g. ``{"unit": "sales"}``). Titles are substituted too, for readable reports.
    """
    resolved = variable_values(board, values)
    queries = []
    for panel in panels(board):
        title = substitute(panel.get("title", ""), resolved, f"board {board.get('uid')}")
        for target in panel.get("targets", []):
            if target.get("expr"):
                queries.append((title, substitute(target["expr"], resolved, f"{board.get('uid')} / {title}")))
    return queries


def variable_queries(board: Mapping[str, Any]) -> list[tuple[str, str]]:
    """("variable NAME", PromQL) for each query variable: the series selector inside label_values/query_result."""
    queries = []
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        match = _LABEL_VALUES.match(text) or _QUERY_RESULT.match(text)
        expr = match.group(1) if match else text
        queries.append((f"variable {variable['name']}", substitute(expr, variable_values(board), board.get("uid", ""))))
    return queries
