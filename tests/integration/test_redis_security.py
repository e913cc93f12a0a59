"""Redis over TLS with a client certificate, and an ACL user limited to the scorecard's keys.

One private ``redis-server`` for the module, started by ``deploy/local/services up redis`` on port 26380 with
``rediss://`` (TLS only, client certificates required, certificates made by the script with openssl) and
SCORECARD_REDIS_USERNAME (an ACL user limited to ``sc:{app id}:*``; the ``default`` user gets an admin password
so the test can look at what the user must not touch). It is stopped with ``down`` afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from scorecard.cli.shape import EXIT_UNAVAILABLE
from scorecard.config import RedisOptions, Settings
from scorecard.redis.client import connect
from scorecard.redis.store import RedisStore, StoreError
from tests.integration.pipeline import Deployment, replay_json, run_services
from tests.paths import ACME

PORT = 26380
PASSWORD = 'p@ss w"rd:/?#%é'  # every character a URL or a config line would get wrong
ADMIN_PASSWORD = "admin-only-for-the-test"
USER = "scorecard-app"


@dataclass(frozen=True)
class SecureRedis:
    url: str
    app_id: str
    tls: Path
    env: dict[str, str]

    def options(self, **changes: object) -> RedisOptions:
        """The options the scorecard needs here: CA, client certificate and key, the ACL user and its password."""
        full = RedisOptions(
            ca_file=str(self.tls / "ca.crt"),
            cert_file=str(self.tls / "client.crt"),
            key_file=str(self.tls / "client.key"),
            username=USER,
            password=PASSWORD,
        )
        return replace(full, **changes)  # type: ignore[arg-type]

    def admin(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url,
            password=ADMIN_PASSWORD,
            ssl_ca_certs=str(self.tls / "ca.crt"),
            ssl_certfile=str(self.tls / "client.crt"),
            ssl_keyfile=str(self.tls / "client.key"),
        )


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRedis]:
    services_dir = tmp_path_factory.mktemp("services")
    app_id = f"t.redis-sec.{uuid.uuid4().hex[:8]}"
    url = f"rediss://127.0.0.1:{PORT}/0"
    env = {
        **os.environ,
        "SCORECARD_REDIS_URL": url,
        "SCORECARD_REDIS_USERNAME": USER,
        "SCORECARD_REDIS_PASSWORD": PASSWORD,
        "SCORECARD_REDIS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SCORECARD_APP_ID": app_id,
        "SCORECARD_SERVICES_DIR": str(services_dir),
    }
    run_services(env, "up", "redis")
    try:
        yield SecureRedis(url, app_id, services_dir / "redis" / "tls", env)
    finally:
        run_services(env, "down", "redis")


def test_the_pipeline_runs_over_tls_with_a_client_certificate_as_an_acl_user(
    secure_redis: SecureRedis,
    settings: Settings,
    tmp_path: Path,
    recent_acme_events: Path,
    unique_name: Callable[[str], str],
) -> None:
    mine = Settings(
        settings.kafka_bootstrap,
        secure_redis.url,
        settings.prometheus_url,
        unique_name("events"),
        secure_redis.app_id,  # the ACL user may only touch this app id's keys
        4,
        secure_redis.options(),
    )
    deployment = Deployment(mine, ACME, tmp_path)
    password_file = tmp_path / "redis-password"
    password_file.write_text(PASSWORD + "\n")
    lines = [line for line in recent_acme_events.read_bytes().splitlines() if line.strip()]
    expected, at = replay_json(ACME, recent_acme_events)
    try:
        # The worker reads the password from a file: it is in neither its environment nor its command line.
        worker = deployment.start_worker(SCORECARD_REDIS_PASSWORD="", SCORECARD_REDIS_PASSWORD_FILE=str(password_file))
        deployment.publish(lines)
        deployment.wait_for_events(len(lines))
        assert deployment.status_json(at) == expected
        assert worker.alive()
        assert PASSWORD not in worker.log_path.read_text(errors="replace")
        # The exporter makes its client in its own way (short timeouts, no retries): the same settings reach it.
        samples = scrape_exporter(
            {**deployment.env(), "SCORECARD_REDIS_PASSWORD": "", "SCORECARD_REDIS_PASSWORD_FILE": str(password_file)}
        )
        assert samples["scorecard_exporter_redis_up"] == [1.0]
        assert len(samples["scorecard_unit_info"]) == 12
    finally:
        deployment.close()


def test_a_client_without_certificate_is_refused_in_one_line(secure_redis: SecureRedis) -> None:
    without = secure_redis.options(cert_file=None, key_file=None)
    store = RedisStore.from_url(secure_redis.url, secure_redis.app_id, options=without)
    with pytest.raises(StoreError, match=r"rediss://127\.0\.0\.1:26380/0 as scorecard-app"):
        store.read_meta()
    done = scorecard("status", secure_redis, secure_redis.options(cert_file=None, key_file=None))
    assert done.returncode == EXIT_UNAVAILABLE, done.stderr  # Redis refusing: docs/cli.md's exit code 3
    assert done.stderr.startswith("cannot read the live scorecard: Redis at rediss://127.0.0.1:26380/0")
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr + done.stdout


def test_a_server_not_signed_by_the_given_ca_is_refused(secure_redis: SecureRedis) -> None:
    """Without the CA file the system's CAs are used, and they do not sign the script's server certificate."""
    store = RedisStore.from_url(secure_redis.url, secure_redis.app_id, options=secure_redis.options(ca_file=None))
    with pytest.raises(StoreError, match="certificate verify failed"):
        store.read_meta()


def test_the_acl_user_works_on_its_keys_and_cannot_touch_any_other(secure_redis: SecureRedis) -> None:
    admin = secure_redis.admin()
    other = f"sc:{{{secure_redis.app_id}x}}:meta"  # another scorecard's key, differing by one character
    admin.hset(other, "epoch", "theirs")
    admin.set("unrelated", "kept")
    store = RedisStore.from_url(secure_redis.url, secure_redis.app_id, options=secure_redis.options())
    try:
        epoch = store.mark_initialized()
        assert store.read_meta().epoch == epoch
        assert store.reset() == 1  # its own meta key, and nothing else

        client = connect(secure_redis.url, secure_redis.options())
        for command in (("HGETALL", other), ("GET", "unrelated"), ("SET", "unrelated", "x"), ("DEL", other)):
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.execute_command(*command)
        for command in (("FLUSHALL",), ("KEYS", "*"), ("CONFIG", "GET", "requirepass")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.execute_command(*command)
        theirs = RedisStore.from_url(secure_redis.url, f"{secure_redis.app_id}x", options=secure_redis.options())
        with pytest.raises(StoreError, match=r"NOPERM|no permissions"):
            theirs.read_meta()
        with pytest.raises(StoreError):
            theirs.mark_initialized()
        assert admin.hget(other, "epoch") == b"theirs" and admin.get("unrelated") == b"kept"

        wrong = RedisStore.from_url(secure_redis.url, secure_redis.app_id, options=secure_redis.options(password="x"))
        with pytest.raises(StoreError, match=r"invalid username-password pair|WRONGPASS"):
            wrong.read_meta()
    finally:
        admin.delete(other, "unrelated")


def scorecard(command: str, secure: SecureRedis, options: RedisOptions, *args: str) -> subprocess.CompletedProcess[str]:
    """``scorecard COMMAND`` with ``options`` as variables (the password from a variable, not a flag)."""
    env = {**os.environ, **options.to_env(), "SCORECARD_REDIS_URL": secure.url, "SCORECARD_APP_ID": secure.app_id}
    return subprocess.run(
        [sys.executable, "-m", "scorecard", command, "--scorecard", str(ACME), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def scrape_exporter(env: dict[str, str]) -> dict[str, list[float]]:
    """Start ``scorecard exporter`` with ``env``, scrape /metrics once, stop it: the sample values by name."""
    command = [sys.executable, "-m", "scorecard", "exporter", "--scorecard", str(ACME), "--host", "127.0.0.1"]
    process = subprocess.Popen(command, env={**env, "SCORECARD_EXPORTER_PORT": "0"}, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "serving http://127.0.0.1:PORT/metrics"
        found = re.search(r"http://\S+/metrics", line)
        assert found, line
        with urllib.request.urlopen(found.group(0), timeout=30) as response:
            text = response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=20)
    samples: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample.value)
    return samples
