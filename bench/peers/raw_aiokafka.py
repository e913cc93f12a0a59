"""A bare aiokafka ``getmany`` loop for ``bench/bench_peers.py``: reads the input and only counts it.

It tells Redis (``PEER_COUNTER``) how many messages it has read after every fetch, which the benchmark polls.

    PEER_TOPIC=t PEER_GROUP=g PEER_COUNTER=k PEER_EXPECTED=n python raw_aiokafka.py
"""

from __future__ import annotations

import asyncio
import os

import redis
from aiokafka import AIOKafkaConsumer


async def main() -> None:
    counter = redis.Redis.from_url(os.environ["SCORECARD_REDIS_URL"])
    consumer = AIOKafkaConsumer(
        os.environ["PEER_TOPIC"],
        bootstrap_servers=os.environ["SCORECARD_KAFKA_BOOTSTRAP"],
        group_id=os.environ["PEER_GROUP"],
        auto_offset_reset="earliest",
        max_poll_records=4000,
    )
    await consumer.start()
    seen, expected = 0, int(os.environ["PEER_EXPECTED"])
    try:
        while seen < expected:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=4000)
            read = sum(len(messages) for messages in fetched.values())
            if read:
                seen += read
                counter.incrby(os.environ["PEER_COUNTER"], read)
        await asyncio.Event().wait()  # stay until stopped, like the other contenders
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
