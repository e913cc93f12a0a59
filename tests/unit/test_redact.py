"""Passwords never printed: ``redact_url`` for every form a URL can carry one in, and every place the commands show
a Redis, Kafka or metrics URL (messages, ``repr``, the store's errors, the board, the exporter's log).

Redis here is a closed port (127.0.0.1:1): every command fails at once, and what it says is what is checked. The
report written from a live Redis is checked in tests/integration/test_report_redis.py.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.request

import pytest
import redis
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.config import Settings, redact_url
from scorecard.outputs.board import fetch_pipeline
from scorecard.outputs.webserver import RequestHandler, WebServer
from scorecard.redis.store import RedisStore, StoreError
from tests.paths import REPO

ACME = str(REPO / "examples" / "acme.yaml")
SECRET = "S3cr3t-pw"
CLOSED = "127.0.0.1:1"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"redis://user:{SECRET}@h:6379/0", "redis://user:***@h:6379/0"),
        (f"redis://:{SECRET}@h:6379/0", "redis://***@h:6379/0"),
        (f"rediss://default:{SECRET}@h/1?ssl_cert_reqs=none", "rediss://default:***@h/1?ssl_cert_reqs=none"),
        (f"redis://h:6379/0?password={SECRET}", "redis://h:6379/0?password=***"),
        (f"redis://h/0?db=1&PassWord={SECRET}&socket_timeout=2", "redis://h/0?db=1&PassWord=***&socket_timeout=2"),
        (f"redis://h/0?PASSWORD={SECRET}", "redis://h/0?PASSWORD=***"),
        (f"redis://h/0?p%61ssword={SECRET}", "redis://h/0?p%61ssword=***"),  # redis-py decodes the name
        (f"redis://h/0?ssl_password={SECRET}&username=u", "redis://h/0?ssl_password=***&username=u"),
        (f"redis://u:{SECRET}@h/0?password={SECRET}", "redis://u:***@h/0?password=***"),
        (f"redis://:{SECRET}@ss@h/0", "redis://***@h/0"),  # an unencoded @ in the password: hidden whole
        (f"unix://:{SECRET}@/run/redis.sock?db=2", "unix://***@/run/redis.sock?db=2"),
        (f"http://admin:{SECRET}@127.0.0.1:9109/metrics", "http://admin:***@127.0.0.1:9109/metrics"),
        (f"http://127.0.0.1:9090/api?token={SECRET}", "http://127.0.0.1:9090/api?token=***"),
    ],
)
def test_every_form_of_password_is_hidden(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert SECRET not in redact_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://user@h:6380/0",  # a user name alone is no secret (redis-py sends no password then)
        "127.0.0.1:9092,127.0.0.2:9092",  # a Kafka bootstrap list
        "http://127.0.0.1:9090",
        "redis://h/0?db=1&socket_timeout=2",
        "",
    ],
)
def test_urls_without_a_password_are_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_settings_repr_hides_passwords() -> None:
    settings = Settings(
        "127.0.0.1:9092",
        f"redis://u:{SECRET}@h/0?password={SECRET}",
        f"http://a:{SECRET}@p:9090",
        "events",
        "app",
        8,
    )
    text = repr(settings)
    assert SECRET not in text
    assert "redis_url='redis://u:***@h/0?password=***'" in text and "topic='events'" in text


def test_the_store_names_its_redis_without_the_password() -> None:
    store = RedisStore.from_url(f"redis://u:{SECRET}@{CLOSED}/0?password={SECRET}", "app")
    assert SECRET not in repr(store) and store.url == f"redis://u:***@{CLOSED}/0?password=***"
    with pytest.raises(StoreError) as caught:
        store.is_initialized()
    assert SECRET not in str(caught.value) and f"redis://u:***@{CLOSED}/0" in str(caught.value)


def test_a_store_on_a_client_is_described_without_the_password() -> None:
    plain = RedisStore(redis.Redis.from_url(f"redis://u:{SECRET}@{CLOSED}/3?password={SECRET}"), "app")
    assert plain.url == f"redis://{CLOSED}/3"
    tls = RedisStore(redis.Redis.from_url(f"rediss://:{SECRET}@{CLOSED}/0"), "app")
    assert tls.url == f"rediss://{CLOSED}/0"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output + result.stderr


@pytest.mark.parametrize("command", ["status", "report"])
def test_status_and_report_messages_hide_the_password(command: str) -> None:
    url = f"redis://u:{SECRET}@{CLOSED}/0?password={SECRET}"
    extra = ["-o", "-"] if command == "report" else []
    code, output = _run(command, "--scorecard", ACME, "--redis-url", url, *extra)
    assert code == 3  # Redis unreachable (docs/cli.md, exit codes)
    assert SECRET not in output
    assert f"cannot read the live scorecard: Redis at redis://u:***@{CLOSED}/0?password=***: " in output


def test_a_redis_url_redis_cannot_read_is_a_one_line_usage_error_without_the_password() -> None:
    for url in (f"{SECRET}@h:6379", f"redis://:{SECRET}", f"redis://h/0?password={SECRET}&socket_timeout=x"):
        code, output = _run("status", "--scorecard", ACME, "--redis-url", url)
        assert code == 2, output
        assert SECRET not in output
        assert "Error: Invalid value for '--redis-url'" in output and ": not a Redis URL (" in output


def test_the_board_hides_the_passwords_of_redis_and_of_the_metrics_url() -> None:
    code, output = _run(
        "board",
        "--scorecard",
        ACME,
        "--redis-url",
        f"redis://:{SECRET}@{CLOSED}/0",
        "--metrics-url",
        f"http://scraper:{SECRET}@{CLOSED}/metrics",
        "--duration",
        "0.5",
    )
    assert code == 0, output
    assert SECRET not in output
    assert f"redis://***@{CLOSED}/0" in output and f"not reachable at http://scraper:***@{CLOSED}/metrics" in output


def test_the_board_sends_the_metrics_url_credentials_as_basic_auth() -> None:
    seen: list[str | None] = []

    class Recording(RequestHandler):
        def get(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.reply(200, "text/plain; version=0.0.4; charset=utf-8", b"scorecard_pipeline_redis_errors_total 0\n")

    server = WebServer(Recording, "127.0.0.1", 0).start()
    try:
        stats, error = fetch_pipeline(f"http://scraper:{SECRET.replace('-', '%2D')}@127.0.0.1:{server.port}/metrics")
    finally:
        server.close()
    assert error is None and stats is not None
    assert seen == ["Basic " + base64.b64encode(f"scraper:{SECRET}".encode()).decode()]


def test_the_exporter_log_hides_the_redis_password() -> None:
    """The exporter process, Redis refused: its announcement and its log of the failed scrape name no password."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scorecard", "exporter", "--scorecard", ACME, "--host", "127.0.0.1", "--port", "0"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "SCORECARD_REDIS_URL": f"redis://:{SECRET}@{CLOSED}/0"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        serving = process.stderr.readline()
        assert serving.startswith("serving http://127.0.0.1:"), serving
        with urllib.request.urlopen(serving.split()[1], timeout=60) as response:
            assert b"scorecard_exporter_redis_up 0.0" in response.read()
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=60)
    assert "Redis unreachable" in rest
    assert SECRET not in serving + rest
