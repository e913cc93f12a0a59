"""What the commands share: the options and their environment variables, loading a definition or failing with
the reason, time and duration options, the live-store check, the terminal console and progress bars.

Errors are one line on stderr and an exit status (1, or click's 2 for a bad option), never a traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn

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
) -> Settings:
    return Settings(kafka_bootstrap, redis_url, ENV_DEFAULTS["SCORECARD_PROMETHEUS_URL"], topic, app_id, partitions)


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
