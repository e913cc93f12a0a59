"""The worker's Redis client: made from the settings by ``scorecard.redis.client``, and never silently retried on a
new connection (after a Sentinel or Cluster failover a new primary may lack acknowledged writes; only a failed
command makes the worker resync). No Redis is contacted: redis-py connects on the first command.

The failover itself, with a real worker, Kafka and Sentinels, is ``tests/integration/test_redis_sentinel.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.cluster import RedisCluster

from scorecard.config import RedisOptions, Settings
from scorecard.core.definition import load_scorecard
from streams.pipeline import Pipeline
from tests.paths import ACME


class NoApp:
    """The worker's Faust app is only stored by ``Pipeline.__init__``."""


def pipeline(url: str, options: RedisOptions) -> Pipeline:
    settings = Settings("127.0.0.1:9092", url, "http://127.0.0.1:9090", "t", "app", 4, options)
    return Pipeline(NoApp(), settings, load_scorecard(ACME), table={}, dlq=None)  # type: ignore[arg-type]


def retries(client: Any) -> int:
    """How often a connection of ``client`` retries a failed command (made, not connected)."""
    return int(client.connection_pool.make_connection().retry.get_retries())


def test_a_single_redis_is_never_retried_on_a_new_connection_either() -> None:
    worker = pipeline("redis://127.0.0.1:1/0", RedisOptions())
    assert retries(worker.store._client) == 0
    kwargs = worker.store._client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (5, 2)
    assert worker.store.url == "redis://127.0.0.1:1/0"


def test_a_sentinel_primary_is_never_retried_on_a_new_connection() -> None:
    options = RedisOptions(sentinels=(("127.0.0.1", 1),), sentinel_service="sc", password="pw")
    worker = pipeline("redis://127.0.0.1:2/0", options)
    assert retries(worker.store._client) == 0
    assert "pw" not in worker.store.url and "Sentinels 127.0.0.1:1" in worker.store.url


def test_a_cluster_client_is_never_retried_on_a_new_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    made: dict[str, Any] = {}

    def remember(self: RedisCluster, **kwargs: Any) -> None:  # RedisCluster reads the slot map at once: not here
        made.update(kwargs)

    monkeypatch.setattr(RedisCluster, "__init__", remember)
    monkeypatch.setattr(RedisCluster, "register_script", lambda self, script: None)
    pipeline("redis://127.0.0.1:3/0", RedisOptions(cluster=True))
    assert made["retry"].get_retries() == 0 and (made["host"], made["port"]) == ("127.0.0.1", 3)
