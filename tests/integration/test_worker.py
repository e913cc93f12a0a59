"""The streaming worker against the real Kafka and Redis: the live scorecard equals the batch replay, exactly.

Every test runs real ``scorecard worker`` processes and compares ``scorecard status --format json`` with
``scorecard replay --format json`` byte for byte at the replay's evaluation time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families

from scorecard.config import Settings
from scorecard.core.definition import load_scorecard
from scorecard.core.engine import Engine, definition_hash
from scorecard.simulator import generate_events
from streams.topics import TopicNames, ensure_topics
from tests.integration.held_worker import HOLD_MARK
from tests.integration.pipeline import (
    PARTITIONS,
    Deployment,
    PrivateRedis,
    WorkerProcess,
    committed_total,
    publish_keyed_by_id,
    read_dead_letters,
    replay_json,
    wait_until,
)
from tests.paths import ACME


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of this test's own, started by the project's service script, so restarting it disturbs nobody."""
    server = PrivateRedis.start(tmp_path / "services")
    yield server
    server.stop()


def event_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def test_one_worker_keyed_equals_replay(deployment: Deployment, acme_events: Path) -> None:
    expected, at = replay_json(ACME, acme_events)
    worker = deployment.start_worker()
    stats = deployment.publish(event_lines(acme_events))
    assert stats.sent == len(event_lines(acme_events))
    deployment.wait_for_events(stats.sent)
    assert deployment.status_json(at) == expected
    assert worker.alive()
    # the equality covers the time-aware fields: a paced monthly revenue part-way through its month
    revenue = orjson.loads(expected)["units"]["sales-emea"]["kpis"]["revenue"]
    assert 0 < revenue["elapsed"] < 1
    assert revenue["forecast"] == revenue["value"] / revenue["elapsed"]
    assert revenue["goal"] == revenue["period_goal"] * revenue["elapsed"]


def within_grace(path: Path) -> list[bytes]:
    """The ACME events of a span shorter than every lateness grace, so no arrival order can make one late.

    With keyless messages a unit's events arrive through several partitions, so their order is not file order; the
    contract judges lateness in arrival order (docs/semantics.md), so only events whose disorder stays within the
    grace give the file-order replay's numbers whatever the order. Undecodable lines are kept (order-free).
    """
    engine = Engine(load_scorecard(ACME))
    grace = min(c.lateness for c in engine.kpis.values())
    lines = event_lines(path)
    times = []
    for line in lines:
        try:
            times.append(engine.decode(line).time)
        except Exception:
            times.append(None)
    span = grace * 0.9
    known = sorted(t for t in times if t is not None)
    start = max(known, key=lambda t: sum(1 for u in known if t <= u < t + span))  # the busiest span
    return [line for line, t in zip(lines, times, strict=True) if t is None or start <= t < start + span]


@pytest.mark.parametrize("key", ["none", "event-id"])
def test_unkeyed_or_otherwise_keyed_equals_replay_when_disorder_fits_the_grace(
    deployment: Deployment, tmp_path: Path, key: str, acme_events: Path
) -> None:
    """Events without a key, or keyed by their id, reach their unit's partition through the by-unit topic."""
    subset = tmp_path / "subset.jsonl"
    lines = within_grace(acme_events)
    subset.write_bytes(b"\n".join(lines) + b"\n")
    expected, at = replay_json(ACME, subset)
    document = orjson.loads(expected)
    assert document["events"]["accepted"] > 30 and document["events"]["invalid"] > 0, document["events"]
    deployment.start_worker()
    if key == "none":
        stats = deployment.publish(lines, keyed=False)
        assert stats.keyed == 0
    else:
        asyncio.run(publish_keyed_by_id(deployment.settings, lines))
    deployment.wait_for_events(len(lines))
    assert deployment.status_json(at) == expected


def test_two_workers_share_partitions_and_equal_replay(deployment: Deployment, acme_events: Path) -> None:
    lines = event_lines(acme_events)
    expected, at = replay_json(ACME, acme_events)
    first = deployment.start_worker("first")
    half = len(lines) // 2
    deployment.publish(lines[:half])
    deployment.wait_for_events(half)
    second = deployment.start_worker("second")
    # The second worker joins: partitions (and their table records, through the changelog) move to it.
    topic = deployment.settings.topic

    def shared() -> bool:
        mine, theirs = first.assigned(topic), second.assigned(topic)
        return bool(mine) and bool(theirs) and not mine & theirs and mine | theirs == set(range(PARTITIONS))

    try:
        wait_until(shared, 60, "both workers consuming a share of the input partitions")
    except AssertionError as error:
        raise AssertionError(
            f"{error}: {first.assigned(topic)} and {second.assigned(topic)}\n{deployment.logs()}"
        ) from None
    deployment.publish(lines[half:])
    deployment.wait_for_events(len(lines))
    assert deployment.status_json(at) == expected
    assert first.alive() and second.alive()


# ------------------------------------------------------------------------------------------------- crash safety


@pytest.fixture(scope="module")
def large_events(tmp_path_factory: pytest.TempPathFactory, fixed_start: Callable[[str], str]) -> Path:
    """About 20,000 simulated ACME events with duplicates, late, invalid and ignored ones: a publish of seconds."""
    events = generate_events(
        load_scorecard(ACME),
        start=fixed_start("2026-10-20T00:00:00Z"),
        days=10,
        events_per_day=2000,
        seed=23,
        duplicate_rate=0.02,
        late_rate=0.01,
        invalid_rate=0.01,
        ignored_rate=0.01,
    )
    path = tmp_path_factory.mktemp("large") / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def test_sigkill_mid_publish_then_restart_equals_replay(
    deployment: Deployment, large_events: Path, tmp_path: Path
) -> None:
    lines = event_lines(large_events)
    total = len(lines)
    expected, at = replay_json(ACME, large_events)
    # Published in two parts, the worker killed during the first: the kill lands before the end, whatever the load.
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"\n".join(lines[: total * 3 // 5]) + b"\n")
    second.write_bytes(b"\n".join(lines[total * 3 // 5 :]) + b"\n")
    publisher = deployment.publish_in_background(first, rate=4000)
    # The kill must land after a batch reached Redis and before its offsets were committed, so that the restarted
    # worker re-reads messages its table already applied: what makes this test about double counting at all. That
    # holds when Redis counts more events than the committed offsets cover (checked after the kill, when neither
    # moves any more); a kill that landed just after a commit is repeated with a new worker.
    for attempt in range(5):
        worker = deployment.start_worker(f"killed-{attempt}")
        more = deployment.counted() + total // 20
        wait_until(lambda more=more: deployment.counted() > more, 120, "a twentieth of the events more in Redis")
        worker.kill()  # no commit, no flush: the changelog and the committed offsets lag what Redis already has
        if deployment.counted() > asyncio.run(committed_total(deployment.settings)):
            break
    else:
        raise AssertionError(f"five kills in a row landed right after a commit\n{deployment.logs()}")
    killed_at = deployment.counted()
    assert killed_at < total, "the worker was killed too late to test anything; publish more or faster"
    restarted = deployment.start_worker("restarted")
    output, _ = publisher.communicate(timeout=120)
    assert publisher.returncode == 0, output.decode()
    output += subprocess.run(
        [sys.executable, "-m", "scorecard", "publish", str(second)], env=deployment.env(), capture_output=True
    ).stdout
    assert f"published {total * 3 // 5} events".encode() in output, output
    assert f"published {total - total * 3 // 5} events".encode() in output, output
    deployment.wait_for_events(total, timeout=180)
    assert deployment.status_json(at) == expected
    # The restart really re-read messages the table had already applied (and skipped them): what makes this test
    # about double counting at all.
    assert replayed(restarted) > 0, restarted.log()


@pytest.mark.parametrize("key", ["unit", "none"])
def test_one_of_two_workers_killed_before_any_commit_then_a_third_joins_equals_replay(
    deployment: Deployment, large_events: Path, key: str
) -> None:
    """The failover that lost events: partitions without a committed offset changing hands, and a rebalance.

    A commit interval longer than the test means no partition has a committed offset when the victim dies, so every
    partition moved is one that Faust and aiokafka left wherever the recovery's skipping had pushed it, and the
    survivor's recovery resumes flow over messages already delivered (both in streams/faust_fixes/offsets.py). Without
    the first fix this test lost about 5,000 events in every run; without the second, a few events in about one run in
    eight. Published without keys, the events also go through the by-unit topic; after a failover their arrival order is
    not the file's (a partition is re-read from its start while the others go on), so lateness may legitimately differ
    from the replay and the check is the exact count: nothing lost, nothing counted twice.
    """
    total = len(event_lines(large_events))
    expected, at = replay_json(ACME, large_events)
    no_commit = {"SCORECARD_COMMIT_INTERVAL": "600"}
    victim = deployment.start_worker("victim", **no_commit)
    survivor = deployment.start_worker("survivor", **no_commit)
    topic = deployment.settings.topic
    wait_until(
        lambda: victim.assigned(topic) and survivor.assigned(topic), 60, "both workers consuming a share of the input"
    )
    publisher = deployment.publish_in_background(large_events, rate=4000, keyed=key == "unit")
    wait_until(lambda: deployment.counted() > total // 4, 90, "a quarter of the events in Redis")
    victim.kill()
    assert deployment.counted() < total, "the victim was killed too late to test anything; publish more or faster"
    deployment.start_worker("joined", **no_commit)
    output, _ = publisher.communicate(timeout=120)
    assert publisher.returncode == 0, output.decode()
    deployment.wait_for_count(total, timeout=180)
    assert survivor.alive()
    deployment.stop_workers()  # they never commit on their own: a clean stop does, which proves everything processed
    deployment.wait_for_events(total, timeout=180)
    if key == "unit":
        assert deployment.status_json(at) == expected


def test_a_rebalance_in_the_middle_of_a_batch_waits_for_it_and_equals_replay(
    deployment: Deployment, acme_events: Path, tmp_path: Path
) -> None:
    """A second worker joins while the first holds a batch: partitions change hands only after that batch is done.

    The first worker is the real one with a hold added (``tests/integration/held_worker.py``): the fetch holding the
    marked line waits in hand until the test releases it, so the rebalance lands in the middle of a batch every time.
    """
    marked = HOLD_MARK + b' "not an event"}'  # an invalid line: a dead letter, counted like any other
    lines = [marked, *event_lines(acme_events)]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    expected, at = replay_json(ACME, events)
    held, release = tmp_path / "held", tmp_path / "release"
    gate = {"SCORECARD_TEST_HELD": str(held), "SCORECARD_TEST_RELEASE": str(release)}
    first = deployment.start_worker("first", module="tests.integration.held_worker", **gate)
    half = len(lines) // 2
    deployment.publish(lines[:half])
    wait_until(held.exists, 60, "the first worker holding the batch with the marked line")
    second = deployment.start_worker("second")
    waiting = "rebalance: waiting for the batch in hand"
    try:
        wait_until(lambda: waiting in first.log(tail=400), 60, "the rebalance reaching the first worker mid-batch")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{deployment.logs()}") from None
    time.sleep(2)  # the rebalance must go on waiting, however long the batch takes
    assert "batch in hand finished" not in first.log(tail=400)
    assert deployment.counted() == 0, "nothing of the held batch may be in Redis yet"
    release.touch()
    wait_until(lambda: "batch in hand finished" in first.log(tail=400), 60, "the held batch finishing")
    topic = deployment.settings.topic

    def shared() -> bool:
        mine, theirs = first.assigned(topic), second.assigned(topic)
        return bool(mine) and bool(theirs) and not mine & theirs and mine | theirs == set(range(PARTITIONS))

    wait_until(shared, 60, "both workers consuming a share of the input partitions")
    deployment.publish(lines[half:])
    deployment.wait_for_events(len(lines))
    assert deployment.status_json(at) == expected
    assert first.alive() and second.alive()


async def commit_beyond_the_end(settings: Settings, offset: int) -> None:
    """What a group keeps when its input topic is deleted and created again and Kafka misses the cleanup."""
    await ensure_topics(settings, TopicNames.from_settings(settings))
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=settings.app_id)
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic, p) for p in range(settings.partitions)]
        consumer.assign(partitions)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp in partitions})
    finally:
        await consumer.stop()


def test_offsets_beyond_the_log_end_do_not_hide_the_events(deployment: Deployment, acme_events: Path) -> None:
    """Seen in the demo (it deletes and re-creates its topics): Faust read the partitions from their start but
    dropped every message below the stale committed offset, so nothing was counted; the worker now rewinds them."""
    asyncio.run(commit_beyond_the_end(deployment.settings, 5000))
    expected, at = replay_json(ACME, acme_events)
    deployment.start_worker()
    stats = deployment.publish(event_lines(acme_events))
    deployment.wait_for_events(stats.sent)
    assert deployment.status_json(at) == expected


def replayed(worker: WorkerProcess) -> float:
    for family in text_string_to_metric_families(worker.metrics()):
        if family.name == "scorecard_pipeline_replayed":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


def test_redis_restarted_empty_mid_stream_is_rebuilt_from_the_tables(
    deployment: Deployment, large_events: Path, private_redis: PrivateRedis
) -> None:
    deployment.settings = replace(deployment.settings, redis_url=private_redis.url)
    total = len(event_lines(large_events))
    expected, at = replay_json(ACME, large_events)
    deployment.start_worker()
    publisher = deployment.publish_in_background(large_events, rate=4000)
    wait_until(lambda: deployment.counted() > total // 3, 90, "a third of the events in Redis")
    epoch = deployment.store().read_meta().epoch
    private_redis.restart()  # no persistence: it comes back empty, with the worker still flushing into it
    # A new epoch token proves Redis lost everything and the worker resynced it (its tables are the truth).
    wait_until(lambda: deployment.store().read_meta().epoch not in (None, epoch), 30, "a resync after the restart")
    output, _ = publisher.communicate(timeout=120)
    assert publisher.returncode == 0, output.decode()
    deployment.wait_for_events(total, timeout=120)
    assert deployment.status_json(at) == expected
    # Also while idle: emptied again with no event flowing, the worker's check brings everything back.
    deployment.store().reset()
    deployment.wait_for_events(total, timeout=30)
    assert deployment.status_json(at) == expected


# ---------------------------------------------------------------------------------------------------- bad input


def test_bad_input_goes_to_the_dead_letter_topic_with_its_reason(
    deployment: Deployment, tmp_path: Path, acme_events: Path
) -> None:
    good = event_lines(acme_events)[:300]
    first = orjson.loads(good[0])
    bad = {
        b"{not json": "not_json",
        orjson.dumps({**first, "id": "bad-unit", "unit": "no-such-unit"}): "unknown_unit",
        orjson.dumps({k: v for k, v in first.items() if k != "time"} | {"id": "bad-time"}): "missing_time",
        orjson.dumps({k: v for k, v in first.items() if k != "id"}): "missing_id",
        good[10]: "duplicate",  # the very same event again, after it was accepted
        orjson.dumps({**first, "id": "too-late", "time": "2020-01-01T00:00:00Z"}): "late",
    }
    lines = good[:150] + list(bad) + good[150:]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    expected, at = replay_json(ACME, path)
    worker = deployment.start_worker()
    deployment.publish(lines)
    deployment.wait_for_events(len(lines))
    assert deployment.status_json(at) == expected  # the valid events around the bad ones all counted
    letters = asyncio.run(read_dead_letters(deployment.settings, document_dead(expected)))
    by_value = {letter.value: letter for letter in letters}
    for raw, reason in bad.items():
        assert raw in by_value, f"{raw!r} is not on the dead-letter topic"
        headers = by_value[raw].headers
        assert headers["scorecard-reason"] == reason, (raw, headers)
        assert headers["scorecard-source-topic"] == deployment.settings.topic
        assert int(headers["scorecard-source-offset"]) >= 0 and int(headers["scorecard-source-partition"]) >= 0
        assert headers["scorecard-detail"], raw
    assert worker.alive()
    reasons = {letter.headers["scorecard-reason"] for letter in letters}
    assert {"not_json", "unknown_unit", "missing_time", "missing_id", "duplicate", "late"} <= reasons
    assert 'scorecard_pipeline_dead_letters_total{reason="unknown_unit"}' in worker.metrics()


def document_dead(report: bytes) -> int:
    """How many messages the replay's counts say are dead letters (invalid, duplicate and late)."""
    events = orjson.loads(report)["events"]
    return int(events["invalid"] + events["duplicate"] + events["late"])


# ------------------------------------------------------------------------------------------- definition changes


def changed_definition(path: Path) -> None:
    """ACME with a changed goal, a new unit, a new KPI, a removed KPI and a re-shaped one (sum -> max)."""
    data = yaml.safe_load(ACME.read_text())
    kpis = {k["id"]: k for k in data["kpis"]}
    kpis["csat"]["goal"] = 4.6
    kpis["training-hours"]["aggregation"] = "max"
    kpis["training-hours"].pop("pace", None)  # only sums and counts are paced
    data["kpis"] = [k for k in data["kpis"] if k["id"] != "max-delivery-delay"]  # its event type stays in use
    data["kpis"].append(
        {
            "id": "escalations",
            "objective": "resolve-fast",
            "aggregation": "count",
            "source": {"event": "ticket_escalated"},
            "window": {"kind": "tumbling", "size": "1d"},
        }
    )
    sales = next(u for u in data["org"]["children"] if u["id"] == "sales")
    sales["children"].append({"id": "sales-latam", "name": "Sales LATAM"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_definition_change_takes_effect_on_restart_keeping_valid_state(
    deployment: Deployment, tmp_path: Path, acme_events: Path
) -> None:
    lines = event_lines(acme_events)
    half = len(lines) // 2
    first_half, second_half = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first_half.write_bytes(b"\n".join(lines[:half]) + b"\n")
    last = orjson.loads(lines[-1])
    extra = [
        orjson.dumps({"id": f"esc-{i}", "type": "ticket_escalated", "unit": "support-l1", "time": last["time"]})
        for i in range(3)
    ] + [
        orjson.dumps(
            {
                "id": f"latam-{i}",
                "type": "order_completed",
                "unit": "sales-latam",
                "time": last["time"],
                "fields": {"amount": 100.0 * (i + 1), "channel": "online"},
            }
        )
        for i in range(2)
    ]
    second_half.write_bytes(b"\n".join(lines[half:] + extra) + b"\n")
    everything = tmp_path / "all.jsonl"
    everything.write_bytes(first_half.read_bytes() + second_half.read_bytes())

    worker = deployment.start_worker("old-definition")
    deployment.publish(lines[:half])
    deployment.wait_for_events(half)
    worker.stop()

    new = tmp_path / "acme-changed.yaml"
    changed_definition(new)
    deployment.scorecard_path = new
    deployment.start_worker("new-definition")
    new_hash = definition_hash(load_scorecard(new))
    wait_until(
        lambda: deployment.store().read_meta().definition == new_hash, 60, "Redis rebuilt for the new definition"
    )
    deployment.wait_for_events(half)

    # Right after the restart: every still-valid state is there, under the new goals and tree; the re-shaped KPI
    # starts empty, the removed one is gone, the new unit and KPI have no data yet.
    expected_first, at_first = replay_json(new, first_half)
    live, reference = orjson.loads(deployment.status_json(at_first)), orjson.loads(expected_first)
    assert live["events"] == reference["events"]
    for unit, result in reference["units"].items():
        for kpi, expected in result["kpis"].items():
            got = live["units"][unit]["kpis"][kpi]
            if kpi == "training-hours":
                assert got["status"] == "no_data", (unit, got)
            else:
                assert got == expected, (unit, kpi)
    assert reference["units"]["sales"]["kpis"]["csat"]["goal"] == 4.6
    assert "max-delivery-delay" not in live["units"]["acme"]["kpis"]

    # Then the stream goes on under the new definition: new unit, new KPI, same numbers as a replay of everything
    # (except the re-shaped KPI, which only saw the events after the restart).
    deployment.publish(event_lines(second_half))
    deployment.wait_for_events(len(lines) + len(extra))
    expected_all, at_all = replay_json(new, everything)
    live, reference = orjson.loads(deployment.status_json(at_all)), orjson.loads(expected_all)
    assert live["events"] == reference["events"]
    for unit, result in reference["units"].items():
        for kpi, expected in result["kpis"].items():
            if kpi != "training-hours":
                assert live["units"][unit]["kpis"][kpi] == expected, (unit, kpi)
    assert live["units"]["sales-latam"]["kpis"]["revenue"]["value"] == 300.0
    assert live["units"]["support-l1"]["kpis"]["escalations"]["value"] == 3
