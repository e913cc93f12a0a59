"""Prometheus alert and recording rules, and the Alertmanager routing, generated from a scorecard definition.

The definition already says everything an alert needs: which KPIs exist, what they are called, which way is
better, and who owns each unit and KPI. Writing 30 alert rules by hand would restate it and drift from it, so
``scorecard rules`` and ``scorecard alertmanager`` derive them; the result is committed under ``deploy/`` and a test
fails when it is stale. The functions here are pure (definition in, plain data out); the CLI writes the files.

Owner precedence
----------------
The team that gets a KPI alert is the *unit's* owner when the unit has one, else the *KPI's* owner, else nobody
(the Alertmanager default receiver). In a cascaded scorecard a unit's team answers for its own numbers; the KPI
owner stewards the measure company-wide and is the fallback for units nobody owns. The rules compute this in PromQL
from the exporter's ``scorecard_unit_info`` and ``scorecard_kpi_info`` (which carry ``owner``, "" when none) into the
recording rule ``scorecard:kpi_status:owner``; ``owner_of`` is the same rule in Python, used to list the teams
Alertmanager must route. A join that finds no info series (an exporter bug) keeps the alert, without an owner label,
rather than silently dropping it.
"""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass
from typing import Any

import yaml

from scorecard.contract import (
    EXPORTER_JOB,
    EXPORTER_REDIS_UP,
    KPI_BOARD_UID,
    KPI_CONTRIBUTION,
    KPI_ELAPSED_RATIO,
    KPI_FORECAST,
    KPI_GOAL,
    KPI_INFO,
    KPI_PERIOD_END,
    KPI_PERIOD_GOAL,
    KPI_RED_FLAG,
    KPI_STATUS,
    KPI_VALUE,
    LAST_EVENT_TIMESTAMP,
    OVERVIEW_BOARD_UID,
    PIPELINE_CONSUMER_LAG,
    PIPELINE_DEAD_LETTERS,
    PIPELINE_EVENTS,
    STATUS_CODES,
    UNIT_INFO,
    UNIT_SCORE,
    WORKER_JOB,
    exported_units,
)
from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.timeutil import format_duration

__all__ = [
    "DEAD_LETTER_MIN",
    "DEAD_LETTER_WINDOW",
    "DEFAULT_RECEIVER",
    "EVENT_AGE_RECORD",
    "EXPORTER_JOB",
    "FILE_HEALTH",
    "FILE_KPIS",
    "FILE_PROMETHEUS_RULE",
    "FILE_UNITS",
    "KPI_AMBER_ALERT",
    "KPI_RED_ALERT",
    "OWNER_STATUS_RECORD",
    "PLACEHOLDER_WEBHOOK",
    "SCORECARD_LABEL",
    "WORKER_JOB",
    "RuleOptions",
    "alertmanager_config",
    "alertmanager_fragment",
    "alertmanager_header",
    "check_grafana_url",
    "check_namespace",
    "check_resource_label",
    "count_rules",
    "fragment_header",
    "grafana_kpi_url",
    "grafana_overview_url",
    "owner_of",
    "owner_teams",
    "prometheus_rule",
    "rule_files",
    "rules_header",
    "scorecard_slug",
    "team_receiver",
    "to_yaml",
]

DEAD_LETTER_WINDOW = 600
"""The window of ScorecardDeadLetterSurge: the share of one reason's dead letters among the input events in it."""
DEAD_LETTER_MIN = 10
"""ScorecardDeadLetterSurge needs more dead letters of the reason than this in the window: a few bad events among few
events are no surge."""
FILE_KPIS = "scorecard-kpis.yml"
FILE_HEALTH = "scorecard-health.yml"
FILE_PROMETHEUS_RULE = "scorecard-prometheusrule.yml"
FILE_UNITS = "scorecard-units.yml"
OWNER_STATUS_RECORD = "scorecard:kpi_status:owner"
EVENT_AGE_RECORD = "scorecard:unit_last_event_age_seconds"
DEFAULT_RECEIVER = "default"
KPI_RED_ALERT = "ScorecardKPIBreachedRedFlag"
KPI_AMBER_ALERT = "ScorecardKPIBelowGoal"
# Every rule carries the scorecard's name in this label, so alerts from several scorecards (or from other sources) in
# one Prometheus and Alertmanager can be told apart, silenced and routed as a whole.
SCORECARD_LABEL = "scorecard"
# `.invalid` never resolves (RFC 2606): a placeholder that cannot page a stranger before the user fills it in.
PLACEHOLDER_WEBHOOK = "http://alert-webhook.invalid/scorecard/{team}"

# Series of one exporter belong together; joining on job and instance keeps two exporter replicas from colliding.
_SAME_EXPORTER = "job, instance"


@dataclass(frozen=True)
class RuleOptions:
    """Tunables of the generated rules.

    ``pending`` is Prometheus's ``for`` (how long a condition must hold before the alert fires) for KPI statuses and
    the pipeline's health; ``stale_after`` is how long a unit may go without an accepted event before
    ``ScorecardStale``; ``max_lag`` is how many messages may wait in the input topic (all partitions) before
    ``ScorecardConsumerLagHigh``; ``dead_letter_share`` is the share of the input events one dead-letter reason may
    take within ``DEAD_LETTER_WINDOW`` before ``ScorecardDeadLetterSurge``; ``min_elapsed`` is the share of its
    period (0-1) a paced KPI must be through before its status or forecast alerts (at a period's start a handful of
    events decide the pace); ``ScorecardUnitScoreDropped`` fires when a unit's score is more than ``drop_points``
    below what it was ``drop_window`` seconds earlier.
    """

    pending: float = 300
    stale_after: int = 7200
    grafana_url: str = "http://localhost:3000"
    max_lag: int = 10_000
    dead_letter_share: float = 0.05
    min_elapsed: float = 0.1
    drop_points: float = 1.0
    drop_window: int = 3600


# ---------------------------------------------------------------------------------------------------------- owners
def owner_of(scorecard: Scorecard, unit_id: str, kpi_id: str) -> str | None:
    """The team an alert on (unit, KPI) goes to: the unit's owner, else the KPI's, else None."""
    return scorecard.unit(unit_id).owner or scorecard.kpi(kpi_id).owner or None


def owner_teams(scorecard: Scorecard) -> tuple[str, ...]:
    """Every team some generated alert can be labelled with, sorted: the receivers Alertmanager needs."""
    teams: set[str] = set()
    for unit_id in exported_units(scorecard):
        unit_owner = scorecard.unit(unit_id).owner
        if unit_owner:
            teams.add(unit_owner)  # ScorecardStale, and every KPI of the unit
            continue
        teams.update(k.owner for k in scorecard.kpis if k.owner)
    return tuple(sorted(teams))


# ----------------------------------------------------------------------------------------------------- rule groups
def rule_files(scorecard: Scorecard, options: RuleOptions) -> dict[str, dict[str, Any]]:
    """All rule files of a scorecard, by file name."""
    return {
        FILE_KPIS: {"groups": [_kpi_group(scorecard, options)]},
        FILE_HEALTH: {"groups": [_health_group(scorecard, options)]},
        FILE_UNITS: {"groups": [_unit_group(scorecard, options)]},
    }


def prometheus_rule(
    scorecard: Scorecard, options: RuleOptions, namespace: str | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The rule groups of ``rule_files`` as one Kubernetes ``PrometheusRule`` resource (the Prometheus Operator's).

    Its name is the scorecard's slug; ``labels`` go to its metadata, where an operator's ``ruleSelector`` looks
    (kube-prometheus-stack selects ``release: <its release>``).
    """
    metadata: dict[str, Any] = {"name": scorecard_slug(scorecard.name)}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {"app.kubernetes.io/name": "streaming-scorecard", **(labels or {})}
    groups = [group for document in rule_files(scorecard, options).values() for group in document["groups"]]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": groups},
    }


_K8S_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_K8S_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_K8S_NAME}$")
_K8S_LABEL_VALUE = re.compile(rf"^{_K8S_NAME}?$")
_K8S_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_resource_label(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as a Kubernetes label; ValueError naming what is wrong."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"expected KEY=VALUE like release=kube-prometheus-stack, got {text!r}")
    if not _K8S_LABEL_KEY.match(key):
        raise ValueError(
            f"{key!r} is not a Kubernetes label key: an optional DNS prefix and '/', then up to 63 letters, digits,"
            " '-', '_' or '.', starting and ending with a letter or digit"
        )
    if not _K8S_LABEL_VALUE.match(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes label value: up to 63 letters, digits, '-', '_' or '.', starting and"
            " ending with a letter or digit"
        )
    return key, value


def check_namespace(text: str) -> str:
    """A Kubernetes namespace name (a DNS label); ValueError otherwise."""
    if not _K8S_NAMESPACE.match(text):
        raise ValueError(f"expected a namespace of up to 63 lowercase letters, digits and '-', got {text!r}")
    return text


def _kpi_group(scorecard: Scorecard, options: RuleOptions) -> dict[str, Any]:
    """The owner recording rule first: rules of a group run in order, so the alerts read this cycle's value."""
    rules: list[dict[str, Any]] = [
        {"record": OWNER_STATUS_RECORD, "expr": _owner_status_expr(), "labels": _record_labels(scorecard)}
    ]
    for kpi in scorecard.kpis:
        rules.append(_kpi_alert(scorecard, kpi, "red", options))
        rules.append(_kpi_alert(scorecard, kpi, "amber", options))
        if _paced(kpi) and kpi.polarity is not None:
            rules.append(_forecast_alert(scorecard, kpi, options))
    return {"name": "scorecard-kpis", "rules": rules}


def _record_labels(scorecard: Scorecard) -> dict[str, str]:
    """The labels of a recording rule: the scorecard's name as written (recording rule labels are not templates)."""
    return {SCORECARD_LABEL: scorecard.name}


def _alert_labels(scorecard: Scorecard, **labels: str) -> dict[str, str]:
    """An alert's labels and the scorecard's name (alert labels are Go templates: the name is escaped)."""
    return {**labels, SCORECARD_LABEL: _literal(scorecard.name)}


def _scorecard_selector(scorecard: Scorecard) -> str:
    """The matcher that keeps a rule to the series this scorecard's recording rules wrote."""
    return f"{SCORECARD_LABEL}={_promql_string(scorecard.name)}"


def _owner_status_expr() -> str:
    """scorecard_kpi_status with an ``owner`` label: the unit's owner, else the KPI's, else none (never dropped)."""
    return (
        f"(\n  {KPI_STATUS}\n  * on({_SAME_EXPORTER}, unit) group_left(owner)\n"
        f'  {UNIT_INFO}{{owner!=""}}\n)\n'
        f"or on({_SAME_EXPORTER}, unit, kpi)\n"
        f"(\n  {KPI_STATUS}\n  * on({_SAME_EXPORTER}, kpi) group_left(owner)\n  {KPI_INFO}\n)\n"
        f"or on({_SAME_EXPORTER}, unit, kpi)\n"
        f"{KPI_STATUS}\n"
    )


def _kpi_alert(scorecard: Scorecard, kpi: Kpi, status: str, options: RuleOptions) -> dict[str, Any]:
    name = KPI_RED_ALERT if status == "red" else KPI_AMBER_ALERT
    perspective = scorecard.perspective_of(kpi.id)
    label = _literal(kpi.label)
    where = f"{label} ({kpi.id}" + (f", {_literal(perspective.label)}" if perspective else "") + ")"
    if status == "red":
        detail = f"worse than its red flag ({_direction(kpi)})"
    else:
        detail = f"between its red flag and its goal ({_direction(kpi)})"
    selector = f'{_scorecard_selector(scorecard)},kpi="{kpi.id}"'
    own = kpi.alert
    pending = format_duration(own.pending or options.pending)
    severity = own.severity if status == "red" else own.below_goal_severity
    extra_labels = {name: _literal(value) for name, value in own.labels.items()}
    # The definition's extra annotations and runbook come after the generated ones; they print as written.
    extra_annotations = {name: _literal(value) for name, value in own.annotations.items()}
    if own.runbook_url:
        extra_annotations["runbook_url"] = _literal(own.runbook_url)
    return {
        "alert": name,
        "expr": _after_min_elapsed(kpi, f"{OWNER_STATUS_RECORD}{{{selector}}} == {STATUS_CODES[status]}", options),
        "for": pending,
        # kpi restates the series label: it keeps the rules distinct for `promtool check rules` (duplicate lint).
        "labels": _alert_labels(scorecard, severity=severity, kpi=kpi.id, **extra_labels),
        "annotations": {
            "summary": (
                f"{label} is {status} at {{{{ $labels.unit }}}}: {_number(KPI_VALUE, kpi)}"
                f" (goal {_number(KPI_GOAL, kpi)}, red flag {_number(KPI_RED_FLAG, kpi)})"
            ),
            "description": (
                f"{where} has been {detail} at unit {{{{ $labels.unit }}}} for at least"
                f" {pending}. Owner: {{{{ with $labels.owner }}}}{{{{ . }}}}"
                "{{ else }}none (set owner on the unit or the KPI){{ end }}."
            ),
            "dashboard": grafana_kpi_url(options.grafana_url, "{{ $labels.unit }}", kpi.id),
            **extra_annotations,
        },
    }


def _paced(kpi: Kpi) -> bool:
    """Whether the exporter serves an elapsed share for this KPI (docs/semantics.md, section 8)."""
    return kpi.pace_profile is not None and kpi.window.kind != "rolling"


def _after_min_elapsed(kpi: Kpi, expr: str, options: RuleOptions) -> str:
    """A paced KPI's condition, held back while less than ``min_elapsed`` of its period has passed.

    ``unless`` rather than ``and``: a series without an elapsed share (an unpaced KPI, an exporter of an earlier
    version) is never held back.
    """
    if not _paced(kpi):
        return expr
    return (
        f"{expr}\nunless on({_SAME_EXPORTER}, unit, kpi)\n"
        f'{KPI_ELAPSED_RATIO}{{kpi="{kpi.id}"}} < {options.min_elapsed:g}\n'
    )


def _forecast_alert(scorecard: Scorecard, kpi: Kpi, options: RuleOptions) -> dict[str, Any]:
    """ScorecardKPIForecastMissesGoal: the pace so far lands on the wrong side of the period goal (a warning)."""
    worse = "<" if kpi.polarity == "higher_is_better" else ">"
    selector = f'{{kpi="{kpi.id}"}}'
    record = f'{OWNER_STATUS_RECORD}{{{_scorecard_selector(scorecard)},kpi="{kpi.id}"}}'
    pending = format_duration(kpi.alert.pending or options.pending)
    # the KPI's own alert labels (routing) and annotations apply to its forecast warning too
    extra_labels = {name: _literal(value) for name, value in kpi.alert.labels.items()}
    extra_annotations = {name: _literal(value) for name, value in kpi.alert.annotations.items()}
    if kpi.alert.runbook_url:
        extra_annotations["runbook_url"] = _literal(kpi.alert.runbook_url)
    # group_left keeps the forecast's labels (perspective, objective); a one-to-one match would keep only on()'s
    misses = (
        f"{KPI_FORECAST}{selector}\n  {worse} on({_SAME_EXPORTER}, unit, kpi) group_left()\n"
        f"  {KPI_PERIOD_GOAL}{selector}"
    )
    with_owner = f"(\n  {misses}\n)\n* on({_SAME_EXPORTER}, unit, kpi) group_left(owner)\n(0 * {record} + 1)"
    label = _literal(kpi.label)
    # the time left: the end of the period the exporter serves, minus the evaluation time of the template
    remaining = f'(printf "{KPI_PERIOD_END}{{unit=%q,kpi=%q}} - time()" $labels.unit $labels.kpi)'
    left = f"{{{{ with query {remaining} }}}}{{{{ . | first | value | humanizeDuration }}}}"
    left += "{{ else }}n/a{{ end }}"
    return {
        "alert": "ScorecardKPIForecastMissesGoal",
        "expr": _after_min_elapsed(kpi, with_owner, options),
        "for": pending,
        "labels": _alert_labels(scorecard, severity="warning", kpi=kpi.id, **extra_labels),
        "annotations": {
            "summary": (
                f"{label} at {{{{ $labels.unit }}}} is on course for {_number(KPI_FORECAST, kpi)}, missing its period"
                f" goal {_number(KPI_PERIOD_GOAL, kpi)} with {left} of the {_period(kpi)} left"
            ),
            "description": (
                f"At the pace so far, {label} ({kpi.id}) ends the {_period(kpi)} at unit {{{{ $labels.unit }}}}"
                f" {'below' if worse == '<' else 'above'} its goal ({_direction(kpi)}); the forecast is the value to"
                " date divided by the elapsed share of the period. Owner: {{ with $labels.owner }}{{ . }}"
                "{{ else }}none (set owner on the unit or the KPI){{ end }}."
            ),
            "dashboard": grafana_kpi_url(options.grafana_url, "{{ $labels.unit }}", kpi.id),
            **extra_annotations,
        },
    }


def _period(kpi: Kpi) -> str:
    window = kpi.window
    if window.kind == "calendar":
        return window.period
    return f"{format_duration(window.size)} window"


def _unit_group(scorecard: Scorecard, options: RuleOptions) -> dict[str, Any]:
    """``ScorecardUnitScoreDropped``: a unit's overall score fell by more than ``drop_points`` within ``drop_window``,
    with the unit's owner (when it has one) and the three KPIs whose contributions fell most."""
    window = format_duration(options.drop_window)
    points = _points(options.drop_points)
    dropped = f"({UNIT_SCORE} offset {window}) - {UNIT_SCORE} > {points}"
    return {
        "name": "scorecard-units",
        "rules": [
            {
                "alert": "ScorecardUnitScoreDropped",
                "expr": (
                    f"(\n  ({dropped})\n  * on({_SAME_EXPORTER}, unit) group_left(owner)\n"
                    f'  {UNIT_INFO}{{owner!=""}}\n)\n'
                    f"or on({_SAME_EXPORTER}, unit)\n"
                    f"{dropped}\n"
                ),
                "for": format_duration(options.pending),
                "labels": _alert_labels(scorecard, severity="warning"),
                "annotations": {
                    "summary": (
                        f'The score of unit {{{{ $labels.unit }}}} fell by {{{{ $value | printf "%.2f" }}}} points'
                        f" in {window}"
                    ),
                    "description": (
                        f'Unit {{{{ $labels.unit }}}} scores {_unit_score_now()}, {{{{ $value | printf "%.2f" }}}}'
                        f" points below {window} ago (alert threshold {points}). Top movers: {_movers(window)}."
                        " Owner: {{ with $labels.owner }}{{ . }}{{ else }}none (set owner on the unit){{ end }}."
                    ),
                    "dashboard": grafana_overview_url(options.grafana_url, "{{ $labels.unit }}", window),
                },
            }
        ],
    }


def _points(value: float) -> str:
    """A threshold as PromQL and people write it: 1 rather than 1.0."""
    return f"{value:g}" if value == int(value) else repr(value)


def _unit_score_now() -> str:
    query = f'(printf "{UNIT_SCORE}{{unit=%q,job=%q,instance=%q}}" $labels.unit $labels.job $labels.instance)'
    return f'{{{{ with query {query} }}}}{{{{ . | first | value | printf "%.2f" }}}}{{{{ else }}}}n/a{{{{ end }}}}'


def _movers(window: str) -> str:
    """The (at most) three KPIs whose contribution to the unit's score fell most within the window, largest fall
    first, each with its name and change in points (docs/semantics.md, section 7); a KPI with a score at one end only
    counts 0 at the other. KPIs that rose are left out: they are not why the score dropped."""
    now = f"{KPI_CONTRIBUTION}{{unit=%[1]q,job=%[2]q,instance=%[3]q}}"
    before = f"{now} offset {window}"
    change = f"(({now} or 0 * {before}) - ({before} or 0 * {now}))"
    named = f"{change} * on(job, instance, kpi) group_left(name) {KPI_INFO}"
    query = f'(printf "sort(bottomk(3, {named} < 0))" $labels.unit $labels.job $labels.instance)'
    item = '{{ .Labels.name }} {{ .Value | printf "%+.2f" }}'
    return (
        f"{{{{ with query {query} }}}}{{{{ range $i, $m := . }}}}{{{{ if $i }}}}, {{{{ end }}}}"
        f"{{{{ with $m }}}}{item}{{{{ end }}}}{{{{ end }}}}{{{{ else }}}}n/a{{{{ end }}}}"
    )


def _health_group(scorecard: Scorecard, options: RuleOptions) -> dict[str, Any]:
    stale = options.stale_after
    pending = format_duration(options.pending)
    up = f'up{{job="{EXPORTER_JOB}"}}'
    age = f"{EVENT_AGE_RECORD}{{{_scorecard_selector(scorecard)}}}"
    return {
        "name": "scorecard-health",
        "rules": [
            {
                "record": EVENT_AGE_RECORD,
                "expr": f"time() - {LAST_EVENT_TIMESTAMP}",
                "labels": _record_labels(scorecard),
            },
            {
                "alert": "ScorecardStale",
                "expr": (
                    f"(\n  ({age} > {stale})\n  * on({_SAME_EXPORTER}, unit) group_left(owner)\n"
                    f'  {UNIT_INFO}{{owner!=""}}\n)\n'
                    f"or on({_SAME_EXPORTER}, unit)\n"
                    f"{age} > {stale}\n"
                ),
                "labels": _alert_labels(scorecard, severity="warning"),
                "annotations": {
                    "summary": "No event for unit {{ $labels.unit }} since {{ $value | humanizeDuration }}",
                    "description": (
                        "The newest accepted event in the subtree of unit {{ $labels.unit }} is older than"
                        f" {format_duration(stale)}: its producers may have stopped, or the worker is not consuming."
                    ),
                },
            },
            {
                "alert": "ScorecardExporterDown",
                "expr": f"{up} == 0 or absent({up})",
                "for": pending,
                "labels": _alert_labels(scorecard, severity="critical"),
                "annotations": {
                    "summary": "The scorecard exporter is down or not scraped",
                    "description": (
                        f"Prometheus has no successful scrape of job {EXPORTER_JOB} for {pending}: no KPI alert can"
                        " fire meanwhile."
                    ),
                },
            },
            *_worker_alerts(scorecard, options),
            {
                "alert": "ScorecardExporterRedisDown",
                "expr": f"{EXPORTER_REDIS_UP} == 0",
                "for": pending,
                "labels": _alert_labels(scorecard, severity="critical"),
                "annotations": {
                    "summary": "The scorecard exporter {{ $labels.instance }} cannot read Redis",
                    "description": f"{EXPORTER_REDIS_UP} has been 0 for {pending}: no KPI is served.",
                },
            },
        ],
    }


def _worker_alerts(scorecard: Scorecard, options: RuleOptions) -> list[dict[str, Any]]:
    """The worker's health: scraped at all, keeping up with its input, and not dead-lettering a flood.

    The lag is per partition and every worker replica reports the partitions it owns; during a rebalance two
    replicas may briefly report the same partition, so each partition counts once (its highest report) before the
    topic's partitions are added up.
    """
    pending = format_duration(options.pending)
    up = f'up{{job="{WORKER_JOB}"}}'
    window = format_duration(DEAD_LETTER_WINDOW)
    dead = f"sum by (reason) (increase({PIPELINE_DEAD_LETTERS}_total[{window}]))"
    return [
        {
            "alert": "ScorecardWorkerDown",
            "expr": f"{up} == 0 or absent({up})",
            "for": pending,
            "labels": _alert_labels(scorecard, severity="critical"),
            "annotations": {
                "summary": "A scorecard worker is down or not scraped",
                "description": (
                    f"Prometheus has no successful scrape of job {WORKER_JOB}{{{{ with $labels.instance }}}}"
                    f" at {{{{ . }}}}{{{{ end }}}} for {pending}: events may not be consumed, and the KPIs stop moving."
                ),
            },
        },
        {
            "alert": "ScorecardConsumerLagHigh",
            "expr": (f"sum by (topic) (max by (topic, partition) ({PIPELINE_CONSUMER_LAG})) > {options.max_lag}"),
            "for": pending,
            "labels": _alert_labels(scorecard, severity="warning"),
            "annotations": {
                "summary": "{{ $value }} messages of {{ $labels.topic }} wait for the scorecard workers",
                "description": (
                    f"More than {options.max_lag} messages of topic {{{{ $labels.topic }}}} have been waiting for"
                    f" {pending}: the workers do not keep up (too few of them, Redis slow) or are stuck."
                ),
            },
        },
        {
            "alert": "ScorecardDeadLetterSurge",
            "expr": (
                f"(\n  {dead}\n  / on() group_left()\n  sum(increase({PIPELINE_EVENTS}_total[{window}]))\n)"
                f" > {options.dead_letter_share:g}\nand\n{dead} > {DEAD_LETTER_MIN}\n"
            ),
            "labels": _alert_labels(scorecard, severity="warning"),
            "annotations": {
                "summary": (
                    "{{ $value | humanizePercentage }} of the events in the last " + window + " were dead letters"
                    " ({{ $labels.reason }})"
                ),
                "description": (
                    f"More than {options.dead_letter_share * 100:g}% of the input events of the last {window} went"
                    " to the dead-letter topic as {{ $labels.reason }}: a producer probably sends broken or repeated"
                    " events (the dead letters keep the original bytes and a header naming the reason)."
                ),
            },
        },
    ]


def _number(metric: str, kpi: Kpi) -> str:
    """A Go template printing the same unit's and KPI's ``metric`` readably, or n/a when it has no sample.

    ``humanize`` alone would print 0.5 as "500m", which reads as minutes or millions to a business user, so it is
    used only from 1000 up (1.235M); smaller values get four significant digits.
    """
    query = f'(printf "{metric}{{unit=%q,kpi=%q}}" $labels.unit $labels.kpi)'
    value = (
        "{{ $v := . | first | value }}{{ if or (ge $v 1000.0) (le $v -1000.0) }}{{ humanize $v }}"
        '{{ else }}{{ printf "%.4g" $v }}{{ end }}'
    )
    suffix = _literal(_unit_suffix(kpi.unit))
    return f"{{{{ with query {query} }}}}{value}{suffix}{{{{ else }}}}n/a{{{{ end }}}}"


def _unit_suffix(display_unit: str | None) -> str:
    if not display_unit:
        return ""
    return display_unit if display_unit.startswith(("%", "/")) else f" {display_unit}"


def _direction(kpi: Kpi) -> str:
    if kpi.polarity is None:
        return "no goal of its own: the status comes from its children"
    return kpi.polarity.replace("_", " ")


_BRACES = re.compile(r"\{+")


def _literal(text: str) -> str:
    """Text from the definition, made safe inside a Go template (annotations are templates).

    Every run of ``{`` becomes an action printing it as a string constant (``{{ "{" }}``): ``{{`` in a name would
    open an action, and a name ending in ``{`` (a display unit ``EUR{``) would make one with the ``{{`` of the
    template that follows it. ``}}`` and ``$`` outside an action are plain text to Go templates.
    """
    return _BRACES.sub(lambda braces: f'{{{{ "{braces.group()}" }}}}', text)


def _promql_string(text: str) -> str:
    """``text`` as a double-quoted PromQL string literal (Go escapes; JSON's are a subset of them)."""
    return json.dumps(text, ensure_ascii=False)


# ----------------------------------------------------------------------------------------------------------- Grafana
def check_grafana_url(url: str) -> str:
    """The Grafana base URL without a trailing slash; ValueError when it is not an absolute http(s) URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ValueError(f"expected an http(s) base URL like http://localhost:3000, got {url!r}")
    return url.rstrip("/")


def grafana_overview_url(grafana_url: str, unit: str, window: str) -> str:
    """The overview board for one unit over the last ``window`` (its "What moved" panels name the movers)."""
    return f"{check_grafana_url(grafana_url)}/d/{OVERVIEW_BOARD_UID}/?var-unit={unit}&from=now-{window}&to=now"


def grafana_kpi_url(grafana_url: str, unit: str, kpi: str) -> str:
    """The KPI board for one unit and KPI; ``unit`` may be a template such as ``{{ $labels.unit }}``."""
    return f"{check_grafana_url(grafana_url)}/d/{KPI_BOARD_UID}/?var-unit={unit}&var-kpi={kpi}"


# ------------------------------------------------------------------------------------------------------ Alertmanager
def alertmanager_config(scorecard: Scorecard, webhook_url: str = PLACEHOLDER_WEBHOOK) -> dict[str, Any]:
    """Route each alert by its ``owner`` label to that team's receiver; the rest goes to ``default``."""
    teams = owner_teams(scorecard)
    receivers: list[dict[str, Any]] = [_receiver(DEFAULT_RECEIVER, webhook_url, "default")]
    routes: list[dict[str, Any]] = []
    for team in teams:
        name = team_receiver(team)
        routes.append({"receiver": name, "matchers": [f"owner={_quoted(team)}"]})
        receivers.append(_receiver(name, webhook_url, team))
    return {
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": ["alertname", "unit", "kpi"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": receivers,
    }


def alertmanager_fragment(scorecard: Scorecard, webhook_url: str = PLACEHOLDER_WEBHOOK) -> dict[str, Any]:
    """The routing of ``alertmanager_config`` as a subtree to merge into an Alertmanager config that exists already.

    ``route`` matches this scorecard's alerts by their ``scorecard`` label and sends them to the owner teams' receivers
    (else to the scorecard's own default); placed first among the root route's ``routes``, it takes them before the
    existing routes see them. ``receivers`` are added to the existing ones; their names start with the scorecard's
    slug so that they cannot clash with receivers already there, nor with another scorecard's.
    """
    config = alertmanager_config(scorecard, webhook_url)
    prefix = scorecard_slug(scorecard.name)
    renamed = {receiver["name"]: f"{prefix}-{receiver['name']}" for receiver in config["receivers"]}
    route = {"matchers": [f"{SCORECARD_LABEL}={_quoted(scorecard.name)}"], **config["route"]}
    route["receiver"] = renamed[route["receiver"]]
    route["routes"] = [{**child, "receiver": renamed[child["receiver"]]} for child in route["routes"]]
    receivers = [{**receiver, "name": renamed[receiver["name"]]} for receiver in config["receivers"]]
    return {"route": route, "receivers": receivers}


def scorecard_slug(name: str) -> str:
    """The scorecard's name as a lowercase DNS label (a-z, 0-9, '-', at most 40 characters): for resource and
    receiver names; ``scorecard`` when nothing of the name is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()  # "Été" -> "Ete"
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower())[:40].strip("-")
    return slug or "scorecard"


def team_receiver(team: str) -> str:
    """The receiver name of a team (prefixed, so a team called "default" cannot clash with the default receiver)."""
    return f"team-{team}"


def _receiver(name: str, webhook_url: str, team: str) -> dict[str, Any]:
    url = webhook_url.replace("{team}", urllib.parse.quote(team, safe=""))
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http(s) webhook URL (with {{team}} where the team goes), got {webhook_url!r}")
    return {"name": name, "webhook_configs": [{"url": url, "send_resolved": True}]}


def _quoted(value: str) -> str:
    """A matcher value in Alertmanager's double-quoted form (backslash, quote and newline escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ----------------------------------------------------------------------------------------------------------- headers
def rules_header(source: str, scorecard: Scorecard, options: RuleOptions) -> str:
    """The comment on top of every rule file: where it came from and how to make it again."""
    return (
        f"Generated from {source} ({scorecard.name}) by `scorecard rules` with --for {format_duration(options.pending)}"
        f" --stale-after {format_duration(options.stale_after)} --grafana-url {options.grafana_url}"
        f" --max-lag {options.max_lag} --dead-letter-share {options.dead_letter_share:g}"
        f" --min-elapsed {options.min_elapsed:g}"
        f" --drop-points {_points(options.drop_points)} --drop-window {format_duration(options.drop_window)}.\n"
        "Do not edit: change the definition or the options and regenerate (see docs/alerts.md)."
    )


def alertmanager_header(source: str, scorecard: Scorecard, webhook_url: str) -> str:
    lines = [
        f"Generated from {source} ({scorecard.name}) by `scorecard alertmanager` with --webhook-url {webhook_url}.",
        "Each alert goes to the receiver of its owner label (the unit's owner, else the KPI's), the rest to default.",
        "Do not edit: change the definition or the options and regenerate (see docs/alerts.md).",
    ]
    if webhook_url == PLACEHOLDER_WEBHOOK:
        lines.append("The webhook URLs are placeholders (.invalid never resolves): regenerate with your --webhook-url.")
    return "\n".join(lines)


def fragment_header(source: str, scorecard: Scorecard, webhook_url: str) -> str:
    lines = [
        f"Generated from {source} ({scorecard.name}) by `scorecard alertmanager --fragment` with --webhook-url"
        f" {webhook_url}.",
        "Merge into an existing Alertmanager config: put `route` first in the `routes` of your root route (it takes",
        f'every alert labelled scorecard="{scorecard.name}") and add `receivers` to your receivers.',
        "Do not edit: change the definition or the options and regenerate (see docs/alerts.md).",
    ]
    if webhook_url == PLACEHOLDER_WEBHOOK:
        lines.append("The webhook URLs are placeholders (.invalid never resolves): regenerate with your --webhook-url.")
    return "\n".join(lines)


def count_rules(document: dict[str, Any]) -> tuple[int, int]:
    """(alerting, recording) rules in a rule file document."""
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    alerting = sum(1 for rule in rules if "alert" in rule)
    return alerting, len(rules) - alerting


# -------------------------------------------------------------------------------------------------------------- YAML
class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as literal blocks so the files read like hand-written rules."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text and not re.search(r"[ \t]\n", text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(document: dict[str, Any], header: str = "") -> str:
    """``document`` as YAML, keys in insertion order, with ``header`` lines as leading comments."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)
    return comment + body
