"""What a lost broker relies on, set explicitly: the topics' ``min.insync.replicas`` for their replica count, and a
worker producer that waits for every in-sync replica and never writes a retried batch twice.

The broker killed under a running worker is in tests/integration/test_kafka_cluster.py."""

from __future__ import annotations

import pytest

from scorecard.config import Settings
from streams.faust_fixes.offsets import ScorecardApp
from streams.faust_fixes.producer import IdempotentProducer
from streams.topics import replication_config


@pytest.mark.parametrize(("replicas", "in_sync"), [(1, "1"), (2, "1"), (3, "2"), (5, "2")])
def test_min_insync_replicas_leaves_room_for_one_lost_broker(replicas: int, in_sync: str) -> None:
    assert replication_config(replicas) == {"min.insync.replicas": in_sync}


async def test_the_worker_producer_is_idempotent_with_acks_all() -> None:
    app = ScorecardApp("replication-test", broker="kafka://127.0.0.1:1", producer_acks=1)
    producer = app._new_producer()
    assert isinstance(producer, IdempotentProducer)
    assert producer._settings_extra() == {"acks": "all", "enable_idempotence": True}
    client = producer._new_producer()  # the aiokafka producer, built but not started (no broker needed)
    assert client._txn_manager is not None  # aiokafka keeps idempotence state only when it is enabled
    await client.stop()


def test_the_replication_factor_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORECARD_REPLICATION_FACTOR", raising=False)
    assert Settings.from_env().replication_factor == 1
    monkeypatch.setenv("SCORECARD_REPLICATION_FACTOR", "3")
    assert Settings.from_env().replication_factor == 3
    for bad in ("0", "-1", "three"):
        monkeypatch.setenv("SCORECARD_REPLICATION_FACTOR", bad)
        with pytest.raises(ValueError, match=f"SCORECARD_REPLICATION_FACTOR must be a positive integer, got '{bad}'"):
            Settings.from_env()
