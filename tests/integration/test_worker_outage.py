"""A worker whose Kafka goes away: it still stops when told to, and its log stays readable.

The Kafka here is a private one (own ports and data, started and stopped with ``deploy/local/services``), so taking
it down disturbs no other test. Before ``ScorecardWorker``, such a worker ignored SIGTERM for as long as Kafka stayed
down (4 of 4 runs with a fresh topic) while aiokafka logged the same connection errors hundreds to thousands of times
a second.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scorecard.config import Settings
from streams.worker import EXIT_WITHOUT_COMMIT
from tests.integration.pipeline import ACME, ACME_EVENTS, Deployment, free_port, own_settings, run_services

STOP_TIMEOUT_S = 5.0
DOWN_S = 8.0  # how long the worker runs without Kafka before it is told to stop


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(
        os.environ,
        SCORECARD_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        SCORECARD_KAFKA_CONTROLLER_PORT=str(free_port()),
        SCORECARD_SERVICES_DIR=str(tmp_path / "services"),
    )
    run_services(env, "up", "kafka", timeout=180)
    yield env
    run_services(env, "down", "kafka")


def test_a_worker_stops_within_its_stop_timeout_while_kafka_is_down(
    private_kafka: dict[str, str], settings: Settings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    mine = own_settings(settings, unique_name, kafka_bootstrap=private_kafka["SCORECARD_KAFKA_BOOTSTRAP"])
    deployment = Deployment(mine, ACME, tmp_path)
    lines = [line for line in ACME_EVENTS.read_bytes().splitlines() if line.strip()][:500]
    try:
        worker = deployment.start_worker("outage", SCORECARD_STOP_TIMEOUT=str(STOP_TIMEOUT_S))
        deployment.publish(lines)
        deployment.wait_for_events(len(lines))

        run_services(private_kafka, "down", "kafka")
        time.sleep(DOWN_S)
        os.killpg(worker.process.pid, signal.SIGTERM)
        told = time.monotonic()
        try:
            status = worker.process.wait(timeout=STOP_TIMEOUT_S + 15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker still runs {STOP_TIMEOUT_S + 15:g} s after SIGTERM:\n{worker.log()}")
        took = time.monotonic() - told

        log = worker.log_path.read_text(errors="replace")
        assert status in (0, EXIT_WITHOUT_COMMIT), f"exit status {status}:\n{worker.log()}"
        if status == EXIT_WITHOUT_COMMIT:
            assert f"did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM" in log
        assert took < STOP_TIMEOUT_S + 5, f"stopping took {took:.1f} s"
        # aiokafka's connection errors: each kind at most once per 10 s window (plus the few before Kafka went away).
        errors = re.findall(r"\[(?:ERROR|WARNING)\] (?:Unable connect|Unable to update metadata|Failed fetch)", log)
        assert len(errors) <= 30, f"{len(errors)} aiokafka connection errors logged in {DOWN_S + took:.0f} s"
    finally:
        for each in deployment.workers:
            each.kill()
        deployment.store().reset()
