"""The project's own service script, exercised on a second, private set of ports and data directories.

Proves what `make services-up` promises: idempotent `up`, a Kafka JVM killed with SIGKILL comes back with its data on
the next `up`, and `down` leaves no process behind. Uses its own ports so the services the rest of the suite uses
are never disturbed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.paths import REPO as ROOT

SCRIPT = ROOT / "deploy/local/services"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def private_env(tmp_path: Path) -> dict[str, str]:
    kafka, controller, redis_port = _free_ports(3)
    return dict(
        os.environ,
        SCORECARD_KAFKA_BOOTSTRAP=f"127.0.0.1:{kafka}",
        SCORECARD_KAFKA_CONTROLLER_PORT=str(controller),
        SCORECARD_REDIS_URL=f"redis://:s3cret@127.0.0.1:{redis_port}/0",
        SCORECARD_SERVICES_DIR=str(tmp_path / "services"),
    )


def _services(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"services {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


async def _roundtrip(bootstrap: str, topic: str, send: bytes | None) -> list[bytes]:
    if send is not None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        await producer.send_and_wait(topic, send)
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        values: list[bytes] = []
        for _ in range(20):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                values.extend(r.value for r in records if r.value is not None)
            if values:
                return values
        return values
    finally:
        await consumer.stop()


async def test_up_is_idempotent_kafka_survives_sigkill_and_down_cleans_up(private_env: dict[str, str]) -> None:
    services_dir = Path(private_env["SCORECARD_SERVICES_DIR"])
    bootstrap = private_env["SCORECARD_KAFKA_BOOTSTRAP"]
    pids: list[int] = []
    try:
        first = _services(private_env, "up", "kafka", "redis")
        assert "kafka started" in first.stdout and "redis started" in first.stdout
        kafka_pid = int((services_dir / "kafka/kafka.pid").read_text())
        redis_pid = int((services_dir / "redis/redis.pid").read_text())
        pids += [kafka_pid, redis_pid]

        again = _services(private_env, "up", "kafka", "redis")
        assert "already running" in again.stdout and "started" not in again.stdout
        assert int((services_dir / "kafka/kafka.pid").read_text()) == kafka_pid

        assert await _roundtrip(bootstrap, "survivor", b"before-crash") == [b"before-crash"]

        os.kill(kafka_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(kafka_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "kafka      stopped" in _services(private_env, "status").stdout

        restarted = _services(private_env, "up", "kafka", "redis")
        assert "kafka started" in restarted.stdout and "redis already running" in restarted.stdout
        pids.append(int((services_dir / "kafka/kafka.pid").read_text()))
        assert await _roundtrip(bootstrap, "survivor", None) == [b"before-crash"]

        # The Redis password from the URL became requirepass: an unauthenticated PING is refused.
        port = int(private_env["SCORECARD_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert sock.recv(64).startswith(b"-NOAUTH")
    finally:
        _services(private_env, "down")
    assert len(pids) == 3
    for pid in pids:
        assert not _alive(pid), f"pid {pid} still runs after down"
    assert not (services_dir / "kafka/kafka.pid").exists()
