"""`make demo` end to end: deploy/local/demo against the real services, as a user runs it, then Ctrl-C.

One run of the demo (non-interactive: stdout is a file) is watched from outside, the way a person would check it:
the board prints live numbers, the exporter serves KPI values, the demo's own Prometheus fires a
ScorecardKPIBreachedRedFlag alert (the simulator makes some units red from the start and the demo's rules use
``for: 1m``), and after SIGINT to the demo's process group (what Ctrl-C does) nothing the demo started is left
running.

The suite's Kafka and Redis are already running (make test), so the demo must reuse them and leave them running;
the suite's Prometheus holds port 9090, so the demo's runs on another port, which the test reads from its output.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.paths import REPO as ROOT

DEMO = ROOT / "deploy" / "local" / "demo"
# Limits on waits for a condition, generous because a loaded 2-core machine is slow, never wrong: each wait ends as
# soon as its condition holds (about 20 s to a live frame and 90 s to a firing alert on a quiet machine).
LIVE_WITHIN = 240.0
ALERT_WITHIN = 480.0
STOP_WITHIN = 120.0


class DemoRun:
    """The demo process, its output file and what it printed so far."""

    def __init__(self, process: subprocess.Popen[bytes], output: Path, demo_dir: Path, started: float) -> None:
        self.process = process
        self.output = output
        self.demo_dir = demo_dir
        self.started = started

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for(self, check: Callable[[], Any], within: float, what: str) -> Any:
        """Poll ``check`` until it returns something truthy, ``within`` seconds from the demo's start."""
        while time.monotonic() - self.started < within:
            found = check()
            if found:
                return found
            assert self.alive(), f"the demo exited (code {self.process.returncode}) before {what}:\n{self.text()}"
            time.sleep(1.0)
        raise AssertionError(f"no {what} within {within:.0f}s of the demo's start. Demo output:\n{self.text()}")

    def interrupt(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGINT)


@pytest.fixture
def demo(tmp_path: Path, kafka_bootstrap: str, redis_client: redis.Redis) -> Iterator[DemoRun]:
    """Start the demo in its own process group with a private DEMO_DIR; Ctrl-C it at the end whatever happened."""
    demo_dir = tmp_path / "demo"
    output = tmp_path / "demo-output.txt"
    env = {**os.environ, "DEMO_DIR": str(demo_dir), "DEMO_DURATION": str(ALERT_WITHIN + 60)}
    with output.open("wb") as out:
        process = subprocess.Popen(
            [str(DEMO)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = DemoRun(process, output, demo_dir, time.monotonic())
    yield run
    if run.alive():
        run.interrupt()
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def _live_rate(text: str) -> float | None:
    """The first positive events/s of a board frame that also counts events, else None."""
    for rate, total in re.findall(r"events/s ([\d,.]+)\s+events ([\d,]+)", text):
        if float(rate.replace(",", "")) > 0 and int(total.replace(",", "")) > 0:
            return float(rate.replace(",", ""))
    return None


def _firing_red_flags(prometheus: str) -> list[dict[str, Any]]:
    body = _get(f"{prometheus}/api/v1/alerts")
    if not body:
        return []
    alerts = json.loads(body)["data"]["alerts"]
    return [
        a for a in alerts if a["labels"].get("alertname") == "ScorecardKPIBreachedRedFlag" and a["state"] == "firing"
    ]


def _started_pids(text: str) -> dict[int, str]:
    """Every process the demo said it started: its own ("started worker (pid 12)") and services ("... started (pid")."""
    pids = {int(pid): name for name, pid in re.findall(r"demo: started (\S+) \(pid (\d+)\)", text)}
    pids |= {int(pid): name for name, pid in re.findall(r"services: (\S+) started \(pid (\d+)\)", text)}
    return pids


def _processes_mentioning(path: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(path) in command:
                found.append(f"{entry.name}: {command}")
    return found


def test_demo_goes_live_fires_an_alert_and_stops_everything_on_ctrl_c(demo: DemoRun) -> None:
    rate = demo.wait_for(lambda: _live_rate(demo.text()), LIVE_WITHIN, "board frame with a live events/s")
    assert rate > 0

    text = demo.text()
    exporter = re.search(r"exporter metrics\s+(http://\S+)", text)
    prometheus = re.search(r"Prometheus alerts\s+(http://\S+)/alerts", text)
    assert exporter and prometheus, f"the demo did not print its URLs:\n{text}"
    metrics = _get(exporter.group(1))
    values = [line for line in metrics.splitlines() if line.startswith("scorecard_kpi_value{")]
    assert values, f"no scorecard_kpi_value samples at {exporter.group(1)}:\n{metrics[:2000]}"

    firing = demo.wait_for(
        lambda: _firing_red_flags(prometheus.group(1)), ALERT_WITHIN, "firing ScorecardKPIBreachedRedFlag"
    )
    assert all(alert["labels"]["severity"] == "warning" for alert in firing)  # business KPIs page nobody

    started = _started_pids(demo.text())
    assert {"worker", "exporter", "simulator", "prometheus"} <= set(started.values()), demo.text()
    demo.interrupt()
    demo.process.wait(timeout=STOP_WITHIN)
    text = demo.text()
    assert demo.process.returncode == 0, text
    assert "everything the demo started is stopped" in text, text
    left = [f"{name} (pid {pid})" for pid, name in started.items() if _alive(pid)]
    assert not left, f"still running after the demo stopped: {left}\n{text}"
    assert not _processes_mentioning(demo.demo_dir), _processes_mentioning(demo.demo_dir)
    # The suite's own Kafka and Redis were reused, so they must still be running.
    assert "kafka already running" in text and "redis already running" in text


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
