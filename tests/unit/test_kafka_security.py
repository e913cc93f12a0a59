"""The Kafka security settings: what cannot work together is refused with the fix, secrets come from files without
their line break, and nothing that prints the settings shows a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.config import Settings
from scorecard.kafka_security import KafkaSecurity, SecretFileError, read_secret_file

SECRET = 'S3cr3t "pw"\\;='


def sasl_ssl(**overrides: str) -> KafkaSecurity:
    values = {"protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "u", "sasl_password": SECRET}
    return KafkaSecurity(**{**values, **overrides})


def test_plaintext_and_complete_settings_have_no_problems() -> None:
    assert KafkaSecurity().problems() == []
    assert sasl_ssl(ca_file="/ca.pem", cert_file="/c.pem", key_file="/k.pem", key_password="k").problems() == []
    assert KafkaSecurity(protocol="SSL", ca_file="/ca.pem").problems() == []
    assert sasl_ssl(protocol="SASL_PLAINTEXT").problems() == []


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        (KafkaSecurity(protocol="TLS"), "'TLS' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        (sasl_ssl(sasl_mechanism="GSSAPI"), "'GSSAPI' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
        (sasl_ssl(sasl_password=""), "SASL_SSL needs a SASL user name and password"),
        (sasl_ssl(sasl_username=""), "SASL_SSL needs a SASL user name and password"),
        (KafkaSecurity(sasl_username="u"), "the security protocol is PLAINTEXT: set it to SASL_SSL"),
        (KafkaSecurity(protocol="SSL", sasl_password="p"), "the security protocol is SSL: set it to SASL_SSL"),
        (KafkaSecurity(ca_file="/ca.pem"), "the security protocol is PLAINTEXT: set it to SSL or SASL_SSL"),
        (sasl_ssl(protocol="SASL_PLAINTEXT", cert_file="/c.pem"), "is SASL_PLAINTEXT: set it to SSL or SASL_SSL"),
        (sasl_ssl(key_file="/k.pem"), "a client key (or its password) is set without a client certificate"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_fix(security: KafkaSecurity, expected: str) -> None:
    assert any(expected in problem for problem in security.problems()), security.problems()


def test_repr_and_describe_never_show_a_secret() -> None:
    security = sasl_ssl(cert_file="/c.pem", key_file="/k.pem", key_password=SECRET + "key")
    settings = Settings("127.0.0.1:9093", "redis://127.0.0.1:6379/0", "http://p", "t", "a", 1, security)
    for text in (repr(security), repr(settings), security.describe()):
        assert SECRET not in text and "key'" not in text
    assert "sasl_password='***'" in repr(security) and "key_password='***'" in repr(security)
    assert "sasl_username='u'" in repr(settings)
    assert security.describe() == "SASL_SSL (SCRAM-SHA-512 as user 'u')"
    assert "sasl_password=None" in repr(KafkaSecurity())


def test_from_env_reads_secrets_from_files_without_the_line_break(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET + "\r\n")
    (tmp_path / "key").write_text("\n\nkey pw\n")
    env = {
        "SCORECARD_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "SCORECARD_KAFKA_SASL_MECHANISM": "scram-sha-256",
        "SCORECARD_KAFKA_SASL_USERNAME": "scorecard",
        "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw"),
        "SCORECARD_KAFKA_SSL_CA_FILE": "/ca.pem",
        "SCORECARD_KAFKA_SSL_CERT_FILE": "/c.pem",
        "SCORECARD_KAFKA_SSL_KEY_FILE": "/k.pem",
        "SCORECARD_KAFKA_SSL_KEY_PASSWORD_FILE": str(tmp_path / "key"),
    }
    security = KafkaSecurity.from_env(env)
    assert security == KafkaSecurity(
        "SASL_SSL", "SCRAM-SHA-256", "scorecard", SECRET, "/ca.pem", "/c.pem", "/k.pem", "\n\nkey pw"
    )
    assert KafkaSecurity.from_env({}) == KafkaSecurity()
    assert KafkaSecurity.from_env({"SCORECARD_KAFKA_SASL_PASSWORD": "direct"}).sasl_password == "direct"


def test_a_secret_given_twice_or_unreadable_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x")
    both = {"SCORECARD_KAFKA_SASL_PASSWORD": "x", "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw")}
    with pytest.raises(ValueError, match="both SCORECARD_KAFKA_SASL_PASSWORD and SCORECARD_KAFKA_SASL_PASSWORD_FILE"):
        KafkaSecurity.from_env(both)
    with pytest.raises(SecretFileError, match=r"cannot read SCORECARD_KAFKA_SSL_KEY_PASSWORD from .*missing: No such"):
        KafkaSecurity.from_env({"SCORECARD_KAFKA_SSL_KEY_PASSWORD_FILE": str(tmp_path / "missing")})
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SecretFileError, match="UnicodeDecodeError"):
        read_secret_file(tmp_path / "binary", "X")


def test_settings_from_env_carry_the_kafka_security(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET + "\n")
    monkeypatch.setenv("SCORECARD_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("SCORECARD_KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("SCORECARD_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "pw"))
    settings = Settings.from_env()
    assert settings.kafka_security.protocol == "SASL_PLAINTEXT"
    assert settings.kafka_security.sasl_password == SECRET
    assert SECRET not in repr(settings)
