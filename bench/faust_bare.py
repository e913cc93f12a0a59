"""A Faust app that does nothing with its events: the baseline of ``bench_stream.py``.

Same broker, topic shape, event loop (uvloop) and settings as the scorecard worker, with Faust's own per-message
streams and batching (``take_events(2000, within=0.2)``, as the worker had before it took whole fetches), but no
decoding, no table and no cascade: each batch only adds its size to a Redis counter, so the
benchmark can time it exactly like the pipeline. What this app reaches is Faust's own ceiling on this machine.

    BARE_TOPIC=t BARE_APP=a BARE_COUNTER=k python bench/faust_bare.py worker -l warn
"""

from __future__ import annotations

import os
from typing import Any

import faust
import mode.loop
import redis

from scorecard.config import env

app = faust.App(
    os.environ["BARE_APP"],
    broker=f"kafka://{env('SCORECARD_KAFKA_BOOTSTRAP')}",
    store="memory://",
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    topic_partitions=8,
)
source = app.topic(os.environ["BARE_TOPIC"], key_serializer="raw", value_serializer="raw")
counter = redis.Redis.from_url(env("SCORECARD_REDIS_URL"))


@app.agent(source)
async def count(stream: Any) -> None:
    async for batch in stream.take_events(2000, within=0.2):
        counter.incrby(os.environ["BARE_COUNTER"], len(batch))


if __name__ == "__main__":
    mode.loop.use("uvloop")
    app.main()
