"""The stream's batch step over a plain dict standing in for the Faust table: bounded records whatever the rate, and
a crash at any point of a batch's table writes leaves nothing lost or counted twice.

The crash test replays the table writes of a run up to every possible cut, as a changelog that kept only a prefix of
them would, starts a new processor (a restarted worker keeps nothing in memory) on what survived, re-applies the
messages from the start of the interrupted batch (the committed offsets are at most there), and requires the replay's
outcome counts and own states at the end.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from scorecard.core import dedupe
from scorecard.core.dedupe import SLICE_BYTES
from scorecard.core.definition import parse_scorecard
from scorecard.core.engine import Engine
from scorecard.core.replay import replay
from streams.processor import BatchProcessor, Item, is_unit_key, routing_key, slice_key

DEFINITION = """
name: Hot
lateness: 2h
dedupe: 30m
org:
  id: root
  children: [{id: hot}, {id: calm}]
kpis:
  - {id: revenue, aggregation: sum, source: {event: order, field: amount}, window: {kind: tumbling, size: 1h}}
  - {id: orders, aggregation: count, source: {event: order}, window: {kind: rolling, size: 3h, step: 1h}}
"""
T0 = 1_795_773_600.0  # 2026-11-27T10:00:00Z


def lines(count: int, *, every: float, unit: str = "hot", duplicates: int = 0) -> list[bytes]:
    """``count`` orders of ``unit`` ``every`` seconds apart, then ``duplicates`` copies of early ones (some still
    within the dedupe horizon, most beyond it) and a few of the other unit."""
    out = [
        orjson.dumps({"id": f"o-{i}", "type": "order", "unit": unit, "time": T0 + i * every, "fields": {"amount": i}})
        for i in range(count)
    ]
    out += out[count - duplicates :]  # the last ones again: duplicates within the horizon
    out += out[:duplicates]  # the first ones again: beyond the horizon if the run spans it, else duplicates
    out += [orjson.dumps({"id": "c-1", "type": "order", "unit": "calm", "time": T0, "fields": {"amount": 5}})]
    return out


def items_of(engine: Engine, raws: list[bytes]) -> list[Item]:
    return [Item(routing_key(engine, raw), raw, 0, offset) for offset, raw in enumerate(raws)]


class LoggedTable(dict[str, Any]):
    """A dict that logs every write and deletion, in order: what the changelog would hold."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.log.append((key, value))
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.log.append((key, None))
        super().__delitem__(key)


def table_from(log: list[tuple[str, Any]]) -> dict[str, Any]:
    """What recovery from a changelog holding ``log`` gives (the latest value per key, tombstones removing keys)."""
    table: dict[str, Any] = {}
    for key, value in log:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return table


def own_states(processor: BatchProcessor) -> tuple[dict[str, int], dict[str, Any]]:
    counts: dict[str, int] = {}
    states = {}
    for key in [k for k in processor.table if is_unit_key(k)]:
        record = processor.load(key)
        for outcome, n in record.counts.items():
            counts[outcome] = counts.get(outcome, 0) + n
        if key in ("hot", "calm"):
            states[key] = {k: v.to_list() for k, v in record.state.aggregates.items()}
    return counts, states


def test_a_hot_unit_keeps_every_record_bounded_and_equals_the_replay() -> None:
    scorecard = parse_scorecard(DEFINITION)
    engine = Engine(scorecard)
    raws = lines(20_000, every=0.05, duplicates=500)  # 20,000 ids within 17 minutes: all inside the horizon
    table = LoggedTable()
    processor = BatchProcessor(engine, table, dict.fromkeys(engine.kpis, 3_600_000))
    items = items_of(engine, raws)
    for start in range(0, len(items), 2000):
        processor.process(items[start : start + 2000])
    biggest = max(len(orjson.dumps(v)) if isinstance(v, dict) else len(v) for _, v in table.log if v is not None)
    assert biggest <= SLICE_BYTES < 100_000
    assert sum(1 for key in table if key.startswith("hot/")) == 7  # 20,000 ids in slices of 3,000
    # each batch wrote the slices it filled and the unit record, never the earlier slices again
    assert sum(1 for key, _ in table.log if key == slice_key("hot", 0)) <= 2
    expected = replay(scorecard, raws)
    counts, states = own_states(processor)
    assert counts == {k: v for k, v in expected.counts.items() if v}
    assert counts["duplicate"] == 1000
    assert states["hot"] == {k: v.to_list() for k, v in expected.states["hot"].aggregates.items()}


@pytest.mark.parametrize("batch", [7, 16])
def test_a_crash_at_any_point_of_a_batchs_writes_loses_nothing_and_counts_nothing_twice(
    monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(dedupe, "SLICE_IDS", 4)  # slices fill, roll and are forgotten within a few batches
    scorecard = parse_scorecard(DEFINITION)
    raws = lines(60, every=120.0, duplicates=6)  # two hours of orders: early ids are forgotten as time moves on
    engine = Engine(scorecard)
    items = items_of(engine, raws)
    expected = replay(scorecard, raws)

    table = LoggedTable()
    processor = BatchProcessor(engine, table, dict.fromkeys(engine.kpis, 3_600_000))
    starts = list(range(0, len(items), batch))
    batch_logs = []  # where each batch's writes start in the log
    for start in starts:
        batch_logs.append(len(table.log))
        processor.process(items[start : start + batch])
    assert any(value is None for _, value in table.log), "no slice was ever forgotten: the test would prove less"
    batch_logs.append(len(table.log))

    checked = 0
    for index, start in enumerate(starts):
        for cut in range(batch_logs[index], batch_logs[index + 1] + 1):
            survivor = table_from(table.log[:cut])
            restarted = BatchProcessor(Engine(scorecard), survivor, dict.fromkeys(engine.kpis, 3_600_000))
            for again in range(start, len(items), batch):
                restarted.process(items[again : again + batch])
            counts, states = own_states(restarted)
            assert counts == {k: v for k, v in expected.counts.items() if v}, (index, cut)
            assert states["hot"] == {k: v.to_list() for k, v in expected.states["hot"].aggregates.items()}, cut
            checked += 1
    assert checked > 2 * len(starts)


def test_a_record_advanced_by_another_worker_is_read_again_not_taken_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Partitions move between workers and back: the cache of the first worker is older than the table then."""
    monkeypatch.setattr(dedupe, "SLICE_IDS", 4)
    scorecard = parse_scorecard(DEFINITION)
    raws = lines(40, every=60.0, duplicates=10)
    items = items_of(Engine(scorecard), raws)
    table: dict[str, Any] = {}
    first = BatchProcessor(Engine(scorecard), table, {"revenue": 1, "orders": 1})
    other = BatchProcessor(Engine(scorecard), table, {"revenue": 1, "orders": 1})
    first.process(items[:20])
    other.process(items[20:40])  # the other worker applied these, with ids the first one's cache never saw
    first.process(items[40:])  # among them, duplicates of ids the other worker remembered
    expected = replay(scorecard, raws)
    counts, states = own_states(first)
    assert counts == {k: v for k, v in expected.counts.items() if v}
    assert counts["duplicate"] > 0
    assert states["hot"] == {k: v.to_list() for k, v in expected.states["hot"].aggregates.items()}


def test_a_slice_made_and_forgotten_within_one_batch_is_neither_written_nor_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dedupe, "SLICE_IDS", 4)
    scorecard = parse_scorecard(DEFINITION)
    raws = lines(60, every=120.0, duplicates=6)  # one batch of two hours: slices are forgotten before it ends
    engine = Engine(scorecard)
    table = LoggedTable()
    processor = BatchProcessor(engine, table, dict.fromkeys(engine.kpis, 3_600_000))
    processor.process(items_of(engine, raws))
    record = processor.load("hot")
    assert record.state.seen.first > 0  # slices were forgotten
    written = [key for key, _ in table.log if key.startswith("hot/")]
    assert written == [slice_key("hot", n) for n in range(record.state.seen.first, record.state.seen.last + 1)]
    counts, states = own_states(BatchProcessor(Engine(scorecard), table_from(table.log), {"revenue": 1, "orders": 1}))
    expected = replay(scorecard, raws)
    assert counts == {k: v for k, v in expected.counts.items() if v}
    assert states["hot"] == {k: v.to_list() for k, v in expected.states["hot"].aggregates.items()}
