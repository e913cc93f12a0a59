"""``scorecard simulate`` writing to a file (the Kafka path is in tests/integration/test_simulate_command.py): the
summary counts what was written, a fixed start reproduces a run, SIGTERM and SIGINT end an endless run cleanly, bad
options are refused by name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.timeutil import TimeFormatError, parse_time
from tests.paths import REPO

ACME = str(REPO / "examples" / "acme.yaml")
SCORECARD = str(Path(sys.executable).with_name("scorecard"))


def sent(output: str) -> int:
    match = re.search(r"^sent (\d+) events to ", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def test_fixed_start_reproduces_the_file_and_the_summary_counts_it(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["simulate", "--scorecard", ACME, "--backfill", "1d", "--rate", "0", "--start", "2026-11-25T10:00:00Z"]
    first = runner.invoke(main, [*args, "--out", str(tmp_path / "a.jsonl")])
    second = runner.invoke(main, [*args, "--out", str(tmp_path / "b.jsonl")])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    data = (tmp_path / "a.jsonl").read_bytes()
    assert data == (tmp_path / "b.jsonl").read_bytes()
    lines = data.splitlines()
    assert len(lines) == sent(first.stdout) > 500
    times = [orjson.loads(line).get("time") for line in lines]
    readable = [t for t in times if isinstance(t, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]+Z", t)]
    assert len(readable) > 0.99 * len(lines)  # the rest are the invalid events' bad times
    assert max(readable) < "2026-11-25T10:00:00Z"  # history only: --rate 0 has no live phase
    assert "backfill: " in first.stdout and "trend: line-availability-floor at ops-plant-" in first.stdout


def test_a_live_phase_in_the_past_is_caught_up_at_once(tmp_path: Path) -> None:
    out = tmp_path / "live.jsonl"
    start = str(time.time() - 3600)
    args = ["simulate", "--scorecard", ACME, "--rate", "50", "--duration", "4s", "--start", start, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert sent(result.stdout) == 200 == len(out.read_bytes().splitlines())
    assert "live: 200 events in 4.0s (50.0 events/s; asked for 50)" in result.stdout


def live_events(path: Path, start: float) -> int:
    """How many events of the simulator's output are live ones (dated at or after the live phase's start)."""
    if not path.exists():
        return 0
    count = 0
    for line in path.read_bytes().splitlines():
        try:
            count += parse_time(orjson.loads(line)["time"]) >= start
        except (orjson.JSONDecodeError, KeyError, TypeError, TimeFormatError):
            continue  # a line being written, or one of the simulator's invalid events
    return count


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_endless_run_stops_cleanly_on_a_signal(tmp_path: Path, signum: signal.Signals) -> None:
    out = tmp_path / "events.jsonl"
    start = float(int(time.time()))
    command = [SCORECARD, "simulate", "--scorecard", ACME, "--backfill", "1d", "--rate", "100", "--duration", "0"]
    process = subprocess.Popen(
        [*command, "--start", str(start), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 120  # generous: a loaded machine is slow, never wrong
        while live_events(out, start) < 10:  # the backfill is written and the live phase is running
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no live event written within 120 s"
            time.sleep(0.2)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:  # a failed wait must not leave an endless simulator behind
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    summary = stdout.decode()
    assert f"stopped by {signum.name}" in summary
    assert sent(summary) == len(out.read_bytes().splitlines())
    assert re.search(r"^live: [1-9]\d* events in ", summary, re.MULTILINE), summary
    assert "until Ctrl-C or SIGTERM" in stderr.decode()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--duration", "5x", "Invalid value for --duration: expected a duration like 30s"),
        ("--backfill", "-3d", "Invalid value for --backfill"),
        ("--start", "yesterday", "Invalid value for --start"),
        ("--rate", "-1", "Invalid value for '--rate'"),
        ("--late-rate", "2", "Invalid value for '--late-rate'"),
    ],
)
def test_bad_options_are_refused_by_name(tmp_path: Path, option: str, value: str, message: str) -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--scorecard", ACME, "--out", str(tmp_path / "x.jsonl"), option, value]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.jsonl").exists()


def test_trend_kpi_names_the_paced_trend_and_refuses_an_unknown_kpi(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["simulate", "--scorecard", ACME, "--backfill", "1d", "--rate", "0", "--start", "2026-11-25T10:00:00Z"]
    chosen = runner.invoke(main, [*args, "--trend-kpi", "urgent-tickets", "-o", str(tmp_path / "a.jsonl")])
    assert chosen.exit_code == 0, chosen.output
    assert "trend: urgent-tickets at " in chosen.stdout and "(count, paced): " in chosen.stdout
    unknown = runner.invoke(main, [*args, "--trend-kpi", "bogus\x1b[31m", "-o", str(tmp_path / "b.jsonl")])
    assert unknown.exit_code == 2
    assert "Invalid value for '--trend-kpi': no KPI 'bogus\\x1b[31m' in the definition" in unknown.output
    assert "Traceback" not in unknown.output
    batch = runner.invoke(main, [*args[:3], "--days", "1", "--trend-kpi", "revenue", "-o", str(tmp_path / "c.jsonl")])
    assert batch.exit_code == 2 and "--trend-kpi: only for the live simulation, not with --days" in batch.output
