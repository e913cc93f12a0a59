"""The security settings as Kafka clients take them, and the one-line reason when a broker cannot be reached.

``client_options`` gives the keyword arguments every aiokafka client of the pipeline (the publisher's producer, the
topic admin, the test and bench clients) receives; ``faust_credentials`` gives Faust's ``broker_credentials``, which
Faust hands to its own consumer, producer and admin calls the same way (``credentials_to_aiokafka_auth``). Both build
the TLS context with ``aiokafka.helpers.create_ssl_context`` (hostname checking on, the system CAs unless a CA file is
given).

``check_access`` opens one connection to the bootstrap servers before the real clients start. Those clients only
say "Unable to bootstrap" and log each failed attempt; this check says why (refused, untrusted certificate, login
refused) in one line, without the password, so the commands can exit with it.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import faust
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from faust.types.auth import CredentialsT

from scorecard.config import KafkaSecurity

CHECK_TIMEOUT_S = 15.0
"""How long the access check waits for one broker to answer (TLS handshake and SASL login included)."""


class KafkaAccessError(KafkaError):
    """No bootstrap server could be reached with the settings given; the message says why and what to change.

    A ``KafkaError``, so whoever already reports Kafka's errors in one line reports this one too."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot reach Kafka"


class KafkaUnreachableError(KafkaAccessError, KafkaConnectionError):
    """No bootstrap server accepted a connection at all (refused, no route, unknown host): Kafka is not there, as
    opposed to a broker that answered and refused the TLS handshake or the login."""


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL (None otherwise); unreadable files raise ``KafkaAccessError``.

    An encrypted key without a password fails here instead of letting OpenSSL prompt on the terminal.
    """
    if not security.uses_tls:
        return None
    try:
        return create_ssl_context(
            cafile=security.ca_file,
            certfile=security.cert_file,
            keyfile=security.key_file,
            password=security.key_password or "",
        )
    except (OSError, ssl.SSLError) as error:
        files = ", ".join(f for f in (security.ca_file, security.cert_file, security.key_file) if f)
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
        raise KafkaAccessError(
            f"cannot load the Kafka TLS files ({files}): {reason}; check the CA, certificate and key files and the "
            "key password (SCORECARD_KAFKA_SSL_*)"
        ) from None


def client_options(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments of ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and ``AIOKafkaAdminClient``."""
    options: dict[str, Any] = {"security_protocol": security.protocol}
    context = ssl_context(security)
    if context is not None:
        options["ssl_context"] = context
    if security.uses_sasl:
        options |= {
            "sasl_mechanism": security.sasl_mechanism,
            "sasl_plain_username": security.sasl_username,
            "sasl_plain_password": security.sasl_password,
        }
    return options


def faust_credentials(security: KafkaSecurity) -> CredentialsT | None:
    """Faust's ``broker_credentials``: SASL (over TLS when SASL_SSL), TLS only, or None for plaintext."""
    context = ssl_context(security)
    if security.uses_sasl:
        credentials = faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password,
            ssl_context=context,  # with a context, Faust uses SASL_SSL
            mechanism=security.sasl_mechanism,
        )
        return credentials
    if context is not None:
        return faust.SSLCredentials(context)
    return None


async def check_access(bootstrap: str, security: KafkaSecurity) -> None:
    """Connect (and log in) to the first bootstrap server that answers; raise ``KafkaAccessError`` when none does
    (``KafkaUnreachableError``, also a ``KafkaConnectionError``, when none even accepted a connection)."""
    options = client_options(security)
    reasons, unreachable = [], True
    for server in (s.strip() for s in bootstrap.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise KafkaAccessError(f"Kafka bootstrap server {server!r} is not host:port (SCORECARD_KAFKA_BOOTSTRAP)")
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(CHECK_TIMEOUT_S * 1000), **options),
                CHECK_TIMEOUT_S,
            )
        except (TimeoutError, OSError, KafkaError) as error:
            reasons.append(f"{server}: {_reason(error, security)}")
            # refused, no route, unknown host; not a TLS failure or a silent listener (TimeoutError is an OSError)
            unreachable &= isinstance(error, OSError) and not isinstance(error, ssl.SSLError | TimeoutError)
            continue
        conn.close()
        return
    error_type = KafkaUnreachableError if unreachable else KafkaAccessError
    raise error_type(f"cannot reach Kafka with {security.describe()}: {'; '.join(reasons)}")


def _reason(error: BaseException, security: KafkaSecurity) -> str:
    """What went wrong with one broker, and the setting that fixes it."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"the broker's TLS certificate is not trusted ({error.verify_message}); give the CA that signed it with "
            "--kafka-ssl-ca-file (SCORECARD_KAFKA_SSL_CA_FILE)"
        )
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake failed ({error.reason or error}); is this a {security.protocol} listener?"
    if isinstance(error, (SaslAuthenticationFailed, AuthenticationFailedError)):
        return (
            f"login refused for user {security.sasl_username!r} with {security.sasl_mechanism}; check the user name, "
            "the password (SCORECARD_KAFKA_SASL_PASSWORD_FILE) and the mechanism"
        )
    if isinstance(error, UnsupportedSaslMechanismError):
        return f"the broker does not accept {security.sasl_mechanism}; set --kafka-sasl-mechanism to one it enables"
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_S:g}s; is this a {security.protocol} listener?"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}; is Kafka running there?"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{text}; is this a {security.protocol} listener?"
