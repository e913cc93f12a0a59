"""The bounded HTTP server of the exporter and of the worker's metrics (``scorecard.outputs.webserver``), on loopback
only.

Each server is held by 2,000 idle and half-sent connections (what used to make 2,000 threads and stop ``/metrics``):
it must still answer ``/metrics`` with exactly what it served before, without a thread per connection, and close
every idle connection by itself. The other bounds get a test each: a slow drip, a client that never reads its
response, a head too large, the connection cap when every connection is a request, and a taken port.

Timeouts here are short so the tests are quick; the assertions are about what happens, never how fast, and every
wait is bounded generously for a loaded 2-core machine.
"""

from __future__ import annotations

import resource
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, start_http_server

from scorecard.cli import main
from scorecard.core.definition import load_scorecard
from scorecard.outputs.exporter import CONTENT_TYPE, Family, ScorecardCollector, exposition, redis_client, start_server
from scorecard.outputs.webserver import HEALTH_PATH, Limits, ListenError, RequestHandler, WebServer
from scorecard.redis.store import RedisStore
from streams.metrics import PipelineMetrics
from tests.paths import ACME

IDLE = 2_000
TIMEOUT = 2.0
PATIENCE = 60.0
"""Seconds any condition may take to come true on a loaded machine before the test fails."""


@dataclass
class Served:
    """A running server and what its ``/metrics`` must answer: (content type, body), byte for byte."""

    server: WebServer
    expected: Callable[[], tuple[str, bytes]]


class _FixedCollector(ScorecardCollector):
    """The ACME collector with one fixed scrape, so the served body can be compared byte for byte."""

    def __init__(self) -> None:
        super().__init__(load_scorecard(ACME), RedisStore(redis_client("redis://127.0.0.1:1/0"), "unit"))
        self.fixed: list[Family] = super().scrape()  # Redis refused: the info series and redis_up 0

    def scrape(self) -> list[Family]:
        return self.fixed


def _exporter(limits: Limits) -> Served:
    """The exporter's old server answered ``exposition(collector.scrape())`` with ``CONTENT_TYPE``."""
    collector = _FixedCollector()
    return Served(
        start_server(collector, "127.0.0.1", 0, limits=limits), lambda: (CONTENT_TYPE, exposition(collector.fixed))
    )


def _worker_metrics(limits: Limits) -> Served:
    """The worker's old server was ``prometheus_client.start_http_server``: asked the same, it must answer the same."""
    metrics = PipelineMetrics()
    metrics.observe_batch({"accepted": 3, "invalid": 1}, 0, ["not_json"])
    server = metrics.serve(0, "127.0.0.1", limits=limits)
    return Served(server, lambda: _reference(metrics.registry)[1:])


@contextmanager
def _prometheus_client_server(registry: CollectorRegistry) -> Iterator[str]:
    """``prometheus_client.start_http_server`` on ``registry``: the URL of its /metrics."""
    httpd, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/metrics"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(PATIENCE)


def _reference(registry: CollectorRegistry, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    with _prometheus_client_server(registry) as url:
        return _get(url, headers)


@pytest.fixture(params=[_exporter, _worker_metrics], ids=["exporter", "worker-metrics"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    served = request.param(Limits(timeout=TIMEOUT))
    yield served
    served.server.close()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def _room_for(connections: int) -> int:
    """As many connections as the open-file limit allows (each takes a descriptor here and one in the server)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * connections + 200
    if soft < wanted and (hard == resource.RLIM_INFINITY or hard >= wanted):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return min(connections, (soft - 200) // 2)


def _wait_until_closed(sockets: list[socket.socket], patience: float) -> list[socket.socket]:
    """Wait until the server has closed every socket (end of input or reset); returns those still open."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    open_ = set(sockets)
    deadline = time.monotonic() + patience
    while open_:
        remaining = deadline - time.monotonic()
        for key, _ in selector.select(timeout=min(max(remaining, 0.0), 1.0)):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            except BlockingIOError:
                continue
            if not data:
                selector.unregister(sock)
                open_.discard(sock)
        if remaining <= 0:
            break
    selector.close()
    return list(open_)


def test_idle_and_half_sent_connections_cannot_hold_the_server_down(served: Served) -> None:
    count = _room_for(IDLE)
    assert count >= 500, "the open-file limit is too low for this test"
    server = served.server
    threads_before = threading.active_count()
    idle: list[socket.socket] = []
    try:
        for number in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
            if number % 2:  # half of them start a request and never finish it
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: scorecard\r\nAccept: text/pl")
            idle.append(sock)
        held_threads = threading.active_count()

        status, content_type, body = _get(server.url)
        assert status == 200
        assert (content_type, body) == served.expected()
        assert _get(server.url_for(HEALTH_PATH)) == (200, "text/plain; charset=utf-8", b"ok\n")
        # no thread per connection: the event loop's, and none of the request threads yet
        assert held_threads <= threads_before + 1, (threads_before, held_threads)
        assert threading.active_count() <= threads_before + 1 + server.limits.threads

        still_open = _wait_until_closed(idle, TIMEOUT + PATIENCE)
        assert not still_open, f"{len(still_open)} idle connections still open"
        counts = server.counts
        # every idle connection ended one of two ways: closed at the timeout, or for a newer one at the cap
        assert counts.timed_out + counts.evicted == count, counts
        assert counts.timed_out >= 1 and counts.refused == 0 and counts.answered == 2, counts
    finally:
        for sock in idle:
            sock.close()
    assert _get(server.url)[0] == 200  # and it still serves afterwards


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Accept": "application/openmetrics-text; version=1.0.0"},
        {"Accept-Encoding": "gzip"},
        {"Accept": "text/plain"},
    ],
    ids=["plain", "openmetrics", "gzip", "text"],
)
def test_the_worker_metrics_answer_as_prometheus_client_did(headers: dict[str, str]) -> None:
    """Content negotiation (OpenMetrics, gzip) and the ``name[]`` filter stay ``prometheus_client``'s."""
    metrics = PipelineMetrics()
    metrics.observe_batch({"accepted": 2}, 1, ["late"])
    server = metrics.serve(0, "127.0.0.1")
    try:
        with _prometheus_client_server(metrics.registry) as url:
            for path in ("/metrics", "/metrics?name[]=scorecard_pipeline_replayed_total"):
                ours = _get(server.url_for(path), headers)
                assert ours == _get(url.removesuffix("/metrics") + path, headers)
                assert ours[0] == 200 and ours[2]
    finally:
        server.close()


def test_the_worker_metrics_listen_on_the_given_address_only() -> None:
    server = PipelineMetrics().serve(0, "127.0.0.2")
    try:
        assert _get(f"http://127.0.0.2:{server.port}{HEALTH_PATH}")[0] == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE).close()
    finally:
        server.close()


def test_a_slow_drip_is_closed_at_the_timeout_however_active() -> None:
    server = WebServer(RequestHandler, "127.0.0.1", 0, limits=Limits(timeout=TIMEOUT)).start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
        sent = 0
        deadline = time.monotonic() + TIMEOUT + PATIENCE
        while not _is_closed(sock) and time.monotonic() < deadline:
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nX-Drip: "[sent : sent + 1] or b"x")
            except OSError:  # closed between the check and the send
                break
            sent += 1
            time.sleep(0.2)
        assert _is_closed(sock)
        assert sent >= 3  # it kept sending until the timeout closed it
        assert server.counts.timed_out == 1
        sock.close()
    finally:
        server.close()


def _is_closed(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (it sends nothing else to a client whose request is incomplete)."""
    return not _wait_until_closed([sock], 0.0) if _readable(sock) else False


def _readable(sock: socket.socket) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


class _Big(RequestHandler):
    def get(self) -> None:
        self.reply(200, "application/octet-stream", b"x" * (32 << 20))  # far more than the socket buffers hold


def test_a_client_that_never_reads_its_response_is_closed_at_the_timeout() -> None:
    server = WebServer(_Big, "127.0.0.1", 0, limits=Limits(timeout=TIMEOUT)).start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: scorecard\r\n\r\n")
        deadline = time.monotonic() + TIMEOUT + PATIENCE
        while server.counts.timed_out == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.counts.timed_out == 1 and server.counts.answered == 0
        sock.close()
    finally:
        server.close()


def test_a_head_over_the_limit_gets_431() -> None:
    server = WebServer(RequestHandler, "127.0.0.1", 0, limits=Limits(timeout=TIMEOUT, max_head_bytes=4096)).start()
    try:
        for header in (b"X-Big: " + b"y" * 5000 + b"\r\n", b"".join(b"X-%d: y\r\n" % n for n in range(1000))):
            with socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\n" + header + b"\r\n")
                assert sock.recv(4096).startswith(b"HTTP/1.0 431 ")
        assert server.counts.too_large == 2
    finally:
        server.close()


def test_at_the_cap_with_every_connection_a_request_a_new_one_is_refused() -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    class Waiting(RequestHandler):
        def get(self) -> None:
            entered.release()
            release.wait(PATIENCE)
            self.reply(200, "text/plain; charset=utf-8", b"done\n")

    server = WebServer(Waiting, "127.0.0.1", 0, limits=Limits(timeout=PATIENCE, max_connections=2, threads=2)).start()
    results: list[tuple[int, str, bytes]] = []
    clients = [threading.Thread(target=lambda: results.append(_get(server.url))) for _ in range(2)]
    try:
        for client in clients:
            client.start()
        assert entered.acquire(timeout=PATIENCE) and entered.acquire(timeout=PATIENCE)  # both being answered
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
        assert not _wait_until_closed([extra], PATIENCE), "the connection over the cap was not closed"
        extra.close()
        assert server.counts.refused == 1
        release.set()
        for client in clients:
            client.join(PATIENCE)
        assert [status for status, _, _ in results] == [200, 200]
    finally:
        release.set()
        server.close()


def test_a_taken_port_is_a_listen_error_naming_the_address() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=rf"^cannot listen on 127\.0\.0\.1:{port}: Address already in use$"):
            WebServer(RequestHandler, "127.0.0.1", port)


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("exporter", ["--host", "127.0.0.1", "--port"]),
        ("worker", ["--metrics-host", "127.0.0.1", "--metrics-port"]),
    ],
)
def test_the_cli_says_in_one_line_that_the_port_is_taken(command: str, flags: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(main, [command, "--scorecard", str(ACME), *flags, port])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cannot listen on 127.0.0.1:{port}: Address already in use")


def test_a_failing_handler_closes_its_connection_and_the_server_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class Failing(RequestHandler):
        def get(self) -> None:
            if self.path == "/fail":
                raise RuntimeError("handler bug")
            self.reply(200, "text/plain; charset=utf-8", b"fine\n")

    server = WebServer(Failing, "127.0.0.1", 0, limits=Limits(timeout=TIMEOUT)).start()
    try:
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _get(server.url_for("/fail"))
        assert _get(server.url_for("/fine")) == (200, "text/plain; charset=utf-8", b"fine\n")
    finally:
        server.close()
    assert any("request failed" in r.message and r.exc_info for r in caplog.records)
