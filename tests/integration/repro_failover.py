"""Reproduction of an OPEN defect (not collected by pytest): a worker killed while a second one runs loses events.

    make services-up
    KILL=1 .venv/bin/python tests/integration/repro_failover.py          # keyless publish
    KILL=1 KEYED=1 .venv/bin/python tests/integration/repro_failover.py  # keyed by unit

Two workers ("victim" and "survivor") on 4 partitions; about 32,700 simulated ACME events published at 3,000/s; the
victim is SIGKILLed once a quarter is counted and a third worker is started. Expected: every event counted
(32,729). Seen on 2026-11-27 in 8 of 15 runs, keyed and keyless alike, with Faust's default standby replica and
with ``table_standby_replicas=0``: e.g. 22,781, 26,843, 27,068, 27,988 and 32,725 counted. Never seen with a single
worker killed and restarted (tests/integration/test_worker.py), nor with two workers and no kill. Resyncing Redis
from the tables gives the same count, so the tables lack the events. For keyless runs, the by-unit topic lacks the
forwards of a range of input offsets while the unit records' applied offsets reach the partitions' last offsets:
a range of input messages was committed without ever being processed. Leaves the workers running for inspection
(``pkill -f "scorecard worker"``); prints the app id.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scorecard.config import Settings
from scorecard.definition import load_scorecard
from scorecard.simulator import generate_events
from tests.integration.pipeline import ACME, Deployment, wait_until


def main() -> None:
    base = Settings.from_env()
    name = "repro" + uuid.uuid4().hex[:6]
    workdir = Path("/tmp") / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    settings = Settings(base.kafka_bootstrap, base.redis_url, base.prometheus_url, name + ".events", name, 4)
    dep = Deployment(settings, ACME, workdir)
    events = generate_events(
        load_scorecard(ACME),
        start="2026-11-20T09:00:00Z",
        days=40 / 1440,
        events_per_day=16000 * 36,
        seed=31,
        duplicate_rate=0.02,
        invalid_rate=0.01,
        ignored_rate=0.01,
    )
    path = workdir / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    total = sum(1 for line in path.read_bytes().splitlines() if line.strip())
    victim = dep.start_worker("victim")
    dep.start_worker("survivor")
    publisher = dep.publish_in_background(path, rate=3000, keyed=bool(os.environ.get("KEYED")))
    wait_until(lambda: dep.counted() > total // 4, 90, "a quarter of the events counted")
    if os.environ.get("KILL"):
        victim.kill()
        print("killed the victim at", dep.counted(), "of", total, flush=True)
        dep.start_worker("restarted")
    publisher.communicate(timeout=120)
    for _ in range(40):
        time.sleep(3)
        print("counted", dep.counted(), "of", total, flush=True)
        if dep.counted() >= total:
            break
    print("app id", name, "logs in", workdir)


if __name__ == "__main__":
    main()
