"""Each exit code of the table in docs/cli.md is what the commands return, and services that cannot be reached are one
line on stderr, never a traceback.

Unreachable services are real closed ports (a socket bound but not listening refuses every connection), so these tests
need no running Kafka or Redis and still go through the real clients.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.cli.shape import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from streams.faust_fixes.runner import EXIT_WITHOUT_COMMIT
from tests.paths import ACME, ACME_EVENTS, DEFINITIONS, REPO


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port where nothing listens, reserved for the test (bound, never listening: connections are refused)."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield reserved.getsockname()[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``scorecard`` process: what a shell or CI job sees (exit status, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "scorecard", *args], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_the_documented_table_is_the_codes_the_cli_defines() -> None:
    table = (REPO / "docs" / "cli.md").read_text(encoding="utf-8").split("## Exit codes", 1)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert documented == {EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_WITHOUT_COMMIT}
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_WITHOUT_COMMIT) == (0, 1, 2, 3, 70)


# ----------------------------------------------------------------------------------------------------------- 0, 1
def test_0_done_and_1_invalid_definition() -> None:
    assert CliRunner().invoke(main, ["validate", "-s", str(ACME)]).exit_code == EXIT_OK
    invalid = CliRunner().invoke(main, ["report", "-s", str(DEFINITIONS / "many_problems.yaml")])
    assert invalid.exit_code == EXIT_FAILED and "is not a valid scorecard" in invalid.stderr


def test_replay_fails_on_invalid_events_only_when_asked(tmp_path: Path) -> None:
    args = ["replay", "-s", str(ACME), str(ACME_EVENTS), "--format", "json"]
    plain = CliRunner().invoke(main, args)
    assert plain.exit_code == EXIT_OK and "20 invalid events:" in plain.stderr
    failing = CliRunner().invoke(main, [*args, "--fail-on-invalid"])
    assert failing.exit_code == EXIT_FAILED
    assert failing.stdout == plain.stdout  # the scorecard is still printed
    assert failing.stderr.endswith("20 invalid events: failing (--fail-on-invalid)\n")
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"".join(ACME_EVENTS.read_bytes().splitlines(keepends=True)[:30]))
    assert CliRunner().invoke(main, ["replay", "-s", str(ACME), str(clean), "--fail-on-invalid"]).exit_code == EXIT_OK


def test_1_stale_generated_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dashboards", "-s", str(ACME), "-o", str(tmp_path), "--check"])
    assert result.exit_code == EXIT_FAILED and "is missing or stale" in result.stderr


# -------------------------------------------------------------------------------------------------------------- 2
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["valdate"], "did you mean validate?"),
        (["replay", "-s", str(ACME), str(ACME_EVENTS), "--bogus"], "No such option: --bogus"),
        (["board", "-s", str(ACME), "--duration", "1.5h"], "Invalid value for --duration"),
        (["status"], "no scorecard definition"),
    ],
)
def test_2_bad_command_line(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORECARD_DEFINITION", raising=False)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_USAGE and message in result.stderr


# -------------------------------------------------------------------------------------------------------------- 3
@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["publish", str(ACME_EVENTS)], "cannot publish to topic scorecard.events at Kafka"),
        (["worker", "-s", str(ACME), "--metrics-port", "0"], "cannot start the worker on topic scorecard.events"),
        (["simulate", "-s", str(ACME), "--days", "1", "--start", "2026-11-01T00:00:00Z"], "cannot send to topic"),
    ],
)
def test_3_kafka_unreachable_is_one_line(closed_port: int, command: list[str], said: str) -> None:
    result = run(*command, "--kafka-bootstrap", f"127.0.0.1:{closed_port}")
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert said in line and "no broker reachable there (is Kafka running?" in line
    if command[0] != "simulate":  # simulate first says what it is about to send
        one_line(result.stderr)
    assert "Traceback" not in result.stderr and "Unable connect" not in result.stderr


@pytest.mark.parametrize("command", ["status", "report"])
def test_3_redis_unreachable_is_one_line(closed_port: int, command: str) -> None:
    result = run(command, "-s", str(ACME), "--redis-url", f"redis://127.0.0.1:{closed_port}/0")
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert one_line(result.stderr).startswith(
        f"cannot read the live scorecard: Redis at redis://127.0.0.1:{closed_port}"
    )


def test_3_no_sentinel_answering_is_one_short_line(closed_port: int) -> None:
    result = run("status", "-s", str(ACME), "--redis-sentinels", f"127.0.0.1:{closed_port}")
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(
        f"cannot read the live scorecard: Redis at primary 'mymaster' of Sentinels 127.0.0.1:{closed_port}"
    )
    assert "no Sentinel answered with a reachable primary" in line and len(line) < 300


# ------------------------------------------------------------------------------------------------------------- 70
def test_70_the_worker_stopping_without_its_commit() -> None:
    code = "\n".join(
        [
            "from streams.pipeline import fail_stop",
            "try:",
            "    raise RuntimeError('boom')",
            "except RuntimeError:",
            "    fail_stop('a batch failed')",
        ]
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == EXIT_WITHOUT_COMMIT
    assert "stopping the worker so that it resumes from the committed offsets" in result.stderr
