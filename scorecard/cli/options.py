"""Building blocks of the options: a flag with its ``SCORECARD_*`` variable and shared default
(``env_option``), a file flag, a secret flag and its ``-file`` twin (``one_secret`` keeps exactly one), and
``--app-id``, which the Kafka and the Redis side both use.

The option groups (``options_redis``, ``options_kafka``, ``options_prometheus``) are built from these, so each
option looks and reads its variable the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from scorecard.config import ENV_DEFAULTS, SettingError, read_secret_file


def env_option(name: str, envvar: str, help_text: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A flag that also reads its environment variable, with the shared default of ``scorecard.config``.

    Click converts the default text with the option's type, so "8" becomes 8 for an integer option.
    """
    return click.option(
        name, envvar=envvar, default=ENV_DEFAULTS[envvar], show_default=True, show_envvar=True, help=help_text, **kwargs
    )


def file_option(name: str, envvar: str, help_text: str) -> Callable[[Any], Any]:
    return click.option(
        name,
        envvar=envvar,
        show_envvar=True,
        type=click.Path(exists=True, dir_okay=False),
        help=help_text,
    )


def secret_option(name: str, envvar: str, help_text: str) -> Callable[[Any], Any]:
    """A secret flag, never shown as a default; a ``-file`` twin (``file_option``) reads it from a file instead."""
    return click.option(name, envvar=envvar, show_envvar=True, show_default=False, help=help_text)


def one_secret(values: dict[str, Any], name: str) -> str | None:
    flag = "--" + name.replace("_", "-")
    value, path = values[name], values[f"{name}_file"]
    if value and path:
        raise SettingError(f"{flag} and {flag}-file are both given (flags or variables); keep one")
    return read_secret_file(path, f"{flag}-file") if path else value or None


app_id_option = env_option(
    "--app-id", "SCORECARD_APP_ID", "Faust app id: consumer group, changelog topics and Redis key prefix."
)
