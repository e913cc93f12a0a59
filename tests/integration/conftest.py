"""Fixtures for integration tests against the real services started by `deploy/local/services`.

The services are started by `make test` (or `make services-up`) before pytest runs; these fixtures only connect.
A service that cannot be reached FAILS the test with the command to fix it: a skipped integration test would let
CI look green without ever touching Kafka or Redis.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from scorecard.config import Settings
from scorecard.core.timeutil import format_time, parse_time
from tests.integration.pipeline import Deployment, own_settings
from tests.paths import ACME
from tests.paths import ACME_EVENTS as EXAMPLE_EVENTS
from tests.timeshift import ending_at, shift_lines, variant_shift, write_lines

START_HINT = "start the local services with `make services-up` (or run the suite with `make test`)"


def _require_port(what: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as error:
        pytest.fail(f"{what} is not reachable at {host}:{port} ({error}); {START_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: Settings) -> str:
    host, _, port = settings.kafka_bootstrap.split(",")[0].rpartition(":")
    _require_port("Kafka", host, int(port))
    return settings.kafka_bootstrap


@pytest.fixture(scope="session")
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable at {settings.redis_url} ({error}); {START_HINT}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def acme_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/acme-events.jsonl as this run uses it: the file itself, or a copy moved by ``SCORECARD_TEST_SHIFT``.

    Every integration test takes the example events from here, never from the path, so that the shifted run
    (tests/timeshift.py) really moves all of them.
    """
    shift = variant_shift()
    if shift == 0:
        return EXAMPLE_EVENTS
    moved = shift_lines(EXAMPLE_EVENTS.read_bytes().splitlines(), shift)
    return write_lines(tmp_path_factory.mktemp("shifted") / EXAMPLE_EVENTS.name, moved)


@pytest.fixture(scope="session")
def recent_acme_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/acme-events.jsonl moved so that its newest event lies an hour before this run started.

    For the tests whose subject is the infrastructure (a secured or clustered Kafka or Redis, a broker lost or late):
    their data moves with the clock, so they need no second run with shifted data (tests/timeshift.py); the age of
    the data is the subject of the ``acme_events`` tests, which take the same code path.
    """
    moved = ending_at(EXAMPLE_EVENTS.read_bytes().splitlines(), time.time() - 3600)
    return write_lines(tmp_path_factory.mktemp("recent") / EXAMPLE_EVENTS.name, moved)


@pytest.fixture(scope="session")
def recent_start() -> Callable[[int], str]:
    """The start of the UTC day ``days`` days before this run, for generated data that moves with the clock
    (``generate_events(start=...)``; see ``recent_acme_events`` for which tests use it)."""

    def start(days: int) -> str:
        today = int(time.time()) // 86400 * 86400
        return format_time(today - days * 86400)

    return start


@pytest.fixture(scope="session")
def fixed_start() -> Callable[[str], str]:
    """A fixed start time for generated data (``generate_events(start=...)``), moved like the example events."""

    def moved(text: str) -> str:
        return format_time(parse_time(text) + variant_shift())

    return moved


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names unique to this test run, so tests never see each other's topics or keys."""
    token = uuid.uuid4().hex[:8]
    test = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:40]

    def make(prefix: str) -> str:
        return f"t.{prefix}.{test}.{token}"

    return make


TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def kafka_admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    yield admin
    await admin.close()


@pytest.fixture
async def create_topic(
    kafka_admin: AIOKafkaAdminClient, unique_name: Callable[[str], str]
) -> AsyncIterator[TopicFactory]:
    """Create uniquely named topics for one test and delete them (and only them) afterwards."""
    created: list[str] = []

    async def create(prefix: str = "topic", partitions: int = 1, configs: dict[str, str] | None = None) -> str:
        name = unique_name(prefix)
        await kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=configs or {})]
        )
        created.append(name)
        return name

    yield create
    if created:
        await kafka_admin.delete_topics(created)


@pytest.fixture
def deployment(settings: Settings, unique_name: Callable[[str], str], tmp_path: Path) -> Iterator[Deployment]:
    """A whole pipeline of its own (app id, topics, Redis prefix) on the real services; closed after the test."""
    deployment = Deployment(own_settings(settings, unique_name), ACME, tmp_path)
    yield deployment
    deployment.close()
