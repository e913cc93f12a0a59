"""A Quix Streams job for ``bench/bench_peers.py``, run in the virtualenv that script makes (Quix is not a project
dependency).

``uc4`` mode has the shape of Theodolite's UC4 (hierarchical aggregation): each event becomes one record per unit
it counts for, the records are re-keyed by that unit (``group_by``: a repartition topic), and a 1-day tumbling
window keeps a sum and a count per unit in RocksDB with a changelog. ``own`` mode keeps one 1-day tumbling count per
event's own unit (no fan-out, no repartition): Quix's own per-event floor. Records entering the window stage are
counted in Redis (``PEER_COUNTER``), which the benchmark polls; windows use the event's time with 1 h grace.

    PEER_MODE=uc4 PEER_TOPIC=t PEER_GROUP=g PEER_COUNTER=k PEER_CHAINS=chains.json PEER_EXPECTED=n \
    PEER_STATE_DIR=dir python quix_job.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import redis
from quixstreams import Application
from quixstreams.dataframe.windows import Count, Sum
from quixstreams.models.serializers import Deserializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import fan_out, parse

MODE = os.environ["PEER_MODE"]
CHAINS: dict[str, list[str]] = json.loads(Path(os.environ["PEER_CHAINS"]).read_text())
EXPECTED = int(os.environ["PEER_EXPECTED"])
counter = redis.Redis.from_url(os.environ["SCORECARD_REDIS_URL"])
KEY = os.environ["PEER_COUNTER"]


class Events(Deserializer):
    """Lines to records; a line the job skips becomes ``{"skip": True}`` (Quix treats a None value specially)."""

    def __call__(self, value: bytes, ctx: Any) -> dict[str, Any]:
        return parse(value, CHAINS) or {"skip": True, "ms": 0}


class Progress:
    """Counts the records entering the window stage; tells Redis every 2,000 and at the expected total."""

    def __init__(self) -> None:
        self.count = 0
        self.told = 0

    def __call__(self, record: dict[str, Any]) -> None:
        self.count += 1
        if self.count - self.told >= 2000 or self.count == EXPECTED:
            counter.incrby(KEY, self.count - self.told)
            self.told = self.count


def main() -> None:
    app = Application(
        broker_address=os.environ["SCORECARD_KAFKA_BOOTSTRAP"],
        consumer_group=os.environ["PEER_GROUP"],
        auto_offset_reset="earliest",
        state_dir=os.environ["PEER_STATE_DIR"],
        loglevel="WARNING",
    )
    topic = app.topic(
        os.environ["PEER_TOPIC"],
        value_deserializer=Events(),
        timestamp_extractor=lambda value, headers, timestamp, kind: value["ms"],
    )
    sdf = app.dataframe(topic).filter(lambda record: "skip" not in record)
    if MODE == "uc4":
        sdf = sdf.apply(lambda record: fan_out(record, CHAINS, MODE), expand=True)
        sdf = sdf.group_by(lambda record: record["unit"], name="ancestor")
    sdf = sdf.update(Progress())
    window = sdf.tumbling_window(duration_ms=86_400_000, grace_ms=3_600_000)
    aggregated = window.agg(total=Sum("amount"), count=Count()) if MODE == "uc4" else window.count()
    aggregated.current()  # emit every update downstream (nothing reads it: the count above is the progress)
    app.run()


if __name__ == "__main__":
    main()
