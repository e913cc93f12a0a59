"""The Redis store against the real Redis: the Lua cascade gives exactly the Python merge, whatever the interleaving.

Every test works under its own app id (``unique_name``), so its keys never meet another test's or a live scorecard's,
and deletes them with ``RedisStore.reset()`` afterwards. Equality is always exact ``==`` on the integer states.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec
import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from scorecard.config import Settings
from scorecard.core.aggregates import Aggregation, State
from scorecard.core.definition import Unit
from scorecard.core.hierarchy import OrgTree
from scorecard.core.updates import CountsUpdate, OwnUpdate, merge_components
from scorecard.redis.store import NUMERIC_LIMIT, NumericRangeError, RedisStore, StoreConflictError, StoreError

SPECS: dict[str, Aggregation] = {
    "revenue": Aggregation("sum"),
    "orders": Aggregation("count"),
    "basket": Aggregation("avg"),
    "fastest": Aggregation("min"),
    "slowest": Aggregation("max"),
    "nps": Aggregation("nps"),
    "conversion": Aggregation("ratio", numerator="count", denominator="sum", multiplier=100),
}
BUCKETS = (0, 3600)
TTL_MS = 600_000
ALL_KPI_BUCKETS = [(kpi, bucket) for kpi in SPECS for bucket in BUCKETS]

ACME = OrgTree(Unit(id="acme", children=(Unit(id="sales", children=(Unit(id="emea"), Unit(id="na"))),)))


@pytest.fixture
def store(redis_client: redis.Redis, unique_name: Callable[[str], str]) -> Iterator[RedisStore]:
    store = RedisStore(redis_client, unique_name("store"))
    yield store
    store.reset()


def own_update(tree: OrgTree, kpi: str, bucket: int, unit: str, version: int, state: list[int]) -> OwnUpdate:
    return OwnUpdate(kpi, bucket, unit, version, state, tree.ancestors(unit), SPECS[kpi].component_ops, TTL_MS)


# ------------------------------------------------------------------------------------------------ hand-written
def test_sum_cascade_by_hand(store: RedisStore) -> None:
    """acme -> sales -> (emea, na); revenue is a sum in micro-units, the state is [total, count]."""
    result = store.apply(
        [
            own_update(ACME, "revenue", 0, "emea", 1, [120_500_000, 1]),  # emea sold 120.5
            own_update(ACME, "revenue", 0, "na", 2, [79_500_000, 2]),  # na sold 50 and 29.5
        ]
    )
    assert (result.applied, result.skipped) == (2, 0)
    assert store.read_subtree([("revenue", 0)]) == {
        ("revenue", 0): {
            "emea": [120_500_000, 1],
            "na": [79_500_000, 2],
            "sales": [200_000_000, 3],  # 120.5 + 79.5, 1 + 2 events
            "acme": [200_000_000, 3],  # acme has no events of its own yet
        }
    }

    result = store.apply(
        [
            own_update(ACME, "revenue", 0, "emea", 3, [150_500_000, 3]),  # emea: +10 and +20
            own_update(ACME, "revenue", 0, "acme", 1, [-5_000_000, 1]),  # a refund booked on acme itself
            own_update(ACME, "revenue", 0, "na", 1, [29_500_000, 1]),  # a replay of an older na state
        ]
    )
    assert (result.applied, result.skipped) == (2, 1)
    subtree = store.read_subtree([("revenue", 0)])[("revenue", 0)]
    assert subtree == {
        "emea": [150_500_000, 3],
        "na": [79_500_000, 2],  # the replay changed nothing
        "sales": [230_000_000, 5],  # 150.5 + 79.5
        "acme": [225_000_000, 6],  # 230 - 5
    }
    assert SPECS["revenue"].value(SPECS["revenue"].from_list(subtree["acme"])) == 225.0
    assert store.read_own([("revenue", 0)])[("revenue", 0)]["emea"] == (3, [150_500_000, 3])


# ------------------------------------------------------------------------------------------- random property
@dataclass
class SimWorker:
    """A worker owning some units: folds random events into own states and flushes the changed ones as batches."""

    index: int
    units: list[str]
    tree: OrgTree
    states: dict[tuple[str, int, str], State] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    flushes: int = 0

    def step(self, rng: random.Random, events: int) -> tuple[list[OwnUpdate], list[CountsUpdate]]:
        changed: set[tuple[str, int, str]] = set()
        for _ in range(events):
            key = (rng.choice(list(SPECS)), rng.choice(BUCKETS), rng.choice(self.units))
            spec = SPECS[key[0]]
            add_random_event(spec, self.states.setdefault(key, spec.new()), rng)
            self.versions[key[2]] = self.versions.get(key[2], 0) + 1
            changed.add(key)
        self.flushes += 1
        units = sorted({unit for _, _, unit in changed})
        counts = [CountsUpdate.for_unit(u, self.versions[u], {"accepted": self.versions[u]}) for u in units]
        counts.append(CountsUpdate.for_partition(self.index, self.flushes, {"invalid": self.flushes}))
        return [self.update(key) for key in sorted(changed)], counts

    def update(self, key: tuple[str, int, str]) -> OwnUpdate:
        kpi, bucket, unit = key
        return own_update(self.tree, kpi, bucket, unit, self.versions[unit], SPECS[kpi].to_list(self.states[key]))

    def everything(self) -> list[OwnUpdate]:
        """Every state this worker holds, at its current versions: what a resync sends."""
        return [self.update(key) for key in sorted(self.states)]


def add_random_event(spec: Aggregation, state: State, rng: random.Random) -> None:
    # Large values exercise Lua doubles far beyond 32 bits: 123456789.123456 is 123_456_789_123_456 micro-units.
    value = rng.choice([rng.randint(-1000, 1000), round(rng.uniform(-50, 50), 3), 0.1, 123456789.123456, -1e6])
    if spec.kind == "nps":
        spec.add(state, rng.randint(0, 10))
    elif spec.kind == "ratio":
        (spec.add_numerator if rng.random() < 0.4 else spec.add_denominator)(state, abs(value))
    else:
        spec.add(state, value)


def random_tree(rng: random.Random, size: int, max_depth: int = 3) -> OrgTree:
    children: dict[str, list[str]] = {"root": []}
    depth = {"root": 0}
    for i in range(size - 1):
        parent = rng.choice([u for u in children if depth[u] < max_depth])
        unit = f"u{i}"
        children[parent].append(unit)
        children[unit] = []
        depth[unit] = depth[parent] + 1

    def build(unit: str) -> Unit:
        return Unit(id=unit, children=tuple(build(c) for c in children[unit]))

    return OrgTree(build("root"))


def expected_subtree(tree: OrgTree, own: dict[tuple[str, int, str], list[int]]) -> dict[Any, dict[str, list[int]]]:
    """Python's answer: each unit's subtree state is the merge of the own states of the unit and its descendants."""
    out: dict[Any, dict[str, list[int]]] = {}
    for kpi, bucket in ALL_KPI_BUCKETS:
        spec = SPECS[kpi]
        states = [
            [spec.from_list(own[kpi, bucket, d]) for d in tree.descendants_or_self(u) if (kpi, bucket, d) in own]
            for u in tree
        ]
        out[kpi, bucket] = {u: spec.to_list(spec.merge_all(s)) for u, s in zip(tree, states, strict=True)}
    return out


def stored_subtree(store: RedisStore, tree: OrgTree) -> dict[Any, dict[str, list[int]]]:
    """What Redis holds, with never-touched units filled in as empty states (the reader's convention)."""
    got = store.read_subtree(ALL_KPI_BUCKETS)
    for (kpi, bucket), units in got.items():
        assert set(units) <= set(tree), f"unknown units in {kpi}/{bucket}: {set(units) - set(tree)}"
    empty = {kpi: spec.to_list(spec.new()) for kpi, spec in SPECS.items()}
    return {(k, b): {u: got[k, b].get(u, empty[k]) for u in tree} for k, b in ALL_KPI_BUCKETS}


def assert_sub_is_merge_of_stored_own(store: RedisStore, tree: OrgTree) -> None:
    """The invariant the cascade keeps at every moment: sub == merge of the own states Redis holds."""
    own = store.read_own(ALL_KPI_BUCKETS)
    flat = {(k, b, u): record.state for (k, b), units in own.items() for u, record in units.items()}
    assert stored_subtree(store, tree) == expected_subtree(tree, flat)


def simulate(rng: random.Random, tree: OrgTree, steps: int) -> tuple[list[SimWorker], list[list[Any]]]:
    """Two workers splitting the units, and the batches each flushed, in flush order."""
    units = list(tree)
    rng.shuffle(units)
    cut = rng.randint(1, len(units) - 1)
    workers = [SimWorker(0, units[:cut], tree), SimWorker(1, units[cut:], tree)]
    batches: list[list[Any]] = [[], []]
    for _ in range(steps):
        worker = rng.choice(workers)
        batches[worker.index].append(worker.step(rng, rng.randint(1, 6)))
    return workers, batches


def deliver(store: RedisStore, rng: random.Random, tree: OrgTree, batches: list[list[Any]]) -> None:
    """Apply every batch at least once, in a random interleaving of the workers, with replays and duplicates.

    Each worker's batches mostly arrive in order but sometimes overtake each other; delivered batches come back (a
    restarted worker replaying its log); two batches are sometimes glued into one call, in either order, so one
    script sees the same field twice (old + new, or two new versions).
    """
    queues = [deque(b) for b in batches]
    delivered: list[Any] = []

    def take() -> Any:
        queue = rng.choice([q for q in queues if q])
        index = rng.randint(0, min(2, len(queue) - 1))  # overtaking: one of the next three
        batch = queue[index]
        del queue[index]
        delivered.append(batch)
        return batch

    while any(queues):
        roll = rng.random()
        if delivered and roll < 0.12:
            store.apply(*rng.choice(delivered))
        elif roll < 0.25:
            first = take()
            second = take() if any(queues) and rng.random() < 0.5 else rng.choice(delivered)
            if rng.random() < 0.5:
                first, second = second, first
            store.apply(first[0] + second[0], first[1] + second[1])
        else:
            batch = take()
            for _ in range(2 if rng.random() < 0.1 else 1):  # sometimes a duplicate send
                store.apply(*batch)
        if rng.random() < 0.1:
            assert_sub_is_merge_of_stored_own(store, tree)


@pytest.mark.parametrize("seed", range(30))
def test_random_interleavings_and_replays_give_python_merge(store: RedisStore, seed: int) -> None:
    rng = random.Random(seed)
    tree = random_tree(rng, size=rng.randint(2, 12))
    workers, batches = simulate(rng, tree, steps=rng.randint(5, 40))
    deliver(store, rng, tree, batches)

    final_own = {key: SPECS[key[0]].to_list(state) for w in workers for key, state in w.states.items()}
    assert stored_subtree(store, tree) == expected_subtree(tree, final_own)
    assert_sub_is_merge_of_stored_own(store, tree)
    counts = store.read_counts()
    assert counts.units == {u: {"accepted": v} for w in workers for u, v in w.versions.items()}
    assert counts.partitions == {w.index: {"invalid": w.flushes} for w in workers if w.flushes}


# ---------------------------------------------------------------------------------------------- round trips
class CountingConnection(redis.Connection):
    """A redis-py connection that records every payload it writes to the socket: one write = one round trip."""

    sent: ClassVar[list[bytes]] = []

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        chunks = [command] if isinstance(command, bytes | str) else list(command)
        self.sent.append(b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks))
        super().send_packed_command(command, check_health)


def test_one_round_trip_per_apply_and_per_snapshot(settings: Settings, unique_name: Callable[[str], str]) -> None:
    pool = redis.ConnectionPool.from_url(settings.redis_url, connection_class=CountingConnection)
    store = RedisStore(redis.Redis(connection_pool=pool), unique_name("trips"))
    try:
        tree = random_tree(random.Random(7), size=30)
        updates = [
            own_update(tree, "revenue", b, u, 1, [1_000_000 * i, 1]) for i, u in enumerate(tree) for b in BUCKETS
        ]
        counts = [CountsUpdate.for_unit(u, 1, {"accepted": 1}) for u in tree]
        store.apply([own_update(tree, "orders", 0, "root", 1, [0, 1])])  # connects, loads the script: not measured

        CountingConnection.sent.clear()
        result = store.apply(updates, counts)
        assert result.applied == len(updates) == 60
        assert len(CountingConnection.sent) == 1
        assert b"EVALSHA" in CountingConnection.sent[0][:40]

        CountingConnection.sent.clear()
        snapshot = store.read_subtree([("revenue", b) for b in BUCKETS] + [("orders", 0)])
        assert len(CountingConnection.sent) == 1  # MULTI, 3 x HGETALL, EXEC in one write
        assert CountingConnection.sent[0].count(b"HGETALL") == 3
        assert b"MULTI" in CountingConnection.sent[0] and b"EXEC" in CountingConnection.sent[0]
        assert snapshot["revenue", 0]["root"] == [1_000_000 * sum(range(30)), 30]
    finally:
        store.reset()
        pool.disconnect()


# ------------------------------------------------------------------------------------------- resync, meta
def test_emptied_redis_is_detected_and_resync_rebuilds_the_same_subtrees(store: RedisStore) -> None:
    rng = random.Random(42)
    tree = random_tree(rng, size=15)
    workers, batches = simulate(rng, tree, steps=30)
    epoch = store.mark_initialized()
    deliver(store, rng, tree, batches)
    before = stored_subtree(store, tree)
    assert store.is_initialized()

    store.reset()  # what a Redis restart without persistence (or FLUSHDB) does to this scorecard
    assert not store.is_initialized()
    assert store.apply([]).epoch is None  # a worker learns it at its next flush, at no extra cost

    first = store.resync(workers[0].everything(), batch_size=7)  # small chunks: several script calls
    assert first.epoch is not None and first.epoch != epoch
    second = store.resync(workers[1].everything())
    assert second.epoch == first.epoch  # the second worker joins the epoch the first one created
    assert stored_subtree(store, tree) == before
    assert store.is_initialized()

    again = store.resync(workers[0].everything() + workers[1].everything())
    assert (again.applied, again.skipped) == (0, len(workers[0].states) + len(workers[1].states))


def test_store_of_another_definition_is_refused(store: RedisStore, redis_client: redis.Redis) -> None:
    mine = RedisStore(redis_client, store.keys.app_id, definition_hash="abc")
    mine.mark_initialized()
    assert mine.read_meta().definition == "abc"
    with pytest.raises(StoreConflictError, match="definition abc"):
        RedisStore(redis_client, store.keys.app_id, definition_hash="def").mark_initialized()


def test_a_conflict_names_a_fix_that_exists(store: RedisStore, redis_client: redis.Redis) -> None:
    """Each refusal says what to do with commands that exist (no `scorecard --reset`)."""
    RedisStore(redis_client, store.keys.app_id, definition_hash="abc").mark_initialized()
    with pytest.raises(StoreConflictError) as definition:
        RedisStore(redis_client, store.keys.app_id, definition_hash="def").mark_initialized()
    assert "run every worker of this app id with the same definition" in str(definition.value)
    assert "its own SCORECARD_APP_ID" in str(definition.value)
    redis_client.hset(store.keys.meta, "schema", "999")
    with pytest.raises(StoreConflictError) as schema:
        RedisStore(redis_client, store.keys.app_id, definition_hash="abc").mark_initialized()
    pattern = f"{store.keys.prefix}*"
    assert f"redis-cli --scan --pattern '{pattern}' | xargs redis-cli unlink" in str(schema.value)
    assert "--reset" not in str(definition.value) + str(schema.value)
    assert redis_client.keys(pattern), "the scan pattern of the message matches this scorecard's keys"


def test_two_app_ids_never_see_each_other(store: RedisStore, redis_client: redis.Redis) -> None:
    other = RedisStore(redis_client, store.keys.app_id + "-other")
    try:
        store.apply([own_update(ACME, "revenue", 0, "na", 1, [1, 1])])
        other.apply([own_update(ACME, "revenue", 0, "na", 1, [5, 1])])
        assert store.read_subtree([("revenue", 0)])[("revenue", 0)]["acme"] == [1, 1]
        assert other.reset() == 2  # its own and sub hash, nothing of the first store
        assert store.read_subtree([("revenue", 0)])[("revenue", 0)]["acme"] == [1, 1]
    finally:
        other.reset()


def test_a_client_that_decodes_responses_reads_the_same(store: RedisStore, settings: Settings) -> None:
    store.apply([own_update(ACME, "revenue", 0, "na", 1, [5, 1])], [CountsUpdate.for_unit("na", 1, {"accepted": 1})])
    store.mark_initialized()
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        decoding = RedisStore(client, store.keys.app_id)
        assert decoding.read_subtree([("revenue", 0)]) == store.read_subtree([("revenue", 0)])
        assert decoding.read_own([("revenue", 0)]) == store.read_own([("revenue", 0)])
        assert decoding.read_counts() == store.read_counts()
        assert decoding.read_meta() == store.read_meta()
        assert decoding.apply([own_update(ACME, "revenue", 0, "na", 1, [5, 1])]).epoch == store.read_meta().epoch
    finally:
        client.close()


def test_counts_records_keep_the_newest_version(store: RedisStore) -> None:
    store.apply([], [CountsUpdate.for_unit("na", 5, {"accepted": 5}), CountsUpdate.for_partition(2, 9, {"invalid": 1})])
    result = store.apply(
        [], [CountsUpdate.for_unit("na", 4, {"accepted": 4}), CountsUpdate.for_unit("na", 6, {"a": 6})]
    )
    assert (result.counts_applied, result.counts_skipped) == (1, 1)
    assert store.read_counts() == ({"na": {"a": 6}}, {2: {"invalid": 1}})


# -------------------------------------------------------------------------------------------- guards, TTLs
def test_numbers_over_2_53_are_refused_and_nothing_is_written(store: RedisStore) -> None:
    with pytest.raises(NumericRangeError, match="2\\*\\*53"):
        store.apply([own_update(ACME, "revenue", 0, "na", 1, [NUMERIC_LIMIT, 1])])

    half = NUMERIC_LIMIT // 2
    store.apply([own_update(ACME, "revenue", 0, "na", 1, [half, 1])])
    with pytest.raises(NumericRangeError, match="sub:revenue:0 sales"):  # each own state fits, their sum does not
        store.apply([own_update(ACME, "revenue", 0, "emea", 1, [half, 1])])
    assert store.read_own([("revenue", 0)])[("revenue", 0)].keys() == {"na"}
    assert store.read_subtree([("revenue", 0)])[("revenue", 0)]["acme"] == [half, 1]


def test_a_shrinking_own_state_is_refused(store: RedisStore) -> None:
    store.apply([own_update(ACME, "fastest", 0, "na", 2, [2, -5_000_000, 7_000_000])])
    with pytest.raises(StoreConflictError, match="shrank"):  # a newer version may not forget the -5 minimum
        store.apply([own_update(ACME, "fastest", 0, "na", 3, [3, -4_000_000, 7_000_000])])
    assert store.read_subtree([("fastest", 0)])[("fastest", 0)]["acme"] == [2, -5_000_000, 7_000_000]


def test_own_and_sub_keys_expire_together_counts_and_meta_never(store: RedisStore, redis_client: redis.Redis) -> None:
    store.mark_initialized()
    store.apply(
        [
            own_update(ACME, "revenue", 0, "na", 1, [1, 1]),
            OwnUpdate("orders", 0, "na", 1, [0, 1], ACME.ancestors("na"), "ac", 5_000),
        ],
        [CountsUpdate.for_unit("na", 1, {})],
    )
    keys = store.keys
    deadlines = {key: redis_client.pexpiretime(key) for key in (keys.own("revenue", 0), keys.sub("revenue", 0))}
    assert len(set(deadlines.values())) == 1  # one clock reading in the script: same deadline to the millisecond
    assert 0 < redis_client.pttl(keys.own("revenue", 0)) <= TTL_MS
    assert 0 < redis_client.pttl(keys.sub("orders", 0)) <= 5_000
    assert redis_client.pexpiretime(keys.own("orders", 0)) == redis_client.pexpiretime(keys.sub("orders", 0))
    assert redis_client.pttl(keys.counts) == -1
    assert redis_client.pttl(keys.meta) == -1


def test_unreachable_redis_names_the_url(unique_name: Callable[[str], str]) -> None:
    store = RedisStore.from_url("redis://:secret@127.0.0.1:1/0", unique_name("down"))
    with pytest.raises(StoreError, match=r"redis://\*\*\*@127\.0\.0\.1:1/0") as raised:
        store.apply([own_update(ACME, "revenue", 0, "na", 1, [1, 1])])
    assert "secret" not in str(raised.value)


# ------------------------------------------------------------------------------------ concurrent snapshots
def test_snapshots_stay_consistent_while_another_client_writes(store: RedisStore) -> None:
    """A writer thread feeds the same amounts to two KPIs; every snapshot must show parent == merge of children in
    each KPI (one script per batch) and the same root total in both (MULTI/EXEC across keys)."""
    tree = OrgTree(
        Unit(
            id="acme",
            children=(
                Unit(id="sales", children=(Unit(id="emea"), Unit(id="na"))),
                Unit(id="ops", children=(Unit(id="hr"), Unit(id="it"))),
            ),
        )
    )
    leaves = [u for u in tree if tree.is_leaf(u)]
    done, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        rng = random.Random(1)
        totals = dict.fromkeys(leaves, 0)
        try:
            for version in range(1, 301):
                if stop.is_set():
                    return
                batch = []
                for unit in rng.sample(leaves, 2):
                    totals[unit] += rng.randint(1, 100)
                    state = [totals[unit], version]
                    batch += [own_update(tree, kpi, 0, unit, version, state) for kpi in ("revenue", "orders")]
                store.apply(batch)
        except BaseException as error:  # surfaced by the main thread
            errors.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen_roots: set[int] = set()
    reads = 0
    spec = SPECS["revenue"]
    try:
        while not done.is_set() or reads < 50:
            snapshot = store.read_subtree([("revenue", 0), ("orders", 0)])
            reads += 1
            for kpi in ("revenue", "orders"):
                subs = snapshot[kpi, 0]
                for unit in tree:
                    if not tree.is_leaf(unit) and unit in subs:
                        children = [spec.from_list(subs[c]) for c in tree.children(unit) if c in subs]
                        assert subs[unit] == spec.to_list(spec.merge_all(children)), (kpi, unit, subs)
            revenue, orders = snapshot["revenue", 0], snapshot["orders", 0]
            assert revenue.get("acme") == orders.get("acme")
            seen_roots.add(revenue.get("acme", [0])[0])
    finally:
        stop.set()  # a failed check must not leave the writer running past the fixture's reset()
        writer.join()
    assert not errors, errors
    assert len(seen_roots) > 2, "the reads never overlapped the writes: the test proved nothing"


# ------------------------------------------------------------------------------------------------ throughput
def test_apply_throughput_is_printed(store: RedisStore) -> None:
    """Not a benchmark gate: prints entries/s for 1000-entry batches on a depth-3 tree (4 ancestors per entry)."""

    def level(depth: int, prefix: str) -> Unit:
        kids = () if depth == 3 else tuple(level(depth + 1, f"{prefix}{i}") for i in range(5))
        return Unit(id=prefix, children=kids)

    tree = OrgTree(level(0, "r"))
    leaves = [u for u in tree if tree.is_leaf(u)]  # 5**3 = 125 leaves, 156 units
    fields = [(kpi, bucket, unit) for kpi in SPECS for bucket in BUCKETS for unit in leaves]
    random.Random(3).shuffle(fields)
    fields = fields[:1000]
    batches = [[own_update(tree, k, b, u, v, grown_state(k, v)) for k, b, u in fields] for v in range(1, 21)]

    started = time.perf_counter()
    for batch in batches:
        store.apply(batch)
    elapsed = time.perf_counter() - started

    assert_sub_is_merge_of_stored_own(store, tree)
    rate = len(batches) * len(fields) / elapsed
    print(f"\n[store] {len(batches)} batches x {len(fields)} entries, depth 3 (4 ancestors): {rate:,.0f} entries/s")


def grown_state(kpi: str, events: int) -> list[int]:
    spec = SPECS[kpi]
    state = spec.new()
    for i in range(events):
        (spec.add_numerator if spec.kind == "ratio" else spec.add)(state, i % 10)
    return spec.to_list(state)


# ------------------------------------------------------------------------------------ wide numbers, exactly
# The script holds every number as two limbs hi * 10**12 + lo (Lua numbers are doubles, exact only up to 2**53):
# these tests aim at the places where that can go wrong, and read back the exact Python ints and the stored text.
BASE = 10**12
TOP = NUMERIC_LIMIT - 1  # the largest magnitude the store holds
EDGES = [
    0,
    1,
    BASE - 1,
    BASE,
    BASE + 1,
    2**53 - 1,
    2**53,
    2**53 + 1,
    5 * BASE - 1,
    2**64 + 1,
    2**70 + 12345,
    TOP // 2,
    TOP,
]
SIGNED_EDGES = sorted({sign * value for value in EDGES for sign in (1, -1)})


def stored_text(client: redis.Redis, key: str, unit: str) -> bytes:
    raw = client.hget(key, unit)
    assert isinstance(raw, bytes), (key, unit, raw)
    return raw


def test_sums_and_carries_are_exact_around_2_53_and_the_limb_base(store: RedisStore, redis_client: redis.Redis) -> None:
    """Every pair of edge values (both signs) as two sibling own states: the parent holds their exact sum."""
    pairs = [(a, b) for a in SIGNED_EDGES for b in SIGNED_EDGES if abs(a + b) < NUMERIC_LIMIT]
    for bucket, (a, b) in enumerate(pairs):
        store.apply(
            [
                own_update(ACME, "revenue", bucket, "na", 1, [a, 1]),
                own_update(ACME, "revenue", bucket, "emea", 1, [b, 1]),
            ]
        )
    subs = store.read_subtree([("revenue", bucket) for bucket in range(len(pairs))])
    for bucket, (a, b) in enumerate(pairs):
        assert subs["revenue", bucket]["sales"] == [a + b, 2], (a, b)
        assert all(type(n) is int for n in subs["revenue", bucket]["acme"])
        # The stored text stays plain decimal integers: what the first schema wrote, and what msgspec writes.
        text = stored_text(redis_client, store.keys.sub("revenue", bucket), "acme")
        assert text == f"[{a + b},2]".encode(), (a, b, text)
    assert store.read_snapshot([("revenue", bucket) for bucket in range(len(pairs))])[0] == subs


def test_deltas_are_exact_when_a_total_moves_across_zero_and_limbs(store: RedisStore) -> None:
    """One own total going up and down (refunds) by amounts no double can tell apart; its parent follows exactly."""
    store.apply([own_update(ACME, "revenue", 0, "emea", 1, [2**53 + 1, 1])])
    totals = [TOP // 3, -(TOP // 3), -1, 1, 2**53 + 3, 2**53 + 2, -(2**53) - 1, BASE, -BASE, 0, 2**70 + 1, 2**70]
    for version, total in enumerate(totals, start=1):
        store.apply([own_update(ACME, "revenue", 0, "na", version, [total, version])])
        subs = store.read_subtree([("revenue", 0)])[("revenue", 0)]
        assert subs["na"] == [total, version]
        assert subs["sales"] == subs["acme"] == [2**53 + 1 + total, version + 1], total
    assert store.read_own([("revenue", 0)])[("revenue", 0)]["na"] == (len(totals), [2**70, len(totals)])


def test_min_and_max_compare_big_values_exactly(store: RedisStore) -> None:
    """Values equal as doubles but not as integers: the min and max must still pick the right one."""
    spec = SPECS["fastest"]
    own = {
        "na": [1, -(2**60) - 1, 2**60 + 1],
        "emea": [2, -(2**60), 2**60],  # = na's as doubles; na's min is lower by one, its max higher by one
        "acme": [1, -TOP, TOP],
        "sales": [3, -(2**53) - 1, -(2**53) + 1],
    }
    store.apply([own_update(ACME, "fastest", 0, unit, 1, state) for unit, state in own.items()])
    subs = store.read_subtree([("fastest", 0)])[("fastest", 0)]
    assert subs["sales"] == [6, -(2**60) - 1, 2**60 + 1]
    assert subs["acme"] == [7, -TOP, TOP]
    merged = spec.merge_all([spec.from_list(state) for state in own.values()])
    assert subs["acme"] == spec.to_list(merged)

    # A newer na whose minimum rises by one (equal as a double) shrank: refused, nothing written.
    with pytest.raises(StoreConflictError, match="shrank"):
        store.apply([own_update(ACME, "fastest", 0, "na", 2, [2, -(2**60), 2**60 + 1])])
    # One whose maximum grows by one beyond 2**60 is applied, and only changes the max.
    store.apply([own_update(ACME, "fastest", 0, "na", 3, [2, -(2**60) - 1, 2**60 + 2])])
    assert store.read_subtree([("fastest", 0)])[("fastest", 0)]["sales"] == [7, -(2**60) - 1, 2**60 + 2]


def test_versions_beyond_2_53_are_compared_exactly(store: RedisStore) -> None:
    version = 2**60 + 1  # 2**60 and 2**60 + 1 are the same double
    store.apply([own_update(ACME, "revenue", 0, "na", version, [5, 1])], [CountsUpdate.for_unit("na", version, {})])
    older = store.apply(
        [own_update(ACME, "revenue", 0, "na", version - 1, [7, 2])],
        [CountsUpdate.for_unit("na", version - 1, {"x": 1})],
    )
    assert (older.applied, older.skipped, older.counts_applied, older.counts_skipped) == (0, 1, 0, 1)
    newer = store.apply([own_update(ACME, "revenue", 0, "na", version + 1, [7, 2])])
    assert (newer.applied, newer.skipped) == (1, 0)
    assert store.read_own([("revenue", 0)])[("revenue", 0)]["na"] == (version + 1, [7, 2])
    top = store.apply([own_update(ACME, "revenue", 0, "na", TOP, [8, 3])])
    assert top.applied == 1 and store.read_own([("revenue", 0)])[("revenue", 0)]["na"].version == TOP


def test_the_exact_bound_just_below_is_held_at_it_nothing_is_written(store: RedisStore) -> None:
    """NUMERIC_LIMIT - 1 in every place is stored exactly; a subtree sum or a change reaching the bound is refused
    whole, by the script, with Redis left as it was."""
    store.apply([own_update(ACME, "revenue", 0, "na", 1, [TOP, 1]), own_update(ACME, "revenue", 1, "na", 1, [-TOP, 1])])
    before = store.read_subtree([("revenue", 0), ("revenue", 1)])
    assert before["revenue", 0]["acme"] == [TOP, 1] and before["revenue", 1]["acme"] == [-TOP, 1]
    own_before = store.read_own([("revenue", 0), ("revenue", 1)])

    refused = [
        [own_update(ACME, "revenue", 0, "emea", 1, [1, 1])],  # sales and acme would reach +NUMERIC_LIMIT
        [own_update(ACME, "revenue", 1, "emea", 1, [-1, 1])],  # ... -NUMERIC_LIMIT
        [own_update(ACME, "revenue", 0, "acme", 1, [1, 1])],  # the root alone
        [own_update(ACME, "revenue", 1, "na", 2, [TOP, 2])],  # each end fits, the change -TOP -> TOP does not
    ]
    for batch in refused:
        with pytest.raises(NumericRangeError, match="2\\*\\*53 - 1\\) \\* 10\\*\\*12"):
            store.apply([own_update(ACME, "revenue", 2, "emea", 1, [3, 1]), *batch])  # a fine entry goes down too
    assert store.read_subtree([("revenue", 0), ("revenue", 1), ("revenue", 2)]) == {**before, ("revenue", 2): {}}
    assert store.read_own([("revenue", 0), ("revenue", 1)]) == own_before

    # Back from the edge by one: the same sums fit.
    store.apply([own_update(ACME, "revenue", 0, "emea", 1, [-1, 1]), own_update(ACME, "revenue", 1, "emea", 1, [1, 1])])
    after = store.read_subtree([("revenue", 0), ("revenue", 1)])
    assert after["revenue", 0]["acme"] == [TOP - 1, 2] and after["revenue", 1]["acme"] == [1 - TOP, 2]


def test_states_written_by_the_previous_script_read_back_and_cascade(
    store: RedisStore, redis_client: redis.Redis
) -> None:
    """Schema 1 data written before the limbs (plain decimal text, negatives, 2**53 - 1) is read and updated as is."""
    keys = store.keys
    redis_client.hset(keys.own("revenue", 0), mapping={"na": "4|[-9007199254740991,4]", "emea": "2|[120500000,2]"})
    redis_client.hset(
        keys.sub("revenue", 0),
        mapping={
            "na": "[-9007199254740991,4]",
            "emea": "[120500000,2]",
            "sales": "[-9007199134240991,6]",
            "acme": "[-9007199134240991,6]",
        },
    )
    store.apply(
        [own_update(ACME, "revenue", 0, "na", 5, [-(2**53) - 7, 5]), own_update(ACME, "revenue", 0, "na", 3, [0, 3])]
    )
    subs = store.read_subtree([("revenue", 0)])[("revenue", 0)]
    assert subs == {
        "na": [-(2**53) - 7, 5],
        "emea": [120_500_000, 2],
        "sales": [-(2**53) - 7 + 120_500_000, 7],
        "acme": [-(2**53) - 7 + 120_500_000, 7],
    }
    assert stored_text(redis_client, keys.own("revenue", 0), "na") == b"5|[-9007199254740999,5]"
    assert stored_text(redis_client, keys.sub("revenue", 0), "acme") == b"[-9007199134240999,7]"


def test_foreign_numbers_in_our_hashes_are_conflicts(store: RedisStore, redis_client: redis.Redis) -> None:
    """A float or a number beyond the range at one of our fields: refused by readers and by the script alike."""
    keys = store.keys
    redis_client.hset(keys.sub("revenue", 0), "acme", "[1.5e30,1]")
    with pytest.raises(StoreConflictError, match=r"sub:revenue:0 acme: corrupt state '\[1.5e30,1\]'"):
        store.read_subtree([("revenue", 0)])
    with pytest.raises(StoreConflictError, match=r"sub:revenue:0 acme holds \[1.5e30,1\], not a JSON list of integers"):
        store.apply([own_update(ACME, "revenue", 0, "na", 1, [1, 1])])
    for foreign in ("[1.5,1]", '[1,"2"]', "[1,2", "null", "1e400", "[1e400,1]", "[NaN,1]"):
        redis_client.hset(keys.sub("revenue", 0), "acme", foreign)
        with pytest.raises(StoreConflictError, match=r"sub:revenue:0 acme holds .*, not a JSON list of integers"):
            store.apply([own_update(ACME, "revenue", 0, "na", 1, [1, 1])])
    redis_client.hset(keys.sub("revenue", 0), "acme", "[1,2,3]")
    with pytest.raises(StoreConflictError, match="sub:revenue:0 acme holds 3 components, the update 2"):
        store.apply([own_update(ACME, "revenue", 0, "na", 1, [1, 1])])

    redis_client.hset(keys.own("revenue", 1), "na", f"1|[{NUMERIC_LIMIT},1]")
    with pytest.raises(StoreConflictError, match=f"own:revenue:1 na: number out of the store's range: {NUMERIC_LIMIT}"):
        store.apply([own_update(ACME, "revenue", 1, "na", 2, [1, 2])])
    redis_client.hset(keys.own("revenue", 1), "na", "x1|[1,1]")
    with pytest.raises(StoreConflictError, match="own:revenue:1 na: not a number: x1"):
        store.apply([own_update(ACME, "revenue", 1, "na", 2, [1, 2])])
    assert redis_client.hgetall(keys.sub("revenue", 1)) == {}


# A state of each family grown by increments drawn from edge values and random big ones. An example has at most 30
# increments in all (6 batches of 5), each within NUMERIC_LIMIT / 256: every sum stays inside the bound, so every
# update must be applied.
STEP_LIMIT = NUMERIC_LIMIT // 256
WIDE = st.integers(-STEP_LIMIT, STEP_LIMIT) | st.sampled_from([e for e in SIGNED_EDGES if abs(e) <= STEP_LIMIT])
SMALL_COUNT = st.integers(1, 10**6) | st.sampled_from([BASE - 1, BASE, 2**53 + 1, 2**64])
OPS_KPI = {"ac": "revenue", "cnx": "fastest", "aaa": "nps", "aa": "conversion"}


def increments(ops: str) -> st.SearchStrategy[list[int]]:
    if ops == "ac":
        return st.tuples(WIDE, SMALL_COUNT).map(list)
    if ops == "cnx":
        return st.tuples(SMALL_COUNT, WIDE, WIDE).map(lambda t: [t[0], min(t[1:]), max(t[1:])])
    if ops == "aaa":
        return st.lists(SMALL_COUNT | st.just(0), min_size=3, max_size=3)
    return st.lists(WIDE, min_size=2, max_size=2)


@st.composite
def wide_histories(draw: st.DrawFn) -> tuple[str, OrgTree, list[list[tuple[str, list[int]]]]]:
    """Ops, a tree, and batches of (unit, increment): each unit's own state grows by its increments in order."""
    ops = draw(st.sampled_from(sorted(OPS_KPI)))
    tree = random_tree(random.Random(draw(st.integers(0, 10**6))), size=draw(st.integers(2, 8)))
    step = st.tuples(st.sampled_from(list(tree)), increments(ops))
    batches = draw(st.lists(st.lists(step, min_size=1, max_size=5), min_size=1, max_size=6))
    return ops, tree, batches


@hypothesis_settings(
    deadline=None,
    max_examples=int(os.environ.get("HYPO_N", "60")),
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # each example uses an app id of its own
)
@given(history=wide_histories())
def test_wide_cascade_equals_merge_components(
    redis_client: redis.Redis, unique_name: Callable[[str], str], history: tuple[str, OrgTree, list[Any]]
) -> None:
    ops, tree, batches = history
    kpi = OPS_KPI[ops]
    assert SPECS[kpi].component_ops == ops
    store = RedisStore(redis_client, unique_name("wide") + uuid.uuid4().hex[:6])
    own: dict[str, list[int]] = {}
    versions: dict[str, int] = {}
    try:
        for batch in batches:
            updates = []
            for unit, increment in batch:
                own[unit] = merge_components(ops, own.get(unit, [0] * len(ops)), increment)
                versions[unit] = versions.get(unit, 0) + 1
                updates.append(own_update(tree, kpi, 0, unit, versions[unit], own[unit]))
            result = store.apply(updates)
            assert (result.applied, result.skipped) == (len(updates), 0)
        got = store.read_subtree([(kpi, 0)])[(kpi, 0)]
        for unit in tree:
            expected = [0] * len(ops)
            for member in tree.descendants_or_self(unit):
                if member in own:
                    expected = merge_components(ops, expected, own[member])
            assert got.get(unit, [0] * len(ops)) == expected, (unit, ops)
            if unit in got:
                raw = stored_text(redis_client, store.keys.sub(kpi, 0), unit)
                assert raw == msgspec.json.encode(expected)  # canonical decimal text, never "-0" or an exponent
    finally:
        store.reset()
