"""``connect`` builds the client the settings ask for; no connection is opened (redis-py connects lazily)."""

from __future__ import annotations

import pytest
import redis
from redis.sentinel import SentinelConnectionPool, SentinelManagedSSLConnection

from scorecard.config import RedisOptions, SettingError
from scorecard.redis.client import connect, describe


def test_tls_files_and_acl_user_reach_the_connection() -> None:
    options = RedisOptions(ca_file="/ca.crt", cert_file="/c.crt", key_file="/c.key", username="u", password="opt")
    client = connect("rediss://url-user:url-pw@h:6390/2", options, timeout=1.5, retries=False)
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    assert pool.connection_class is redis.SSLConnection
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("h", 6390, 2)
    assert (kwargs["username"], kwargs["password"]) == ("u", "opt")  # the options override the URL
    assert (kwargs["ssl_ca_certs"], kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == ("/ca.crt", "/c.crt", "/c.key")
    assert kwargs["socket_timeout"] == 1.5 and kwargs["retry"].get_retries() == 0


def test_a_plain_url_keeps_its_own_password() -> None:
    kwargs = connect("redis://:url-pw@h:6379/0").connection_pool.connection_kwargs
    assert kwargs["password"] == "url-pw" and "ssl_ca_certs" not in kwargs


def test_sentinel_mode_asks_the_sentinels_for_the_primary() -> None:
    options = RedisOptions(sentinels=(("s1", 26379), ("s2", 26379)), sentinel_service="sc", sentinel_password="sp")
    client = connect("rediss://:data-pw@ignored:1/3", options, retries=False)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "sc"
    assert pool.connection_class is SentinelManagedSSLConnection
    assert pool.connection_kwargs["password"] == "data-pw" and pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["retry"].get_retries() == 0  # a lost primary is an error, not a silent retry
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["host"] for s in sentinels] == ["s1", "s2"]
    assert all(s.connection_pool.connection_kwargs["password"] == "sp" for s in sentinels)


def test_cluster_refuses_a_database_other_than_0() -> None:
    with pytest.raises(SettingError, match="only database 0"):
        connect("redis://h:7000/1", RedisOptions(cluster=True))


def test_describe_names_the_mode_and_never_a_password() -> None:
    sentinel = RedisOptions(sentinels=(("s1", 1),), password="pw", username="u")
    assert describe("rediss://:pw@h:1/2", sentinel) == "primary 'mymaster' of Sentinels s1:1 (db 2, TLS) as u"
    assert describe("redis://h:1/0", RedisOptions(cluster=True)) == "redis://h:1/0 (cluster)"
