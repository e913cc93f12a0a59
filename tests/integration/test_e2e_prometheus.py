"""End to end with the real Prometheus: worker -> Redis -> exporter -> Prometheus -> dashboards' PromQL and alerts.

A Prometheus of this test's own (started by ``deploy/local/services`` with a generated config) scrapes the exporter
and the worker every second and evaluates the rules ``scorecard rules`` generates, with a ``for`` of a few seconds.
The test checks that (a) the scraped KPI values equal the replay's, (b) every PromQL expression of every generated
dashboard panel and every rule parses and returns data, and (c) events that drive one KPI red make its
``ScorecardKPIBreachedRedFlag`` alert fire, and events that bring it back resolve it; (d) a flood of lines that are
not JSON fires ``ScorecardDeadLetterSurge``, and stopping the exporter and the worker makes their down alerts'
expressions hold.

The exporter evaluates at its scrape time, the wall clock, so the example events are first moved to end a minute
before now (tests/timeshift.py): the windows then hold data whatever the day the test runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from scorecard.core.definition import load_scorecard
from scorecard.core.timeutil import format_time
from scorecard.outputs.dashboards import build_boards
from tests.integration.pipeline import ROOT, Deployment, free_port, replay_json, run_services, wait_until
from tests.integration.promql import check_queries, run_query
from tests.paths import ACME
from tests.timeshift import ending_at, write_lines

ALERT_FOR = "2s"
UNITS = ("acme", "sales", "sales-emea", "support-l1", "ops-plant-b", "people")
RED_UNIT, RED_KPI = "sales-emea", "online-basket"  # green in the ACME events; an avg, easy to push both ways


@dataclass
class PrivatePrometheus:
    """A Prometheus of one test on a free port, with its own config, rules and data directory."""

    url: str
    env: dict[str, str]

    def services(self, *args: str) -> None:
        run_services(self.env, *args)

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = run_query(self.url, expr)
        assert answer.get("status") == "success", (expr, answer)
        return list(answer["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=5) as response:
            return list(json.load(response)["data"]["alerts"])


@pytest.fixture
def exporter(deployment: Deployment) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    command = [sys.executable, "-m", "scorecard", "exporter", "--scorecard", str(ACME), "--port", str(port)]
    log = (deployment.workdir / "exporter.log").open("wb")
    process = subprocess.Popen(command, env=deployment.env(), stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/metrics"), 30, "the exporter's /metrics")
    yield process, port
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def prometheus(deployment: Deployment, exporter: tuple[subprocess.Popen[bytes], int]) -> Iterator[PrivatePrometheus]:
    workdir = deployment.workdir / "prometheus"
    rules = workdir / "rules"
    rules.mkdir(parents=True)
    generated = subprocess.run(
        [sys.executable, "-m", "scorecard", "rules", str(ACME), "-o", str(rules), "--for", ALERT_FOR],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert generated.returncode == 0, generated.stderr
    worker = deployment.workers[0]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "*.yml")],
        "scrape_configs": [
            {"job_name": "scorecard-exporter", "static_configs": [{"targets": [f"127.0.0.1:{exporter[1]}"]}]},
            {"job_name": "scorecard-worker", "static_configs": [{"targets": [f"127.0.0.1:{worker.metrics_port}"]}]},
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **deployment.env(),
        "SCORECARD_PROMETHEUS_URL": url,
        "SCORECARD_SERVICES_DIR": str(workdir / "services"),
        "SCORECARD_PROMETHEUS_CONFIG": str(workdir / "prometheus.yml"),
    }
    server = PrivatePrometheus(url, env)
    server.services("up", "prometheus")
    yield server
    server.services("down", "prometheus")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_prometheus_sees_the_replay_runs_every_query_and_fires_alerts(
    deployment: Deployment, request: pytest.FixtureRequest, acme_events: Path
) -> None:
    deployment.start_worker()
    lines = ending_at(acme_events.read_bytes().splitlines(), time.time() - 60)
    events = write_lines(deployment.workdir / "events-until-now.jsonl", lines)
    deployment.publish(lines)
    deployment.wait_for_events(len(lines))
    prometheus: PrivatePrometheus = request.getfixturevalue("prometheus")
    process, _ = request.getfixturevalue("exporter")
    wait_until(lambda: bool(prometheus.query("scorecard_kpi_value")), 60, "scraped KPI values")
    wait_until(lambda: bool(prometheus.query("scorecard_pipeline_events_total")), 60, "scraped worker metrics")

    report = check_values_equal_replay(prometheus, events)
    check_every_dashboard_query(prometheus, report)
    check_every_rule_expression(prometheus, report)
    check_red_flag_alert_fires_and_resolves(deployment, prometheus)
    check_dead_letter_surge_fires(deployment, prometheus, published=len(lines) + 3300)

    process.terminate()  # the exporter goes away: ScorecardExporterDown's expression must now return data
    down = 'up{job="scorecard-exporter"} == 0 or absent(up{job="scorecard-exporter"})'
    wait_until(lambda: bool(prometheus.query(down)), 30, "the exporter seen down")
    deployment.workers[0].stop()  # and the worker: ScorecardWorkerDown's
    down = 'up{job="scorecard-worker"} == 0 or absent(up{job="scorecard-worker"})'
    wait_until(lambda: bool(prometheus.query(down)), 30, "the worker seen down")


def check_values_equal_replay(prometheus: PrivatePrometheus, events: Path) -> dict[str, Any]:
    """(a) The value Prometheus scraped for every KPI of several units is the replay's at the scrape's time.

    The exporter evaluates at its scrape time (``timestamp()`` of the sample); the replay is evaluated at that time.
    Should a window boundary fall between the two queries below, the next attempt takes a fresh scrape.
    """
    selector = "|".join(UNITS)
    for attempt in range(3):
        samples = prometheus.query(f'scorecard_kpi_value{{unit=~"{selector}"}}')
        stamps = prometheus.query(f'timestamp(scorecard_kpi_value{{unit=~"{selector}"}})')
        scraped_at = min(float(s["value"][1]) for s in stamps)
        expected, _ = replay_json(ACME, events, at=format_time(scraped_at))
        report = orjson.loads(expected)["units"]
        got = {(s["metric"]["unit"], s["metric"]["kpi"]): float(s["value"][1]) for s in samples}
        want = {
            (unit, kpi): result["value"]
            for unit in UNITS
            for kpi, result in report[unit]["kpis"].items()
            if result["value"] is not None
        }
        assert len(want) > 20, want
        if got == pytest.approx(want, rel=1e-12) or attempt == 2:
            break
        time.sleep(1.5)
    assert got == pytest.approx(want, rel=1e-12), sorted(set(got.items()) ^ set(want.items()))
    return dict(report)


def check_every_dashboard_query(prometheus: PrivatePrometheus, report: dict[str, Any]) -> None:
    """(b) Every panel and variable query of every generated board parses and returns data.

    Variables get values that have data: the overview at the root (a KPI stat may be empty only where the replay
    has no status for that KPI there, e.g. a daily window with no event today), the KPI board at a unit with
    children and targets. Rates need two scrapes inside their window, hence the retries.
    """
    scorecard = load_scorecard(ACME)
    no_status_at_root = {k.label for k in scorecard.kpis if report["acme"]["kpis"][k.id]["status"] == "no_data"}
    plan = {
        "scorecard-overview": ({"unit": "acme"}, no_status_at_root),
        "scorecard-kpi": ({"unit": "sales", "kpi": RED_KPI}, set()),
        "scorecard-pipeline": ({}, set()),
    }
    boards = build_boards(scorecard)
    assert sorted(b["uid"] for b in boards) == sorted(plan)

    def problems() -> list[str]:
        found = []
        for board in boards:
            values, allow_empty = plan[board["uid"]]
            found += check_queries(prometheus.url, board, values=values, require_data=True, allow_empty=allow_empty)
        return [str(p) for p in found]

    try:
        wait_until(lambda: not problems(), 45, "every dashboard query returning data", interval=2)
    except AssertionError:
        raise AssertionError("\n".join(problems())) from None


COMPARISON = re.compile(r"^(?P<series>.+?)\s*(==|!=|>=|<=|>|<)\s*-?[\d.e+]+\s*$", re.S)
FIRST_COMPARISON = re.compile(r"\s(?:==|!=|>=|<=|>|<)\s")


def check_every_rule_expression(prometheus: PrivatePrometheus, report: dict[str, Any]) -> None:
    """(b) Every generated rule parses and returns data.

    Recording rules must return data as they are. An alert's expression is a condition that holds only while the
    alert would fire, so its watched series (the left side of the comparison; for a KPI alert, of its first one,
    since a paced KPI's alerts go on with a wait for part of the period) must return data, and the whole
    expression must parse. A KPI alert watches the KPI's statuses: they exist exactly where the replay has a status
    (a daily KPI has none anywhere when no event came today), so the check is both ways. ``ScorecardExporterDown``
    watches the exporter's absence and ``ScorecardWorkerDown`` the worker's: the test stops both at the end;
    ``ScorecardDeadLetterSurge`` watches a share of dead letters that the test produces afterwards.
    ``ScorecardUnitScoreDropped`` compares the score with its value an hour earlier, older than this Prometheus: its
    expression is checked without the ``offset``.
    """
    with_status = {k for unit in report.values() for k, r in unit["kpis"].items() if r["status"] != "no_data"}
    assert len(with_status) >= 10, with_status
    rules_dir = ROOT / "deploy/prometheus/rules"
    checked = 0
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                expr = rule["expr"].strip()
                prometheus.query(expr)  # parses (asserts success)
                name = rule.get("record") or rule["alert"]
                if name in ("ScorecardExporterDown", "ScorecardWorkerDown", "ScorecardDeadLetterSurge"):
                    continue
                match = COMPARISON.match(expr)
                watched = match.group("series") if "alert" in rule and match else expr
                if name == "ScorecardUnitScoreDropped":  # compares with the score a --drop-window ago: this
                    watched = re.sub(r" offset \w+", "", watched)  # Prometheus has minutes of history, not hours
                kpi = rule.get("labels", {}).get("kpi")
                if "alert" in rule and kpi is not None:
                    watched = FIRST_COMPARISON.split(expr, maxsplit=1)[0].strip().lstrip("(").strip()
                expected = kpi is None or kpi in with_status
                got = bool(prometheus.query(watched))
                assert got == expected, f"{path.name}: {name} ({kpi}): data {got}, expected {expected}: {watched}"
                checked += 1
    assert checked > 30


def check_red_flag_alert_fires_and_resolves(deployment: Deployment, prometheus: PrivatePrometheus) -> None:
    """(c) Cheap online baskets turn the KPI red and its alert fires; big ones bring it back and it resolves."""

    def firing() -> bool:
        return any(
            a["labels"].get("alertname") == "ScorecardKPIBreachedRedFlag"
            and a["labels"].get("unit") == RED_UNIT
            and a["labels"].get("kpi") == RED_KPI
            and a["state"] == "firing"
            for a in prometheus.alerts()
        )

    def status() -> float | None:
        found = prometheus.query(f'scorecard_kpi_status{{unit="{RED_UNIT}",kpi="{RED_KPI}"}}')
        return float(found[0]["value"][1]) if found else None

    assert status() == 2, "the KPI must start green for the test to mean anything"
    assert not firing()
    deployment.publish(orders(count=300, amount=1.0, tag="cheap"))
    wait_until(lambda: status() == 0, 60, f"{RED_KPI} at {RED_UNIT} red in Prometheus")
    wait_until(firing, 60, "ScorecardKPIBreachedRedFlag firing")
    deployment.publish(orders(count=3000, amount=500.0, tag="big"))
    wait_until(lambda: status() == 2, 60, f"{RED_KPI} at {RED_UNIT} green again")
    wait_until(lambda: not firing(), 60, "ScorecardKPIBreachedRedFlag resolved")


def check_dead_letter_surge_fires(deployment: Deployment, prometheus: PrivatePrometheus, published: int) -> None:
    """(d) Lines that are not JSON, a sixth of the input of the last minutes, fire ScorecardDeadLetterSurge.

    The not_json series first appears with its first dead letters, and ``increase()`` counts only what comes after
    a series' first sample: a few bad lines come first and are scraped, then the surge.
    """
    seen = 'scorecard_pipeline_dead_letters_total{reason="not_json"}'
    deployment.publish([b"not json %d" % i for i in range(5)])
    wait_until(lambda: bool(prometheus.query(seen)), 60, "the first not_json dead letters scraped")

    def surge() -> bool:
        return any(
            a["labels"].get("alertname") == "ScorecardDeadLetterSurge"
            and a["labels"].get("reason") == "not_json"
            and a["labels"].get("scorecard") == "ACME scorecard"
            and a["state"] == "firing"
            for a in prometheus.alerts()
        )

    assert not surge()
    deployment.publish([b"not json either %d" % i for i in range(published // 5)])
    wait_until(surge, 60, "ScorecardDeadLetterSurge firing")


def orders(count: int, amount: float, tag: str) -> list[bytes]:
    now = time.time()
    return [
        orjson.dumps(
            {
                "id": f"e2e-{tag}-{i}",
                "type": "order_completed",
                "unit": RED_UNIT,
                "time": now,
                "fields": {"amount": amount, "channel": "online"},
            }
        )
        for i in range(count)
    ]
