"""A worker whose Kafka goes away: it still stops when told to, and its log stays readable.

The Kafka here is a private one (own ports and data, started and stopped with ``deploy/local/services``), so taking
it down disturbs no other test. Before ``ScorecardWorker``, such a worker ignored SIGTERM for as long as Kafka stayed
down (4 of 4 runs with a fresh topic) while aiokafka logged the same connection errors hundreds to thousands of times
a second.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scorecard.config import Settings
from streams.faust_fixes.runner import EXIT_WITHOUT_COMMIT
from tests.integration.pipeline import Deployment, free_port, own_settings, run_services
from tests.paths import ACME

STOP_TIMEOUT_S = 5.0
STOP_WITHIN_S = STOP_TIMEOUT_S + 40  # generous for a loaded machine; without ScorecardWorker it never stopped
DOWN_S = 8.0  # how long the worker runs without Kafka before it is told to stop
AIOKAFKA_ERRORS = ("Unable connect", "Unable to update metadata", "Failed fetch")
BEFORE_DOWN = 10  # errors a worker may log before its Kafka is gone (a stop of the broker is not instantaneous)


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
    private_kafka: dict[str, str],
    settings: Settings,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    recent_acme_events: Path,
) -> None:
    mine = own_settings(settings, unique_name, kafka_bootstrap=private_kafka["SCORECARD_KAFKA_BOOTSTRAP"])
    deployment = Deployment(mine, ACME, tmp_path)
    lines = [line for line in recent_acme_events.read_bytes().splitlines() if line.strip()][:500]
    try:
        worker = deployment.start_worker("outage", SCORECARD_STOP_TIMEOUT=str(STOP_TIMEOUT_S))
        deployment.publish(lines)
        deployment.wait_for_events(len(lines))

        run_services(private_kafka, "down", "kafka")
        down_at = time.monotonic()
        time.sleep(DOWN_S)
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            status = worker.process.wait(timeout=STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker still runs {STOP_WITHIN_S:g} s after SIGTERM:\n{worker.log()}")

        log = worker.log_path.read_text(errors="replace")
        assert status in (0, EXIT_WITHOUT_COMMIT), f"exit status {status}:\n{worker.log()}"
        if status == EXIT_WITHOUT_COMMIT:
            assert f"did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM" in log
        # aiokafka's connection errors: each kind at most once per 10 s window, whatever the time the run took (a
        # loaded machine is slow, not wrong), plus the few logged before Kafka went away. Unfiltered it was hundreds
        # to thousands a second.
        errors = re.findall(rf"\[(?:ERROR|WARNING)\] (?:{'|'.join(AIOKAFKA_ERRORS)})", log)
        windows = math.ceil((time.monotonic() - down_at) / 10) + 1
        allowed = len(AIOKAFKA_ERRORS) * windows + BEFORE_DOWN
        assert len(errors) <= allowed, f"{len(errors)} aiokafka connection errors logged in {windows} 10-s windows"
    finally:
        for each in deployment.workers:
            each.kill()
        deployment.store().reset()
