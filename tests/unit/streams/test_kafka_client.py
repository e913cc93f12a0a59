"""The security settings as aiokafka and Faust take them, and the access check's one-line reasons.

The check's reasons from a real secured broker (login refused, untrusted certificate) are in
tests/integration/test_kafka_security.py; here only what needs no broker: a closed port and a bad address.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from scorecard.config import KafkaSecurity, Settings
from streams.kafka_client import (
    KafkaAccessError,
    KafkaUnreachableError,
    check_access,
    client_options,
    faust_credentials,
)

SECRET = "S3cr3t-pw"


def sasl(protocol: str, mechanism: str = "SCRAM-SHA-256") -> KafkaSecurity:
    return KafkaSecurity(protocol=protocol, sasl_mechanism=mechanism, sasl_username="u", sasl_password=SECRET)


def test_plaintext_gives_plaintext_everywhere() -> None:
    assert client_options(KafkaSecurity()) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(KafkaSecurity()) is None


def test_sasl_plaintext_logs_in_without_tls() -> None:
    expected = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "u",
        "sasl_plain_password": SECRET,
    }
    assert client_options(sasl("SASL_PLAINTEXT")) == expected
    # Faust hands its consumer, producer and admin calls what its own mapping makes of the credentials
    assert credentials_to_aiokafka_auth(faust_credentials(sasl("SASL_PLAINTEXT"))) == {**expected, "ssl_context": None}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_verifies_the_broker_and_logs_in(mechanism: str) -> None:
    options = client_options(sasl("SASL_SSL", mechanism))
    context = options.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "u",
        "sasl_plain_password": SECRET,
    }
    credentials = faust_credentials(sasl("SASL_SSL", mechanism))
    assert isinstance(credentials, faust.SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL" and auth["sasl_mechanism"] == mechanism
    assert auth["sasl_plain_password"] == SECRET and isinstance(auth["ssl_context"], ssl.SSLContext)


def test_ssl_alone_gives_faust_a_tls_context() -> None:
    credentials = faust_credentials(KafkaSecurity(protocol="SSL"))
    assert isinstance(credentials, faust.SSLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SSL" and auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert "sasl_mechanism" not in client_options(KafkaSecurity(protocol="SSL"))


def test_unreadable_tls_files_are_one_line_errors_naming_them(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 <script>\n-----END CERTIFICATE-----\n")
    for security in (
        KafkaSecurity(protocol="SSL", ca_file=str(garbage)),
        KafkaSecurity(protocol="SSL", ca_file=str(tmp_path / "missing.pem")),
        KafkaSecurity(protocol="SSL", cert_file=str(garbage), key_file=str(garbage), key_password=SECRET),
    ):
        with pytest.raises(KafkaAccessError) as caught:
            client_options(security)
        message = str(caught.value)
        assert message.startswith("cannot load the Kafka TLS files (") and "\n" not in message
        assert SECRET not in message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_access_names_each_server_and_the_reason() -> None:
    first, second = closed_port(), closed_port()
    bootstrap = f"127.0.0.1:{first}, 127.0.0.1:{second}"
    with pytest.raises(KafkaUnreachableError) as caught:  # a KafkaConnectionError: the CLI says "no broker reachable"
        asyncio.run(check_access(bootstrap, sasl("SASL_PLAINTEXT")))
    message = str(caught.value)
    assert message.startswith("cannot reach Kafka with SASL_PLAINTEXT (SCRAM-SHA-256 as user 'u'): ")
    assert f"127.0.0.1:{first}: Connect call failed" in message and "is Kafka running there?" in message
    assert f"127.0.0.1:{second}: " in message and "\n" not in message and SECRET not in message


@pytest.mark.parametrize("bootstrap", ["kafka", "kafka:port", ":9092"])
def test_check_access_refuses_a_server_that_is_not_host_port(bootstrap: str) -> None:
    with pytest.raises(KafkaAccessError, match=f"Kafka bootstrap server '{bootstrap}' is not host:port"):
        asyncio.run(check_access(bootstrap, KafkaSecurity()))


@pytest.mark.parametrize(
    ("error", "attempts"),
    [(KafkaAccessError("login refused"), 1), (KafkaUnreachableError("refused"), 3)],
)
def test_a_worker_waiting_for_kafka_gives_up_at_once_on_a_refused_login(error: Exception, attempts: int) -> None:
    """``--kafka-wait`` waits for a broker that is not there yet, not for a password that will not change."""
    from streams.startup import KafkaUnreachable, create_topics_when_reachable
    from streams.topics import TopicNames

    calls: list[float] = []
    now = [0.0]

    async def ensure(settings: object, names: object) -> None:
        calls.append(now[0])
        raise error

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    settings = Settings("127.0.0.1:1", "redis://127.0.0.1:6379/0", "http://p", "t", "a", 1)
    with pytest.raises((KafkaAccessError, KafkaUnreachable)) as caught:
        asyncio.run(
            create_topics_when_reachable(
                settings, TopicNames.from_settings(settings), wait=2.5, ensure=ensure, clock=lambda: now[0], sleep=sleep
            )
        )
    assert len(calls) == attempts
    assert isinstance(caught.value, KafkaAccessError) == (attempts == 1)
