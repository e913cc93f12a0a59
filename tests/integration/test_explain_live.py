"""`scorecard explain` live (Redis at --at, Prometheus' history at --since) prints what the replay of the same events
prints for the same times, byte for byte, on the real Kafka, Redis and Prometheus.

A worker of the test's own processes the events, an exporter serves them and a Prometheus of the test's own
(``deploy/local/services``, port 29190) scrapes it every second. The definition's windows are 30 s long, so both ends
of the explanation lie in windows of their own: batch A is timed in window W0 and batch B in W1. The earlier time T0
is 3 s before W0 ends; Prometheus' sample at T0 is then a scrape of W0 taken after A was processed (the test checks
that), and the replay evaluated at T0 sees A only (B's events lie in W1). T1 lies in W1, which Redis still holds.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import yaml

from scorecard.config import Settings
from scorecard.core.timeutil import format_time
from tests.integration.pipeline import Deployment, free_port, own_settings, run_services, wait_until

PROMETHEUS_PORT = 29190
WINDOW = 30
DEFINITION = f"""
name: Explain live
lateness: 1h
dedupe: 1h
perspectives:
  - {{id: financial, weight: 2}}
  - {{id: customer}}
org:
  id: shop
  children:
    - {{id: north, weight: 1}}
    - {{id: south, weight: 3}}
objectives:
  - {{id: sell, perspective: financial}}
  - {{id: please, perspective: customer}}
kpis:
  - id: revenue
    objective: sell
    aggregation: sum
    source: {{event: order, field: amount}}
    window: {{kind: tumbling, size: {WINDOW}s}}
    pace: none  # paced, its thresholds at T0 would be those of the scrape Prometheus kept, a moment off T0
    targets:
      north: {{goal: 100, red_flag: 50}}
      south: {{goal: 200, red_flag: 100}}
  - id: basket
    objective: sell
    aggregation: avg
    source: {{event: order, field: amount}}
    window: {{kind: tumbling, size: {WINDOW}s}}
    goal: 60
    red_flag: 20
  - id: csat
    objective: please
    aggregation: avg
    source: {{event: survey, field: rating}}
    window: {{kind: tumbling, size: {WINDOW}s}}
    goal: 4.5
    red_flag: 3
"""


def events(prefix: str, at: float, rows: list[tuple[str, str, str, float]]) -> list[bytes]:
    """Event lines timed ``at`` plus a few milliseconds each: (unit, type, field, value)."""
    return [
        orjson.dumps(
            {"id": f"{prefix}{n}", "type": kind, "unit": unit, "time": at + n / 1000, "fields": {field: value}}
        )
        for n, (unit, kind, field, value) in enumerate(rows)
    ]


BATCH_A = [
    ("north", "order", "amount", 60.0),
    ("north", "order", "amount", 50.0),
    ("south", "order", "amount", 150.0),
    ("north", "survey", "rating", 5.0),
    ("south", "survey", "rating", 3.0),
]
BATCH_B = [
    ("north", "order", "amount", 20.0),
    ("south", "order", "amount", 90.0),
    ("south", "order", "amount", 130.0),
    ("south", "survey", "rating", 4.0),
    ("south", "survey", "rating", 5.0),
]


@pytest.fixture
def deployment(settings: Settings, unique_name, tmp_path: Path) -> Iterator[Deployment]:
    definition = tmp_path / "explain.yaml"
    definition.write_text(DEFINITION)
    deployment = Deployment(own_settings(settings, unique_name), definition, tmp_path)
    yield deployment
    deployment.close()


@pytest.fixture
def exporter(deployment: Deployment) -> Iterator[int]:
    port = free_port()
    command = [sys.executable, "-m", "scorecard", "exporter", "--scorecard", str(deployment.scorecard_path)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = (deployment.workdir / "exporter.log").open("wb")
    process = subprocess.Popen(command, env=deployment.env(), stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/metrics"), 30, "the exporter's /metrics")
    yield port
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def prometheus(deployment: Deployment, exporter: int) -> Iterator[str]:
    workdir = deployment.workdir / "prometheus"
    workdir.mkdir()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "scorecard-exporter", "static_configs": [{"targets": [f"127.0.0.1:{exporter}"]}]}
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    env = {
        **deployment.env(),
        "SCORECARD_PROMETHEUS_URL": url,
        "SCORECARD_SERVICES_DIR": str(workdir / "services"),
        "SCORECARD_PROMETHEUS_CONFIG": str(workdir / "prometheus.yml"),
    }
    run_services(env, "up", "prometheus")
    yield url
    run_services(env, "down", "prometheus")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def _next_window() -> float:
    return (math.floor(time.time() / WINDOW) + 1) * WINDOW


def _scraped_at(prometheus: str, at: float) -> float | None:
    """The time of the scrape whose sample Prometheus answers with at ``at``."""
    query = urllib.parse.urlencode({"query": 'timestamp(scorecard_unit_score{unit="shop"})', "time": repr(at)})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query?{query}", timeout=10) as response:
        result = orjson.loads(response.read())["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def explain(deployment: Deployment, *args: str) -> bytes:
    command = [sys.executable, "-m", "scorecard", "explain", "--scorecard", str(deployment.scorecard_path)]
    done = subprocess.run([*command, *args], env=deployment.env(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_live_explain_equals_the_replay(deployment: Deployment, request: pytest.FixtureRequest) -> None:
    deployment.start_worker()
    published = events("warm", time.time() - 600, [("north", "order", "amount", 1.0)])
    deployment.publish(published)
    deployment.wait_for_events(len(published))  # the worker is up: batches below are processed within seconds
    prometheus: str = request.getfixturevalue("prometheus")
    wait_until(lambda: _scraped_at(prometheus, time.time()) is not None, 60, "Prometheus scraping the exporter")

    since = None
    for attempt in range(3):  # a window in which A is processed and scraped in time (the machine may be busy)
        start = _next_window()
        _sleep_until(start + 0.5)
        batch = events(f"a{attempt}-", start + 1, BATCH_A)
        deployment.publish(batch)
        published += batch
        deployment.wait_for_events(len(published))
        done = time.time()
        candidate = start + WINDOW - 3
        _sleep_until(candidate + 1.5)
        scraped = _scraped_at(prometheus, candidate)
        if scraped is not None and done < scraped <= candidate:
            since = candidate
            break
    assert since is not None, "batch A was never processed and scraped within its window"

    start = _next_window()
    _sleep_until(start + 0.5)
    batch = events("b-", start + 1, BATCH_B)
    deployment.publish(batch)
    published += batch
    deployment.wait_for_events(len(published))
    at = start + WINDOW - 3
    all_events = deployment.workdir / "events.jsonl"
    all_events.write_bytes(b"\n".join(published) + b"\n")

    times = ["--since", format_time(since), "--at", format_time(at), "--format", "json", "--top", "0"]
    for unit in ("shop", "north", "south"):
        replayed = explain(deployment, "--unit", unit, *times, "--events", str(all_events))
        live = explain(deployment, "--unit", unit, *times, "--prometheus-url", prometheus)
        assert live == replayed, (unit, live.decode(), replayed.decode())

    pages = []  # `report --since`: the same "What moved" sections live and from the replay
    for source in (["--events", str(all_events)], ["--prometheus-url", prometheus]):
        command = [sys.executable, "-m", "scorecard", "report", "--scorecard", str(deployment.scorecard_path)]
        command += ["--since", format_time(since), "--at", format_time(at), *source]
        done = subprocess.run(command, env=deployment.env(), capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        pages.append([part.split("</table>", 1)[0] for part in done.stdout.decode().split("What moved since")[1:]])
    assert pages[0] == pages[1] and len(pages[0]) == 3

    document = orjson.loads(replayed)  # the south store: something moved, for reasons the test can name
    assert document["delta"] != 0
    reasons = {r for p in document["perspectives"] for k in p["kpis"] for r in k["reasons"]}
    assert "value_changed" in reasons
    shop = orjson.loads(explain(deployment, "--unit", "shop", *times, "--events", str(all_events)))
    revenue = next(k for p in shop["perspectives"] for k in p["kpis"] if k["kpi"] == "revenue")
    assert {c["unit"] for c in revenue["children"]} == {"north", "south"}


def test_live_explain_errors_are_one_line(deployment: Deployment, settings: Settings) -> None:
    """No scorecard in Prometheus at --since, a matcher it refuses (exit 1), no Prometheus at all (exit 3): one line
    each."""
    deployment.store().mark_initialized()  # an (empty) live scorecard in Redis, as a started worker leaves it
    command = [sys.executable, "-m", "scorecard", "explain", "--scorecard", str(deployment.scorecard_path)]
    command += ["--unit", "shop", "--since", "2001-01-01T00:00:00Z"]
    cases = [
        ([], 1, "holds no scorecard series at 2001-01-01T00:00:00Z"),
        (["--prometheus-match", 'job="x" or'], 1, 'refused scorecard_kpi_value{job="x" or}: bad_data'),
        (
            ["--prometheus-url", "http://user:secret@127.0.0.1:1"],
            3,
            "cannot query Prometheus at http://user:***@127.0.0.1:1",
        ),
    ]
    for extra, code, message in cases:
        args = ["--prometheus-url", settings.prometheus_url, *extra]
        done = subprocess.run([*command, *args], env=deployment.env(), capture_output=True, text=True, timeout=60)
        assert done.returncode == code, (extra, done.stderr)
        assert message in done.stderr and len(done.stderr.splitlines()) == 1, (extra, done.stderr)
        assert "secret" not in done.stderr and done.stdout == ""
