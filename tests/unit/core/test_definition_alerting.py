"""A KPI's ``alert:`` options (scorecard.core.definition.alerting): defaults, values, and one-line problems."""

from __future__ import annotations

import pytest

from scorecard.core.definition import AlertOptions, DefinitionError, parse_scorecard
from tests.paths import DEFINITIONS

OWNERS = (DEFINITIONS / "owners.yaml").read_text()


def with_alert(alert: str) -> str:
    """The owners fixture with ``alert: <alert>`` on its first KPI (sales, whose red_flag is on line 26)."""
    text = OWNERS.replace("    red_flag: 2000\n", f"    red_flag: 2000\n    alert: {alert}\n", 1)
    assert text != OWNERS
    return text


def problems(alert: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_scorecard(with_alert(alert), "owners.yaml")
    return [problem.format("owners.yaml") for problem in caught.value.problems]


def test_without_alert_options_a_kpi_pages_nobody() -> None:
    kpi = parse_scorecard(OWNERS).kpi("sales")
    assert kpi.alert == AlertOptions()
    assert (kpi.alert.pending, kpi.alert.severity, kpi.alert.below_goal_severity) == (None, "warning", "info")
    assert (kpi.alert.labels, kpi.alert.annotations, kpi.alert.runbook_url) == ({}, {}, None)


def test_every_option_is_read() -> None:
    alert = (
        "{for: 1h, severity: critical, below_goal_severity: warning, labels: {channel: '#sales {{x'},"
        " annotations: {playbook: 'call <b>Bob</b>'}, runbook_url: 'https://wiki.acme.test/run?kpi=sales&x=1'}"
    )
    options = parse_scorecard(with_alert(alert)).kpi("sales").alert
    assert options.pending == 3600
    assert (options.severity, options.below_goal_severity) == ("critical", "warning")
    assert options.labels == {"channel": "#sales {{x"}
    assert options.annotations == {"playbook": "call <b>Bob</b>"}
    assert options.runbook_url == "https://wiki.acme.test/run?kpi=sales&x=1"


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        ("{severty: page}", "kpis[0].alert.severty: unknown key 'severty'; did you mean 'severity'?"),
        (
            "{fro: 5m}",
            "kpis[0].alert.fro: unknown key 'fro'; allowed keys: for, severity, below_goal_severity, labels,",
        ),
        ("{for: 5x}", "kpis[0].alert.for: expected a duration like 30s, 15m, 1h30m, 7d or 2w, got '5x'"),
        ("{for: 0s}", "kpis[0].alert.for: expected a positive duration, got '0s'"),
        ("{for: 1000w}", "kpis[0].alert.for: expected a duration of at most 365d, got 1000w"),
        ("{severity: 'page me'}", "kpis[0].alert.severity: expected a severity of letters, digits, '.', '_' and '-'"),
        ("{severity: 3}", "kpis[0].alert.severity: expected text, got 3"),
        ("{labels: {severity: page}}", "kpis[0].alert.labels: label 'severity' is set by the generator (use"),
        ("{labels: {owner: x}}", "kpis[0].alert.labels: label 'owner' is set by the generator (set owner on the"),
        ("{labels: {team-chan: x}}", "kpis[0].alert.labels: label name 'team-chan' is not a Prometheus label name"),
        ("{labels: {__name__: x}}", "write e.g. 'name__'"),
        ("{labels: {'9lives': x}}", "write e.g. 'x_9lives'"),
        ("{labels: {x: ''}}", "kpis[0].alert.labels.x: expected non-empty text, got ''"),
        ("{labels: [a]}", "kpis[0].alert.labels: expected a mapping"),
        ("{annotations: {summary: x}}", "kpis[0].alert.annotations: annotation 'summary' is set by the generator"),
        ("{annotations: {runbook_url: x}}", "annotation 'runbook_url' is set by the generator (use alert.runbook_url)"),
        ("{runbook_url: wiki/sales}", "kpis[0].alert.runbook_url: expected an absolute http(s) URL like https://"),
        ("{runbook_url: 'https://wiki/a b'}", "kpis[0].alert.runbook_url: expected an absolute http(s) URL"),
        ("[critical]", "kpis[0].alert: expected a mapping, got a list"),
    ],
)
def test_bad_options_are_one_line_problems_with_file_line_and_path(alert: str, message: str) -> None:
    found = problems(alert)
    assert len(found) == 1, found
    assert found[0].startswith("owners.yaml:27: "), found
    assert message in found[0], found
