"""The scrape job names of scorecard/contract.py are those the committed Prometheus configs give their jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scorecard.contract import EXPORTER_JOB, WORKER_JOB

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_prometheus_configs_scrape_the_contract_jobs(config: str) -> None:
    document = yaml.safe_load((ROOT / "deploy" / "prometheus" / config).read_text(encoding="utf-8"))
    jobs = {scrape["job_name"] for scrape in document["scrape_configs"]}
    assert {EXPORTER_JOB, WORKER_JOB} <= jobs, f"{config} scrapes {sorted(jobs)}"
