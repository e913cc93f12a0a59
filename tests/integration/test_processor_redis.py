"""The stream's batch step against the real Redis: its live report equals the batch replay, exactly.

No Kafka here (tests/integration/test_worker*.py add it): messages are spread over partitions the way the worker
routes them, processed in batches of random sizes, partly replayed as after a crash, with Redis emptied midway and
resynced. Whatever happens, `live_report` must print the replay's JSON.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

import orjson
import pytest
import redis

from scorecard.contract import INVALID_UNIT
from scorecard.core.definition import load_scorecard
from scorecard.core.engine import Engine
from scorecard.core.evaluation import dumps
from scorecard.core.replay import replay
from scorecard.redis.live import live_report
from scorecard.redis.store import RedisStore
from scorecard.simulator import generate_events
from streams.processor import BatchProcessor, Item, routing_key
from streams.topics import partition_for
from tests.paths import REPO as ROOT

PARTITIONS = 4


@pytest.fixture(scope="module")
def acme():
    return load_scorecard(ROOT / "examples/acme.yaml")


@pytest.fixture(scope="module")
def raw_events(acme, fixed_start: Callable[[str], str]) -> list[bytes]:
    events = generate_events(
        acme,
        start=fixed_start("2026-11-01T00:00:00Z"),
        days=6,
        events_per_day=600,
        seed=11,
        duplicate_rate=0.02,
        late_rate=0.02,
        invalid_rate=0.02,
        ignored_rate=0.01,
    )
    lines = [orjson.dumps(e) for e in events]
    lines.insert(5, b"{not json")
    return lines


@pytest.fixture
def store(redis_client: redis.Redis, unique_name) -> RedisStore:
    store = RedisStore(redis_client, unique_name("proc").replace(".", "-"))
    yield store
    store.reset()


def _items(engine: Engine, lines: list[bytes]) -> dict[int, list[Item]]:
    """Input messages per owning partition, as if published keyed by unit (offsets per partition)."""
    by_partition: dict[int, list[Item]] = {p: [] for p in range(PARTITIONS)}
    for raw in lines:
        key = routing_key(engine, raw)
        partition = partition_for(key, PARTITIONS)
        by_partition[partition].append(Item(key, raw, partition, len(by_partition[partition])))
    return by_partition


def _retention(engine: Engine) -> dict[str, int]:
    return dict.fromkeys(engine.kpis, 3_600_000)


def test_live_report_equals_replay_with_crash_replays_and_a_redis_wipe(acme, raw_events, store) -> None:
    engine = Engine(acme)
    table: dict = {}
    processor = BatchProcessor(engine, table, _retention(engine))
    rng = random.Random(5)
    store.mark_initialized()
    wiped = False
    crashes = 0
    for partition, items in _items(engine, raw_events).items():
        position = 0
        snapshots: list[tuple[int, dict]] = []  # the table as of a position (unit records and id slices)
        while position < len(items):
            if len(snapshots) > 3 and rng.random() < 0.15:
                # A crash that lost the table's latest changelog writes while Redis already has them: the
                # table goes back a few batches and the messages since then are processed again.
                position, saved = snapshots[-rng.randint(2, 3)]
                table.clear()
                table.update(copy.deepcopy(saved))
                snapshots = [s for s in snapshots if s[0] <= position]
                crashes += 1
            snapshots.append((position, copy.deepcopy(table)))
            size = rng.randint(1, 300)
            batch = items[position : position + size]
            if position and rng.random() < 0.3:  # redelivery: the last messages come again before the new ones
                batch = items[max(0, position - rng.randint(1, 50)) : position] + batch
            result = processor.process(batch)
            outcome = store.apply(result.updates, result.counts)
            if outcome.epoch is None:  # Redis was emptied: resync everything this "worker" holds
                updates, counts = processor.resync_updates(list(table))
                store.resync(updates, counts)
            position += size
            if partition == 2 and not wiped and position > len(items) // 2:
                store.reset()
                wiped = True
    assert wiped and crashes > 0

    expected = replay(acme, raw_events)
    live = live_report(acme, store, expected.at)
    assert dumps(live) == dumps(expected.evaluate())
    counts = orjson.loads(dumps(live))["events"]
    assert all(counts[outcome] > 0 for outcome in ("accepted", "duplicate", "late", "invalid", "ignored"))
    assert INVALID_UNIT in table
