"""Run the Faust worker for one scorecard (``scorecard worker``): create the topics, then hand over to Faust.

``ScorecardWorker`` is Faust's worker with three changes an operator notices:

- **No terminal spinner.** To advance it on every log call, Faust keeps the root logger at DEBUG for the worker's
  whole life, so every debug call of aiokafka and Faust built a record only to drop it: about 10% of a worker's
  throughput (docs/benchmarks.md).
- **A bounded stop.** Faust's stop waits for the in-flight events and commits; while Kafka is unreachable that
  never ends, and further signals are ignored. After ``stop_timeout`` seconds (or at a second signal) the worker
  exits with status 70 without a final commit. Nothing is lost: the next start re-reads from the last committed
  offsets, and the applied offsets in every unit record make that re-read harmless (the SIGKILL tests prove it).
- **aiokafka's repeated errors summarised.** While Kafka is down aiokafka logs the same connection errors up to
  thousands of times a second (44 MB in one minute, seen here); ``RepeatedRecords`` lets each message through once
  per ``REPEAT_WINDOW_S`` and says how many were held back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from typing import Any

import mode.loop
from faust import Worker

from scorecard.config import Settings
from scorecard.core.definition import load_scorecard
from streams.app import create_app
from streams.metrics import PipelineMetrics
from streams.topics import TopicNames, ensure_topics

log = logging.getLogger("scorecard.worker")

EXIT_WITHOUT_COMMIT = 70
"""Exit status of a worker that stopped without committing (as ``streams.app._fail_stop``): it resumes from the
last committed offsets."""

REPEAT_WINDOW_S = 10.0


def run_worker(
    settings: Settings,
    scorecard_path: str,
    *,
    loglevel: str = "warn",
    store: str = "memory://",
    metrics_port: int = 0,
    metrics_host: str = "0.0.0.0",
    session_timeout: float = 30.0,
    commit_interval: float = 2.8,
    stop_timeout: float = 15.0,
) -> None:
    """Block until the worker is stopped (SIGTERM / Ctrl-C); ``metrics_port`` 0 serves no pipeline metrics.

    The metrics server is bound before Kafka is touched, so a taken port or a wrong ``metrics_host`` fails at once
    (``OSError``)."""
    scorecard = load_scorecard(scorecard_path)
    metrics = PipelineMetrics()
    if metrics_port:
        metrics.serve(metrics_port, metrics_host)
    asyncio.run(ensure_topics(settings, TopicNames.from_settings(settings)))
    # uvloop: Faust's per-message machinery (queues, futures, tasks) is most of a worker's CPU; uvloop cuts it.
    mode.loop.use("uvloop")
    app, _pipeline = create_app(
        settings,
        scorecard,
        store=store,
        metrics=metrics,
        session_timeout=session_timeout,
        commit_interval=commit_interval,
    )
    ScorecardWorker(app, loglevel=loglevel, stop_timeout=stop_timeout).execute_from_commandline()


class ScorecardWorker(Worker):
    """Faust's worker without its spinner, with a bounded stop and aiokafka's repeats summarised (module docstring)."""

    def __init__(self, app: Any, *, loglevel: str, stop_timeout: float) -> None:
        super().__init__(app, loglevel=loglevel, quiet=True)
        self.spinner = None
        self.stop_timeout = stop_timeout
        self._stopping = False

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        repeats = RepeatedRecords(REPEAT_WINDOW_S)  # one for all handlers: it rewrites the records it lets through
        for handler in logger.handlers:
            handler.addFilter(repeats)

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._stopping:
            self._give_up(f"{signum.name} again while stopping")
        self._stopping = True
        why = f"the worker did not stop within {self.stop_timeout:g} s of {signum.name} (Kafka or Redis unreachable?)"
        timer = threading.Timer(self.stop_timeout, self._give_up, (why,))
        timer.daemon = True
        timer.start()
        super()._schedule_shutdown(signum)

    def _give_up(self, why: str) -> None:
        log.critical(
            "%s: exiting without a final commit; the next start re-reads from the last committed offsets, which the "
            "unit records' applied offsets make harmless",
            why,
        )
        logging.shutdown()
        os._exit(EXIT_WITHOUT_COMMIT)


class RepeatedRecords(logging.Filter):
    """Let each aiokafka warning or error through once per ``window`` seconds; note how many were held back.

    Records are told apart by logger and message template (``record.msg``, before its arguments), so "Unable
    connect to node with id 1" for every retry is one kind. Other loggers pass untouched.
    """

    def __init__(self, window: float) -> None:
        super().__init__()
        self.window = window
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # kind -> (last let through, held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka") or record.levelno < logging.WARNING:
            return True
        kind = (record.name, str(record.msg))
        now = time.monotonic()
        with self._lock:
            last, held = self._seen.get(kind, (-self.window, 0))
            if now - last < self.window:
                self._seen[kind] = (last, held + 1)
                return False
            self._seen[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {now - last:.0f} s, not logged)"
        return True
