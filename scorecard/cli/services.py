"""Service errors: Kafka or Redis unreachable or refusing as one line on stderr and exit 3 (``unavailable``,
``kafka_errors``, ``kafka_reason``, ``quiet_logger``), nothing live in Redis yet (``require_live``), and the worker
extra missing (``worker_extra``).

Kept together so that a command talking to a service says what went wrong and how to fix it, never with a traceback;
aiokafka and the topics are imported only when a command uses Kafka.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, NoReturn

import click

from scorecard.cli.console import echo
from scorecard.cli.shape import EXIT_FAILED, EXIT_UNAVAILABLE
from scorecard.config import redact_url

if TYPE_CHECKING:
    from scorecard.redis.store import RedisStore


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
