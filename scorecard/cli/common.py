"""What the commands share: the options and their environment variables, loading a definition or failing with
the reason, time and duration options, the live-store check, the terminal console and progress bars.

Errors are one line on stderr and an exit status (1, or click's 2 for a bad option), never a traceback.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn

from scorecard import kafka_security as ks
from scorecard.config import ENV_DEFAULTS, Settings
from scorecard.core.definition import DefinitionError, Scorecard, load_scorecard
from scorecard.core.timeutil import TimeFormatError, check_event_time, parse_duration, parse_time_text
from scorecard.outputs.terminal import printable

if TYPE_CHECKING:
    from scorecard.redis.store import RedisStore


# ---------------------------------------------------------------------------------------------------------- options
def env_option(name: str, envvar: str, help_text: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A flag that also reads its environment variable, with the shared default of ``scorecard.config``.

    Click converts the default text with the option's type, so "8" becomes 8 for an integer option.
    """
    return click.option(
        name, envvar=envvar, default=ENV_DEFAULTS[envvar], show_default=True, show_envvar=True, help=help_text, **kwargs
    )


kafka_option = env_option("--kafka-bootstrap", "SCORECARD_KAFKA_BOOTSTRAP", "Kafka bootstrap servers.")


def _plain_option(name: str, envvar: str, help_text: str, **kwargs: Any) -> Callable[[Any], Any]:
    """An optional flag read from its environment variable too, without a default."""
    return click.option(name, envvar=envvar, show_envvar=True, help=help_text, **kwargs)


_FILE = click.Path(exists=True, dir_okay=False, readable=True)
_SECURITY_OPTIONS = (
    kafka_option,
    click.option(
        "--kafka-security-protocol",
        envvar=ks.ENV_PROTOCOL,
        type=click.Choice(ks.PROTOCOLS, case_sensitive=False),
        default="PLAINTEXT",
        show_default=True,
        show_envvar=True,
        help="How to reach Kafka: SSL and SASL_SSL encrypt with TLS, SASL_* log in.",
    ),
    click.option(
        "--kafka-sasl-mechanism",
        envvar=ks.ENV_MECHANISM,
        type=click.Choice(ks.MECHANISMS, case_sensitive=False),
        default="PLAIN",
        show_default=True,
        show_envvar=True,
        help="SASL login mechanism (SASL_* protocols).",
    ),
    _plain_option("--kafka-sasl-username", ks.ENV_USERNAME, "SASL user name."),
    _plain_option(
        "--kafka-sasl-password",
        ks.ENV_PASSWORD,
        "SASL password; visible in ps as a flag: prefer --kafka-sasl-password-file.",
    ),
    _plain_option(
        "--kafka-sasl-password-file", ks.ENV_PASSWORD + ks.FILE_SUFFIX, "File holding the SASL password.", type=_FILE
    ),
    _plain_option(
        "--kafka-ssl-ca-file",
        ks.ENV_CA_FILE,
        "CA certificate(s) (PEM) that signed the brokers' certificates (default: the system's CAs).",
        type=_FILE,
    ),
    _plain_option("--kafka-ssl-cert-file", ks.ENV_CERT_FILE, "Client certificate (PEM) for mutual TLS.", type=_FILE),
    _plain_option("--kafka-ssl-key-file", ks.ENV_KEY_FILE, "Private key (PEM) of the client certificate.", type=_FILE),
    _plain_option(
        "--kafka-ssl-key-password",
        ks.ENV_KEY_PASSWORD,
        "Password of the private key; visible in ps as a flag: prefer --kafka-ssl-key-password-file.",
    ),
    _plain_option(
        "--kafka-ssl-key-password-file",
        ks.ENV_KEY_PASSWORD + ks.FILE_SUFFIX,
        "File holding the private key's password.",
        type=_FILE,
    ),
)
_SECURITY_PARAMETERS = (
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
    """The Kafka options every command that talks to Kafka takes: ``--kafka-bootstrap`` and the security settings.

    The command receives ``kafka_bootstrap`` and ``kafka_security`` (a checked ``KafkaSecurity``, secrets read from
    their files); settings that cannot work together are a one-line usage error.
    """

    @functools.wraps(command)
    def with_security(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _SECURITY_PARAMETERS}
        kwargs["kafka_security"] = kafka_security_from_options(**values)
        return command(*args, **kwargs)

    for option in reversed(_SECURITY_OPTIONS):
        with_security = option(with_security)
    return with_security


def kafka_security_from_options(
    *,
    kafka_security_protocol: str,
    kafka_sasl_mechanism: str,
    kafka_sasl_username: str | None,
    kafka_sasl_password: str | None,
    kafka_sasl_password_file: str | None,
    kafka_ssl_ca_file: str | None,
    kafka_ssl_cert_file: str | None,
    kafka_ssl_key_file: str | None,
    kafka_ssl_key_password: str | None,
    kafka_ssl_key_password_file: str | None,
) -> ks.KafkaSecurity:
    """The options as one ``KafkaSecurity``; raises ``click.UsageError`` (one line) when they cannot work."""
    security = ks.KafkaSecurity(
        protocol=kafka_security_protocol.upper(),
        sasl_mechanism=kafka_sasl_mechanism.upper(),
        sasl_username=kafka_sasl_username or None,
        sasl_password=_secret(kafka_sasl_password, kafka_sasl_password_file, "--kafka-sasl-password"),
        ca_file=kafka_ssl_ca_file,
        cert_file=kafka_ssl_cert_file,
        key_file=kafka_ssl_key_file,
        key_password=_secret(kafka_ssl_key_password, kafka_ssl_key_password_file, "--kafka-ssl-key-password"),
    )
    problems = security.problems()
    if problems:
        raise click.UsageError(f"Kafka settings: {'; '.join(problems)}")
    return security


def _secret(value: str | None, path: str | None, option: str) -> str | None:
    if value and path:
        raise click.UsageError(f"{option} and {option}-file are both given (flags or variables); keep one")
    if path:
        try:
            return ks.read_secret_file(path, option)
        except ks.SecretFileError as error:
            raise click.UsageError(str(error)) from None
    return value or None


def _check_redis_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A URL redis-py cannot read is a one-line usage error (it names no password: neither the URL nor a value)."""
    import redis

    try:
        redis.ConnectionPool.from_url(value)
    except ValueError as error:
        reason = re.sub(r" as '.*'", "", str(error))  # "Port could not be cast ... as '<what followed the colon>'"
        raise click.BadParameter(
            f"not a Redis URL ({reason}); expected redis://[[user]:password@]host[:port][/db], rediss://... or "
            "unix://path"
        ) from None
    return value


redis_option = env_option(
    "--redis-url", "SCORECARD_REDIS_URL", "Redis holding the live scorecard.", callback=_check_redis_url
)


topic_option = env_option("--topic", "SCORECARD_TOPIC", "Input topic; the dead-letter topic is TOPIC.dlq.")


app_id_option = env_option(
    "--app-id", "SCORECARD_APP_ID", "Faust app id: consumer group, changelog topics and Redis key prefix."
)


partitions_option = env_option(
    "--partitions",
    "SCORECARD_PARTITIONS",
    "Partitions of the topics it creates (must match an existing input topic).",
    type=click.IntRange(min=1),
)


scorecard_option = click.option(
    "--scorecard",
    "scorecard_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scorecard definition (YAML).",
)


def make_settings(
    *,
    kafka_bootstrap: str = ENV_DEFAULTS["SCORECARD_KAFKA_BOOTSTRAP"],
    redis_url: str = ENV_DEFAULTS["SCORECARD_REDIS_URL"],
    topic: str = ENV_DEFAULTS["SCORECARD_TOPIC"],
    app_id: str = ENV_DEFAULTS["SCORECARD_APP_ID"],
    partitions: int = int(ENV_DEFAULTS["SCORECARD_PARTITIONS"]),
    kafka_security: ks.KafkaSecurity | None = None,
) -> Settings:
    return Settings(
        kafka_bootstrap,
        redis_url,
        ENV_DEFAULTS["SCORECARD_PROMETHEUS_URL"],
        topic,
        app_id,
        partitions,
        kafka_security or ks.KafkaSecurity(),
    )


# -------------------------------------------------------------------------------------------------- errors, output
def echo(message: str, err: bool = False) -> None:
    """Print text that holds names from a definition or values from events (``terminal.printable``)."""
    click.echo(printable(message, keep_newlines=True), err=err)


def load_or_exit(path: Path) -> Scorecard:
    """Load a definition for a command that needs a valid one; problems go to stderr with a pointer to validate."""
    try:
        return load_scorecard(path)
    except DefinitionError as err:
        for problem in err.problems:
            echo(problem.format(str(path)), err=True)
        click.echo(f"{path} is not a valid scorecard; see `scorecard validate {path}`", err=True)
        sys.exit(1)


def require_live(store: RedisStore, app_id: str, hint: str = "") -> None:
    """Exit 1 with the likely reason when no worker has filled Redis for ``app_id`` yet; ``hint`` adds a way out."""
    if not store.is_initialized():
        click.echo(
            f"no live scorecard for app id {app_id!r} in {store!r} yet: is a worker running with the same "
            f"SCORECARD_APP_ID and SCORECARD_REDIS_URL?{hint}",
            err=True,
        )
        sys.exit(1)


def plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def terminal_console() -> Console:
    """The console of tables and boards: the terminal's width, or at least 120 columns (``$COLUMNS``) in a pipe."""
    return Console(width=None if sys.stdout.isatty() else max(120, _columns()))


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


def progress_bar(template: str, *counters: ProgressColumn) -> Progress:
    """A bar on stderr that disappears when done: ``template`` (a ``TextColumn`` text), the bar, ``counters``, the
    time remaining. Commands draw one only when stderr is a terminal."""
    return Progress(
        TextColumn(template),
        BarColumn(),
        *counters,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


# ------------------------------------------------------------------------------------------------- time options
def parse_at(text: str | None, option: str = "--at") -> float | None:
    if text is None:
        return None
    return time_param(text, option)


def time_param(text: str, option: str) -> float:
    """A time option: RFC 3339 or epoch seconds, within the range events may have (years 1000-9997)."""
    try:
        return check_event_time(parse_time_text(text), text)
    except TimeFormatError as err:
        raise click.BadParameter(printable(err), param_hint=option) from None


def duration_param(text: str, option: str) -> int:

    try:
        return parse_duration(text)
    except TimeFormatError as err:
        raise click.BadParameter(str(err), param_hint=option) from None
