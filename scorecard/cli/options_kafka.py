"""The Kafka option group: ``kafka_options`` puts ``--kafka-bootstrap`` and the Kafka security options (protocol,
SASL, TLS files, passwords) on a command and hands it ``kafka_bootstrap`` and ``kafka_security``; and the options of
the topics a command creates (``--topic``, ``--partitions``, ``--replication-factor``).

One decorator, so every command that talks to Kafka takes the same options; settings that cannot work together are
one-line usage errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from scorecard.cli.options import env_option, file_option, one_secret, secret_option
from scorecard.config import KAFKA_MECHANISMS, KAFKA_PROTOCOLS, KafkaSecurity, SettingError

kafka_option = env_option("--kafka-bootstrap", "SCORECARD_KAFKA_BOOTSTRAP", "Kafka bootstrap servers.")


_KAFKA_OPTIONS = (
    kafka_option,
    click.option(
        "--kafka-security-protocol",
        envvar="SCORECARD_KAFKA_SECURITY_PROTOCOL",
        type=click.Choice(KAFKA_PROTOCOLS, case_sensitive=False),
        default="PLAINTEXT",
        show_default=True,
        show_envvar=True,
        help="How to reach Kafka: SSL and SASL_SSL encrypt with TLS, SASL_* log in.",
    ),
    click.option(
        "--kafka-sasl-mechanism",
        envvar="SCORECARD_KAFKA_SASL_MECHANISM",
        type=click.Choice(KAFKA_MECHANISMS, case_sensitive=False),
        default="PLAIN",
        show_default=True,
        show_envvar=True,
        help="SASL login mechanism (with SASL_SSL, SASL_PLAINTEXT).",
    ),
    click.option(
        "--kafka-sasl-username", envvar="SCORECARD_KAFKA_SASL_USERNAME", show_envvar=True, help="SASL user name."
    ),
    secret_option(
        "--kafka-sasl-password",
        "SCORECARD_KAFKA_SASL_PASSWORD",
        "SASL password; visible in `ps` as a flag: prefer the variable or --kafka-sasl-password-file.",
    ),
    file_option("--kafka-sasl-password-file", "SCORECARD_KAFKA_SASL_PASSWORD_FILE", "File holding the SASL password."),
    file_option(
        "--kafka-ssl-ca-file",
        "SCORECARD_KAFKA_SSL_CA_FILE",
        "CA certificates (PEM) that sign the brokers' certificates (with SSL, SASL_SSL).  [default: the system's]",
    ),
    file_option(
        "--kafka-ssl-cert-file",
        "SCORECARD_KAFKA_SSL_CERT_FILE",
        "Client certificate (PEM), for brokers that ask for one (mutual TLS).",
    ),
    file_option("--kafka-ssl-key-file", "SCORECARD_KAFKA_SSL_KEY_FILE", "Private key of --kafka-ssl-cert-file (PEM)."),
    secret_option(
        "--kafka-ssl-key-password",
        "SCORECARD_KAFKA_SSL_KEY_PASSWORD",
        "Password of the private key; visible in `ps` as a flag: prefer the variable or --kafka-ssl-key-password-file.",
    ),
    file_option(
        "--kafka-ssl-key-password-file",
        "SCORECARD_KAFKA_SSL_KEY_PASSWORD_FILE",
        "File holding the private key's password.",
    ),
)
_KAFKA_PARAMS = (
    "kafka_security_protocol",
    "kafka_sasl_mechanism",
    "kafka_sasl_username",
    "kafka_sasl_password",
    "kafka_sasl_password_file",
    "kafka_ssl_ca_file",
    "kafka_ssl_cert_file",
    "kafka_ssl_key_file",
    "kafka_ssl_key_password",
    "kafka_ssl_key_password_file",
)


def kafka_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--kafka-bootstrap`` and the Kafka security options, the same set on every command that talks to Kafka.

    ``command`` gets ``kafka_bootstrap`` and ``kafka_security`` (a ``KafkaSecurity``). Each option has its
    SCORECARD_KAFKA_* variable; the passwords also come from a file (``--kafka-sasl-password-file``,
    ``SCORECARD_KAFKA_SASL_PASSWORD_FILE``) and are never printed. Settings that cannot work together are one-line
    usage errors.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["kafka_security"] = kafka_security_from_options({name: kwargs.pop(name) for name in _KAFKA_PARAMS})
        return command(*args, **kwargs)

    for option in reversed(_KAFKA_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def kafka_security_from_options(values: dict[str, Any]) -> KafkaSecurity:
    """The options' values as one ``KafkaSecurity``, or a usage error (exit 2) saying what to change."""
    try:
        security = KafkaSecurity(
            protocol=values["kafka_security_protocol"].upper(),
            sasl_mechanism=values["kafka_sasl_mechanism"].upper(),
            sasl_username=values["kafka_sasl_username"] or None,
            sasl_password=one_secret(values, "kafka_sasl_password"),
            ca_file=values["kafka_ssl_ca_file"],
            cert_file=values["kafka_ssl_cert_file"],
            key_file=values["kafka_ssl_key_file"],
            key_password=one_secret(values, "kafka_ssl_key_password"),
        )
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    problems = security.problems()
    if problems:
        raise click.UsageError(f"Kafka settings: {'; '.join(problems)}")
    return security


topic_option = env_option("--topic", "SCORECARD_TOPIC", "Input topic; the dead-letter topic is TOPIC.dlq.")


partitions_option = env_option(
    "--partitions",
    "SCORECARD_PARTITIONS",
    "Partitions of the topics it creates (must match an existing input topic).",
    type=click.IntRange(min=1),
)


replication_option = env_option(
    "--replication-factor",
    "SCORECARD_REPLICATION_FACTOR",
    "Replicas of the topics it creates (3 on a cluster; min.insync.replicas is then 2).",
    type=click.IntRange(min=1),
)
