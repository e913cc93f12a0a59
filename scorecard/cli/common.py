"""What the commands share: the options and their environment variables, loading a definition or failing with
the reason, time and duration options, the live-store check, the terminal console and progress bars.

Errors are one line on stderr and an exit status (1, or click's 2 for a bad option), never a traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar, cast

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
    redact_url,
)
from scorecard.core.definition import DefinitionError, Scorecard, load_scorecard
from scorecard.core.timeutil import (
    DurationRangeError,
    TimeFormatError,
    check_event_time,
    duration_milliseconds,
    format_duration,
    parse_duration,
    parse_time_text,
    short_value,
)
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
    """A secret flag, never shown as a default; a ``-file`` twin (``_file_option``) reads it from a file instead."""
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
        "Redis password of the ACL user or of requirepass (overrides one in the URL); visible in `ps` as a flag: "
        "prefer the variable or --redis-password-file.",
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
        "Password of the Sentinels themselves, if they require one (prefer the variable or "
        "--redis-sentinel-password-file).",
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


def scorecard_option(function: Any) -> Any:
    """``-s/--scorecard FILE`` or ``$SCORECARD_DEFINITION`` (``definition_option``), as ``scorecard_path``."""
    return definition_option()(function)


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


WORKER_EXTRA: Final = "streaming-scorecard[worker]"
WORKER_PACKAGES: Final = frozenset({"faust", "mode", "aiokafka", "uvloop"})
"""The import names of the worker extra's packages (faust-streaming and its mode-streaming, aiokafka, uvloop)."""


@contextmanager
def worker_extra(command: str) -> Iterator[None]:
    """Around the imports of a command that talks to Kafka: without the worker extra installed, a one-line error
    naming the extra and exit 1, instead of a traceback (the definition tools install without it)."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if missing not in WORKER_PACKAGES:
            raise
        click.echo(
            f"scorecard {command} needs the worker extra (no module named {missing!r}): pip install '{WORKER_EXTRA}'",
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


# --------------------------------------------------------------------------------------------------- one CLI shape
# The shape every command shares (docs/cli.md): the definition as -s/--scorecard FILE or SCORECARD_DEFINITION, -o as
# where generated output goes, durations in Prometheus's syntax, -h for help, --check on every generator, and the exit
# codes below. New commands take these decorators and helpers rather than declaring their own variants.

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
"""The command ran and the answer is no: an invalid definition or events (``--fail-on-invalid``), stale generated
files (``--check``), balance warnings (``validate --strict``), nothing live in Redis, a port taken."""
EXIT_USAGE: Final = 2
"""Click's status for a bad command line: unknown command or option, bad option value, missing definition."""
DEFINITION_ENV: Final = "SCORECARD_DEFINITION"
CONTEXT_SETTINGS: Final[dict[str, Any]] = {"help_option_names": ["-h", "--help"]}

_DEFINITION_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)
_F = TypeVar("_F", bound=Callable[..., Any])


class ScorecardGroup(click.Group):
    """The command group: a mistyped command gets the closest names (``valdate`` -> did you mean validate)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; `{ctx.command_path} -h` lists them"
            ctx.fail(f"no command '{printable(name)}'{hint}")
        return super().resolve_command(ctx, args)


def definition_option(positional: bool = False) -> Callable[[_F], _F]:
    """``-s/--scorecard FILE`` (or ``$SCORECARD_DEFINITION``), passed to the command as ``scorecard_path``.

    ``positional`` also accepts the definition as the first argument (``scorecard validate FILE``, the older form of
    the definition commands). A definition given twice, differently, is a usage error; none at all is one too.
    """

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def command(*args: Any, **kwargs: Any) -> Any:
            given = kwargs.pop("definition_argument", None)
            kwargs["scorecard_path"] = resolve_definition(kwargs.pop("scorecard_path"), given)
            return function(*args, **kwargs)

        wrapped: Any = command
        if positional:
            wrapped = click.argument("definition_argument", metavar="[FILE]", required=False, type=_DEFINITION_PATH)(
                wrapped
            )
        return cast(_F, definition_flag(positional)(wrapped))

    return decorate


def definition_flag(positional: bool = False) -> Callable[[_F], _F]:
    """The bare ``-s/--scorecard`` option (``scorecard_path``, None when not given) of ``definition_option``, for a
    command that resolves it with ``resolve_definition`` itself (``replay``, whose FILE precedes EVENTS)."""
    more = " May be given as the first argument instead." if positional else ""
    return click.option(
        "-s",
        "--scorecard",
        "scorecard_path",
        envvar=DEFINITION_ENV,
        show_envvar=True,
        type=_DEFINITION_PATH,
        metavar="FILE",
        help=f"Scorecard definition (YAML).{more}",
    )


def resolve_definition(option: Path | None, argument: Path | None) -> Path:
    """The definition from ``-s``/``$SCORECARD_DEFINITION`` or the positional FILE; a usage error when neither or two
    different ones are given on the command line (a positional FILE wins over the variable)."""
    ctx = click.get_current_context()
    from_command_line = ctx.get_parameter_source("scorecard_path") is click.core.ParameterSource.COMMANDLINE
    if argument is not None:
        if option is not None and from_command_line and option.resolve() != argument.resolve():
            raise click.UsageError(f"two definitions given ({option} with -s, {argument} as FILE); give one")
        return argument
    if option is None:
        raise click.UsageError(f"no scorecard definition: give -s FILE (or set {DEFINITION_ENV})")
    return option


class Duration(click.ParamType):
    """A duration option: Prometheus's syntax (``500ms``, ``90s``, ``1h30m``, ``2w``) or a plain number of seconds,
    converted to seconds (a float). ``zero`` allows ``0`` (the option says what it means); ``minimum`` is in seconds.
    """

    name = "duration"

    def __init__(self, *, zero: bool = False, minimum: float = 0.0, whole_seconds: bool = False) -> None:
        self.zero = zero
        self.minimum = minimum
        self.whole_seconds = whole_seconds

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            text = str(value).strip()
            try:
                seconds = float(text) if _PLAIN_SECONDS.match(text) else duration_milliseconds(text) / 1000
            except DurationRangeError as err:
                self._fail(str(err), param, ctx)
            except TimeFormatError:
                self._fail(
                    f"expected a duration like 30s, 1h30m or 500ms, or seconds; got {short_value(text)}", param, ctx
                )
        shown = short_value(str(value))
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not self.zero):
            self._fail(f"expected a positive duration, got {shown}", param, ctx)
        if 0 < seconds < self.minimum:
            self._fail(f"expected at least {format_duration(self.minimum)}, got {shown}", param, ctx)
        if self.whole_seconds and seconds != int(seconds):
            self._fail(f"expected whole seconds, got {shown}", param, ctx)
        return seconds

    @staticmethod
    def _fail(message: str, param: click.Parameter | None, ctx: click.Context | None) -> NoReturn:
        """A usage error naming the option as typed (``Invalid value for --for: ...``)."""
        hint = " / ".join(param.opts) if param is not None and param.opts else None
        raise click.BadParameter(printable(message), ctx=ctx, param_hint=hint)


_PLAIN_SECONDS = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,9})?$")


def output_file_option(help_text: str) -> Callable[[_F], _F]:
    """``-o/--output FILE`` (``-``, the default, is stdout), as ``output_path``: commands writing one document."""
    return click.option(
        "-o",
        "--output",
        "output_path",
        type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
        default="-",
        show_default=True,
        metavar="FILE",
        help=f"{help_text} (- for stdout).",
    )


def output_dir_option(help_text: str) -> Callable[[_F], _F]:
    """``-o/--output DIR``, required (no folder is made relative to wherever the command runs), passed as
    ``output_dir``: commands writing several files. The folder is created when missing."""
    return click.option(
        "-o",
        "--output",
        "output_dir",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help=f"{help_text} (created when missing).",
    )


check_option = click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when the files on disk differ from what would be generated (for CI).",
)


def write_or_check(files: dict[Path, bytes], check: bool, regenerate: str) -> None:
    """Write generated ``files`` (creating folders), or with ``check`` compare them with the disk: each missing or
    different file is a line on stderr naming ``regenerate``, the command that updates it, and the exit code is 1."""
    if not check:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return
    stale = [path for path, data in files.items() if not path.is_file() or path.read_bytes() != data]
    for path in stale:
        echo(f"{path} is {'stale' if path.exists() else 'missing'}; run `{regenerate}`", err=True)
    if stale:
        sys.exit(EXIT_FAILED)
    echo(f"{plural(len(files), 'file')} up to date")


def write_document(output_path: Path, data: bytes) -> bool:
    """Write one generated document to ``output_path`` or stdout (``-``); True when it went to a file."""
    if str(output_path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return False
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_bytes(data)
    return True


# ------------------------------------------------------------------------------------------------ service errors
EXIT_UNAVAILABLE: Final = 3
"""Kafka or Redis cannot be reached or refuses: retrying later may work, changing the input will not."""


def unavailable(message: str) -> NoReturn:
    """Exit ``EXIT_UNAVAILABLE`` after one line on stderr: a service cannot be reached or refused."""
    echo(message, err=True)
    sys.exit(EXIT_UNAVAILABLE)


@contextlib.contextmanager
def kafka_errors(kafka_bootstrap: str, doing: str, quiet: bool = True) -> Iterator[None]:
    """Turn Kafka being unreachable or refusing (``doing`` it, e.g. "publish to topic t") into one line on stderr and
    ``EXIT_UNAVAILABLE``, instead of aiokafka's traceback. ``quiet`` holds back aiokafka's own log lines meanwhile (the
    one line says it all); a long-running command keeps them. Imports aiokafka: only for commands that use Kafka."""
    from aiokafka.errors import KafkaError

    from streams.topics import TopicError

    try:
        with quiet_logger("aiokafka") if quiet else contextlib.nullcontext():
            yield
    except TopicError as error:  # Kafka answers, but its topics do not fit the settings: the message says the fix
        echo(f"cannot {doing} at Kafka {redact_url(kafka_bootstrap)}: {error}", err=True)
        sys.exit(EXIT_FAILED)
    except (KafkaError, ConnectionError, TimeoutError) as error:  # not OSError: a port taken is not Kafka
        unavailable(f"cannot {doing} at Kafka {redact_url(kafka_bootstrap)}: {kafka_reason(error)}")


def kafka_reason(error: BaseException) -> str:
    """What went wrong with Kafka, said for the person who set the bootstrap servers."""
    from aiokafka.errors import KafkaConnectionError

    if isinstance(error, KafkaConnectionError | ConnectionError):
        return "no broker reachable there (is Kafka running? --kafka-bootstrap, SCORECARD_KAFKA_BOOTSTRAP)"
    return str(error)


@contextlib.contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Hold back a library's log records below CRITICAL meanwhile: the command reports the failure itself."""
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def prometheus_history_options(function: Any) -> Any:
    """``--prometheus-url`` and ``--prometheus-match``: where ``explain`` and ``report --since`` read the live
    scorecard of an earlier time (Prometheus' history of the exporter)."""
    function = click.option(
        "--prometheus-match",
        metavar="MATCHERS",
        default="",
        help="Label matchers added to every Prometheus query, e.g. 'job=\"scorecard-exporter\"'.",
    )(function)
    return env_option(
        "--prometheus-url",
        "SCORECARD_PROMETHEUS_URL",
        "Prometheus scraping the exporter: the live scorecard at --since comes from its history.",
    )(function)
