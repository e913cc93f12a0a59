"""How the clients authenticate to Kafka and encrypt the connection: the security protocol, SASL and TLS settings.

One frozen value, ``KafkaSecurity``, carries them from the CLI flags or the ``SCORECARD_KAFKA_*`` variables to every
Kafka client the pipeline opens (``streams/kafka_client.py`` turns it into aiokafka options and Faust credentials).
It imports no Kafka code, so the CLI can check the settings before anything slow is imported.

Secrets (the SASL password, the private key's password) can be given as a value or as a file holding it
(``..._FILE``): a file keeps them out of ``ps`` and of the environment other processes can read. ``repr`` never shows
them, so a printed or logged ``Settings`` is safe.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
"""Kafka's security protocols: TLS is used by SSL and SASL_SSL, a SASL login by SASL_PLAINTEXT and SASL_SSL."""

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
"""The SASL mechanisms supported: PLAIN (send the password, only sensible over TLS) and SCRAM (challenge-response)."""

ENV_PROTOCOL = "SCORECARD_KAFKA_SECURITY_PROTOCOL"
ENV_MECHANISM = "SCORECARD_KAFKA_SASL_MECHANISM"
ENV_USERNAME = "SCORECARD_KAFKA_SASL_USERNAME"
ENV_PASSWORD = "SCORECARD_KAFKA_SASL_PASSWORD"
ENV_CA_FILE = "SCORECARD_KAFKA_SSL_CA_FILE"
ENV_CERT_FILE = "SCORECARD_KAFKA_SSL_CERT_FILE"
ENV_KEY_FILE = "SCORECARD_KAFKA_SSL_KEY_FILE"
ENV_KEY_PASSWORD = "SCORECARD_KAFKA_SSL_KEY_PASSWORD"
FILE_SUFFIX = "_FILE"
"""``<secret variable>_FILE`` names a file holding the secret (one trailing line break is dropped)."""


class SecretFileError(ValueError):
    """A secret file that cannot be read; the message names the file and the setting."""


def read_secret_file(path: str | Path, setting: str) -> str:
    """The secret held by ``path``, without the trailing line break an editor or ``echo`` adds."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise SecretFileError(f"cannot read {setting} from {path}: {reason}") from None
    return text.removesuffix("\n").removesuffix("\r")


@dataclass(frozen=True, repr=False)
class KafkaSecurity:
    """The security settings of every Kafka client of one deployment; the default is plaintext without login."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ca_file: str | None = None
    """CA certificate(s) (PEM) that signed the brokers' certificates; none: the system's trusted CAs."""
    cert_file: str | None = None
    """Client certificate (PEM) for brokers that require one (mutual TLS); may hold the key too."""
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
        if self.protocol not in PROTOCOLS:
            found.append(f"security protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if self.sasl_mechanism not in MECHANISMS:
            found.append(f"SASL mechanism {self.sasl_mechanism!r} is not one of {', '.join(MECHANISMS)}")
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            found.append(f"security protocol {self.protocol} needs a SASL user name and password")
        if not self.uses_sasl and (self.sasl_username or self.sasl_password):
            found.append(
                f"a SASL user name or password is set but the security protocol is {self.protocol}: set it to "
                "SASL_SSL (or SASL_PLAINTEXT)"
            )
        tls_files = [f for f in (self.ca_file, self.cert_file, self.key_file, self.key_password) if f]
        if tls_files and not self.uses_tls:
            found.append(
                f"TLS files or a key password are set but the security protocol is {self.protocol}: set it to "
                "SSL or SASL_SSL"
            )
        if (self.key_file or self.key_password) and not self.cert_file:
            found.append("a client key (or its password) is set without a client certificate")
        return found

    def __repr__(self) -> str:
        secret = {"sasl_password", "key_password"}
        fields = ", ".join(
            f"{name}={'***' if name in secret and value else value!r}" for name, value in self.__dict__.items()
        )
        return f"KafkaSecurity({fields})"

    def describe(self) -> str:
        """A short, secret-free description for messages: ``SASL_SSL (SCRAM-SHA-512 as user 'scorecard')``."""
        if self.uses_sasl:
            return f"{self.protocol} ({self.sasl_mechanism} as user {self.sasl_username!r})"
        return self.protocol

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> KafkaSecurity:
        """The settings of the ``SCORECARD_KAFKA_*`` variables (a secret also from ``<variable>_FILE``).

        Raises ``SecretFileError`` for an unreadable secret file and ``ValueError`` when a secret is given both ways.
        """
        env = os.environ if environ is None else environ
        return cls(
            protocol=(env.get(ENV_PROTOCOL) or "PLAINTEXT").upper(),
            sasl_mechanism=(env.get(ENV_MECHANISM) or "PLAIN").upper(),
            sasl_username=env.get(ENV_USERNAME) or None,
            sasl_password=secret_from_env(env, ENV_PASSWORD),
            ca_file=env.get(ENV_CA_FILE) or None,
            cert_file=env.get(ENV_CERT_FILE) or None,
            key_file=env.get(ENV_KEY_FILE) or None,
            key_password=secret_from_env(env, ENV_KEY_PASSWORD),
        )


def secret_from_env(env: dict[str, str] | os._Environ[str], name: str) -> str | None:
    """``$name``, or the content of the file ``$name_FILE``; both set is an error (which one would win?)."""
    value, path = env.get(name) or None, env.get(name + FILE_SUFFIX) or None
    if value is not None and path is not None:
        raise ValueError(f"both {name} and {name}{FILE_SUFFIX} are set; keep one (the file keeps it out of ps)")
    return read_secret_file(path, name) if path is not None else value
