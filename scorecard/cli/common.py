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

from scorecard.config import (
    ENV_DEFAULTS,
    KAFKA_MECHANISMS,
    KAFKA_PROTOCOLS,
    KafkaSecurity,
    RedisOptions,
    SettingError,
    Settings,
    parse_sentinels,
    read_secret_file,
)
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


_redis_url_option = env_option(
    "--redis-url", "SCORECARD_REDIS_URL", "Redis holding the live scorecard.", callback=_check_redis_url
)


def _file_option(name: str, envvar: str, help_text: str) -> Callable[[Any], Any]:
    return click.option(
        name,
        envvar=envvar,
        show_envvar=True,
        type=click.Path(exists=True, dir_okay=False),
        help=help_text,
    )


def _secret_option(name: str, envvar: str, help_text: str) -> Callable[[Any], Any]:
    """A secret flag: never shown as a default; ``--NAME-file`` (``envvar``_FILE) reads it from a file instead."""
    return click.option(name, envvar=envvar, show_envvar=True, show_default=False, help=help_text)


_REDIS_OPTIONS = (
    _redis_url_option,
    _file_option(
        "--redis-ca-file",
        "SCORECARD_REDIS_CA_FILE",
        "CA certificates that sign Redis's TLS certificate (with rediss://).  [default: the system's]",
    ),
    _file_option(
        "--redis-cert-file",
        "SCORECARD_REDIS_CERT_FILE",
        "Client certificate for Redis TLS (with rediss://, when Redis asks for one).",
    ),
    _file_option("--redis-key-file", "SCORECARD_REDIS_KEY_FILE", "Private key of --redis-cert-file (if not in it)."),
    click.option(
        "--redis-username",
        envvar="SCORECARD_REDIS_USERNAME",
        show_envvar=True,
        help="Redis ACL user (overrides one in the URL).",
    ),
    _secret_option(
        "--redis-password",
        "SCORECARD_REDIS_PASSWORD",
        "Redis password of the ACL user or of "
        "requirepass (overrides one in the URL); visible in `ps` as a flag: prefer the variable or "
        "--redis-password-file.",
    ),
    _file_option("--redis-password-file", "SCORECARD_REDIS_PASSWORD_FILE", "File holding the Redis password."),
    click.option(
        "--redis-sentinels",
        envvar="SCORECARD_REDIS_SENTINELS",
        show_envvar=True,
        metavar="HOST:PORT,...",
        help="Redis Sentinels to ask for the primary (the URL's host and port are then not used).",
    ),
    env_option(
        "--redis-sentinel-service", "SCORECARD_REDIS_SENTINEL_SERVICE", "Name the Sentinels monitor the primary under."
    ),
    _secret_option(
        "--redis-sentinel-password",
        "SCORECARD_REDIS_SENTINEL_PASSWORD",
        "Password of the Sentinels "
        "themselves, if they require one (prefer the variable or --redis-sentinel-password-file).",
    ),
    _file_option(
        "--redis-sentinel-password-file",
        "SCORECARD_REDIS_SENTINEL_PASSWORD_FILE",
        "File holding the Sentinels' password.",
    ),
    click.option(
        "--redis-cluster/--no-redis-cluster",
        envvar="SCORECARD_REDIS_CLUSTER",
        show_envvar=True,
        default=False,
        show_default=True,
        help="Redis is a Redis Cluster; the URL names any one node.",
    ),
)
_REDIS_PARAMS = (
    "redis_ca_file",
    "redis_cert_file",
    "redis_key_file",
    "redis_username",
    "redis_password",
    "redis_password_file",
    "redis_sentinels",
    "redis_sentinel_service",
    "redis_sentinel_password",
    "redis_sentinel_password_file",
    "redis_cluster",
)


def redis_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--redis-url`` and the Redis security and HA options; ``command`` gets ``redis_url`` and ``redis_options``.

    Each has its SCORECARD_REDIS_* variable; the passwords also come from a file (``--redis-password-file``,
    ``SCORECARD_REDIS_PASSWORD_FILE``) and are never printed. Bad combinations are one-line usage errors.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _REDIS_PARAMS}
        kwargs["redis_options"] = options = _redis_options(values)
        try:
            options.check_url(kwargs["redis_url"])
        except SettingError as error:
            raise click.UsageError(str(error)) from None
        return command(*args, **kwargs)

    for option in reversed(_REDIS_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def _redis_options(values: dict[str, Any]) -> RedisOptions:
    """The options from the flags' values, or a usage error (exit 2) naming the flag and what it expects."""
    try:
        return RedisOptions(
            ca_file=values["redis_ca_file"],
            cert_file=values["redis_cert_file"],
            key_file=values["redis_key_file"],
            username=values["redis_username"] or None,
            password=_one_secret(values, "redis_password"),
            sentinels=parse_sentinels(values["redis_sentinels"] or "", "--redis-sentinels"),
            sentinel_service=values["redis_sentinel_service"],
            sentinel_password=_one_secret(values, "redis_sentinel_password"),
            cluster=values["redis_cluster"],
        )
    except SettingError as error:
        raise click.UsageError(str(error)) from None


def _one_secret(values: dict[str, Any], name: str) -> str | None:
    flag = "--" + name.replace("_", "-")
    value, path = values[name], values[f"{name}_file"]
    if value and path:
        raise SettingError(f"{flag} and {flag}-file are both given (flags or variables); keep one")
    return read_secret_file(path, f"{flag}-file") if path else value or None


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
    _secret_option(
        "--kafka-sasl-password",
        "SCORECARD_KAFKA_SASL_PASSWORD",
        "SASL password; visible in `ps` as a flag: prefer the variable or --kafka-sasl-password-file.",
    ),
    _file_option("--kafka-sasl-password-file", "SCORECARD_KAFKA_SASL_PASSWORD_FILE", "File holding the SASL password."),
    _file_option(
        "--kafka-ssl-ca-file",
        "SCORECARD_KAFKA_SSL_CA_FILE",
        "CA certificates (PEM) that sign the brokers' certificates (with SSL, SASL_SSL).  [default: the system's]",
    ),
    _file_option(
        "--kafka-ssl-cert-file",
        "SCORECARD_KAFKA_SSL_CERT_FILE",
        "Client certificate (PEM), for brokers that ask for one (mutual TLS).",
    ),
    _file_option("--kafka-ssl-key-file", "SCORECARD_KAFKA_SSL_KEY_FILE", "Private key of --kafka-ssl-cert-file (PEM)."),
    _secret_option(
        "--kafka-ssl-key-password",
        "SCORECARD_KAFKA_SSL_KEY_PASSWORD",
        "Password of the private key; visible in `ps` as a flag: prefer the variable or --kafka-ssl-key-password-file.",
    ),
    _file_option(
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
            sasl_password=_one_secret(values, "kafka_sasl_password"),
            ca_file=values["kafka_ssl_ca_file"],
            cert_file=values["kafka_ssl_cert_file"],
            key_file=values["kafka_ssl_key_file"],
            key_password=_one_secret(values, "kafka_ssl_key_password"),
        )
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    problems = security.problems()
    if problems:
        raise click.UsageError(f"Kafka settings: {'; '.join(problems)}")
    return security


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


replication_option = env_option(
    "--replication-factor",
    "SCORECARD_REPLICATION_FACTOR",
    "Replicas of the topics it creates (3 on a cluster; min.insync.replicas is then 2).",
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
    redis_options: RedisOptions | None = None,
    kafka_security: KafkaSecurity | None = None,
    replication_factor: int = 1,
) -> Settings:
    return Settings(
        kafka_bootstrap,
        redis_url,
        ENV_DEFAULTS["SCORECARD_PROMETHEUS_URL"],
        topic,
        app_id,
        partitions,
        redis_options or RedisOptions(),
        kafka_security=kafka_security or KafkaSecurity(),
        replication_factor=replication_factor,
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
