"""Run the Faust worker for one scorecard (``scorecard worker``): bind the metrics, create the topics, hand over to
Faust (through ``faust_fixes.runner.ScorecardWorker``) until a stop."""

from __future__ import annotations

import asyncio
import logging

import mode.loop

from scorecard.config import Settings
from scorecard.core.definition import load_scorecard
from scorecard.outputs.webconfig import WebConfig
from streams.app import create_app
from streams.faust_fixes.runner import ScorecardWorker
from streams.metrics import PipelineMetrics
from streams.startup import KafkaUnreachable, create_topics_when_reachable
from streams.topics import TopicNames

__all__ = ["KafkaUnreachable", "run_worker"]


def run_worker(
    settings: Settings,
    scorecard_path: str,
    *,
    loglevel: str = "warn",
    table_store: str = "memory://",
    metrics_port: int = 0,
    metrics_host: str = "0.0.0.0",
    metrics_web_config: WebConfig | None = None,
    session_timeout: float = 30.0,
    commit_interval: float = 2.8,
    stop_timeout: float = 15.0,
    kafka_wait: float = 0.0,
) -> None:
    """Block until the worker is stopped (SIGTERM / Ctrl-C); ``metrics_port`` 0 serves no pipeline metrics, and
    ``metrics_web_config`` protects them with TLS and basic authentication.

    The metrics server is bound before Kafka is touched, so a taken port or a wrong ``metrics_host`` fails at once
    (``OSError``); Kafka not answering within ``kafka_wait`` seconds raises ``startup.KafkaUnreachable``."""
    scorecard = load_scorecard(scorecard_path)
    metrics = PipelineMetrics()
    if metrics_port:
        metrics.serve(metrics_port, metrics_host, web_config=metrics_web_config)
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # Kafka unreachable at start: the worker's own lines say so
    try:
        # Kafka may not be up yet (a stack starting together): retry for up to kafka_wait s (KafkaUnreachable after).
        asyncio.run(create_topics_when_reachable(settings, TopicNames.from_settings(settings), wait=kafka_wait))
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
