"""The scorecard as one self-contained HTML page: what a team brings to its monthly performance review.

``render_html(scorecard, report, trends=..., source=...)`` turns the JSON report (``evaluation.report``, from a replay
or from Redis) into a page with the org tree and its scores, then, unit by unit, the perspectives, objectives and
KPIs: value against goal and red flag (display unit, which way is better), score, status and a small trend.

Why it is built this way:

- One file, no external request (inline CSS, inline SVG, no script, no web font): it is mailed, archived and opened
  offline, and it must look the same in a year.
- Jinja2 with autoescape on: names come from a YAML file anyone can edit, so ``<``, ``&`` and quotes must never
  become markup. The template is a string in this module, not a package data file, so an installed wheel always
  carries it.
- Status is shown by colour AND by word and symbol (``✔ green``, ``▲ amber``, ``✖ red``, ``– no data``): readable
  for colour-blind readers and on a black-and-white print.
- Nothing is scored here. Values, scores and statuses are the report's (``scorecard.core.evaluation``); overall and
  perspective statuses come from ``scoring.status_from_score``; trend points from ``scorecard.core.trends``.
- The view is built in plain dataclasses first (``build_view``), so the template only lays out prepared text and
  the logic can be tested without parsing HTML.
- With ``moved`` (``scorecard report --since``), each unit also gets "What moved since": the explanation of
  ``scorecard explain`` (``scorecard.core.movers``), top movers only, with its numbers to two decimals as explain
  prints them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import jinja2

from scorecard import __version__
from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.engine import OUTCOMES
from scorecard.core.hierarchy import OrgTree
from scorecard.core.movers import ChildMove, Explanation
from scorecard.core.scoring import HIGHER_IS_BETTER, LOWER_IS_BETTER, polarity, status_from_score
from scorecard.core.timeutil import parse_time
from scorecard.core.trends import TrendPoint

__all__ = [
    "STATUS_WORDS",
    "MovedRow",
    "MovedView",
    "ReportView",
    "Sparkline",
    "build_view",
    "format_number",
    "render_html",
]

STATUS_WORDS: Final[dict[str, str]] = {"green": "green", "amber": "amber", "red": "red", "no_data": "no data"}
STATUS_SYMBOLS: Final[dict[str, str]] = {"green": "✔", "amber": "▲", "red": "✖", "no_data": "–"}
POLARITY_TEXT: Final[dict[str | None, str]] = {
    HIGHER_IS_BETTER: "↑ higher is better",
    LOWER_IS_BETTER: "↓ lower is better",
    None: "no goal",
}
NONE_TEXT: Final = "—"
NO_PERSPECTIVE: Final = "Not in a perspective"

# Sparkline geometry (CSS pixels): small enough for a table cell, tall enough to see a step.
SPARK_WIDTH: Final = 112
SPARK_HEIGHT: Final = 28
SPARK_PAD: Final = 4


# ----------------------------------------------------------------------------------------------- view model


@dataclass(frozen=True, slots=True)
class Status:
    """A status as the page shows it: CSS class, symbol and word (never the colour alone)."""

    key: str
    word: str
    symbol: str

    @classmethod
    def of(cls, key: str) -> Status:
        known = key if key in STATUS_WORDS else "no_data"
        return cls(known, STATUS_WORDS[known], STATUS_SYMBOLS[known])


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    status: str
    title: str


@dataclass(frozen=True, slots=True)
class Sparkline:
    """An inline SVG trend: polylines (split where a window has no value), status dots and target lines."""

    width: int
    height: int
    segments: tuple[str, ...]
    dots: tuple[Dot, ...]
    goal_y: float | None
    red_flag_y: float | None
    label: str


@dataclass(frozen=True, slots=True)
class KpiRow:
    id: str
    name: str
    details: str
    description: str
    value: str
    goal: str
    red_flag: str
    better: str
    score: str
    status: Status
    trend: Sparkline | None
    trend_text: str
    pace: str = ""
    """For a paced KPI: the share of the period elapsed, the forecast and the period goal ("" when not paced)."""


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    name: str
    owner: str
    kpis: tuple[KpiRow, ...]


@dataclass(frozen=True, slots=True)
class PerspectiveView:
    name: str
    score: str
    status: Status
    objectives: tuple[ObjectiveView, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """A score with the status it means (perspective scores in the overview table)."""

    text: str
    status: Status


@dataclass(frozen=True, slots=True)
class MovedRow:
    """One line of "What moved": a perspective, a KPI (with why) or a child unit, indented by ``level``."""

    level: int
    name: str
    before: str
    after: str
    delta: str
    direction: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class MovedView:
    """A unit's score at both times and its top movers (perspective, KPI, child units), as ``explain`` shows them."""

    since: str
    before: str
    after: str
    delta: str
    direction: str
    rows: tuple[MovedRow, ...]


@dataclass(frozen=True, slots=True)
class UnitView:
    id: str
    name: str
    owner: str
    depth: int
    parent: str
    score: str
    status: Status
    perspective_scores: tuple[Cell, ...]
    perspectives: tuple[PerspectiveView, ...]
    moved: MovedView | None = None


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    description: str
    at_local: str
    at_utc: str
    timezone: str
    source: str
    version: str
    events: tuple[tuple[str, int], ...]
    perspective_names: tuple[str, ...]
    units: tuple[UnitView, ...]
    legend: tuple[tuple[Status, str], ...] = field(default=())


# --------------------------------------------------------------------------------------------- building it


def build_view(
    scorecard: Scorecard,
    report: Mapping[str, Any],
    *,
    trends: Mapping[str, Mapping[str, Sequence[TrendPoint]]] | None = None,
    source: str = "",
    moved: Mapping[str, Explanation] | None = None,
    since: str = "",
) -> ReportView:
    """Everything the template shows, as text, in definition order (units pre-order, perspectives, KPIs); ``moved``
    holds the explanation (top movers) of each unit since ``since``."""
    tree = OrgTree.from_scorecard(scorecard)
    zone = scorecard.tz
    at = parse_time(report["at"])
    units_json = report["units"]
    units = tuple(
        _unit_view(
            scorecard,
            tree,
            unit_id,
            units_json[unit_id],
            (trends or {}).get(unit_id, {}),
            zone,
            _moved_view(scorecard, moved[unit_id], since) if moved and unit_id in moved else None,
        )
        for unit_id in tree.units
        if unit_id in units_json
    )
    counts = report.get("events", {})
    return ReportView(
        title=scorecard.name,
        description=scorecard.description or "",
        at_local=_local_time(at, zone),
        at_utc=str(report["at"]),
        timezone=scorecard.timezone,
        source=source,
        version=__version__,
        events=tuple((outcome.value, int(counts.get(outcome.value, 0))) for outcome in OUTCOMES),
        perspective_names=tuple(p.label for p in scorecard.perspectives),
        units=units,
        legend=(
            (Status.of("green"), "goal reached"),
            (Status.of("amber"), "short of the goal, red flag not passed"),
            (Status.of("red"), "worse than the red flag"),
            (Status.of("no_data"), "no value in the window"),
        ),
    )


def _unit_view(
    scorecard: Scorecard,
    tree: OrgTree,
    unit_id: str,
    result: Mapping[str, Any],
    trends: Mapping[str, Sequence[TrendPoint]],
    zone: ZoneInfo,
    moved: MovedView | None = None,
) -> UnitView:
    unit = scorecard.unit(unit_id)
    parent = tree.parent(unit_id)
    perspective_scores = result.get("perspectives", {})
    kpis_json = result.get("kpis", {})
    rows = {
        kpi.id: _kpi_row(scorecard, tree, unit_id, kpi, kpis_json[kpi.id], trends.get(kpi.id, ()), zone)
        for kpi in scorecard.kpis
        if kpi.id in kpis_json
    }
    perspectives = [
        PerspectiveView(
            p.label,
            _score(perspective_scores.get(p.id)),
            _score_status(perspective_scores.get(p.id)),
            _objectives(scorecard, [o.id for o in scorecard.objectives if o.perspective == p.id], rows),
        )
        for p in scorecard.perspectives
    ]
    loose = tuple(rows[k.id] for k in scorecard.kpis if k.objective is None and k.id in rows)
    if loose:  # a KPI without objective counts in no score, but the review still sees it
        no_data = Status.of("no_data")
        perspectives.append(PerspectiveView(NO_PERSPECTIVE, NONE_TEXT, no_data, (ObjectiveView("", "", loose),)))
    return UnitView(
        id=unit_id,
        name=unit.label,
        owner=unit.owner or "",
        depth=tree.depth(unit_id),
        parent=scorecard.unit(parent).label if parent is not None else "",
        score=_score(result.get("score")),
        status=Status.of(str(result.get("status", "no_data"))),
        perspective_scores=tuple(
            Cell(_score(perspective_scores.get(p.id)), _score_status(perspective_scores.get(p.id)))
            for p in scorecard.perspectives
        ),
        perspectives=tuple(perspectives),
        moved=moved,
    )


def _points(value: Any) -> str:
    return NONE_TEXT if value is None else f"{float(value):.2f}"


def _signed(before: Any, after: Any) -> tuple[str, str]:
    delta = float((after or 0) - (before or 0))
    return f"{delta:+.2f}", "up" if delta > 0 else "down" if delta < 0 else "flat"


def _moved_view(scorecard: Scorecard, explanation: Explanation, since: str) -> MovedView:
    """The explanation as rows: perspective, its KPIs with why, the child units below each KPI (indented)."""
    from scorecard.outputs.explain_view import REASON_TEXT

    rows: list[MovedRow] = []

    def children(moves: tuple[ChildMove, ...], level: int) -> None:
        for child in moves:
            delta, direction = _signed(child.before, child.after)
            name = scorecard.unit(child.unit).label
            rows.append(MovedRow(level, name, _points(child.before), _points(child.after), delta, direction))
            children(child.children, level + 1)

    for perspective in explanation.perspectives:
        delta, direction = _signed(perspective.before, perspective.after)
        label = scorecard.perspective(perspective.perspective).label
        rows.append(MovedRow(0, label, _points(perspective.before), _points(perspective.after), delta, direction))
        for kpi in perspective.kpis:
            delta, direction = _signed(kpi.before, kpi.after)
            why = "; ".join(REASON_TEXT.get(reason, reason) for reason in kpi.reasons)
            name = scorecard.kpi(kpi.kpi).label
            rows.append(MovedRow(1, name, _points(kpi.before), _points(kpi.after), delta, direction, why))
            children(kpi.children, 2)
    delta, direction = _signed(explanation.before, explanation.after)
    return MovedView(since, _points(explanation.before), _points(explanation.after), delta, direction, tuple(rows))


def _objectives(
    scorecard: Scorecard, objective_ids: list[str], rows: Mapping[str, KpiRow]
) -> tuple[ObjectiveView, ...]:
    out = []
    for objective_id in objective_ids:
        objective = scorecard.objective(objective_id)
        kpis = tuple(rows[k.id] for k in scorecard.kpis if k.objective == objective_id and k.id in rows)
        if kpis:
            out.append(ObjectiveView(objective.label, objective.owner or "", kpis))
    return tuple(out)


def _kpi_row(
    scorecard: Scorecard,
    tree: OrgTree,
    unit_id: str,
    kpi: Kpi,
    result: Mapping[str, Any],
    points: Sequence[TrendPoint],
    zone: ZoneInfo,
) -> KpiRow:
    goal, red_flag = result.get("goal"), result.get("red_flag")
    if goal is not None and red_flag is not None:
        goal_text, red_text = _quantity(goal, kpi.unit), _quantity(red_flag, kpi.unit)
        better = POLARITY_TEXT[polarity(goal, red_flag)]
    else:
        # rule 5 of docs/semantics.md: no goal here, the score is the weighted mean of the sub-units' scores
        goal_text = "from sub-units" if tree.children(unit_id) else "no goal"
        red_text = NONE_TEXT
        better = POLARITY_TEXT[kpi.polarity]
    window = result.get("window", {})
    span = _span(window.get("start"), window.get("end"), zone)
    details = " · ".join(part for part in (kpi.window.describe(), span, kpi.owner and f"owner {kpi.owner}") if part)
    # past windows are whole periods: the lines are the period's targets (the same as goal / red flag when unpaced)
    period_goal, period_red_flag = result.get("period_goal", goal), result.get("period_red_flag", red_flag)
    sparkline = _sparkline(points, period_goal, period_red_flag, kpi.unit, zone)
    return KpiRow(
        id=kpi.id,
        name=kpi.label,
        details=details,
        description=kpi.description or "",
        value=_quantity(result.get("value"), kpi.unit),
        goal=goal_text,
        red_flag=red_text,
        better=better,
        score=_score(result.get("score")),
        status=Status.of(str(result.get("status", "no_data"))),
        trend=sparkline,
        trend_text=_no_trend(points) if sparkline is None else sparkline.label,
        pace=_pace(result, kpi.unit),
    )


def _pace(result: Mapping[str, Any], unit: str | None) -> str:
    """``86% of the period elapsed · forecast 328,983 EUR · period goal 600,000 EUR`` for a paced KPI, else ""."""
    elapsed = result.get("elapsed")
    if elapsed is None:
        return ""
    parts = [f"{elapsed:.0%} of the period elapsed"]
    if result.get("forecast") is not None:
        parts.append(f"forecast {_quantity(result['forecast'], unit)}")
    if result.get("period_goal") is not None:
        parts.append(f"period goal {_quantity(result['period_goal'], unit)}")
    return " · ".join(parts)


# ------------------------------------------------------------------------------------------------ sparkline


def _sparkline(
    points: Sequence[TrendPoint], goal: float | None, red_flag: float | None, unit: str | None, zone: ZoneInfo
) -> Sparkline | None:
    """Values of the windows, oldest left; None when fewer than two windows have a value (nothing to compare)."""
    values = [p.value for p in points]
    known = [v for v in values if v is not None and math.isfinite(v)]
    if len(points) < 2 or len(known) < 2:
        return None
    targets = [t for t in (goal, red_flag) if t is not None]
    low, high = min(known + targets), max(known + targets)
    if high == low:
        low, high = low - 1, high + 1
    inner_w = SPARK_WIDTH - 2 * SPARK_PAD
    inner_h = SPARK_HEIGHT - 2 * SPARK_PAD

    def x_of(index: int) -> float:
        return round(SPARK_PAD + index * inner_w / (len(points) - 1), 1)

    def y_of(value: float) -> float:
        return round(SPARK_PAD + (high - value) / (high - low) * inner_h, 1)

    segments: list[str] = []
    current: list[str] = []
    dots: list[Dot] = []
    for index, point in enumerate(points):
        if point.value is None or not math.isfinite(point.value):
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x, y = x_of(index), y_of(point.value)
        current.append(f"{x},{y}")
        title = f"{_span_from(point.start, point.end, zone)}: {_quantity(point.value, unit)} ({_word(point.status)})"
        dots.append(Dot(x, y, Status.of(point.status).key, title))
    if current:
        segments.append(" ".join(current))
    label = f"last {len(points)} windows, oldest first: " + "; ".join(
        f"{_quantity(p.value, unit)} {_word(p.status)}" for p in points
    )
    return Sparkline(
        SPARK_WIDTH,
        SPARK_HEIGHT,
        tuple(s for s in segments if " " in s),  # a lone point is a dot, not a line
        tuple(dots),
        y_of(goal) if goal is not None else None,
        y_of(red_flag) if red_flag is not None else None,
        label,
    )


def _no_trend(points: Sequence[TrendPoint]) -> str:
    return "no earlier window" if len(points) < 2 else "too few values"


# ---------------------------------------------------------------------------------------------- formatting


def format_number(value: float) -> str:
    """Readable at a glance: thousands separated, fewer decimals the larger the number, no trailing zeros."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 1000 else 1 if magnitude >= 10 else 2
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _quantity(value: float | None, unit: str | None) -> str:
    if value is None:
        return "no data"
    number = format_number(value)
    if not unit:
        return number
    return f"{number}{unit}" if unit.startswith(("%", "/")) else f"{number} {unit}"


def _score(score: float | None) -> str:
    return NONE_TEXT if score is None else f"{score:.1f}"


def _score_status(score: float | None) -> Status:
    return Status.of(status_from_score(score))


def _word(status: str) -> str:
    return STATUS_WORDS.get(status, STATUS_WORDS["no_data"])


def _local_time(epoch: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M")


def _span(start: str | None, end: str | None, zone: ZoneInfo) -> str:
    if start is None or end is None:
        return ""
    return _span_from(parse_time(start), parse_time(end), zone)


def _span_from(start: float, end: float, zone: ZoneInfo) -> str:
    """Whole local days as dates (the end day included), anything else as local times (end excluded)."""
    first = datetime.fromtimestamp(start, zone)
    stop = datetime.fromtimestamp(end, zone)
    if first.time() == stop.time() == datetime.min.time():
        last = datetime.fromtimestamp(end - 1, zone)
        if last.date() == first.date():
            return first.strftime("%Y-%m-%d")
        return f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"
    if first.date() == stop.date():
        return f"{first:%Y-%m-%d %H:%M} – {stop:%H:%M}"
    return f"{first:%Y-%m-%d %H:%M} – {stop:%Y-%m-%d %H:%M}"


# ------------------------------------------------------------------------------------------------- template


def render_html(
    scorecard: Scorecard,
    report: Mapping[str, Any],
    *,
    trends: Mapping[str, Mapping[str, Sequence[TrendPoint]]] | None = None,
    source: str = "",
    moved: Mapping[str, Explanation] | None = None,
    since: str = "",
) -> str:
    """The whole page, as text (UTF-8 when written)."""
    view = build_view(scorecard, report, trends=trends, source=source, moved=moved, since=since)
    return _template().render(view=view, spark_pad=SPARK_PAD)


_ENVIRONMENT: jinja2.Environment | None = None


def _template() -> jinja2.Template:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        _ENVIRONMENT = jinja2.Environment(
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
        )
    return _ENVIRONMENT.from_string(_PAGE)


_CSS: Final = """
:root { --green: #1e7b34; --amber: #a86500; --red: #c0262d; --none: #6b7280; --ink: #1f2328; --muted: #59636e;
        --line: #d0d7de; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; display: flex; gap: 10px; align-items: center; }
p.description { margin: 0 0 12px; color: var(--muted); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0 12px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ul.legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 6px 18px;
            color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted);
           border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.objective th { background: var(--band); font-size: 13px; font-weight: 600; }
tr.objective .owner { font-weight: normal; }
.muted, .owner, .details { color: var(--muted); }
.details { font-size: 12px; }
.unit-id { color: var(--muted); font-size: 12px; margin-left: 6px; }
.badge { display: inline-block; min-width: 76px; padding: 1px 8px; border-radius: 10px; color: #fff;
         font-size: 12px; font-weight: 600; white-space: nowrap; text-align: center; }
.badge.green { background: var(--green); } .badge.amber { background: var(--amber); }
.badge.red { background: var(--red); } .badge.no_data { background: #fff; color: var(--none);
         border: 1px solid var(--none); }
.score.green { color: var(--green); } .score.amber { color: var(--amber); } .score.red { color: var(--red); }
.score.no_data { color: var(--none); }
.score { font-weight: 600; }
td.better { white-space: nowrap; font-size: 13px; }
table.kpis { table-layout: fixed; }
col.c-kpi { width: auto; } col.c-value { width: 128px; } col.c-goal { width: 116px; } col.c-red { width: 104px; }
col.c-better { width: 136px; } col.c-score { width: 58px; } col.c-status { width: 96px; } col.c-trend { width: 132px; }
table.kpis td { overflow-wrap: anywhere; }
svg.spark { display: block; }
svg.spark .line { fill: none; stroke: #57606a; stroke-width: 1.4; }
svg.spark .goal { stroke: var(--green); stroke-width: 1; stroke-dasharray: 4 2; }
svg.spark .red-flag { stroke: var(--red); stroke-width: 1; stroke-dasharray: 1 2; }
svg.spark .dot.green { fill: var(--green); } svg.spark .dot.amber { fill: var(--amber); }
svg.spark .dot.red { fill: var(--red); } svg.spark .dot.no_data { fill: var(--none); }
section.unit { margin-top: 36px; }
section.unit > header { border-bottom: 3px solid var(--ink); padding-bottom: 4px; display: flex;
                        flex-wrap: wrap; align-items: baseline; gap: 8px 16px; }
section.unit > header h2 { margin: 0; }
td.tree { white-space: nowrap; }
td.tree a { color: inherit; text-decoration: none; }
td.tree a:hover { text-decoration: underline; }
table.moved { margin: 10px 0 4px; }
table.moved td.name { white-space: nowrap; }
.delta.up { color: var(--green); } .delta.down { color: var(--red); } .delta.flat { color: var(--none); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  body { font-size: 10px; }
  h1 { font-size: 20px; } h2 { font-size: 15px; margin-top: 14px; } h3 { font-size: 12px; margin: 8px 0 3px; }
  th, td { padding: 2px 6px; }
  .details, .unit-id, .badge, thead th, tr.objective th, ul.legend, td.better { font-size: 9px; }
  col.c-value { width: 100px; } col.c-goal { width: 96px; } col.c-red { width: 84px; } col.c-better { width: 104px; }
  col.c-score { width: 44px; } col.c-status { width: 80px; } col.c-trend { width: 124px; }
  section.unit { break-before: page; margin-top: 0; }
  tr { break-inside: avoid; }
  h2, h3, section.unit > header { break-after: avoid; }
  td.tree a { text-decoration: none; }
}
"""

_PAGE: Final = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="streaming-scorecard {{ view.version }}">
<title>{{ view.title }} at {{ view.at_utc }}</title>
<style>"""
    + _CSS
    + """</style>
</head>
{% macro badge(status) %}<span class="badge {{ status.key }}">{{ status.symbol }} {{ status.word }}</span>{% endmacro %}
{% macro score(text, status) %}<span class="score {{ status.key }}">{{ text }}</span>{% endmacro %}
<body>
<main>
<header>
  <h1>{{ view.title }}</h1>
  {% if view.description %}<p class="description">{{ view.description }}</p>{% endif %}
  <dl class="meta">
    <dt>Evaluated at</dt>
    <dd><time datetime="{{ view.at_utc }}">{{ view.at_local }} {{ view.timezone }}</time>
        <span class="muted">({{ view.at_utc }})</span></dd>
    {% if view.source %}<dt>Source</dt><dd>{{ view.source }}</dd>{% endif %}
    <dt>Events</dt>
    <dd id="events">{% for outcome, count in view.events %}
      {{- "{:,}".format(count) }} {{ outcome }}{{ ", " if not loop.last }}
    {%- endfor %}</dd>
  </dl>
  <ul class="legend" aria-label="Status legend">
    {% for status, meaning in view.legend %}<li>{{ badge(status) }} {{ meaning }}</li>{% endfor %}
    <li>Trend: one point per window, oldest left; dashed line: goal, dotted line: red flag (of a whole period)</li>
    <li>Paced KPIs (sums and counts of a period): goal and red flag to date, the share of the period elapsed, and
      the forecast, where the period ends at this pace (docs/semantics.md, section 8)</li>
  </ul>
</header>

<section id="overview">
  <h2>Organisation</h2>
  <table>
    <thead><tr><th>Unit</th><th>Owner</th><th class="num">Score</th><th>Status</th>
      {% for name in view.perspective_names %}<th class="num">{{ name }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for unit in view.units %}
      <tr>
        <td class="tree" style="padding-left: {{ 8 + unit.depth * 22 }}px">
          <a href="#unit-{{ unit.id }}">{{ unit.name }}</a><span class="unit-id">{{ unit.id }}</span></td>
        <td class="owner">{{ unit.owner }}</td>
        <td class="num">{{ score(unit.score, unit.status) }}</td>
        <td>{{ badge(unit.status) }}</td>
        {% for cell in unit.perspective_scores %}<td class="num">{{ score(cell.text, cell.status) }}</td>{% endfor %}
      </tr>
    {% endfor %}
    </tbody>
  </table>
</section>

{% for unit in view.units %}
<section class="unit" id="unit-{{ unit.id }}">
  <header>
    <h2>{{ unit.name }}<span class="unit-id">{{ unit.id }}</span></h2>
    <span>Score {{ score(unit.score, unit.status) }}</span> {{ badge(unit.status) }}
    {% if unit.owner %}<span class="owner">owner {{ unit.owner }}</span>{% endif %}
    {% if unit.parent %}<span class="muted">part of {{ unit.parent }}</span>{% endif %}
  </header>
  {% if unit.moved %}{% set m = unit.moved %}
  <h3>What moved since <time datetime="{{ m.since }}">{{ m.since }}</time>: score {{ m.before }} → {{ m.after }}
    <span class="delta {{ m.direction }}">{{ m.delta }}</span></h3>
  {% if m.rows %}
  <table class="moved">
    <thead><tr><th>Perspective, KPI, child unit</th><th class="num">Before</th><th class="num">After</th>
      <th class="num">Change</th><th>Why</th></tr></thead>
    <tbody>
    {% for row in m.rows %}
      <tr class="moved level-{{ row.level }}"><td class="name" style="padding-left: {{ 8 + row.level * 18 }}px">
        {{- row.name }}</td><td class="num">{{ row.before }}</td><td class="num">{{ row.after }}</td>
        <td class="num delta {{ row.direction }}">{{ row.delta }}</td><td class="muted">{{ row.why }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="muted">Nothing moved.</p>
  {% endif %}
  {% endif %}
  {% for perspective in unit.perspectives %}
  <h3>{{ perspective.name }} {{ score(perspective.score, perspective.status) }} {{ badge(perspective.status) }}</h3>
  {% if perspective.objectives %}
  <table class="kpis">
    <colgroup><col class="c-kpi"><col class="c-value"><col class="c-goal"><col class="c-red"><col class="c-better">
      <col class="c-score"><col class="c-status"><col class="c-trend"></colgroup>
    <thead><tr><th>KPI</th><th class="num">Value</th><th class="num">Goal</th><th class="num">Red flag</th>
      <th>Better</th><th class="num">Score</th><th>Status</th><th>Trend</th></tr></thead>
    <tbody>
    {% for objective in perspective.objectives %}
      {% if objective.name %}
      <tr class="objective"><th colspan="8">{{ objective.name }}
        {% if objective.owner %}<span class="owner">· owner {{ objective.owner }}</span>{% endif %}</th></tr>
      {% endif %}
      {% for kpi in objective.kpis %}
      <tr class="kpi" data-kpi="{{ kpi.id }}">
        <td><div{% if kpi.description %} title="{{ kpi.description }}"{% endif %}>{{ kpi.name }}</div>
          <div class="details">{{ kpi.details }}</div>
          {% if kpi.pace %}<div class="details pace">{{ kpi.pace }}</div>{% endif %}</td>
        <td class="num value">{{ kpi.value }}</td>
        <td class="num">{{ kpi.goal }}{% if kpi.pace %}<div class="details">to date</div>{% endif %}</td>
        <td class="num">{{ kpi.red_flag }}</td>
        <td class="muted better">{{ kpi.better }}</td>
        <td class="num">{{ score(kpi.score, kpi.status) }}</td>
        <td>{{ badge(kpi.status) }}</td>
        <td>{% if kpi.trend %}{% set s = kpi.trend %}
          <svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{{ s.width }}" height="{{ s.height }}"
               viewBox="0 0 {{ s.width }} {{ s.height }}" role="img" aria-label="{{ s.label }}">
            <title>{{ s.label }}</title>
            {% if s.goal_y is not none %}
            <line class="goal" x1="{{ spark_pad }}" x2="{{ s.width - spark_pad }}" y1="{{ s.goal_y }}"
                  y2="{{ s.goal_y }}"/>
            {% endif %}
            {% if s.red_flag_y is not none %}
            <line class="red-flag" x1="{{ spark_pad }}" x2="{{ s.width - spark_pad }}" y1="{{ s.red_flag_y }}"
                  y2="{{ s.red_flag_y }}"/>
            {% endif %}
            {% for points in s.segments %}<polyline class="line" points="{{ points }}"/>{% endfor %}
            {% for dot in s.dots %}
            <circle class="dot {{ dot.status }}" cx="{{ dot.x }}" cy="{{ dot.y }}" r="2.4">
              <title>{{ dot.title }}</title></circle>
            {% endfor %}
          </svg>
          {% else %}<span class="muted details">{{ kpi.trend_text }}</span>{% endif %}</td>
      </tr>
      {% endfor %}
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="muted">No KPI in this perspective.</p>
  {% endif %}
  {% endfor %}
</section>
{% endfor %}

<footer>streaming-scorecard {{ view.version }} · scores 0–10: 6.7 at the goal, 3.3 at the red flag
  (docs/semantics.md) · units without their own goal are scored from their sub-units</footer>
</main>
</body>
</html>
"""
)
