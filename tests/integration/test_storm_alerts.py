"""No month-start alert storm: the six-hourly evaluations of a simulated November, through the real `promtool`.

``tests/unit/simulator/test_storm.py`` replays a month of steady simulated ACME events and evaluates the scorecard
every six hours; its paced KPIs of teams that end the month green are red in the first day or two (a few hours of
sales against a month's pace) and never after 10% of the month. Here those evaluations become the exporter's
recorded samples (``scorecard_kpi_status`` and ``scorecard_kpi_elapsed_ratio``, a sample and a rule evaluation
every 15 minutes, each evaluation held for its six hours, the first at 06:00 on the first of the month) for the
ACME alert rules generated now: no ``ScorecardKPIBreachedRedFlag`` fires for them at any point of the month. With
``--min-elapsed 0`` the same expectations fail, so the samples do hold the storm that the rules hold back. Fixed
dates: nothing depends on the day the test runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scorecard.contract import STATUS_CODES
from scorecard.outputs.rules import FILE_KPIS, RuleOptions
from tests.integration.test_alert_rules import EXPORTER, promtool, run, write_rules
from tests.paths import ACME
from tests.unit.simulator.test_storm import EVERY, green_at_month_end, month_of_evaluations

__all__ = ["promtool"]  # the session fixture, imported for the tests below

STEP = 15  # minutes between samples and between rule evaluations (a month of minutes takes promtool minutes)
SAMPLES = EVERY // 60 // STEP


def _held(values: list[str]) -> str:
    """Each evaluation's value held for its six hours, a sample every STEP minutes (``_`` for no sample)."""
    return " ".join(f"{value}x{SAMPLES - 1}" for value in values)


def recorded_samples() -> list[dict[str, str]]:
    scorecard, reports = month_of_evaluations()
    inputs = []
    for unit, kpi_id in green_at_month_end():
        kpi = scorecard.kpi(kpi_id)
        objective = kpi.objective or ""
        perspective = scorecard.objective(objective).perspective if objective else ""
        labels = f'{EXPORTER},unit="{unit}",kpi="{kpi_id}",perspective="{perspective}",objective="{objective}"'
        results = [report["units"][unit]["kpis"][kpi_id] for _, report in reports]
        statuses = [str(STATUS_CODES[r["status"]]) if r["status"] in STATUS_CODES else "_" for r in results]
        inputs.append({"series": f"scorecard_kpi_status{{{labels}}}", "values": _held(statuses)})
        inputs.append(
            {
                "series": f"scorecard_kpi_elapsed_ratio{{{labels}}}",
                "values": _held([repr(r["elapsed"]) for r in results]),
            }
        )
    return inputs


def no_red_alert_all_month() -> list[dict[str, Any]]:
    _, reports = month_of_evaluations()
    cases = [
        {
            "eval_time": f"{(index * SAMPLES + sample) * STEP}m",
            "alertname": "ScorecardKPIBreachedRedFlag",
            "exp_alerts": [],
        }
        for index in range(len(reports))
        for sample in (1, SAMPLES - 1)  # once `for` (5m) has passed, and at the end of each six hours
    ]
    return [{"interval": f"{STEP}m", "input_series": recorded_samples(), "alert_rule_test": cases}]


def test_no_red_flag_alert_for_a_month_of_steady_green_teams(promtool: str, tmp_path: Path) -> None:
    write_rules(tmp_path, ACME)
    test_file = tmp_path / "rules-test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [FILE_KPIS], "evaluation_interval": f"{STEP}m", "tests": no_red_alert_all_month()}
        )
    )
    result = run(promtool, "test", "rules", str(test_file), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_the_wait_the_same_month_fires_red_flag_alerts_at_its_start(promtool: str, tmp_path: Path) -> None:
    write_rules(tmp_path, ACME, RuleOptions(min_elapsed=0.0))
    test_file = tmp_path / "rules-test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [FILE_KPIS], "evaluation_interval": f"{STEP}m", "tests": no_red_alert_all_month()}
        )
    )
    result = run(promtool, "test", "rules", str(test_file), cwd=tmp_path)
    assert result.returncode != 0
    assert (
        f"alertname: ScorecardKPIBreachedRedFlag, time: {STEP}m" in result.stdout + result.stderr
    )  # the first evaluation
