"""Poison events against the real pipeline: every "one event can stop or freeze it" case of issue 13 goes through
``scorecard publish`` into a running ``scorecard worker``, mixed with the ACME events.

The worker must never stop, each bad event must be on the dead-letter topic with its reason and bounded headers,
and the good events must give exactly the replay's numbers (``status --format json`` equals ``replay --format json
--received-at`` at the same ``--at``). The definition is ACME unchanged (events up to 1 MiB); the input topic takes
messages up to 2 MiB (``streams.topics.EVENT_MESSAGE_BYTES``), so too-large lines reach the worker, one of them
just under the topic's limit, whose dead letter carries the same bytes plus headers.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import orjson

from streams.topics import EVENT_MESSAGE_BYTES
from tests.integration.pipeline import Deployment, read_dead_letters
from tests.paths import ACME


def event_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def replay_json(definition: Path, events: Path, received_at: float, at: str | None = None) -> tuple[bytes, str]:
    command = [sys.executable, "-m", "scorecard", "replay", str(definition), str(events), "--format", "json"]
    command += ["--received-at", str(received_at)] + (["--at", at] if at else [])
    done = subprocess.run(command, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout, orjson.loads(done.stdout)["at"]


def dead_count(report: bytes) -> int:
    events = orjson.loads(report)["events"]
    return int(events["invalid"] + events["duplicate"] + events["late"])


def an_order(lines: list[bytes]) -> dict[str, object]:
    return next(event for event in map(orjson.loads, lines) if event.get("type") == "order_completed")


def test_poison_events_never_stop_the_worker_and_the_rest_equals_the_replay(
    deployment: Deployment, tmp_path: Path, acme_events: Path
) -> None:
    good = event_lines(acme_events)
    order = an_order(good)
    fields = dict(order["fields"])  # type: ignore[call-overload]
    deep = b"[" * 1000 + b"1" + b"]" * 1000
    keyed_bad = {
        orjson.dumps({**order, "id": "amount-1e303", "fields": {**fields, "amount": 1e303}}): "out_of_range",
        orjson.dumps({**order, "id": "typo-2062", "time": "2062-11-20T10:00:00Z"}): "time_in_future",
        orjson.dumps({**order, "id": "deep", "fields": {**fields, "x": 0}}).replace(b'"x":0', b'"x":' + deep): (
            "too_deep"
        ),
        orjson.dumps({**order, "id": "wide", "fields": {**fields, "note": "w" * 1_500_000}}): "too_large",
        # 2 KB under the input topic's limit: the worker passes on (forwards, dead-letters) what the topic takes
        orjson.dumps({**order, "id": "near-limit", "fields": {**fields, "note": "n" * (EVENT_MESSAGE_BYTES - 2200)}}): (
            "too_large"
        ),
        orjson.dumps({**order, "id": "big-unit", "unit": "u" * 400_000}): "unknown_unit",  # keyed by 400 KB
        orjson.dumps({**order, "id": "ctrl-\x1b[31m", "unit": "<b>\x00</b>"}): "unknown_unit",
    }
    long_id = orjson.dumps({**order, "id": "i" * 300_000})  # accepted; its copy is a dead letter named by its id
    duplicate = {long_id: "duplicate"}
    # A 1 MB unit name, sent without a key (keyed, the key would double the message): its unknown_unit detail once
    # copied the whole name into a header, overflowing the dead-letter producer.
    unkeyed_bad = {orjson.dumps({**order, "id": "huge-unit", "unit": "h" * 1_000_000}): "unknown_unit"}
    beyond_kafka = orjson.dumps({**order, "id": "beyond-kafka", "fields": {**fields, "note": "k" * 2_200_000}})
    after_order = next(i for i, raw in enumerate(good) if orjson.loads(raw) == order) + 1
    keyed = [*good[:after_order], long_id, long_id, *good[after_order:]]  # at the order's time: not late
    for step, raw in enumerate(keyed_bad, 1):
        keyed.insert(step * len(good) // (len(keyed_bad) + 1), raw)
    published = tmp_path / "published.jsonl"  # what reaches Kafka: the replay's input
    published.write_bytes(b"\n".join([*keyed, *unkeyed_bad]) + b"\n")
    worker = deployment.start_worker()
    stats = deployment.publish([*keyed, beyond_kafka])
    assert (stats.sent, stats.too_large) == (len(keyed), 1), stats  # the one line the topic cannot take: counted
    received_at = time.time()
    deployment.publish(list(unkeyed_bad), keyed=False)
    expected, at = replay_json(deployment.scorecard_path, published, received_at)
    deployment.wait_for_events(len(keyed) + len(unkeyed_bad), timeout=180)
    assert deployment.status_json(at) == expected
    letters = asyncio.run(read_dead_letters(deployment.settings, dead_count(expected), timeout=60))
    by_value = {letter.value: letter for letter in letters}
    for raw, reason in (keyed_bad | unkeyed_bad | duplicate).items():
        assert raw in by_value, f"{raw[:80]!r} is not on the dead-letter topic"  # the original bytes
        headers = by_value[raw].headers
        assert headers["scorecard-reason"] == reason, (raw[:80], headers)
        assert 0 < len(headers["scorecard-detail"].encode()) <= 1024, headers
        assert len(headers["scorecard-event-id"].encode()) <= 256
    assert worker.alive(), worker.log()
    assert "stopping the worker" not in worker.log(tail=10_000)


def test_sums_beyond_2_53_micro_units_reach_redis_exactly(
    deployment: Deployment, tmp_path: Path, acme_events: Path
) -> None:
    """1e10 in one event, or a month's revenue above 9.007e9 from ordinary-looking amounts: within the engine's
    range (own states up to 1e18 micro-units) and within the widened cascade's (h/rediswide). Before it, Redis
    refused the state (NumericRangeError) and stayed frozen for the worker's units."""
    good = event_lines(acme_events)
    order = an_order(good)
    fields = dict(order["fields"])  # type: ignore[call-overload]
    big = [orjson.dumps({**order, "id": "amount-1e10", "fields": {**fields, "amount": 1e10}})]
    big += [
        orjson.dumps({**order, "id": f"month-{i}", "fields": {**fields, "amount": 999_999_999.5}}) for i in range(10)
    ]
    after_order = next(i for i, raw in enumerate(good) if orjson.loads(raw) == order) + 1
    lines = [*good[:after_order], *big, *good[after_order:]]  # at the order's time: not late
    published = tmp_path / "published.jsonl"
    published.write_bytes(b"\n".join(lines) + b"\n")
    worker = deployment.start_worker()
    deployment.publish(lines)
    received_at = time.time()
    expected, at = replay_json(ACME, published, received_at)
    plain, _ = replay_json(ACME, acme_events, received_at)
    assert orjson.loads(expected)["events"]["accepted"] == orjson.loads(plain)["events"]["accepted"] + len(big)
    deployment.wait_for_events(len(lines), timeout=120)
    assert deployment.status_json(at) == expected
    assert worker.alive(), worker.log()
