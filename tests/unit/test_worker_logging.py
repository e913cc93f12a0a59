"""``scorecard worker`` logs at the asked level only: no debug records built and dropped on the hot path."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from faust import Worker

from streams.offsets import ScorecardApp
from streams.worker import quiet_worker


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
    assert not debug_enabled_after_setup(quiet_worker(app, "warn"))
    assert logging.getLogger().level == logging.WARNING


@pytest.mark.usefixtures("restored_logging")
def test_faust_own_worker_does_which_is_what_quiet_worker_avoids() -> None:
    """If Faust stops raising the root level for its spinner, ``quiet_worker`` can go."""
    app = ScorecardApp("unit-worker-logging-faust", broker="kafka://127.0.0.1:1")
    assert debug_enabled_after_setup(Worker(app, loglevel="warn", quiet=True))
