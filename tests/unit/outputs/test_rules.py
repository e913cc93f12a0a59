"""scorecard.outputs.rules and the `scorecard rules` / `scorecard alertmanager` commands, without promtool or amtool.

What the rules *do* over series is tested with the real promtool in tests/integration/test_alert_rules.py; these
tests cover the generator's choices (owner precedence, one rule pair per KPI, options, quoting) and that the files
committed under deploy/ are what the generator makes today.
"""

from __future__ import annotations

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
    check_grafana_url,
    owner_of,
    owner_teams,
    rule_files,
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
    assert len(rules) == 2 * len(acme.kpis)
    by_kpi = {(r["alert"], r["labels"]["kpi"]): r for r in rules}
    for kpi in acme.kpis:
        red = by_kpi[("KPIBreachedRedFlag", kpi.id)]
        amber = by_kpi[("KPIBelowGoal", kpi.id)]
        assert red["expr"] == f'{OWNER_STATUS_RECORD}{{kpi="{kpi.id}"}} == 0'
        assert amber["expr"] == f'{OWNER_STATUS_RECORD}{{kpi="{kpi.id}"}} == 1'
        assert red["labels"] == {"severity": "critical", "kpi": kpi.id}
        assert amber["labels"] == {"severity": "warning", "kpi": kpi.id}
        assert red["annotations"]["summary"].startswith(f"{kpi.label} is red at {{{{ $labels.unit }}}}: ")


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
    assert text.index("alert: KPIBreachedRedFlag") < text.index("expr: scorecard:kpi_status:owner{kpi=")
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
        f"wrote {tmp_path / 'new' / FILE_KPIS}: 4 alerting rules, 1 recording rule",
        f"wrote {tmp_path / 'new' / FILE_HEALTH}: 3 alerting rules, 1 recording rule",
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
        (["--drop-points", "0"], "Invalid value for '--drop-points': 0.0 is not in the range 0<x<=10"),
        (["--drop-points", "nan"], "Invalid value for '--drop-points': expected a number of points"),
        (["--drop-window", "1y"], "Invalid value for --drop-window: expected a duration like"),
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
