"""The generated alert rules under the real `promtool` and the Alertmanager config under the real `amtool`.

`promtool test rules` runs the generated rules over synthetic exporter series (the metric contract of the exporter)
and compares the firing alerts, their labels and their rendered annotations with what a person expects to read;
`test_a_broken_rule_fails_the_rule_tests` proves those tests can fail. `promtool` comes with Debian's `prometheus`,
which `deploy/local/services up prometheus` installs.

`amtool` comes with Debian's `prometheus-alertmanager`. It is *not* apt-installed: on a systemd host the package
starts an Alertmanager listening on :9093 and :9094, and :9093 is the local Kafka controller's port. The fixture
below fetches the package with `apt-get download` and unpacks only `amtool` into `.cache/tools` (no service, no root
needed), once per machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorecard.core.definition import load_scorecard, parse_scorecard
from scorecard.outputs.rules import (
    FILE_HEALTH,
    FILE_KPIS,
    FILE_UNITS,
    RuleOptions,
    owner_teams,
    rule_files,
    team_receiver,
    to_yaml,
)
from tests.paths import ACME, DEFINITIONS, REPO

RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
ALERTMANAGER_YML = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
OWNERS = DEFINITIONS / "owners.yaml"
PACED = DEFINITIONS / "paced.yaml"
TOOLS = REPO / ".cache" / "tools"

# Labels the exporter puts on every series it serves (Prometheus adds job and instance at scrape time).
EXPORTER = 'job="scorecard-exporter",instance="exporter:9108"'


# ---------------------------------------------------------------------------------------------------------- tools
@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool is missing; `deploy/local/services up prometheus` installs Debian's prometheus")
    return found


@pytest.fixture(scope="session")
def amtool() -> str:
    found = shutil.which("amtool") or _unpacked_amtool()
    if found is None:
        pytest.fail(
            "amtool is missing and could not be fetched with `apt-get download prometheus-alertmanager`; "
            "install it (apt-get install prometheus-alertmanager) or put amtool on PATH",
            pytrace=False,
        )
    return found


def _unpacked_amtool() -> str | None:
    binary = TOOLS / "alertmanager" / "usr" / "bin" / "amtool"
    if binary.exists():
        return str(binary)
    download = TOOLS / "download"
    download.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(
        ["apt-get", "download", "prometheus-alertmanager"], cwd=download, capture_output=True, text=True
    )
    packages = sorted(download.glob("prometheus-alertmanager_*.deb"))
    if fetched.returncode != 0 or not packages:
        return None
    subprocess.run(["dpkg-deb", "-x", str(packages[-1]), str(TOOLS / "alertmanager")], check=True)
    shutil.rmtree(download)
    return str(binary) if binary.exists() else None


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)


# ----------------------------------------------------------------------------------------------- rule generation
def write_rules(directory: Path, definition: Path, options: RuleOptions | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    scorecard = load_scorecard(definition)
    paths = []
    for name, document in rule_files(scorecard, options or RuleOptions()).items():
        path = directory / name
        path.write_text(to_yaml(document))
        paths.append(path)
    return paths


def series(metric: str, values: str, **labels: str) -> dict[str, str]:
    inner = ",".join([EXPORTER, *(f'{k}="{v}"' for k, v in labels.items())])
    return {"series": f"{metric}{{{inner}}}", "values": values}


def kpi_series(unit: str, kpi: str, perspective: str, objective: str, **metrics: str) -> list[dict[str, str]]:
    """Series of one (unit, KPI) as the exporter serves them; each keyword is a metric suffix and its values."""
    labels = {"unit": unit, "kpi": kpi, "perspective": perspective, "objective": objective}
    return [series(f"scorecard_kpi_{name}", values, **labels) for name, values in metrics.items()]


def alert(labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """An expected alert; promtool compares every annotation, so all of them are spelled out."""
    return {"exp_labels": labels, "exp_annotations": annotations}


def promtool_test(promtool: str, directory: Path, rule_names: list[str], tests: list[dict[str, Any]]) -> str:
    """Run `promtool test rules`; return its output, failing the test with it when promtool reports a failure."""
    test_file = directory / "rules-test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": rule_names, "evaluation_interval": "1m", "tests": tests}))
    result = run(promtool, "test", "rules", str(test_file), cwd=directory)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# --------------------------------------------------------------------------------------------- synthetic scenario
# The owners fixture: hq is owned by leadership, shop by nobody; sales is owned by sales-team, wait-time by nobody.
UNIT_INFO = [
    series("scorecard_unit_info", "1x300", unit="hq", name="Head office", parent="", depth="0", owner="leadership"),
    series("scorecard_unit_info", "1x300", unit="shop", name="shop", parent="hq", depth="1", owner=""),
]
KPI_INFO = [
    series(
        "scorecard_kpi_info",
        "1x300",
        kpi="sales",
        name="Sales today",
        perspective="financial",
        objective="sell",
        display_unit="EUR",
        polarity="higher_is_better",
        owner="sales-team",
    ),
    series(
        "scorecard_kpi_info",
        "1x300",
        kpi="wait-time",
        name="Average wait",
        perspective="customer",
        objective="serve",
        display_unit="min",
        polarity="lower_is_better",
        owner="",
    ),
]
KPI_SERIES = [
    # hq/sales: red from the start, green again from minute 12.
    *kpi_series(
        "hq", "sales", "financial", "sell", status="0x11 2x20", value="1500x30", goal="5000x30", red_flag="2000x30"
    ),
    # shop/sales: amber; shop has no owner, so the KPI's owner (sales-team) gets it.
    *kpi_series(
        "shop", "sales", "financial", "sell", status="1x30", value="3250x30", goal="5000x30", red_flag="2000x30"
    ),
    # shop/wait-time: red; neither shop nor wait-time has an owner, so the alert has none (default receiver).
    *kpi_series(
        "shop", "wait-time", "customer", "serve", status="0x30", value="22.25x30", goal="5x30", red_flag="15x30"
    ),
    # hq/wait-time: green, never alerts.
    *kpi_series("hq", "wait-time", "customer", "serve", status="2x30", value="0.75x30", goal="5x30", red_flag="15x30"),
]
# A second exporter replica that serves a status but no info and no value series: the alert must survive the join.
ORPHAN = {
    "series": 'scorecard_kpi_status{job="scorecard-exporter",instance="replica:9108",unit="hq",kpi="wait-time",'
    'perspective="customer",objective="serve"}',
    "values": "0x30",
}
HEALTH_SERIES = [
    series("scorecard_last_event_timestamp_seconds", "0x300", unit="hq"),  # no event since t=0
    series("scorecard_last_event_timestamp_seconds", "9000x300", unit="shop"),  # event at 2h30m
    series("up", "0x300"),
    series("scorecard_exporter_redis_up", "1x3 0x300"),
]

# Two worker replicas: a is scraped until minute 3, then down; during a rebalance both report partition 1 of the input
# topic, so a sum over the replicas would count its 6000 messages twice (18000); each partition counts once (12000).
WORKER_A = {"job": "scorecard-worker", "instance": "worker-a:9109"}
WORKER_B = {"job": "scorecard-worker", "instance": "worker-b:9109"}


def worker_series(metric: str, values: str, worker: dict[str, str], **labels: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in {**worker, **labels}.items())
    return {"series": f"{metric}{{{inner}}}", "values": values}


LAG = "scorecard_pipeline_consumer_lag"
WORKER_SERIES = [
    worker_series("up", "1x3 0x300", WORKER_A),
    worker_series("up", "1x300", WORKER_B),
    worker_series(LAG, "6000x30", WORKER_A, topic="scorecard.events", partition="0"),
    worker_series(LAG, "6000x30", WORKER_A, topic="scorecard.events", partition="1"),
    worker_series(LAG, "6000x30", WORKER_B, topic="scorecard.events", partition="1"),
    worker_series(LAG, "3000x30", WORKER_B, topic="other.events", partition="0"),  # below --max-lag
    # 110 events a minute, 10 of them not JSON (9.1% > 5%) and 2 duplicates (1.8%, no surge).
    worker_series("scorecard_pipeline_events_total", "0+98x30", WORKER_A, outcome="accepted"),
    worker_series("scorecard_pipeline_events_total", "0+10x30", WORKER_A, outcome="invalid"),
    worker_series("scorecard_pipeline_events_total", "0+2x30", WORKER_A, outcome="duplicate"),
    worker_series("scorecard_pipeline_dead_letters_total", "0+10x30", WORKER_A, reason="not_json"),
    worker_series("scorecard_pipeline_dead_letters_total", "0+2x30", WORKER_A, reason="duplicate"),
]

HQ_SALES = {"unit": "hq", "kpi": "sales", "perspective": "financial", "objective": "sell"}
SHOP_SALES = {"unit": "shop", "kpi": "sales", "perspective": "financial", "objective": "sell"}
SHOP_WAIT = {"unit": "shop", "kpi": "wait-time", "perspective": "customer", "objective": "serve"}
EXPORTER_LABELS = {"job": "scorecard-exporter", "instance": "exporter:9108"}
OWNERS_LABEL = {"scorecard": "Owners"}  # every rule names its scorecard


GRAFANA = "http://grafana.example:3000/d/scorecard-kpi/"
NO_OWNER = "Owner: none (set owner on the unit or the KPI)."
HQ_SALES_RED = {
    "summary": "Sales today is red at hq: 1.5k EUR (goal 5k EUR, red flag 2k EUR)",
    "description": "Sales today (sales, Financial) has been worse than its red flag (higher is better) at unit hq for"
    " at least 5m. Owner: leadership.",
    "dashboard": f"{GRAFANA}?var-unit=hq&var-kpi=sales",
}
SHOP_SALES_AMBER = {
    "summary": "Sales today is amber at shop: 3.25k EUR (goal 5k EUR, red flag 2k EUR)",
    "description": "Sales today (sales, Financial) has been between its red flag and its goal (higher is better) at"
    " unit shop for at least 5m. Owner: sales-team.",
    "dashboard": f"{GRAFANA}?var-unit=shop&var-kpi=sales",
}
SHOP_WAIT_RED = {
    "summary": "Average wait is red at shop: 22.25 min (goal 5 min, red flag 15 min)",
    "description": "Average wait (wait-time, Customer) has been worse than its red flag (lower is better) at unit"
    f" shop for at least 5m. {NO_OWNER}",
    "dashboard": f"{GRAFANA}?var-unit=shop&var-kpi=wait-time",
}
# The orphan replica has no value series of its own: the summary shows the values the other exporter serves.
ORPHAN_RED = {
    "summary": "Average wait is red at hq: 0.75 min (goal 5 min, red flag 15 min)",
    "description": "Average wait (wait-time, Customer) has been worse than its red flag (lower is better) at unit"
    f" hq for at least 5m. {NO_OWNER}",
    "dashboard": f"{GRAFANA}?var-unit=hq&var-kpi=wait-time",
}
ORPHAN_LABELS = {"unit": "hq", "kpi": "wait-time", "perspective": "customer", "objective": "serve"}
EXPORTER_DOWN = {
    "summary": "The scorecard exporter is down or not scraped",
    "description": "Prometheus has no successful scrape of job scorecard-exporter for 5m: no KPI alert can fire"
    " meanwhile.",
}


def kpi_cases() -> list[dict[str, Any]]:
    red = {"severity": "warning", **EXPORTER_LABELS, **OWNERS_LABEL}
    amber = {"severity": "info", **EXPORTER_LABELS, **OWNERS_LABEL}
    orphan = {**ORPHAN_LABELS, **red, "instance": "replica:9108"}
    return [
        # Before `for` (5m) has passed nothing fires.
        {"eval_time": "4m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},
        {"eval_time": "4m", "alertname": "ScorecardKPIBelowGoal", "exp_alerts": []},
        {
            "eval_time": "6m",
            "alertname": "ScorecardKPIBreachedRedFlag",
            "exp_alerts": [
                alert({**HQ_SALES, **red, "owner": "leadership"}, HQ_SALES_RED),
                alert({**SHOP_WAIT, **red}, SHOP_WAIT_RED),
                alert(orphan, ORPHAN_RED),
            ],
        },
        {
            "eval_time": "10m",
            "alertname": "ScorecardKPIBelowGoal",
            "exp_alerts": [alert({**SHOP_SALES, **amber, "owner": "sales-team"}, SHOP_SALES_AMBER)],
        },
        # hq/sales turned green at minute 12: only the two other red ones remain.
        {
            "eval_time": "20m",
            "alertname": "ScorecardKPIBreachedRedFlag",
            "exp_alerts": [alert({**SHOP_WAIT, **red}, SHOP_WAIT_RED), alert(orphan, ORPHAN_RED)],
        },
    ]


def worker_down(where: str) -> dict[str, str]:
    return {
        "summary": "A scorecard worker is down or not scraped",
        "description": f"Prometheus has no successful scrape of job scorecard-worker{where} for 5m: events may not be"
        " consumed, and the KPIs stop moving.",
    }


def health_cases() -> list[dict[str, Any]]:
    stale = {
        "summary": "No event for unit hq since 3h 0m 0s",
        "description": "The newest accepted event in the subtree of unit hq is older than 2h: its producers may have"
        " stopped, or the worker is not consuming.",
    }
    redis_down = {
        "summary": "The scorecard exporter exporter:9108 cannot read Redis",
        "description": "scorecard_exporter_redis_up has been 0 for 5m: no KPI is served.",
    }
    return [
        {"eval_time": "1h", "alertname": "ScorecardStale", "exp_alerts": []},  # 1h without event < 2h
        {
            "eval_time": "3h",  # shop's last event (at 2h30m) is only 30m old
            "alertname": "ScorecardStale",
            "exp_alerts": [
                alert(
                    {"unit": "hq", "owner": "leadership", "severity": "warning", **EXPORTER_LABELS, **OWNERS_LABEL},
                    stale,
                )
            ],
        },
        {"eval_time": "4m", "alertname": "ScorecardExporterDown", "exp_alerts": []},
        {
            "eval_time": "6m",
            "alertname": "ScorecardExporterDown",
            "exp_alerts": [alert({"severity": "critical", **EXPORTER_LABELS, **OWNERS_LABEL}, EXPORTER_DOWN)],
        },
        {"eval_time": "7m", "alertname": "ScorecardWorkerDown", "exp_alerts": []},  # worker a down since 3m
        {
            "eval_time": "9m",
            "alertname": "ScorecardWorkerDown",
            "exp_alerts": [
                alert({"severity": "critical", **WORKER_A, **OWNERS_LABEL}, worker_down(" at worker-a:9109"))
            ],
        },
        {"eval_time": "4m", "alertname": "ScorecardConsumerLagHigh", "exp_alerts": []},
        {
            "eval_time": "6m",
            "alertname": "ScorecardConsumerLagHigh",
            "exp_alerts": [
                alert(
                    {"topic": "scorecard.events", "severity": "warning", **OWNERS_LABEL},
                    {
                        "summary": "12000 messages of scorecard.events wait for the scorecard workers",
                        "description": "More than 10000 messages of topic scorecard.events have been waiting for 5m:"
                        " the workers do not keep up (too few of them, Redis slow) or are stuck.",
                    },
                )
            ],
        },
        {
            "eval_time": "15m",
            "alertname": "ScorecardDeadLetterSurge",
            "exp_alerts": [
                alert(
                    {"reason": "not_json", "severity": "warning", **OWNERS_LABEL},
                    {
                        "summary": "9.091% of the events in the last 10m were dead letters (not_json)",
                        "description": "More than 5% of the input events of the last 10m went to the dead-letter"
                        " topic as not_json: a producer probably sends broken or repeated events (the dead letters"
                        " keep the original bytes and a header naming the reason).",
                    },
                )
            ],
        },
        {"eval_time": "7m", "alertname": "ScorecardExporterRedisDown", "exp_alerts": []},  # down since 4m
        {
            "eval_time": "10m",
            "alertname": "ScorecardExporterRedisDown",
            "exp_alerts": [alert({"severity": "critical", **EXPORTER_LABELS, **OWNERS_LABEL}, redis_down)],
        },
    ]


def owners_tests() -> list[dict[str, Any]]:
    return [
        {
            "interval": "1m",
            "input_series": [*UNIT_INFO, *KPI_INFO, *KPI_SERIES, ORPHAN, *HEALTH_SERIES, *WORKER_SERIES],
            "alert_rule_test": kpi_cases() + health_cases(),
        },
        {  # Neither the exporter nor the worker is scraped at all.
            "interval": "1m",
            "input_series": [series("scorecard_unit_info", "1x10", unit="hq", owner="leadership")],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": "ScorecardExporterDown", "exp_alerts": []},
                {
                    "eval_time": "6m",
                    "alertname": "ScorecardExporterDown",
                    "exp_alerts": [
                        alert({"severity": "critical", "job": "scorecard-exporter", **OWNERS_LABEL}, EXPORTER_DOWN)
                    ],
                },
                {"eval_time": "4m", "alertname": "ScorecardWorkerDown", "exp_alerts": []},
                {
                    "eval_time": "6m",
                    "alertname": "ScorecardWorkerDown",
                    "exp_alerts": [
                        alert({"severity": "critical", "job": "scorecard-worker", **OWNERS_LABEL}, worker_down(""))
                    ],
                },
            ],
        },
        {  # Few events: a third of them late is a share above 5%, but 5 dead letters in 10m are no surge.
            "interval": "1m",
            "input_series": [
                worker_series("scorecard_pipeline_events_total", "0+1x30", WORKER_A, outcome="accepted"),
                worker_series("scorecard_pipeline_events_total", "0+0.5x30", WORKER_A, outcome="late"),
                worker_series("scorecard_pipeline_dead_letters_total", "0+0.5x30", WORKER_A, reason="late"),
            ],
            "alert_rule_test": [{"eval_time": "20m", "alertname": "ScorecardDeadLetterSurge", "exp_alerts": []}],
        },
    ]


OWNERS_OPTIONS = RuleOptions(pending=300, stale_after=7200, grafana_url="http://grafana.example:3000/")


# ------------------------------------------------------------------------------------------------------- the tests
def test_generated_rules_pass_promtool_check(promtool: str, tmp_path: Path) -> None:
    paths = write_rules(tmp_path / "acme", REPO / "examples" / "acme.yaml")
    paths += write_rules(tmp_path / "owners", OWNERS, OWNERS_OPTIONS)
    result = run(promtool, "check", "rules", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(paths)


def test_names_with_template_braces_still_give_valid_templates(promtool: str, tmp_path: Path) -> None:
    text = OWNERS.read_text().replace("name: Sales today", "name: 'Sales {{ today'").replace("unit: EUR", "unit: '}}'")
    definition = tmp_path / "braces.yaml"
    definition.write_text(text)
    parse_scorecard(text)  # still a valid definition
    paths = write_rules(tmp_path / "rules", definition)
    result = run(promtool, "check", "rules", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr


# Names holding what Go templates and Prometheus give a meaning to: each must come out of the annotation as written.
ODD_NAME = "Sales {{ $labels.unit }} }} {{{"
ODD_UNIT = "EUR{"
ODD_PERSPECTIVE = "{Money} $ {{"


def test_names_with_template_syntax_are_printed_as_written(promtool: str, tmp_path: Path) -> None:
    """`promtool check rules` accepts the files and `promtool test rules` renders the names exactly as written."""
    text = (
        OWNERS.read_text()
        .replace("name: Sales today", f"name: {json.dumps(ODD_NAME)}")
        .replace("unit: EUR", f"unit: {json.dumps(ODD_UNIT)}")
        .replace(
            "objectives:",
            f"perspectives: [{{id: financial, name: {json.dumps(ODD_PERSPECTIVE)}}}, {{id: customer}}]\nobjectives:",
        )
    )
    definition = tmp_path / "odd.yaml"
    definition.write_text(text)
    paths = write_rules(tmp_path, definition, OWNERS_OPTIONS)
    result = run(promtool, "check", "rules", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {
        "summary": f"{ODD_NAME} is red at hq: 1.5k {ODD_UNIT} (goal 5k {ODD_UNIT}, red flag 2k {ODD_UNIT})",
        "description": f"{ODD_NAME} (sales, {ODD_PERSPECTIVE}) has been worse than its red flag (higher is better)"
        " at unit hq for at least 5m. Owner: leadership.",
        "dashboard": f"{GRAFANA}?var-unit=hq&var-kpi=sales",
    }
    inputs = [UNIT_INFO[0], KPI_INFO[0], *KPI_SERIES[:4]]  # hq/sales only
    tests = [
        {
            "interval": "1m",
            "input_series": inputs,
            "alert_rule_test": [
                {
                    "eval_time": "6m",
                    "alertname": "ScorecardKPIBreachedRedFlag",
                    "exp_alerts": [
                        alert(
                            {
                                **HQ_SALES,
                                "severity": "warning",
                                **EXPORTER_LABELS,
                                **OWNERS_LABEL,
                                "owner": "leadership",
                            },
                            expected,
                        )
                    ],
                }
            ],
        }
    ]
    promtool_test(promtool, tmp_path, [FILE_KPIS], tests)


ALERT_OPTIONS = """    alert:
      for: 10m
      severity: critical
      labels: {channel: '#sales {{ x'}
      annotations: {playbook: 'Call <b>{{ $value }}</b>'}
      runbook_url: 'https://wiki.acme.test/run?kpi=sales&x=1'
"""


def test_a_kpis_alert_options_change_its_alerts_under_promtool(promtool: str, tmp_path: Path) -> None:
    """sales waits 10m instead of 5m, is critical, and carries its label, annotation and runbook as written."""
    definition = tmp_path / "options.yaml"
    definition.write_text(OWNERS.read_text().replace("    red_flag: 2000\n", "    red_flag: 2000\n" + ALERT_OPTIONS, 1))
    paths = write_rules(tmp_path, definition, OWNERS_OPTIONS)
    result = run(promtool, "check", "rules", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    labels = {**HQ_SALES, "severity": "critical", "channel": "#sales {{ x", "owner": "leadership"}
    annotations = {
        **HQ_SALES_RED,
        "description": HQ_SALES_RED["description"].replace("at least 5m", "at least 10m"),
        "playbook": "Call <b>{{ $value }}</b>",
        "runbook_url": "https://wiki.acme.test/run?kpi=sales&x=1",
    }
    red_for_20m = kpi_series(
        "hq", "sales", "financial", "sell", status="0x20", value="1500x20", goal="5000x20", red_flag="2000x20"
    )
    tests = [
        {
            "interval": "1m",
            "input_series": [UNIT_INFO[0], KPI_INFO[0], *red_for_20m],
            "alert_rule_test": [
                {"eval_time": "9m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},
                {
                    "eval_time": "11m",
                    "alertname": "ScorecardKPIBreachedRedFlag",
                    "exp_alerts": [alert({**labels, **EXPORTER_LABELS, **OWNERS_LABEL}, annotations)],
                },
            ],
        }
    ]
    promtool_test(promtool, tmp_path, [FILE_KPIS], tests)


ODD_SCORECARD = 'Shop "A" {{ $labels.unit }} \\ été\ttab {'


def test_an_odd_scorecard_name_selects_its_own_series_and_labels_every_alert(promtool: str, tmp_path: Path) -> None:
    """Quotes, a backslash, a tab, template braces and accents in the name: the rules stay valid, the alerts select the
    recorded series of their scorecard and carry the name exactly as written."""
    definition = tmp_path / "odd-name.yaml"
    definition.write_text(OWNERS.read_text().replace("name: Owners", f"name: {json.dumps(ODD_SCORECARD)}"))
    paths = write_rules(tmp_path, definition, OWNERS_OPTIONS)
    result = run(promtool, "check", "rules", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    labels = {**HQ_SALES, "severity": "warning", **EXPORTER_LABELS, "scorecard": ODD_SCORECARD, "owner": "leadership"}
    tests = [
        {
            "interval": "1m",
            "input_series": [UNIT_INFO[0], KPI_INFO[0], *KPI_SERIES[:4]],  # hq/sales, red until minute 12
            "alert_rule_test": [
                {
                    "eval_time": "6m",
                    "alertname": "ScorecardKPIBreachedRedFlag",
                    "exp_alerts": [alert(labels, HQ_SALES_RED)],
                },
            ],
        }
    ]
    promtool_test(promtool, tmp_path, [FILE_KPIS], tests)


def test_rules_fire_with_owner_labels_and_readable_summaries(promtool: str, tmp_path: Path) -> None:
    write_rules(tmp_path, OWNERS, OWNERS_OPTIONS)
    promtool_test(promtool, tmp_path, [FILE_KPIS, FILE_HEALTH], owners_tests())


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        (FILE_KPIS, "== 0", "== 2"),  # red alert on the wrong status
        (FILE_KPIS, 'scorecard_unit_info{owner!=""}', "scorecard_unit_info"),  # unit owner "" wins over the KPI's
        (FILE_KPIS, "red flag {{", "red-flag {{"),  # summary wording
        (FILE_KPIS, "for: 5m", "for: 7m"),  # fires late
        (FILE_HEALTH, "> 7200", "> 72000"),  # stale threshold
        (FILE_HEALTH, " or absent(", " and absent("),  # exporter not scraped
        (FILE_HEALTH, 'up{job="scorecard-worker"} == 0', 'up{job="scorecard-worker"} == 1'),  # worker down
        (FILE_HEALTH, "max by (topic, partition)", "sum by (topic, partition)"),  # a partition counted twice
        (FILE_HEALTH, "> 0.05", "> 0.5"),  # dead-letter share
        (FILE_HEALTH, "> 10\n", "> 0\n"),  # a handful of dead letters is no surge
    ],
)
def test_a_broken_rule_fails_the_rule_tests(promtool: str, tmp_path: Path, file: str, old: str, new: str) -> None:
    """The rule tests above are only worth something if they notice a broken rule."""
    write_rules(tmp_path, OWNERS, OWNERS_OPTIONS)
    path = tmp_path / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    assert run(promtool, "check", "rules", str(path)).returncode == 0  # still valid rules, just wrong ones
    test_file = tmp_path / "rules-test.yml"
    test_file.write_text(
        yaml.safe_dump({"rule_files": [FILE_KPIS, FILE_HEALTH], "evaluation_interval": "1m", "tests": owners_tests()})
    )
    result = run(promtool, "test", "rules", str(test_file), cwd=tmp_path)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


# ------------------------------------------------------------------------------------------ paced KPIs (issue 15)
SHOP_REVENUE = {"unit": "shop", "kpi": "revenue", "perspective": "financial", "objective": "sell"}
PACED_LABELS = {"owner": "sales-team", "scorecard": "Paced", **EXPORTER_LABELS}
PACED_INFO = [
    series("scorecard_unit_info", "1x2100", unit="shop", name="The Shop", parent="", depth="0", owner="sales-team"),
    series("scorecard_kpi_info", "1x2100", kpi="revenue", name="Revenue this month", owner=""),
]
PACED_RED = {
    "summary": "Revenue this month is red at shop: 1k EUR (goal 42k EUR, red flag 35k EUR)",
    "description": "Revenue this month (revenue, Financial) has been worse than its red flag (higher is better) at"
    " unit shop for at least 5m. Owner: sales-team.",
    "dashboard": "http://localhost:3000/d/scorecard-kpi/?var-unit=shop&var-kpi=revenue",
}


def test_a_paced_kpi_does_not_alert_before_a_tenth_of_its_period(promtool: str, tmp_path: Path) -> None:
    """Red all along, through a month's end and the next month's start: silent while less than 10% has passed.

    One sample a minute; the elapsed share climbs by 0.0001 a minute, so 10% is 1000 minutes into a month. The
    month turns at minute 500 (the share falls from 0.9999 to 0), and at minute 1500 the new month reaches 10%.
    """
    write_rules(tmp_path, PACED)
    red = alert({**SHOP_REVENUE, **PACED_LABELS, "severity": "warning"}, PACED_RED)
    cases = [
        {
            "eval_time": "400m",
            "alertname": "ScorecardKPIBreachedRedFlag",
            "exp_alerts": [red],
        },  # the old month, 99% through
        {"eval_time": "505m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},  # the new month has begun
        {"eval_time": "1400m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},  # 9% of it
        {"eval_time": "1502m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},  # 10%, but not yet for 5m
        {"eval_time": "1520m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": [red]},
        {"eval_time": "1520m", "alertname": "ScorecardKPIBelowGoal", "exp_alerts": []},
    ]
    promtool_test(
        promtool, tmp_path, [FILE_KPIS], [{"interval": "1m", "input_series": _month_turn(), "alert_rule_test": cases}]
    )
    assert 'scorecard_kpi_elapsed_ratio{kpi="revenue"} < 0.1' in (tmp_path / FILE_KPIS).read_text()


def test_the_share_a_paced_kpi_waits_for_is_an_option(promtool: str, tmp_path: Path) -> None:
    """With --min-elapsed 0.15 the new month's red waits until minute 2000 (15%)."""
    write_rules(tmp_path, PACED, RuleOptions(min_elapsed=0.15))
    red = alert({**SHOP_REVENUE, **PACED_LABELS, "severity": "warning"}, PACED_RED)
    cases = [
        {"eval_time": "1520m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},
        {"eval_time": "1990m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": []},
        {"eval_time": "2010m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": [red]},
    ]
    promtool_test(
        promtool, tmp_path, [FILE_KPIS], [{"interval": "1m", "input_series": _month_turn(), "alert_rule_test": cases}]
    )


def _month_turn() -> list[dict[str, str]]:
    """A red paced revenue through a month's end (minute 500) and the start of the next one."""
    return [
        *PACED_INFO,
        *kpi_series(
            *SHOP_REVENUE.values(),
            status="0x2100",
            value="1000x2100",
            goal="42000x2100",
            red_flag="35000x2100",
            elapsed_ratio="0.95+0.0001x499 0+0.0001x1600",
        ),
    ]


def test_forecast_missing_the_period_goal_warns_with_forecast_goal_and_time_left(promtool: str, tmp_path: Path) -> None:
    """Far behind early in the month: silent until 10% has passed; then on course, then not, for 5m: a warning.

    The time left is the exporter's period end minus the evaluation time, as a duration.
    """
    write_rules(tmp_path, PACED)
    inputs = [
        *PACED_INFO,
        *kpi_series(
            *SHOP_REVENUE.values(),
            status="0x39 2x19 0x20",
            forecast="300000x39 500000x19 300000x20",
            period_goal="420000x80",
            elapsed_ratio="0.05x39 0.5x40",
            # the month ends 15d 3h 25m after minute 70 (4200 s): 4200 + 1296000 + 10800 + 1500
            period_end_timestamp_seconds="1312500x80",
        ),
    ]
    expected = alert(
        {**SHOP_REVENUE, **PACED_LABELS, "severity": "warning"},
        {
            "summary": "Revenue this month at shop is on course for 300k EUR, missing its period goal 420k EUR with"
            " 15d 3h 25m 0s of the month left",
            "description": "At the pace so far, Revenue this month (revenue) ends the month at unit shop below its goal"
            " (higher is better); the forecast is the value to date divided by the elapsed share of the period."
            " Owner: sales-team.",
            "dashboard": "http://localhost:3000/d/scorecard-kpi/?var-unit=shop&var-kpi=revenue",
        },
    )
    cases = [
        {"eval_time": "30m", "alertname": "ScorecardKPIForecastMissesGoal", "exp_alerts": []},  # 5% of the month
        {"eval_time": "55m", "alertname": "ScorecardKPIForecastMissesGoal", "exp_alerts": []},  # on course for 500k
        {"eval_time": "63m", "alertname": "ScorecardKPIForecastMissesGoal", "exp_alerts": []},  # for: 5m
        {"eval_time": "70m", "alertname": "ScorecardKPIForecastMissesGoal", "exp_alerts": [expected]},
    ]
    promtool_test(
        promtool, tmp_path, [FILE_KPIS], [{"interval": "1m", "input_series": inputs, "alert_rule_test": cases}]
    )


def test_committed_acme_rules_alert_on_a_red_kpi(promtool: str, tmp_path: Path) -> None:
    """The files Prometheus really loads, with ACME's names: support-l2's CSAT red, routed to its team."""
    labels = {"unit": "support-l2", "kpi": "csat", "perspective": "customer", "objective": "delight-customers"}
    inputs = [
        series("scorecard_unit_info", "1x20", unit="support-l2", owner="support-l2-team"),
        series("scorecard_kpi_info", "1x20", kpi="csat", owner="support-ops"),
        *kpi_series(*labels.values(), status="0x20", value="3.71x20", goal="4.2x20", red_flag="3.8x20"),
    ]
    expected = alert(
        {**labels, "severity": "warning", "owner": "support-l2-team", "scorecard": "ACME scorecard", **EXPORTER_LABELS},
        {
            "summary": "Customer satisfaction (1-5) is red at support-l2: 3.71/5 (goal 4.2/5, red flag 3.8/5)",
            "description": "Customer satisfaction (1-5) (csat, Customer) has been worse than its red flag (higher is"
            " better) at unit support-l2 for at least 5m. Owner: support-l2-team.",
            "dashboard": "http://localhost:3000/d/scorecard-kpi/?var-unit=support-l2&var-kpi=csat",
        },
    )
    rules = [str(RULES_DIR / FILE_KPIS), str(RULES_DIR / FILE_HEALTH)]
    tests = [
        {
            "interval": "1m",
            "input_series": inputs,
            "alert_rule_test": [
                {"eval_time": "6m", "alertname": "ScorecardKPIBreachedRedFlag", "exp_alerts": [expected]}
            ],
        }
    ]
    promtool_test(promtool, tmp_path, rules, tests)


def test_local_prometheus_config_loads_the_committed_rules(promtool: str) -> None:
    """deploy/local/services starts Prometheus with this config; its rules/*.yml must find and accept our files."""
    result = run(promtool, "check", "config", str(REPO / "deploy" / "prometheus" / "prometheus.local.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (FILE_KPIS, FILE_HEALTH):
        assert f"Checking {RULES_DIR / name}\n  SUCCESS" in result.stdout


def test_committed_alertmanager_config_is_valid(amtool: str) -> None:
    result = run(amtool, "check-config", str(ALERTMANAGER_YML))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_routes_each_owner_to_its_team(amtool: str) -> None:
    teams = owner_teams(load_scorecard(REPO / "examples" / "acme.yaml"))
    assert len(teams) == 12
    cases = [(f"owner={team}", team_receiver(team)) for team in teams]
    cases += [("owner=finance", "default"), ("alertname=ScorecardExporterDown", "default")]
    for labels, receiver in cases:
        result = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}", labels)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == receiver, labels


# An Alertmanager config a team already runs: its own receiver and route, which the scorecard fragment joins.
EXISTING_CONFIG = {
    "route": {
        "receiver": "ops-pager",
        "group_by": ["alertname"],
        "routes": [{"receiver": "db-team", "matchers": ['service="postgres"']}],
    },
    "receivers": [
        {"name": "ops-pager", "webhook_configs": [{"url": "http://pager.invalid/hook"}]},
        {"name": "db-team", "webhook_configs": [{"url": "http://db.invalid/hook"}]},
    ],
}


def test_the_fragment_merged_into_an_existing_config_routes_the_scorecard_and_nothing_else(
    amtool: str, tmp_path: Path
) -> None:
    """Merged as the header says (route first among the root's routes, receivers added), amtool accepts the config,
    the scorecard's alerts reach its teams, and every other alert keeps its old receiver."""
    fragment_file = tmp_path / "fragment.yml"
    result = run(sys.executable, "-m", "scorecard", "alertmanager", str(ACME), "--fragment", "-o", str(fragment_file))
    assert result.returncode == 0, result.stderr
    fragment = yaml.safe_load(fragment_file.read_text())
    merged = json.loads(json.dumps(EXISTING_CONFIG))
    merged["route"]["routes"].insert(0, fragment["route"])
    merged["receivers"] += fragment["receivers"]
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(merged, sort_keys=False))
    result = run(amtool, "check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    acme = 'scorecard="ACME scorecard"'
    teams = owner_teams(load_scorecard(ACME))
    cases = [((acme, f"owner={team}"), f"acme-scorecard-{team_receiver(team)}") for team in teams]
    cases += [
        ((acme, "alertname=ScorecardWorkerDown"), "acme-scorecard-default"),
        ((acme, "owner=finance"), "acme-scorecard-default"),
        (("owner=sales-ops",), "ops-pager"),  # not the scorecard's: the existing routes decide
        (("service=postgres",), "db-team"),
        (('scorecard="Another scorecard"', "owner=sales-ops"), "ops-pager"),
    ]
    for labels, receiver in cases:
        result = run(amtool, "config", "routes", "test", f"--config.file={config}", *labels)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == receiver, labels


def test_the_prometheus_rule_resource_passes_the_same_rule_tests(promtool: str, tmp_path: Path) -> None:
    """The spec of `--format prometheusrule` is what the operator hands Prometheus: the same groups, the same alerts."""
    result = run(
        sys.executable, "-m", "scorecard", "rules", str(OWNERS), "-o", str(tmp_path), "--format", "prometheusrule",
        "--grafana-url", "http://grafana.example:3000/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    resource = yaml.safe_load((tmp_path / "scorecard-prometheusrule.yml").read_text())
    assert (resource["apiVersion"], resource["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    (tmp_path / "spec.yml").write_text(yaml.safe_dump(resource["spec"]))
    result = run(promtool, "check", "rules", str(tmp_path / "spec.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    promtool_test(promtool, tmp_path, ["spec.yml"], owners_tests())


# ------------------------------------------------------------------------------------ ScorecardUnitScoreDropped
def unit_drop_tests() -> list[dict[str, Any]]:
    """hq's score falls from 6 to 4 at minute 60: sales, csat (which loses its score), learning and nps fall, wait-time
    rises; shop's stays at 5. The alert fires after `for` (5m), names the three KPIs that fell most, largest first,
    and resolves an hour after the fall, when the score an hour ago was already 4."""
    contribution = "scorecard_kpi_contribution"
    customer = {"perspective": "customer", "objective": "serve"}
    inputs = [
        *UNIT_INFO,
        *KPI_INFO,
        series("scorecard_kpi_info", "1x300", kpi="csat", name="Customer satisfaction", **customer),
        series("scorecard_kpi_info", "1x300", kpi="learning", name="Training hours", **customer),
        series("scorecard_kpi_info", "1x300", kpi="nps", name="NPS", **customer),
        series("scorecard_unit_score", "6x59 4x60", unit="hq"),
        series("scorecard_unit_score", "5x120", unit="shop"),
        series(contribution, "3x59 1.5x60", unit="hq", kpi="sales", perspective="financial", objective="sell"),
        series(contribution, "1x59 1.85x60", unit="hq", kpi="wait-time", **customer),
        series(contribution, "1x59 _x60", unit="hq", kpi="csat", **customer),
        series(contribution, "0.5x59 0.25x60", unit="hq", kpi="learning", **customer),
        series(contribution, "0.5x59 0.4x60", unit="hq", kpi="nps", **customer),
        series(contribution, "5x120", unit="shop", kpi="sales", perspective="financial", objective="sell"),
    ]
    expected = alert(
        {"unit": "hq", "owner": "leadership", "severity": "warning", **EXPORTER_LABELS, **OWNERS_LABEL},
        {
            "summary": "The score of unit hq fell by 2.00 points in 1h",
            "description": "Unit hq scores 4.00, 2.00 points below 1h ago (alert threshold 1). Top movers: Sales today"
            " -1.50, Customer satisfaction -1.00, Training hours -0.25. Owner: leadership.",
            "dashboard": "http://grafana.example:3000/d/scorecard-overview/?var-unit=hq&from=now-1h&to=now",
        },
    )
    name = "ScorecardUnitScoreDropped"
    return [
        {
            "interval": "1m",
            "input_series": inputs,
            "alert_rule_test": [
                {"eval_time": "59m", "alertname": name, "exp_alerts": []},
                {"eval_time": "64m", "alertname": name, "exp_alerts": []},  # pending
                {"eval_time": "66m", "alertname": name, "exp_alerts": [expected]},
                {"eval_time": "119m", "alertname": name, "exp_alerts": [expected]},
                {"eval_time": "121m", "alertname": name, "exp_alerts": []},
            ],
        }
    ]


def test_unit_score_drop_fires_naming_the_top_movers(promtool: str, tmp_path: Path) -> None:
    write_rules(tmp_path, OWNERS, OWNERS_OPTIONS)
    promtool_test(promtool, tmp_path, [FILE_UNITS], unit_drop_tests())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("scorecard_unit_score > 1", "scorecard_unit_score > 2"),  # threshold (a drop of exactly 2)
        ("sort(bottomk(", "sort(topk("),  # the movers that pushed the score up
        ("or 0 * scorecard_kpi_contribution", "and scorecard_kpi_contribution"),  # a lost score forgotten
        ("for: 5m", "for: 1m"),  # fires early
    ],
)
def test_a_broken_unit_rule_fails_its_test(promtool: str, tmp_path: Path, old: str, new: str) -> None:
    write_rules(tmp_path, OWNERS, OWNERS_OPTIONS)
    path = tmp_path / FILE_UNITS
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    assert run(promtool, "check", "rules", str(path)).returncode == 0
    test_file = tmp_path / "rules-test.yml"
    test_file.write_text(
        yaml.safe_dump({"rule_files": [FILE_UNITS], "evaluation_interval": "1m", "tests": unit_drop_tests()})
    )
    result = run(promtool, "test", "rules", str(test_file), cwd=tmp_path)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
