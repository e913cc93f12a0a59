"""Connection settings shared by the CLI, the worker, the exporter and the tests.

Each setting has one environment variable and one default, defined here, so `deploy/local/services`, the CLI flags
(click reads the same variables through ``envvar=``) and the test fixtures always agree on where a service is.

``redact_url`` is the one place that hides passwords in a URL: everything that prints, logs or writes a Redis, Kafka
or Prometheus URL passes it through first.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from scorecard.kafka_security import KafkaSecurity

# Environment variable -> default. The CLI documents these in --help; docs/ lists them too.
ENV_DEFAULTS: dict[str, str] = {
    "SCORECARD_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "SCORECARD_REDIS_URL": "redis://127.0.0.1:6379/0",
    "SCORECARD_PROMETHEUS_URL": "http://127.0.0.1:9090",
    "SCORECARD_TOPIC": "scorecard.events",
    "SCORECARD_APP_ID": "scorecard",
    "SCORECARD_PARTITIONS": "8",
    "SCORECARD_METRICS_HOST": "0.0.0.0",
    "SCORECARD_METRICS_PORT": "9109",
    "SCORECARD_SESSION_TIMEOUT": "30",
    "SCORECARD_COMMIT_INTERVAL": "2.8",
    "SCORECARD_STOP_TIMEOUT": "15",
    "SCORECARD_EXPORTER_HOST": "0.0.0.0",
    "SCORECARD_EXPORTER_PORT": "9108",
}


def env(name: str) -> str:
    """Return the environment's value for a SCORECARD_* setting, or its default."""
    return os.environ.get(name) or ENV_DEFAULTS[name]


REDACTED = "***"
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token")
_QUERY_PARAMETER = re.compile(r"(?<=[?&;])([^=&;#]*)=([^&;#]*)")


def redact_url(url: str) -> str:
    """``url`` with its passwords replaced by ``***``, safe to print, log or write into a report.

    Hides the password of ``user:password@`` and ``:password@`` (the user name stays: it tells which account is used;
    ``:password@`` becomes ``***@``)
    and the value of every query parameter whose name, decoded and in any case, contains password, passwd, pwd,
    secret or token (redis-py reads ``?password=``). The user information is taken up to the *last* ``@``, the way
    redis-py and ``urllib`` read it, so a password holding an unencoded ``@`` is hidden whole (an ``@`` further on,
    in a path or query, hides more than the password, never less). A string without either form, such as a Kafka
    bootstrap list, comes back unchanged.
    """
    start = url.find("//")
    at = url.rfind("@")
    if start != -1 and at > start:
        user, colon, _password = url[start + 2 : at].partition(":")
        if colon:  # with no user name, ``***@`` says as much as ``:***@``
            url = f"{url[: start + 2]}{f'{user}:' if user else ''}{REDACTED}{url[at:]}"
    return _QUERY_PARAMETER.sub(_redact_parameter, url)


def _redact_parameter(match: re.Match[str]) -> str:
    name = unquote_plus(match.group(1)).lower()
    if any(word in name for word in _SECRET_WORDS):
        return f"{match.group(1)}={REDACTED}"
    return match.group(0)


@dataclass(frozen=True, repr=False)
class Settings:
    """Where the real services are and how the pipeline names its topics and keys (``repr`` hides passwords)."""

    kafka_bootstrap: str
    redis_url: str
    prometheus_url: str
    topic: str
    app_id: str
    partitions: int
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    """How every Kafka client logs in and encrypts (``scorecard/kafka_security.py``); default plaintext."""

    def __repr__(self) -> str:
        fields = (f"{f.name}={_redacted(getattr(self, f.name))!r}" for f in dataclasses.fields(self))
        return f"Settings({', '.join(fields)})"

    @property
    def dead_letter_topic(self) -> str:
        """The dead-letter topic derives from the input topic so two deployments never share one by accident."""
        return f"{self.topic}.dlq"

    @classmethod
    def from_env(cls) -> Settings:
        partitions = env("SCORECARD_PARTITIONS")
        if not partitions.isdigit() or int(partitions) < 1:
            raise ValueError(f"SCORECARD_PARTITIONS must be a positive integer, got {partitions!r}")
        return cls(
            kafka_bootstrap=env("SCORECARD_KAFKA_BOOTSTRAP"),
            redis_url=env("SCORECARD_REDIS_URL"),
            prometheus_url=env("SCORECARD_PROMETHEUS_URL").rstrip("/"),
            topic=env("SCORECARD_TOPIC"),
            app_id=env("SCORECARD_APP_ID"),
            partitions=int(partitions),
            kafka_security=KafkaSecurity.from_env(),
        )


def _redacted(value: object) -> object:
    return redact_url(value) if isinstance(value, str) else value
