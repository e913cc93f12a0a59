"""The Redis option group: ``redis_option`` puts ``--redis-url`` and the Redis security and HA options (TLS
files, ACL user, passwords, Sentinels, Cluster) on a command and hands it ``redis_url`` and ``redis_options``.

One decorator, so every command that reads or writes the live scorecard takes the same options in the same order;
bad URLs and bad combinations are one-line usage errors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import click

from scorecard.cli.options import env_option, file_option, one_secret, secret_option
from scorecard.config import RedisOptions, SettingError, parse_sentinels


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


_REDIS_OPTIONS = (
    _redis_url_option,
    file_option(
        "--redis-ca-file",
        "SCORECARD_REDIS_CA_FILE",
        "CA certificates that sign Redis's TLS certificate (with rediss://).  [default: the system's]",
    ),
    file_option(
        "--redis-cert-file",
        "SCORECARD_REDIS_CERT_FILE",
        "Client certificate for Redis TLS (with rediss://, when Redis asks for one).",
    ),
    file_option("--redis-key-file", "SCORECARD_REDIS_KEY_FILE", "Private key of --redis-cert-file (if not in it)."),
    click.option(
        "--redis-username",
        envvar="SCORECARD_REDIS_USERNAME",
        show_envvar=True,
        help="Redis ACL user (overrides one in the URL).",
    ),
    secret_option(
        "--redis-password",
        "SCORECARD_REDIS_PASSWORD",
        "Redis password of the ACL user or of requirepass (overrides one in the URL); visible in `ps` as a flag: "
        "prefer the variable or --redis-password-file.",
    ),
    file_option("--redis-password-file", "SCORECARD_REDIS_PASSWORD_FILE", "File holding the Redis password."),
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
    secret_option(
        "--redis-sentinel-password",
        "SCORECARD_REDIS_SENTINEL_PASSWORD",
        "Password of the Sentinels themselves, if they require one (prefer the variable or "
        "--redis-sentinel-password-file).",
    ),
    file_option(
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
            password=one_secret(values, "redis_password"),
            sentinels=parse_sentinels(values["redis_sentinels"] or "", "--redis-sentinels"),
            sentinel_service=values["redis_sentinel_service"],
            sentinel_password=one_secret(values, "redis_sentinel_password"),
            cluster=values["redis_cluster"],
        )
    except SettingError as error:
        raise click.UsageError(str(error)) from None
