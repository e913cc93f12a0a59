"""The Kafka security settings: what cannot work together is refused with the fix, secrets come from files without
their line break, and nothing that prints the settings shows a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.config import KafkaSecurity, SettingError, Settings

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
    settings = Settings("127.0.0.1:9093", "redis://127.0.0.1:6379/0", "http://p", "t", "a", 1, kafka_security=security)
    for text in (repr(security), repr(settings), security.describe()):
        assert SECRET not in text and "key'" not in text
    assert "sasl_password='***'" in repr(security) and "key_password='***'" in repr(security)
    assert "sasl_username='u'" in repr(settings)
    assert security.describe() == "SASL_SSL (SCRAM-SHA-512 as user 'u')"
    assert "sasl_password=None" in repr(KafkaSecurity())


def test_from_env_reads_secrets_from_files_without_the_line_break(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
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
    for name in env:
        monkeypatch.delenv(name, raising=False)
    assert KafkaSecurity.from_env() == KafkaSecurity()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expected = KafkaSecurity(
        "SASL_SSL", "SCRAM-SHA-256", "scorecard", SECRET, "/ca.pem", "/c.pem", "/k.pem", "\n\nkey pw"
    )
    assert KafkaSecurity.from_env() == expected
    settings = Settings.from_env()
    assert settings.kafka_security == expected and SECRET not in repr(settings)


def test_a_secret_given_twice_or_unreadable_is_an_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("x")
    monkeypatch.setenv("SCORECARD_KAFKA_SASL_PASSWORD", "x")
    monkeypatch.setenv("SCORECARD_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "pw"))
    with pytest.raises(SettingError, match="SCORECARD_KAFKA_SASL_PASSWORD and SCORECARD_KAFKA_SASL_PASSWORD_FILE"):
        KafkaSecurity.from_env()
    monkeypatch.delenv("SCORECARD_KAFKA_SASL_PASSWORD")
    monkeypatch.setenv("SCORECARD_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingError, match=r"SCORECARD_KAFKA_SASL_PASSWORD_FILE: cannot read .*missing"):
        KafkaSecurity.from_env()
