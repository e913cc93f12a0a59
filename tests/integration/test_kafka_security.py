"""The pipeline over a secured Kafka: SASL (PLAIN, SCRAM) over TLS, and the one-line errors when access fails.

The broker is a private one with only a SASL_SSL listener, started and stopped with ``deploy/local/services`` (which
makes its CA and certificates with openssl and its SCRAM users with ``kafka-storage format --add-scram``). The
commands get their secrets from files (``..._FILE`` variables), as an operations team would give them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scorecard.cli.shape import EXIT_UNAVAILABLE
from scorecard.config import KafkaSecurity, Settings
from tests.integration.pipeline import Deployment, own_settings, replay_json, run_services
from tests.paths import ACME

SECURE_PORT = 29093
CONTROLLER_PORT = 29094
USER = "scorecard"
PASSWORD = "pa55 w0rd:with=odd;chars\"'"  # quotes and separators: the JAAS and SCRAM syntax must not break
WRONG_PASSWORD = "NotTheRight0ne"


@dataclass(frozen=True)
class SecureKafka:
    """The private broker: what a client needs to reach it (CA, password file) and the env that started it."""

    bootstrap: str
    tls_dir: Path
    password_file: Path
    services_env: dict[str, str]

    def client_env(self, mechanism: str, **overrides: str) -> dict[str, str]:
        """The variables a command needs to reach the broker; ``overrides`` change or (with "") unset some."""
        env = {
            "SCORECARD_KAFKA_BOOTSTRAP": self.bootstrap,
            "SCORECARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "SCORECARD_KAFKA_SASL_MECHANISM": mechanism,
            "SCORECARD_KAFKA_SASL_USERNAME": USER,
            "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(self.password_file),
            "SCORECARD_KAFKA_SSL_CA_FILE": str(self.tls_dir / "ca.pem"),
        }
        return {**env, **overrides}

    def security(self, mechanism: str) -> KafkaSecurity:
        return KafkaSecurity(
            protocol="SASL_SSL",
            sasl_mechanism=mechanism,
            sasl_username=USER,
            sasl_password=PASSWORD,
            ca_file=str(self.tls_dir / "ca.pem"),
        )


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    base = tmp_path_factory.mktemp("secure-kafka")
    password_file = base / "kafka.password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    env = {
        **os.environ,
        "SCORECARD_KAFKA_BOOTSTRAP": f"127.0.0.1:{SECURE_PORT}",
        "SCORECARD_KAFKA_CONTROLLER_PORT": str(CONTROLLER_PORT),
        "SCORECARD_SERVICES_DIR": str(base / "services"),
        "SCORECARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SCORECARD_KAFKA_SASL_USERNAME": USER,
        "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(password_file),
    }
    run_services(env, "up", "kafka", timeout=240)
    try:
        yield SecureKafka(f"127.0.0.1:{SECURE_PORT}", base / "services/kafka/tls", password_file, env)
    finally:
        run_services(env, "down", "kafka")


def scorecard_command(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``scorecard ARGS`` as users run it, with ``env``'s Kafka settings only (none inherited)."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("SCORECARD_KAFKA_")}
    return subprocess.run(
        [sys.executable, "-m", "scorecard", *args],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit status 3 (a service refused), one line on stderr holding ``expected``, no traceback, never the password."""
    output = done.stdout + done.stderr
    assert done.returncode == EXIT_UNAVAILABLE, output
    assert "Traceback" not in output, output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, output
    for text in expected:
        assert text in lines[0], output
    assert PASSWORD not in output and WRONG_PASSWORD not in output


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_the_pipeline_over_sasl_ssl_equals_the_replay(
    secure_kafka: SecureKafka,
    settings: Settings,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    recent_acme_events: Path,
    mechanism: str,
) -> None:
    mine = own_settings(
        settings, unique_name, kafka_bootstrap=secure_kafka.bootstrap, kafka_security=secure_kafka.security(mechanism)
    )
    deployment = Deployment(mine, ACME, tmp_path)
    client_env = {**deployment.env(), **secure_kafka.client_env(mechanism)}
    expected, at = replay_json(ACME, recent_acme_events)
    lines = [line for line in recent_acme_events.read_bytes().splitlines() if line.strip()]
    try:
        worker = deployment.start_worker("secure", **secure_kafka.client_env(mechanism))
        published = scorecard_command("publish", str(recent_acme_events), env=client_env)
        assert published.returncode == 0, published.stdout + published.stderr
        assert f"published {len(lines)} events" in published.stdout
        deployment.wait_for_events(len(lines))
        assert deployment.status_json(at) == expected
        assert worker.alive(), worker.log()
        assert PASSWORD not in worker.log_path.read_text(errors="replace")
    finally:
        deployment.close()


def test_a_client_certificate_with_an_encrypted_key_is_accepted(
    secure_kafka: SecureKafka, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    """Mutual TLS material (certificate, key, key password from a file) on top of the SASL login."""
    tls = secure_kafka.tls_dir
    events = tmp_path / "one.jsonl"
    events.write_text('{"unit": "u1", "id": "e1"}\n')
    env = secure_kafka.client_env(
        "SCRAM-SHA-256",
        SCORECARD_KAFKA_SSL_CERT_FILE=str(tls / "client.pem"),
        SCORECARD_KAFKA_SSL_KEY_FILE=str(tls / "client.key"),
        SCORECARD_KAFKA_SSL_KEY_PASSWORD_FILE=str(tls / "client.key.password"),
    )
    done = scorecard_command("publish", str(events), "--topic", unique_name("events"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "published 1 events" in done.stdout


@pytest.fixture
def wrong_password(tmp_path: Path) -> Path:
    path = tmp_path / "wrong.password"
    path.write_text(WRONG_PASSWORD + "\n")
    return path


@pytest.fixture
def one_event(tmp_path: Path) -> Path:
    path = tmp_path / "one.jsonl"
    path.write_text('{"unit": "u1", "id": "e1"}\n')
    return path


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_a_wrong_password_is_one_line_for_publish_and_worker(
    secure_kafka: SecureKafka,
    unique_name: Callable[[str], str],
    one_event: Path,
    wrong_password: Path,
    mechanism: str,
) -> None:
    env = secure_kafka.client_env(
        mechanism, SCORECARD_KAFKA_SASL_PASSWORD_FILE=str(wrong_password), SCORECARD_TOPIC=unique_name("events")
    )
    expected = ("login refused for user 'scorecard'", mechanism, "SCORECARD_KAFKA_SASL_PASSWORD_FILE")
    assert_one_line_error(scorecard_command("publish", str(one_event), env=env), *expected)
    worker = scorecard_command("worker", "--scorecard", str(ACME), "--metrics-port", "0", env=env)
    assert_one_line_error(worker, "cannot start the worker on topic", *expected)


def test_an_untrusted_certificate_is_one_line_for_publish_and_worker(
    secure_kafka: SecureKafka, unique_name: Callable[[str], str], one_event: Path
) -> None:
    """Without the CA file the system's CAs are used, and none of them signed the broker's certificate."""
    env = secure_kafka.client_env(
        "SCRAM-SHA-512", SCORECARD_KAFKA_SSL_CA_FILE="", SCORECARD_TOPIC=unique_name("events")
    )
    expected = ("TLS certificate is not trusted", "SCORECARD_KAFKA_SSL_CA_FILE")
    assert_one_line_error(scorecard_command("publish", str(one_event), env=env), *expected)
    worker = scorecard_command("worker", "--scorecard", str(ACME), "--metrics-port", "0", env=env)
    assert_one_line_error(worker, "cannot start the worker on topic", *expected)


def test_a_plaintext_client_is_refused_in_one_line(secure_kafka: SecureKafka, one_event: Path) -> None:
    env = {"SCORECARD_KAFKA_BOOTSTRAP": secure_kafka.bootstrap, "SCORECARD_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    assert_one_line_error(scorecard_command("publish", str(one_event), env=env), "is this a PLAINTEXT listener?")
