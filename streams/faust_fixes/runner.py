"""Faust's worker (the process around the app), with three changes an operator notices.

- **No terminal spinner.** To advance it on every log call, Faust keeps the root logger at DEBUG for the worker's
  whole life, so every debug call of aiokafka and Faust built a record only to drop it (docs/benchmarks.md measures
  what that cost).
- **A bounded stop.** Faust's stop waits for the in-flight events and commits; while Kafka is unreachable that
  never ends, and further signals are ignored. After ``stop_timeout`` seconds (or at a second signal) the worker
  exits with ``EXIT_WITHOUT_COMMIT`` without a final commit. Nothing is lost: the next start re-reads from the last
  committed offsets, and the applied offsets in every unit record make that re-read harmless (the SIGKILL tests
  prove it).
- **aiokafka's repeated errors summarised.** While Kafka is down aiokafka logs the same connection errors up to
  thousands of times a second; ``RepeatedRecords`` lets each message through once per ``REPEAT_WINDOW_S`` and says
  how many were held back.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from faust import Worker

__all__ = ["EXIT_WITHOUT_COMMIT", "REPEAT_WINDOW_S", "RepeatedRecords", "ScorecardWorker"]

log = logging.getLogger("scorecard.worker")

EXIT_WITHOUT_COMMIT = 70
"""Exit status of a worker that stopped without committing (a bounded stop, or ``streams.pipeline.fail_stop``): the
next start resumes from the last committed offsets."""

REPEAT_WINDOW_S = 10.0


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
