"""Run the Faust worker for one scorecard (``scorecard worker``): create the topics, then hand over to Faust."""

from __future__ import annotations

import asyncio
from typing import Any

import mode.loop
from faust import Worker

from scorecard.config import Settings
from scorecard.definition import load_scorecard
from streams.app import create_app
from streams.metrics import PipelineMetrics
from streams.topics import TopicNames, ensure_topics


def run_worker(
    settings: Settings,
    scorecard_path: str,
    *,
    loglevel: str = "warn",
    store: str = "memory://",
    metrics_port: int = 0,
    session_timeout: float = 30.0,
    commit_interval: float = 2.8,
) -> None:
    """Block until the worker is stopped (SIGTERM / Ctrl-C); ``metrics_port`` 0 serves no pipeline metrics."""
    scorecard = load_scorecard(scorecard_path)
    asyncio.run(ensure_topics(settings, TopicNames.from_settings(settings)))
    # uvloop: Faust's per-message machinery (queues, futures, tasks) is most of a worker's CPU; uvloop cuts it.
    mode.loop.use("uvloop")
    metrics = PipelineMetrics()
    if metrics_port:
        metrics.serve(metrics_port)
    app, _pipeline = create_app(
        settings,
        scorecard,
        store=store,
        metrics=metrics,
        session_timeout=session_timeout,
        commit_interval=commit_interval,
    )
    quiet_worker(app, loglevel).execute_from_commandline()


def quiet_worker(app: Any, loglevel: str) -> Worker:
    """Faust's worker without its terminal spinner.

    To advance the spinner on every log call, Faust sets the root logger to DEBUG for the worker's whole life, so
    every debug call of aiokafka and Faust (several per batch) built a log record only to drop it: about 10% of a
    worker's throughput (docs/benchmarks.md).
    """
    worker = Worker(app, loglevel=loglevel, quiet=True)
    worker.spinner = None
    return worker
