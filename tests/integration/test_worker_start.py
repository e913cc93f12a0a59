"""A worker started before its Kafka (a compose stack or a machine coming up together): it waits with a clear log
line instead of exiting, and once the broker is up it creates its topics and processes events like any worker.

The Kafka here is a private one (own ports and data), started by ``deploy/local/services`` only after the worker, and
stopped at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scorecard.config import Settings
from tests.integration.pipeline import Deployment, free_port, own_settings, run_services, wait_until
from tests.paths import ACME


@pytest.fixture
def kafka_later(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a private Kafka that is not started yet; stopped at the end if the test started it."""
    env = dict(
        os.environ,
        SCORECARD_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        SCORECARD_KAFKA_CONTROLLER_PORT=str(free_port()),
        SCORECARD_SERVICES_DIR=str(tmp_path / "services"),
    )
    yield env
    run_services(env, "down", "kafka")


def test_a_worker_started_before_kafka_waits_for_it_then_works(
    kafka_later: dict[str, str],
    settings: Settings,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    recent_acme_events: Path,
) -> None:
    mine = own_settings(settings, unique_name, kafka_bootstrap=kafka_later["SCORECARD_KAFKA_BOOTSTRAP"])
    deployment = Deployment(mine, ACME, tmp_path)
    lines = [line for line in recent_acme_events.read_bytes().splitlines() if line.strip()][:300]
    try:
        started = time.monotonic()
        worker = deployment.start_worker("early", SCORECARD_KAFKA_WAIT="600")
        waiting = f"Kafka at {mine.kafka_bootstrap} not reachable yet"
        wait_until(lambda: waiting in worker.log() or not worker.alive(), 60, "the worker's waiting line")
        assert worker.alive(), worker.log()

        run_services(kafka_later, "up", "kafka", timeout=180)
        wait_until(lambda: "answered after" in worker.log() or not worker.alive(), 120, "the worker to see Kafka")
        waited = time.monotonic() - started
        assert worker.alive(), worker.log()
        deployment.publish(lines)
        deployment.wait_for_events(len(lines))
        log = worker.log_path.read_text(errors="replace")
        assert 1 <= log.count("not reachable yet") <= 1 + waited // 30  # once per 30 s, never once per attempt
        assert "Traceback" not in log
    finally:
        deployment.close()
