"""Connection settings shared by the CLI, the worker, the exporter and the tests.

Each setting has one environment variable and one default, defined here, so `deploy/local/services`, the CLI flags
(click reads the same variables through ``envvar=``) and the test fixtures always agree on where a service is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Environment variable -> default. The CLI documents these in --help; docs/ lists them too.
ENV_DEFAULTS: dict[str, str] = {
    "SCORECARD_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "SCORECARD_REDIS_URL": "redis://127.0.0.1:6379/0",
    "SCORECARD_PROMETHEUS_URL": "http://127.0.0.1:9090",
    "SCORECARD_TOPIC": "scorecard.events",
    "SCORECARD_APP_ID": "scorecard",
    "SCORECARD_PARTITIONS": "8",
    "SCORECARD_METRICS_HOST": "0.0.0.0",
    "SCORECARD_METRICS_PORT": "9109",
    "SCORECARD_SESSION_TIMEOUT": "30",
    "SCORECARD_COMMIT_INTERVAL": "2.8",
    "SCORECARD_STOP_TIMEOUT": "15",
    "SCORECARD_EXPORTER_HOST": "0.0.0.0",
    "SCORECARD_EXPORTER_PORT": "9108",
}


def env(name: str) -> str:
    """Return the environment's value for a SCORECARD_* setting, or its default."""
    return os.environ.get(name) or ENV_DEFAULTS[name]


@dataclass(frozen=True)
class Settings:
    """Where the real services are and how the pipeline names its topics and keys."""

    kafka_bootstrap: str
    redis_url: str
    prometheus_url: str
    topic: str
    app_id: str
    partitions: int

    @property
    def dead_letter_topic(self) -> str:
        """The dead-letter topic derives from the input topic so two deployments never share one by accident."""
        return f"{self.topic}.dlq"

    @classmethod
    def from_env(cls) -> Settings:
        partitions = env("SCORECARD_PARTITIONS")
        if not partitions.isdigit() or int(partitions) < 1:
            raise ValueError(f"SCORECARD_PARTITIONS must be a positive integer, got {partitions!r}")
        return cls(
            kafka_bootstrap=env("SCORECARD_KAFKA_BOOTSTRAP"),
            redis_url=env("SCORECARD_REDIS_URL"),
            prometheus_url=env("SCORECARD_PROMETHEUS_URL").rstrip("/"),
            topic=env("SCORECARD_TOPIC"),
            app_id=env("SCORECARD_APP_ID"),
            partitions=int(partitions),
        )
