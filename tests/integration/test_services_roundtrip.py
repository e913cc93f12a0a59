"""First contact with the real services: a Kafka produce/consume/commit round trip and a Redis round trip."""

from __future__ import annotations

import asyncio

import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .conftest import TopicFactory


async def _consume(consumer: AIOKafkaConsumer, count: int, timeout: float = 30.0) -> list[tuple[int, bytes, bytes]]:
    """Read exactly `count` records (partition, key, value) or fail after `timeout` seconds."""
    received: list[tuple[int, bytes, bytes]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(received) < count:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"only {len(received)} of {count} records arrived within {timeout}s"
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            received.extend((r.partition, r.key, r.value) for r in records)
    return received


async def test_kafka_produce_consume_commit(kafka_bootstrap: str, create_topic: TopicFactory, unique_name) -> None:
    topic = await create_topic("roundtrip", partitions=3)
    group = unique_name("group")
    sent = {(f"unit-{i % 5}".encode(), f"event-{i}".encode()) for i in range(60)}

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in sorted(sent):
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received = await _consume(consumer, len(sent))
        await consumer.commit()
        committed = {p: await consumer.committed(TopicPartition(topic, p)) for p in range(3)}
    finally:
        await consumer.stop()

    assert {(k, v) for _, k, v in received} == sent
    # The same key always lands on the same partition: the pipeline relies on this to keep a unit's events in order.
    partitions_per_key: dict[bytes, set[int]] = {}
    for partition, key, _ in received:
        partitions_per_key.setdefault(key, set()).add(partition)
    assert all(len(parts) == 1 for parts in partitions_per_key.values())
    assert sum(committed.values()) == len(sent)

    # A new member of the same group resumes after the committed offsets: nothing is delivered twice.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, key=b"unit-0", value=b"after-commit")
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        again = await _consume(consumer, 1)
    finally:
        await consumer.stop()
    assert [v for _, _, v in again] == [b"after-commit"]


def test_redis_roundtrip(redis_client: redis.Redis, unique_name) -> None:
    key = unique_name("redis")
    try:
        with redis_client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"value": "42.5", "status": "green"})
            pipe.hincrby(key, "version", 3)
            pipe.expire(key, 60)
            pipe.execute()
        assert redis_client.hgetall(key) == {b"value": b"42.5", b"status": b"green", b"version": b"3"}
        # Lua scripts are how the cascade will write versioned states atomically: check EVALSHA works here.
        script = redis_client.register_script(
            "if tonumber(redis.call('HGET', KEYS[1], 'version')) < tonumber(ARGV[1]) then "
            "redis.call('HSET', KEYS[1], 'version', ARGV[1], 'value', ARGV[2]) return 1 end return 0"
        )
        assert script(keys=[key], args=[2, "1.0"]) == 0  # older version: refused
        assert script(keys=[key], args=[4, "7.0"]) == 1
        assert redis_client.hget(key, "value") == b"7.0"
    finally:
        redis_client.delete(key)
