"""The Kafka options every command that talks to Kafka shares: the same set everywhere, secrets from files, settings
that cannot work refused in one line, and an unreachable broker reported in one line without the password.

The secured broker itself is in tests/integration/test_kafka_security.py."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.cli.options_kafka import kafka_security_from_options
from scorecard.cli.shape import EXIT_UNAVAILABLE
from scorecard.config import KafkaSecurity
from tests.paths import REPO

ACME = str(REPO / "examples" / "acme.yaml")
SECRET = "S3cr3t-pw"
KAFKA_COMMANDS = ("worker", "publish", "simulate")
SECURITY_OPTIONS = {
    "--kafka-bootstrap",
    "--kafka-security-protocol",
    "--kafka-sasl-mechanism",
    "--kafka-sasl-username",
    "--kafka-sasl-password",
    "--kafka-sasl-password-file",
    "--kafka-ssl-ca-file",
    "--kafka-ssl-cert-file",
    "--kafka-ssl-key-file",
    "--kafka-ssl-key-password",
    "--kafka-ssl-key-password-file",
}


@pytest.mark.parametrize("name", KAFKA_COMMANDS)
def test_every_kafka_command_takes_the_same_options_and_variables(name: str) -> None:
    assert isinstance(main, click.Group)
    command = main.commands[name]
    options = {opt for param in command.params for opt in param.opts if opt.startswith("--kafka")}
    assert options - {"--kafka-wait"} == SECURITY_OPTIONS  # the worker also waits for Kafka at its start
    envvars = {param.envvar for param in command.params if param.opts[0] in SECURITY_OPTIONS}
    assert "SCORECARD_KAFKA_SASL_PASSWORD_FILE" in envvars and "SCORECARD_KAFKA_SSL_KEY_PASSWORD_FILE" in envvars


def options(**given: str | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {name.removeprefix("--").replace("-", "_"): None for name in SECURITY_OPTIONS}
    del values["kafka_bootstrap"]
    values |= {"kafka_security_protocol": "PLAINTEXT", "kafka_sasl_mechanism": "PLAIN"}
    return values | given


def test_options_become_one_security_value_with_secrets_read_from_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET + "\n")
    security = kafka_security_from_options(
        options(
            kafka_security_protocol="sasl_ssl",
            kafka_sasl_mechanism="scram-sha-512",
            kafka_sasl_username="u",
            kafka_sasl_password_file=str(tmp_path / "pw"),
        )
    )
    assert security == KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "u", SECRET)


def test_a_secret_given_twice_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET)
    with pytest.raises(click.UsageError, match="--kafka-sasl-password and --kafka-sasl-password-file are both"):
        kafka_security_from_options(options(kafka_sasl_password="x", kafka_sasl_password_file=str(tmp_path / "pw")))


def test_settings_that_cannot_work_are_one_usage_line(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("{}\n")
    result = CliRunner().invoke(
        main, ["publish", str(events), "--kafka-sasl-username", "u", "--kafka-ssl-ca-file", str(events)]
    )
    assert result.exit_code == 2, result.output
    line = [text for text in result.output.splitlines() if text.startswith("Error:")]
    assert (
        line and "Kafka settings: a SASL user name or password is set but the security protocol is PLAINTEXT" in line[0]
    )
    assert "TLS files or a key password are set" in line[0]


@pytest.mark.parametrize("name", ["publish", "worker"])
def test_an_unreachable_broker_is_one_line_without_the_password(name: str, tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"unit": "u"}\n')
    (tmp_path / "pw").write_text(SECRET)
    target = [str(events)] if name == "publish" else ["--scorecard", ACME, "--metrics-port", "0"]
    env = {
        "SCORECARD_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "SCORECARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SCORECARD_KAFKA_SASL_USERNAME": "u",
        "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw"),
    }
    result = CliRunner().invoke(main, [name, *target], env=env)
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "no broker reachable there (is Kafka running?" in lines[0]
    assert SECRET not in result.output
