"""A worker waiting for Kafka at start (``streams.startup``): retried on Kafka errors for a bounded time, with a log
line when it starts waiting and when Kafka answers, then a one-line error; a topic of the wrong shape is not retried.
The clock and the sleep are the test's own, so no test waits."""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import KafkaConnectionError

from scorecard.config import Settings
from streams.startup import KafkaUnreachable, create_topics_when_reachable
from streams.topics import TopicError, TopicNames

SETTINGS = Settings("kafka-1:9092,kafka-2:9092", "redis://r:6379/0", "http://p:9090", "events", "app", 8)
NAMES = TopicNames.from_settings(SETTINGS)


class FakeKafka:
    """Refuses ``failures`` times, then creates the topics; its clock moves only when the worker sleeps."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or KafkaConnectionError("Unable to bootstrap from [('kafka-1', 9092)]")
        self.calls = 0
        self.now = 1000.0
        self.sleeps: list[float] = []

    async def ensure(self, settings: Settings, names: TopicNames) -> None:
        assert (settings, names) == (SETTINGS, NAMES)
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def _run(kafka: FakeKafka, wait: float) -> None:
    await create_topics_when_reachable(
        SETTINGS, NAMES, wait=wait, ensure=kafka.ensure, clock=kafka.clock, sleep=kafka.sleep
    )


async def test_kafka_answering_later_is_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    kafka = FakeKafka(failures=5)
    with caplog.at_level(logging.WARNING, "scorecard.worker"):
        await _run(kafka, wait=120)
    assert kafka.calls == 6
    assert kafka.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]  # back-off doubling to 5 s
    assert [r.getMessage() for r in caplog.records] == [
        "Kafka at kafka-1:9092,kafka-2:9092 not reachable yet (KafkaConnectionError: Unable to bootstrap from "
        "[('kafka-1', 9092)]); retrying for up to 120 s more (--kafka-wait)",
        "Kafka at kafka-1:9092,kafka-2:9092 answered after 17 s: starting",
    ]


async def test_a_long_wait_logs_every_30_seconds(caplog: pytest.LogCaptureFixture) -> None:
    kafka = FakeKafka(failures=30)
    with caplog.at_level(logging.WARNING, "scorecard.worker"):
        await _run(kafka, wait=600)
    waiting = [r.getMessage() for r in caplog.records if "not reachable yet" in r.getMessage()]
    assert len(waiting) == 5  # at 0, 32, 62, 92 and 122 s of the 142 s waited, never once per attempt


async def test_kafka_never_answering_ends_with_one_line_after_the_wait() -> None:
    kafka = FakeKafka(failures=10**6)
    with pytest.raises(KafkaUnreachable) as caught:
        await _run(kafka, wait=20)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "cannot start the worker on topic events: Kafka at kafka-1:9092,kafka-2:9092 not reachable within 20 s ("
    )
    assert "--kafka-wait (SCORECARD_KAFKA_WAIT)" in message
    assert sum(kafka.sleeps) == 20  # the last sleep is cut to end at the wait, then one last attempt


async def test_no_wait_tries_once_and_lets_the_error_through() -> None:
    kafka = FakeKafka(failures=1)
    with pytest.raises(KafkaConnectionError):  # the command reports it like any Kafka error (exit 3)
        await _run(kafka, wait=0)
    assert kafka.calls == 1 and kafka.sleeps == []


async def test_a_topic_of_the_wrong_shape_is_not_retried() -> None:
    kafka = FakeKafka(failures=1, error=TopicError("topic events has 3 partitions but SCORECARD_PARTITIONS is 8"))
    with pytest.raises(TopicError):
        await _run(kafka, wait=120)
    assert kafka.calls == 1
