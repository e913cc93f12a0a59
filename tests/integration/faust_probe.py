"""A tiny Faust app that exercises what the real pipeline will need from the broker.

It counts events per key in a table (so Faust must create a compacted changelog topic through the admin API) and
publishes each new count to a sink topic (so, with exactly_once, the broker must support transactions).
Run by tests/integration/test_faust_probe.py as `python -m tests.integration.faust_probe worker`.
"""

from __future__ import annotations

import os

import faust

app = faust.App(
    os.environ["PROBE_APP_ID"],
    broker=f"kafka://{os.environ['SCORECARD_KAFKA_BOOTSTRAP']}",
    store="memory://",
    processing_guarantee=os.environ.get("PROBE_GUARANTEE", "at_least_once"),
    topic_partitions=2,
    topic_replication_factor=1,
    web_enabled=False,
    datadir=os.environ["PROBE_DATADIR"],
    consumer_auto_offset_reset="earliest",
)
source = app.topic(
    os.environ["PROBE_SOURCE"],
    key_type=bytes,
    value_type=bytes,
    value_serializer="raw",
    key_serializer="raw",
    partitions=2,
)
sink = app.topic(os.environ["PROBE_SINK"], key_serializer="raw", value_serializer="raw")
counts = app.Table("counts", default=int, partitions=2)


@app.agent(source)
async def count(stream: faust.StreamT) -> None:
    async for key, _value in stream.items():
        name = key.decode()
        counts[name] += 1
        await sink.send(key=key, value=str(counts[name]).encode())


if __name__ == "__main__":
    app.main()
