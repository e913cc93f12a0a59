"""`scorecard worker` logging: the asked level only (no debug records built and dropped); aiokafka repeats held."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from faust import Worker

from streams.faust_fixes.offsets import ScorecardApp
from streams.faust_fixes.runner import RepeatedRecords, ScorecardWorker


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Faust's logging set-up replaces the root handlers and level, and redirects stdout; put them back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stdout, stderr = sys.stdout, sys.stderr
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.stdout, sys.stderr = stdout, stderr


def debug_enabled_after_setup(worker: Worker) -> bool:
    worker._setup_logging()
    return logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)


@pytest.mark.usefixtures("restored_logging")
def test_the_worker_does_not_enable_debug_logging_at_warn() -> None:
    app = ScorecardApp("unit-worker-logging", broker="kafka://127.0.0.1:1")
    worker = ScorecardWorker(app, loglevel="warn", stop_timeout=15)
    assert not debug_enabled_after_setup(worker)
    assert logging.getLogger().level == logging.WARNING
    assert all(any(isinstance(f, RepeatedRecords) for f in h.filters) for h in logging.getLogger().handlers)


@pytest.mark.usefixtures("restored_logging")
def test_faust_own_worker_does_which_is_what_the_scorecard_worker_avoids() -> None:
    """If Faust stops raising the root level for its spinner, dropping the spinner is no longer needed."""
    app = ScorecardApp("unit-worker-logging-faust", broker="kafka://127.0.0.1:1")
    assert debug_enabled_after_setup(Worker(app, loglevel="warn", quiet=True))


def record(name: str, msg: str, level: int = logging.ERROR, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeated_aiokafka_errors_pass_once_per_window_then_say_how_many_were_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr("streams.faust_fixes.runner.time.monotonic", lambda: clock[0])
    repeats = RepeatedRecords(window=10)
    template = "Unable connect to node with id %s: %s"
    passed = [repeats.filter(record("aiokafka.client", template, logging.ERROR, 1, "refused")) for _ in range(500)]
    assert passed.count(True) == 1
    clock[0] += 10.5
    summary = record("aiokafka.client", template, logging.ERROR, 1, "refused")
    assert repeats.filter(summary)
    assert "499 more like it in the last 10 s" in summary.getMessage()
    assert summary.getMessage().startswith("Unable connect to node with id 1: refused")


def test_other_kinds_and_other_loggers_pass_untouched() -> None:
    repeats = RepeatedRecords(window=10)
    assert repeats.filter(record("aiokafka.client", "Unable to update metadata from %s"))
    assert repeats.filter(record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s"))
    for _ in range(3):
        assert repeats.filter(record("scorecard.worker", "resynced %d own states"))
        assert repeats.filter(record("aiokafka.client", "Connecting", logging.INFO))
