"""scorecard.outputs.rules and the `scorecard rules` / `scorecard alertmanager` commands, without promtool or amtool.

What the rules *do* over series is tested with the real promtool in tests/integration/test_alert_rules.py; these
tests cover the generator's choices (owner precedence, one rule pair per KPI, options, quoting) and that the files
committed under deploy/ are what the generator makes today.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.contract import exported_units
from scorecard.core.definition import Scorecard, load_scorecard, parse_scorecard
from scorecard.outputs.rules import (
    FILE_HEALTH,
    FILE_KPIS,
    FILE_UNITS,
    OWNER_STATUS_RECORD,
    PLACEHOLDER_WEBHOOK,
    RuleOptions,
    alertmanager_config,
    alertmanager_fragment,
    check_grafana_url,
    check_namespace,
    check_resource_label,
    owner_of,
    owner_teams,
    prometheus_rule,
    rule_files,
    scorecard_slug,
    to_yaml,
)
from tests.paths import DEFINITIONS, REPO

OWNERS = DEFINITIONS / "owners.yaml"


@pytest.fixture
def owners() -> Scorecard:
    return load_scorecard(OWNERS)


@pytest.fixture
def acme(example_path: Path) -> Scorecard:
    return load_scorecard(example_path)


def alerts(scorecard: Scorecard, options: RuleOptions | None = None) -> list[dict[str, Any]]:
    groups = rule_files(scorecard, options or RuleOptions())[FILE_KPIS]["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


# ------------------------------------------------------------------------------------------------------ owners
def test_the_unit_owner_wins_then_the_kpi_owner_then_nobody(owners: Scorecard) -> None:
    assert owner_of(owners, "hq", "sales") == "leadership"  # both set: the unit's
    assert owner_of(owners, "hq", "wait-time") == "leadership"
    assert owner_of(owners, "shop", "sales") == "sales-team"  # unit without owner: the KPI's
    assert owner_of(owners, "shop", "wait-time") is None  # neither


def test_teams_are_the_owners_an_exported_unit_can_alert(owners: Scorecard, acme: Scorecard) -> None:
    assert exported_units(owners) == ("hq", "shop")  # till is below export.max_depth
    assert owner_teams(owners) == ("leadership", "sales-team")  # no till-team: the exporter never shows till
    # ACME: every unit has an owner, so the KPI owners (finance, logistics, quality...) are never the routed owner.
    assert owner_teams(acme) == tuple(sorted(acme.unit(u).owner or "" for u in exported_units(acme)))
    assert "logistics" not in owner_teams(acme)


# ------------------------------------------------------------------------------------------------------- rules
def test_every_kpi_gets_a_red_and_an_amber_alert(acme: Scorecard) -> None:
    rules = alerts(acme)
    paced = [kpi for kpi in acme.kpis if kpi.pace_profile is not None]
    assert {kpi.id for kpi in paced} == {
        "revenue",
        "urgent-tickets",
        "training-hours",
        "ideas-submitted",
        "regretted-leavers",
    }
    assert len(rules) == 2 * len(acme.kpis) + len(paced)  # and a forecast alert per paced KPI
    by_kpi = {(r["alert"], r["labels"]["kpi"]): r for r in rules}
    for kpi in acme.kpis:
        red = by_kpi[("ScorecardKPIBreachedRedFlag", kpi.id)]
        amber = by_kpi[("ScorecardKPIBelowGoal", kpi.id)]
        # a paced KPI waits for 10% of its period (docs/alerts.md); the others alert on the status alone
        gate = (
            f'\nunless on(job, instance, unit, kpi)\nscorecard_kpi_elapsed_ratio{{kpi="{kpi.id}"}} < 0.1\n'
            if kpi in paced
            else ""
        )
        assert red["expr"] == f'{OWNER_STATUS_RECORD}{{scorecard="ACME scorecard",kpi="{kpi.id}"}} == 0' + gate
        assert amber["expr"] == f'{OWNER_STATUS_RECORD}{{scorecard="ACME scorecard",kpi="{kpi.id}"}} == 1' + gate
        # business KPIs page nobody by default: a shared Alertmanager pages on critical
        own = kpi.alert.labels  # revenue adds a routing label
        assert red["labels"] == {"severity": "warning", "kpi": kpi.id, **own, "scorecard": "ACME scorecard"}
        assert amber["labels"] == {"severity": "info", "kpi": kpi.id, **own, "scorecard": "ACME scorecard"}
        assert red["annotations"]["summary"].startswith(f"{kpi.label} is red at {{{{ $labels.unit }}}}: ")


def test_a_paced_kpi_gets_a_forecast_warning_in_its_direction(owners: Scorecard) -> None:
    rules = alerts(owners, RuleOptions(min_elapsed=0.25))
    (forecast,) = [r for r in rules if r["alert"] == "ScorecardKPIForecastMissesGoal"]
    assert forecast["labels"] == {"severity": "warning", "kpi": "sales", "scorecard": "Owners"}  # wait-time: not paced
    assert 'scorecard_kpi_forecast{kpi="sales"}\n  < on(job, instance, unit, kpi) group_left()' in forecast["expr"]
    assert forecast["expr"].endswith('scorecard_kpi_elapsed_ratio{kpi="sales"} < 0.25\n')
    summary = forecast["annotations"]["summary"]
    assert "scorecard_kpi_forecast{" in summary and "scorecard_kpi_period_goal{" in summary
    assert "scorecard_kpi_period_end_timestamp_seconds{unit=%q,kpi=%q} - time()" in summary
    assert "| humanizeDuration }}" in summary and "of the 1d window left" in summary


def test_options_reach_the_rules(owners: Scorecard) -> None:
    options = RuleOptions(pending=90 * 60, stale_after=3 * 86400, grafana_url="https://grafana.acme.test/")
    files = rule_files(owners, options)
    assert {r["for"] for r in alerts(owners, options)} == {"90m"}
    health = {r.get("alert", r.get("record")): r for r in files[FILE_HEALTH]["groups"][0]["rules"]}
    assert "> 259200" in health["ScorecardStale"]["expr"]
    assert "for" not in health["ScorecardStale"]  # the threshold already is a duration
    assert health["ScorecardExporterDown"]["for"] == "90m"
    dashboards = {r["annotations"]["dashboard"] for r in alerts(owners, options)}
    assert dashboards == {
        "https://grafana.acme.test/d/scorecard-kpi/?var-unit={{ $labels.unit }}&var-kpi=sales",
        "https://grafana.acme.test/d/scorecard-kpi/?var-unit={{ $labels.unit }}&var-kpi=wait-time",
    }


def test_every_rule_names_the_scorecard_and_every_alert_the_prefix(acme: Scorecard) -> None:
    for document in rule_files(acme, RuleOptions()).values():
        for rule in document["groups"][0]["rules"]:
            assert rule["labels"]["scorecard"] == "ACME scorecard", rule
            assert rule.get("alert", "Scorecard").startswith("Scorecard"), rule


def test_an_odd_scorecard_name_is_quoted_in_selectors_and_escaped_in_alert_labels() -> None:
    name = r'Shop "A" {{ $labels.unit }} \ été'
    text = OWNERS.read_text().replace("name: Owners", f"name: {json.dumps(name)}")
    files = rule_files(parse_scorecard(text), RuleOptions())
    record, red = files[FILE_KPIS]["groups"][0]["rules"][:2]
    assert record["labels"] == {"scorecard": name}  # recording rule labels are no templates
    assert red["labels"]["scorecard"] == r'Shop "A" {{ "{{" }} $labels.unit }} \ été'
    assert red["expr"].startswith(  # sales is paced: then comes its wait for 10% of the period
        r'scorecard:kpi_status:owner{scorecard="Shop \"A\" {{ $labels.unit }} \\ été",kpi="sales"} == 0' + "\n"
    )


def test_health_alerts_watch_the_exporter_and_the_worker(owners: Scorecard) -> None:
    options = RuleOptions(pending=120, max_lag=500, dead_letter_share=0.2)
    rules = {r.get("alert", r.get("record")): r for r in rule_files(owners, options)[FILE_HEALTH]["groups"][0]["rules"]}
    assert list(rules) == [
        "scorecard:unit_last_event_age_seconds",
        "ScorecardStale",
        "ScorecardExporterDown",
        "ScorecardWorkerDown",
        "ScorecardConsumerLagHigh",
        "ScorecardDeadLetterSurge",
        "ScorecardExporterRedisDown",
    ]
    assert (
        rules["ScorecardWorkerDown"]["expr"] == 'up{job="scorecard-worker"} == 0 or absent(up{job="scorecard-worker"})'
    )
    assert rules["ScorecardConsumerLagHigh"]["expr"].endswith(" > 500")
    assert "> 0.2\nand\n" in rules["ScorecardDeadLetterSurge"]["expr"]
    assert "More than 20% of the input events" in rules["ScorecardDeadLetterSurge"]["annotations"]["description"]
    assert {rules[name].get("for") for name in ("ScorecardWorkerDown", "ScorecardConsumerLagHigh")} == {"2m"}
    assert "for" not in rules["ScorecardDeadLetterSurge"]  # its window already is a duration
    severities = {name: rule["labels"]["severity"] for name, rule in rules.items() if "alert" in rule}
    assert severities["ScorecardWorkerDown"] == severities["ScorecardExporterDown"] == "critical"
    assert severities["ScorecardConsumerLagHigh"] == severities["ScorecardDeadLetterSurge"] == "warning"


@pytest.mark.parametrize("url", ["localhost:3000", "ftp://grafana", "http://", "http://g:3000/?orgId=1"])
def test_a_grafana_url_must_be_an_http_base_url(url: str) -> None:
    with pytest.raises(ValueError, match="expected an http"):
        check_grafana_url(url)


def test_template_braces_in_names_are_escaped() -> None:
    text = OWNERS.read_text().replace("name: Sales today", "name: 'Sales {{ today'")
    summary = alerts(parse_scorecard(text))[0]["annotations"]["summary"]
    assert summary.startswith('Sales {{ "{{" }} today is red at')


def test_every_open_brace_of_a_name_is_escaped_not_only_pairs() -> None:
    text = OWNERS.read_text().replace("unit: EUR", "unit: 'EUR{'").replace("name: Sales today", "name: '{{{x}}'")
    summary = alerts(parse_scorecard(text))[0]["annotations"]["summary"]
    # "EUR{" right before the template's own "{{ else }}" would have opened an action with it
    assert 'EUR{{ "{" }}{{ else }}' in summary
    assert summary.startswith('{{ "{{{" }}x}} is red at')


def test_yaml_keeps_key_order_and_writes_expressions_as_blocks(owners: Scorecard) -> None:
    text = to_yaml(rule_files(owners, RuleOptions())[FILE_KPIS], "line one\nline two")
    assert text.startswith("# line one\n# line two\ngroups:\n")
    assert "  - record: scorecard:kpi_status:owner\n    expr: |\n      (\n" in text
    assert text.index("alert: ScorecardKPIBreachedRedFlag") < text.index("expr: scorecard:kpi_status:owner{scorecard=")
    assert yaml.safe_load(text) == rule_files(owners, RuleOptions())[FILE_KPIS]


# ------------------------------------------------------------------------------------------------ alertmanager
def test_alertmanager_routes_each_team_to_its_own_receiver(owners: Scorecard) -> None:
    config = alertmanager_config(owners, "https://relay.acme.test/hooks/{team}")
    assert config["route"]["receiver"] == "default"
    assert config["route"]["routes"] == [
        {"receiver": "team-leadership", "matchers": ['owner="leadership"']},
        {"receiver": "team-sales-team", "matchers": ['owner="sales-team"']},
    ]
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}
    assert urls == {
        "default": "https://relay.acme.test/hooks/default",
        "team-leadership": "https://relay.acme.test/hooks/leadership",
        "team-sales-team": "https://relay.acme.test/hooks/sales-team",
    }


def test_odd_team_names_are_quoted_in_matchers_and_urls() -> None:
    text = OWNERS.read_text().replace("owner: leadership", 'owner: "Board \\"A\\" team"')
    config = alertmanager_config(parse_scorecard(text))
    route = config["route"]["routes"][0]
    assert route == {"receiver": 'team-Board "A" team', "matchers": ['owner="Board \\"A\\" team"']}
    assert config["receivers"][1]["webhook_configs"][0]["url"] == (
        "http://alert-webhook.invalid/scorecard/Board%20%22A%22%20team"
    )


def test_a_webhook_url_must_be_http(owners: Scorecard) -> None:
    with pytest.raises(ValueError, match="webhook URL"):
        alertmanager_config(owners, "relay/{team}")


# --------------------------------------------------------------------------------------------------------- CLI
def test_committed_files_are_what_the_generator_makes(tmp_path: Path, example_path: Path) -> None:
    """deploy/ holds the ACME rules and routing; regenerate them when the definition or the generator changes."""
    runner = CliRunner()
    result = runner.invoke(main, ["rules", str(example_path), "-o", str(tmp_path / "rules")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["alertmanager", str(example_path), "-o", str(tmp_path / "alertmanager.yml")])
    assert result.exit_code == 0, result.output
    regenerate = (
        "stale; regenerate with `scorecard rules examples/acme.yaml -o deploy/prometheus/rules/` and "
        "`scorecard alertmanager examples/acme.yaml -o deploy/alertmanager/alertmanager.yml`"
    )
    for name in (FILE_KPIS, FILE_HEALTH, FILE_UNITS):
        committed = REPO / "deploy" / "prometheus" / "rules" / name
        assert committed.read_text() == (tmp_path / "rules" / name).read_text(), f"{committed} is {regenerate}"
    committed = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
    assert committed.read_text() == (tmp_path / "alertmanager.yml").read_text(), f"{committed} is {regenerate}"


def test_rules_command_says_what_it_wrote(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["rules", str(OWNERS), "-o", str(tmp_path / "new"), "--for", "10m"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote {tmp_path / 'new' / FILE_KPIS}: 5 alerting rules, 1 recording rule",  # sales is paced: a forecast
        f"wrote {tmp_path / 'new' / FILE_HEALTH}: 6 alerting rules, 1 recording rule",
        f"wrote {tmp_path / 'new' / FILE_UNITS}: 1 alerting rule, 0 recording rules",
        "2 KPIs, owners routed by `scorecard alertmanager`: 2 teams; a running Prometheus loads new rules on reload"
        " (POST /-/reload)",
    ]
    assert "for: 10m" in (tmp_path / "new" / FILE_KPIS).read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--for", "5x"], "Invalid value for --for: expected a duration like"),
        (["--stale-after", "0s"], "Invalid value for --stale-after: expected a positive duration"),
        (["--grafana-url", "grafana:3000"], "Invalid value for --grafana-url: expected an http(s) base URL"),
        (["--min-elapsed", "1.5"], "Invalid value for '--min-elapsed'"),
        (["--max-lag", "0"], "Invalid value for '--max-lag': 0 is not in the range x>=1"),
        (["--dead-letter-share", "1.5"], "Invalid value for '--dead-letter-share': 1.5 is not in the range 0<x<=1"),
        (["--drop-points", "0"], "Invalid value for '--drop-points': 0.0 is not in the range 0<x<=10"),
        (["--drop-points", "nan"], "Invalid value for '--drop-points': expected a number of points"),
        (["--drop-window", "5x"], "Invalid value for --drop-window: expected a duration"),
    ],
)
def test_rules_command_rejects_bad_options_by_name(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["rules", str(OWNERS), "-o", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_alertmanager_command_prints_to_stdout_by_default() -> None:
    result = CliRunner().invoke(main, ["alertmanager", str(OWNERS)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Generated from owners.yaml (Owners) by `scorecard alertmanager`")
    config = yaml.safe_load(result.stdout)
    assert [r["name"] for r in config["receivers"]] == ["default", "team-leadership", "team-sales-team"]
    assert PLACEHOLDER_WEBHOOK.format(team="leadership") in result.stdout


def test_alertmanager_command_rejects_a_bad_webhook_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["alertmanager", str(OWNERS), "--webhook-url", "hooks/{team}"])
    assert result.exit_code == 2
    assert "Invalid value for --webhook-url" in result.stderr


def test_a_kpis_alert_options_reach_its_two_rules_and_no_other() -> None:
    alert = (
        "    alert:\n      for: 1h\n      severity: critical\n      below_goal_severity: warning\n"
        "      labels: {channel: '#sales {{ x'}\n      annotations: {playbook: 'Call {{ $value }}'}\n"
        "      runbook_url: 'https://wiki.acme.test/run?kpi=sales&x=1'\n"
    )
    text = OWNERS.read_text().replace("    red_flag: 2000\n", "    red_flag: 2000\n" + alert, 1)
    rules = {(r["alert"], r["labels"]["kpi"]): r for r in alerts(parse_scorecard(text), RuleOptions(pending=600))}
    red, amber = rules[("ScorecardKPIBreachedRedFlag", "sales")], rules[("ScorecardKPIBelowGoal", "sales")]
    assert (red["for"], amber["for"]) == ("1h", "1h")
    assert "for at least 1h." in red["annotations"]["description"]
    assert red["labels"] == {
        "severity": "critical",
        "kpi": "sales",
        "channel": '#sales {{ "{{" }} x',
        "scorecard": "Owners",
    }
    assert amber["labels"]["severity"] == "warning"
    for rule in (red, amber):
        assert rule["annotations"]["playbook"] == 'Call {{ "{{" }} $value }}'  # plain text, not a template
        assert rule["annotations"]["runbook_url"] == "https://wiki.acme.test/run?kpi=sales&x=1"
    other = rules[("ScorecardKPIBreachedRedFlag", "wait-time")]
    assert other["for"] == "10m"
    assert other["labels"] == {"severity": "warning", "kpi": "wait-time", "scorecard": "Owners"}
    assert set(other["annotations"]) == {"summary", "description", "dashboard"}


# ------------------------------------------------------------------------------------------- alertmanager fragment
def test_the_fragment_takes_the_scorecards_alerts_to_its_own_receivers(owners: Scorecard) -> None:
    whole = alertmanager_config(owners, "https://relay.acme.test/hooks/{team}")
    fragment = alertmanager_fragment(owners, "https://relay.acme.test/hooks/{team}")
    assert set(fragment) == {"route", "receivers"}
    route = fragment["route"]
    assert route["matchers"] == ['scorecard="Owners"']
    assert route["receiver"] == "owners-default"
    assert route["routes"] == [
        {"receiver": "owners-team-leadership", "matchers": ['owner="leadership"']},
        {"receiver": "owners-team-sales-team", "matchers": ['owner="sales-team"']},
    ]
    for key in ("group_by", "group_wait", "group_interval", "repeat_interval"):
        assert route[key] == whole["route"][key]
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in fragment["receivers"]}
    assert urls == {
        "owners-default": "https://relay.acme.test/hooks/default",
        "owners-team-leadership": "https://relay.acme.test/hooks/leadership",
        "owners-team-sales-team": "https://relay.acme.test/hooks/sales-team",
    }


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("ACME scorecard", "acme-scorecard"),
        ("  Été <b>2026</b>!! ", "ete-b-2026-b"),
        ("日本", "scorecard"),
        ("x" * 60, "x" * 40),
        ("a" * 39 + " b", "a" * 39),
    ],
)
def test_the_slug_is_a_dns_label(name: str, slug: str) -> None:
    assert scorecard_slug(name) == slug


def test_alertmanager_command_writes_a_fragment(tmp_path: Path) -> None:
    out = tmp_path / "fragment.yml"
    result = CliRunner().invoke(main, ["alertmanager", str(OWNERS), "--fragment", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote {out}: a route fragment with 2 team receivers (leadership, sales-team) and default\n"
    )
    text = out.read_text()
    assert "put `route` first in the `routes` of your root route" in text
    assert yaml.safe_load(text) == alertmanager_fragment(load_scorecard(OWNERS))


# ------------------------------------------------------------------------------------------------ PrometheusRule
def test_the_prometheus_rule_holds_every_group_of_the_rule_files(acme: Scorecard) -> None:
    options = RuleOptions()
    resource = prometheus_rule(acme, options, "monitoring", {"release": "kube-prometheus-stack"})
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["metadata"] == {
        "name": "acme-scorecard",
        "namespace": "monitoring",
        "labels": {"app.kubernetes.io/name": "streaming-scorecard", "release": "kube-prometheus-stack"},
    }
    files = rule_files(acme, options)
    assert (
        resource["spec"]["groups"]
        == files[FILE_KPIS]["groups"] + files[FILE_HEALTH]["groups"] + files[FILE_UNITS]["groups"]
    )
    assert "namespace" not in prometheus_rule(acme, options)["metadata"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("release=kube-prometheus-stack", ("release", "kube-prometheus-stack")),
        ("app.kubernetes.io/part-of=scorecard", ("app.kubernetes.io/part-of", "scorecard")),
        ("empty=", ("empty", "")),
        ("a.b_c-d=x.y_z-1", ("a.b_c-d", "x.y_z-1")),
    ],
)
def test_resource_labels_are_kubernetes_labels(text: str, expected: tuple[str, str]) -> None:
    assert check_resource_label(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("release", "expected KEY=VALUE"),
        ("-bad=x", "is not a Kubernetes label key"),
        ("Bad.Prefix/x=y", "is not a Kubernetes label key"),
        ("k=" + "v" * 64, "is not a Kubernetes label value"),
        ("k=a b", "is not a Kubernetes label value"),
        ("k=x-", "is not a Kubernetes label value"),
        ("k=<script>", "is not a Kubernetes label value"),
    ],
)
def test_bad_resource_labels_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_resource_label(text)


@pytest.mark.parametrize("text", ["Monitoring", "-x", "a" * 64, "a.b", ""])
def test_a_namespace_is_a_dns_label(text: str) -> None:
    with pytest.raises(ValueError, match="expected a namespace"):
        check_namespace(text)


def test_rules_command_writes_a_prometheus_rule(tmp_path: Path) -> None:
    args = ["rules", str(OWNERS), "-o", str(tmp_path), "--format", "prometheusrule", "--resource-label", "release=kps"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    path = tmp_path / "scorecard-prometheusrule.yml"
    assert result.stdout == f"wrote {path}: PrometheusRule owners with 12 alerting rules, 2 recording rules\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    resource = yaml.safe_load(path.read_text())
    assert resource == prometheus_rule(load_scorecard(OWNERS), RuleOptions(), None, {"release": "kps"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "mon"], "--namespace and --resource-label apply to --format prometheusrule only"),
        (["--format", "prometheusrule", "--resource-label", "x"], "Invalid value for --resource-label: expected"),
        (["--format", "prometheusrule", "--namespace", "Mon"], "Invalid value for --namespace: expected a namespace"),
        (["--format", "k8s"], "Invalid value for '--format': 'k8s' is not one of 'files', 'prometheusrule'"),
    ],
)
def test_rules_command_rejects_bad_resource_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["rules", str(OWNERS), "-o", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not list(tmp_path.iterdir())


def test_rules_check_compares_the_prometheus_rule_too(tmp_path: Path) -> None:
    args = ["rules", str(OWNERS), "-o", str(tmp_path), "--format", "prometheusrule"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--check"]).exit_code == 0
    path = tmp_path / "scorecard-prometheusrule.yml"
    path.write_text(path.read_text().replace("severity: warning", "severity: critical", 1))
    stale = CliRunner().invoke(main, [*args, "--check"])
    assert stale.exit_code != 0
    assert "scorecard-prometheusrule.yml" in stale.stderr
