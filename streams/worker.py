"""Run the Faust worker for one scorecard (``scorecard worker``): bind the metrics, create the topics, hand over to
Faust (through ``faust_fixes.runner.ScorecardWorker``) until a stop."""

from __future__ import annotations

import asyncio
import logging

import mode.loop

from scorecard.config import Settings
from scorecard.core.definition import load_scorecard
from streams.app import create_app
from streams.faust_fixes.runner import ScorecardWorker
from streams.metrics import PipelineMetrics
from streams.topics import TopicNames, ensure_topics


def run_worker(
    settings: Settings,
    scorecard_path: str,
    *,
    loglevel: str = "warn",
    table_store: str = "memory://",
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
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # Kafka unreachable at start: the caller says so in one line
    try:
        asyncio.run(ensure_topics(settings, TopicNames.from_settings(settings)))
    finally:
        aiokafka_log.setLevel(level)
    # uvloop: Faust's per-message machinery (queues, futures, tasks) is most of a worker's CPU; uvloop cuts it.
    mode.loop.use("uvloop")
    app, _pipeline = create_app(
        settings,
        scorecard,
        table_store=table_store,
        metrics=metrics,
        session_timeout=session_timeout,
        commit_interval=commit_interval,
    )
    ScorecardWorker(app, loglevel=loglevel, stop_timeout=stop_timeout).execute_from_commandline()
