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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus, urlsplit

# Environment variable -> default. The CLI documents these in --help; docs/ lists them too.
ENV_DEFAULTS: dict[str, str] = {
    "SCORECARD_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "SCORECARD_REDIS_URL": "redis://127.0.0.1:6379/0",
    "SCORECARD_PROMETHEUS_URL": "http://127.0.0.1:9090",
    "SCORECARD_TOPIC": "scorecard.events",
    "SCORECARD_APP_ID": "scorecard",
    "SCORECARD_PARTITIONS": "8",
    "SCORECARD_REPLICATION_FACTOR": "1",
    "SCORECARD_METRICS_HOST": "0.0.0.0",
    "SCORECARD_METRICS_PORT": "9109",
    "SCORECARD_METRICS_WEB_CONFIG": "",
    "SCORECARD_SESSION_TIMEOUT": "30",
    "SCORECARD_COMMIT_INTERVAL": "2.8",
    "SCORECARD_STOP_TIMEOUT": "15",
    "SCORECARD_KAFKA_WAIT": "0",
    "SCORECARD_EXPORTER_HOST": "0.0.0.0",
    "SCORECARD_EXPORTER_PORT": "9108",
    "SCORECARD_EXPORTER_WEB_CONFIG": "",
    # Redis security and high availability (``RedisOptions``); "" means not set.
    "SCORECARD_REDIS_CA_FILE": "",
    "SCORECARD_REDIS_CERT_FILE": "",
    "SCORECARD_REDIS_KEY_FILE": "",
    "SCORECARD_REDIS_USERNAME": "",
    "SCORECARD_REDIS_SENTINELS": "",
    "SCORECARD_REDIS_SENTINEL_SERVICE": "mymaster",
    "SCORECARD_REDIS_CLUSTER": "false",
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
    redis_options: RedisOptions = dataclasses.field(default_factory=lambda: RedisOptions())
    kafka_security: KafkaSecurity = dataclasses.field(default_factory=lambda: KafkaSecurity())
    """How every Kafka client logs in and encrypts (``KafkaSecurity``); default plaintext without login."""
    replication_factor: int = 1
    """Replicas of each topic the pipeline creates (3 on a cluster: a broker may be lost without losing data)."""

    def __repr__(self) -> str:
        fields = (f"{f.name}={_redacted(getattr(self, f.name))!r}" for f in dataclasses.fields(self))
        return f"Settings({', '.join(fields)})"

    @property
    def dead_letter_topic(self) -> str:
        """The dead-letter topic derives from the input topic so two deployments never share one by accident."""
        return f"{self.topic}.dlq"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            kafka_bootstrap=env("SCORECARD_KAFKA_BOOTSTRAP"),
            redis_url=env("SCORECARD_REDIS_URL"),
            prometheus_url=env("SCORECARD_PROMETHEUS_URL").rstrip("/"),
            topic=env("SCORECARD_TOPIC"),
            app_id=env("SCORECARD_APP_ID"),
            partitions=_positive(env("SCORECARD_PARTITIONS"), "SCORECARD_PARTITIONS"),
            redis_options=RedisOptions.from_env(),
            kafka_security=KafkaSecurity.from_env(),
            replication_factor=_positive(env("SCORECARD_REPLICATION_FACTOR"), "SCORECARD_REPLICATION_FACTOR"),
        )


def _positive(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a positive integer, got {text!r}")
    return int(text)


def _redacted(value: object) -> object:
    return redact_url(value) if isinstance(value, str) else value


# ---------------------------------------------------------------------------------------------- Redis options
class SettingError(ValueError):
    """A setting that cannot be used; the message names the variable or flag and says what it expects."""


def secret(name: str) -> str | None:
    """A secret from ``name`` (e.g. SCORECARD_REDIS_PASSWORD) or read from the file ``name``_FILE names.

    The file form keeps the secret out of ``ps`` and the environment of child processes; one trailing newline is
    dropped (``echo pw > file``). Setting both is refused: which one wins would be a guess.
    """
    value, path = os.environ.get(name), os.environ.get(f"{name}_FILE")
    if value and path:
        raise SettingError(f"{name} and {name}_FILE are both set; keep one")
    return read_secret_file(path, f"{name}_FILE") if path else value or None


def read_secret_file(path: str, what: str) -> str:
    """The secret held in ``path`` without its trailing newline; a one-line error naming ``what`` when unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingError(f"{what}: cannot read {path} ({getattr(error, 'strerror', None) or error})") from None
    return text.removesuffix("\n").removesuffix("\r")


def parse_sentinels(text: str, what: str = "SCORECARD_REDIS_SENTINELS") -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` as pairs; a one-line error naming ``what`` for anything else."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingError(f"{what}: expected host:port[,host:port...], got {item!r}")
        pairs.append((host.strip("[]"), int(port)))
    return tuple(pairs)


def parse_flag(text: str, what: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SettingError(f"{what}: expected true or false, got {text!r}")


@dataclass(frozen=True, repr=False)
class RedisOptions:
    """How to reach Redis beyond its URL: TLS files, an ACL user, a Sentinel or a Cluster (``repr`` hides secrets).

    ``scorecard.redis.client.connect`` turns the URL and these into a client. The URL keeps saying where (host,
    port, database, ``rediss://`` for TLS); a ``username`` or ``password`` here overrides one in the URL. With
    ``sentinels``, the URL's host and port are not used: the Sentinels name the primary of ``sentinel_service``.
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    username: str | None = None
    password: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_service: str = "mymaster"
    sentinel_password: str | None = None
    cluster: bool = False

    def __post_init__(self) -> None:
        if self.sentinels and self.cluster:
            raise SettingError(
                "Redis Sentinel and Redis Cluster are exclusive: set SCORECARD_REDIS_SENTINELS or "
                "SCORECARD_REDIS_CLUSTER, not both"
            )
        if self.key_file and not self.cert_file:
            raise SettingError(
                "a Redis client key (SCORECARD_REDIS_KEY_FILE) needs its certificate (SCORECARD_REDIS_CERT_FILE)"
            )

    def __repr__(self) -> str:
        shown = {
            f.name: REDACTED if f.name.endswith("password") and getattr(self, f.name) else getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != f.default
        }
        return f"RedisOptions({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def tls_files(self) -> bool:
        return bool(self.ca_file or self.cert_file)

    def check_url(self, url: str) -> None:
        """Refuse a URL these options cannot work with (``SettingError`` saying what to change)."""
        scheme = url.partition("://")[0].lower()
        if self.tls_files and scheme != "rediss":
            raise SettingError(
                "a Redis CA or client certificate is set but SCORECARD_REDIS_URL is not rediss://; use "
                "rediss://host:port for TLS"
            )
        if scheme == "unix" and (self.sentinels or self.cluster):
            raise SettingError("a unix:// Redis URL cannot be used with Sentinel or Cluster; use redis:// or rediss://")
        if self.cluster and _url_db(url) not in ("", "0"):
            raise SettingError("Redis Cluster has only database 0; drop the /db from SCORECARD_REDIS_URL")

    @classmethod
    def from_env(cls) -> RedisOptions:
        return cls(
            ca_file=env("SCORECARD_REDIS_CA_FILE") or None,
            cert_file=env("SCORECARD_REDIS_CERT_FILE") or None,
            key_file=env("SCORECARD_REDIS_KEY_FILE") or None,
            username=env("SCORECARD_REDIS_USERNAME") or None,
            password=secret("SCORECARD_REDIS_PASSWORD"),
            sentinels=parse_sentinels(env("SCORECARD_REDIS_SENTINELS")),
            sentinel_service=env("SCORECARD_REDIS_SENTINEL_SERVICE"),
            sentinel_password=secret("SCORECARD_REDIS_SENTINEL_PASSWORD"),
            cluster=parse_flag(env("SCORECARD_REDIS_CLUSTER"), "SCORECARD_REDIS_CLUSTER"),
        )

    def to_env(self) -> dict[str, str]:
        """The variables that give these options to a child process (secrets included: pass them privately)."""
        out = {
            "SCORECARD_REDIS_CA_FILE": self.ca_file or "",
            "SCORECARD_REDIS_CERT_FILE": self.cert_file or "",
            "SCORECARD_REDIS_KEY_FILE": self.key_file or "",
            "SCORECARD_REDIS_USERNAME": self.username or "",
            "SCORECARD_REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in self.sentinels),
            "SCORECARD_REDIS_SENTINEL_SERVICE": self.sentinel_service,
            "SCORECARD_REDIS_CLUSTER": "true" if self.cluster else "false",
        }
        if self.password:
            out["SCORECARD_REDIS_PASSWORD"] = self.password
        if self.sentinel_password:
            out["SCORECARD_REDIS_SENTINEL_PASSWORD"] = self.sentinel_password
        return out


def _url_db(url: str) -> str:
    """The database a Redis URL names (path ``/N`` or ``?db=N``), as text; "" when it names none."""
    parsed = urlsplit(url)
    query = dict(parse_qsl(parsed.query))
    return query.get("db", parsed.path.strip("/"))


# ---------------------------------------------------------------------------------------------- Kafka security
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
"""Kafka's security protocols: TLS is used by SSL and SASL_SSL, a SASL login by SASL_PLAINTEXT and SASL_SSL."""

KAFKA_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
"""The SASL mechanisms supported: PLAIN (sends the password: only over TLS) and SCRAM (challenge-response)."""


@dataclass(frozen=True, repr=False)
class KafkaSecurity:
    """How every Kafka client of a deployment authenticates and encrypts; the default is plaintext without login.

    ``streams/kafka_client.py`` turns it into aiokafka options and Faust credentials. The SASL password and the key
    password also come from ``..._FILE`` (``secret``); ``repr`` and ``describe`` never show them.
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ca_file: str | None = None
    """CA certificate(s) (PEM) that signed the brokers' certificates; none: the system's trusted CAs."""
    cert_file: str | None = None
    """Client certificate (PEM) for brokers that ask for one (mutual TLS); may hold the key too."""
    key_file: str | None = None
    key_password: str | None = None

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def problems(self) -> list[str]:
        """What makes these settings unusable, each with the fix (empty: usable)."""
        found = []
        if self.protocol not in KAFKA_PROTOCOLS:
            found.append(f"security protocol {self.protocol!r} is not one of {', '.join(KAFKA_PROTOCOLS)}")
        if self.sasl_mechanism not in KAFKA_MECHANISMS:
            found.append(f"SASL mechanism {self.sasl_mechanism!r} is not one of {', '.join(KAFKA_MECHANISMS)}")
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            found.append(f"security protocol {self.protocol} needs a SASL user name and password")
        if not self.uses_sasl and (self.sasl_username or self.sasl_password):
            found.append(
                f"a SASL user name or password is set but the security protocol is {self.protocol}: set it to "
                "SASL_SSL (or SASL_PLAINTEXT)"
            )
        if any((self.ca_file, self.cert_file, self.key_file, self.key_password)) and not self.uses_tls:
            found.append(
                f"TLS files or a key password are set but the security protocol is {self.protocol}: set it to "
                "SSL or SASL_SSL"
            )
        if (self.key_file or self.key_password) and not self.cert_file:
            found.append("a client key (or its password) is set without a client certificate")
        return found

    def __repr__(self) -> str:
        shown = (
            f"{f.name}={REDACTED if f.name.endswith('password') and getattr(self, f.name) else getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
        )
        return f"KafkaSecurity({', '.join(shown)})"

    def describe(self) -> str:
        """A short, secret-free description for messages: ``SASL_SSL (SCRAM-SHA-512 as user 'scorecard')``."""
        if self.uses_sasl:
            return f"{self.protocol} ({self.sasl_mechanism} as user {self.sasl_username!r})"
        return self.protocol

    @classmethod
    def from_env(cls) -> KafkaSecurity:
        """The ``SCORECARD_KAFKA_*`` variables; ``SettingError`` for a secret given twice or an unreadable file."""
        return cls(
            protocol=(os.environ.get("SCORECARD_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper(),
            sasl_mechanism=(os.environ.get("SCORECARD_KAFKA_SASL_MECHANISM") or "PLAIN").upper(),
            sasl_username=os.environ.get("SCORECARD_KAFKA_SASL_USERNAME") or None,
            sasl_password=secret("SCORECARD_KAFKA_SASL_PASSWORD"),
            ca_file=os.environ.get("SCORECARD_KAFKA_SSL_CA_FILE") or None,
            cert_file=os.environ.get("SCORECARD_KAFKA_SSL_CERT_FILE") or None,
            key_file=os.environ.get("SCORECARD_KAFKA_SSL_KEY_FILE") or None,
            key_password=secret("SCORECARD_KAFKA_SSL_KEY_PASSWORD"),
        )
