"""The one place that turns the Redis settings (URL and ``RedisOptions``) into a redis-py client.

Every Redis user (worker, ``status``, ``report``, ``board``, the exporter, the tests' deployments) connects here, so
TLS files, an ACL user, a Sentinel or a Cluster apply to all of them alike. The modes use redis-py's own support:

* plain or TLS (``rediss://``): ``redis.Redis`` on a pool made from the URL, with the CA and client certificate;
* Sentinel: ``redis.sentinel.Sentinel(...).master_for(service)``, whose pool asks the Sentinels for the primary
  on every new connection, so the client follows a failover;
* Cluster: ``redis.cluster.RedisCluster``, which maps slots to nodes and follows ``MOVED`` redirections. Every key
  of one scorecard carries the hash tag ``{app_id}`` (``store.KeySpace``), so a cascade is one script on one node.

``retries=False`` makes a broken connection an error at once instead of a silent retry on a new connection: the
exporter must answer a scrape quickly, and the worker must *see* every lost connection, because after a Sentinel
failover the new primary may lack the last writes the old one acknowledged, and the worker repairs that with a
resync only when a command failed (``streams/pipeline.py``).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.connection import parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from scorecard.config import RedisOptions, SettingError, redact_url

__all__ = ["Client", "connect", "describe"]

Client: TypeAlias = redis.Redis | RedisCluster
"""What ``connect`` returns; both have the commands, scripts and pipelines the store uses."""


def connect(
    url: str,
    options: RedisOptions | None = None,
    *,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    retries: bool = True,
) -> Client:
    """A client for ``url`` with ``options``: plain, TLS, Sentinel-managed or Cluster, as the settings say.

    ``timeout`` bounds each command, ``connect_timeout`` each connection attempt (None: redis-py's defaults). Raises
    ``SettingError`` for settings that cannot work together (TLS files without ``rediss://``, Cluster with a
    database other than 0).
    """
    options = options or RedisOptions()
    kwargs = _connection_kwargs(url, options)
    if timeout is not None:
        kwargs["socket_timeout"] = timeout
    if connect_timeout is not None:
        kwargs["socket_connect_timeout"] = connect_timeout
    if not retries:
        kwargs["retry"] = Retry(NoBackoff(), 0)
    if options.sentinels:
        return _sentinel_client(options, kwargs)
    if options.cluster:
        return _cluster_client(kwargs)
    return _plain_client(kwargs)


def describe(url: str, options: RedisOptions | None = None) -> str:
    """Where the client goes, without any secret: the redacted URL and the mode, for messages and ``repr``."""
    options = options or RedisOptions()
    text = redact_url(url)
    if options.sentinels:  # the URL's host and port are not used: name the Sentinels, the database and TLS
        sentinels = ",".join(f"{host}:{port}" for host, port in options.sentinels)
        db = parse_url(url).get("db", 0)
        tls = ", TLS" if url.lower().startswith("rediss:") else ""
        text = f"primary {options.sentinel_service!r} of Sentinels {sentinels} (db {db}{tls})"
    elif options.cluster:
        text = f"{text} (cluster)"
    if options.username:
        text = f"{text} as {options.username}"
    return text


# --------------------------------------------------------------------------------------------------------- modes
def _connection_kwargs(url: str, options: RedisOptions) -> dict[str, Any]:
    """What redis-py reads from the URL, with the options' user, password and TLS files laid over it."""
    try:
        kwargs: dict[str, Any] = dict(parse_url(url))
    except ValueError as error:
        raise SettingError(f"SCORECARD_REDIS_URL {redact_url(url)!r} is not a Redis URL ({error})") from None
    options.check_url(url)
    tls = kwargs.get("connection_class") is redis.SSLConnection
    if options.username:
        kwargs["username"] = options.username
    if options.password:
        kwargs["password"] = options.password
    if tls:
        if options.ca_file:
            kwargs["ssl_ca_certs"] = options.ca_file
        if options.cert_file:
            kwargs["ssl_certfile"] = options.cert_file
            kwargs["ssl_keyfile"] = options.key_file
    return kwargs


def _plain_client(kwargs: dict[str, Any]) -> redis.Redis:
    """One server, over TCP, TLS or a unix socket (the URL's connection class), options laid over the URL."""
    return redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))


def _sentinel_client(options: RedisOptions, kwargs: dict[str, Any]) -> redis.Redis:
    """The primary of ``sentinel_service`` as the Sentinels name it now, rediscovered on every new connection.

    The Sentinels are reached with the same TLS settings and timeouts as the data nodes and their own password
    (``sentinel_password``), if any; the URL's host and port are not used.
    """
    kwargs.pop("host", None)
    kwargs.pop("port", None)
    if kwargs.pop("connection_class", None) is redis.SSLConnection:
        kwargs["ssl"] = True
    sentinel_kwargs = {k: v for k, v in kwargs.items() if k.startswith(("socket_", "ssl", "retry"))}
    if options.sentinel_password:
        sentinel_kwargs["password"] = options.sentinel_password
    sentinel = Sentinel(list(options.sentinels), sentinel_kwargs=sentinel_kwargs, **kwargs)
    return sentinel.master_for(options.sentinel_service, redis_class=redis.Redis)


def _cluster_client(kwargs: dict[str, Any]) -> RedisCluster:
    """A cluster client that learns the slot map from the URL's node (any node of the cluster will do)."""
    if kwargs.pop("db", 0) not in (0, "0"):
        raise SettingError("Redis Cluster has only database 0; drop the /db from SCORECARD_REDIS_URL")
    if kwargs.pop("connection_class", None) is redis.SSLConnection:
        kwargs["ssl"] = True
    return RedisCluster(**kwargs)
