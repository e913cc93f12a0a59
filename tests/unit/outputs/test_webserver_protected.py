"""The metrics servers with a web config (``--web-config``): TLS, client certificates and basic authentication, on
loopback, for the exporter's server and the worker's alike."""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from scorecard.outputs.exporter import start_server
from scorecard.outputs.webconfig import WebConfig, load_web_config
from scorecard.outputs.webserver import Limits, WebServer
from streams.metrics import PipelineMetrics
from tests.certs import Pki, make_pki
from tests.unit.outputs.test_webserver import _FixedCollector

USER, PASSWORD = "prometheus", "s3cret: with colon ✓"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _config(directory: Path, pki: Pki, *, tls: bool = True, client_ca: bool = False, users: bool = True) -> WebConfig:
    text = ""
    if tls:
        text += f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        if client_ca:
            text += f"  client_ca_file: {pki.ca}\n"
    if users:
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
        text += f"basic_auth_users:\n  {USER}: '{hashed}'\n"
    path = directory / "web.yml"
    path.write_text(text)
    return load_web_config(path)


def _get(
    url: str, pki: Pki, credentials: tuple[str, str] | None = None, client: tuple[Path, Path] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if credentials is not None:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=str(pki.ca))
    if client is not None:
        context.load_cert_chain(*client)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(params=["exporter", "worker"])
def protected(request: pytest.FixtureRequest, tmp_path: Path, pki: Pki) -> Iterator[WebServer]:
    config = _config(tmp_path, pki)
    if request.param == "exporter":
        server: WebServer = start_server(_FixedCollector(), "127.0.0.1", 0, web_config=config)
    else:
        metrics = PipelineMetrics()
        metrics.events.labels("accepted").inc(3)
        server = metrics.serve(0, "127.0.0.1", web_config=config)
    yield server
    server.close()


def test_tls_and_basic_auth_serve_metrics_only_to_the_right_user(protected: WebServer, pki: Pki) -> None:
    assert protected.url.startswith("https://127.0.0.1:")
    status, _headers, body = _get(protected.url, pki, (USER, PASSWORD))
    assert status == 200 and b"# TYPE scorecard_" in body
    for credentials in (None, (USER, "wrong"), ("nobody", PASSWORD), (USER.upper(), PASSWORD)):
        status, headers, body = _get(protected.url, pki, credentials)
        assert status == 401, credentials
        assert headers["WWW-Authenticate"].startswith("Basic realm=")
        assert b"scorecard_" not in body
    status, _headers, body = _get(protected.url_for("/healthz"), pki)  # open: a health check needs no password
    assert (status, body) == (200, b"ok\n")


def test_a_plaintext_request_to_the_tls_port_fails(protected: WebServer) -> None:
    plain = protected.url.replace("https://", "http://")
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(plain, timeout=30).read()
    assert protected.counts.answered == 0


def test_client_certificates_when_a_client_ca_is_given(tmp_path: Path, pki: Pki) -> None:
    server = start_server(_FixedCollector(), "127.0.0.1", 0, web_config=_config(tmp_path, pki, client_ca=True))
    try:
        status, _headers, _body = _get(server.url, pki, (USER, PASSWORD), (pki.client_cert, pki.client_key))
        assert status == 200
        for client in (None, (pki.untrusted_client_cert, pki.untrusted_client_key)):
            with pytest.raises((OSError, http.client.HTTPException)):
                _get(server.url, pki, (USER, PASSWORD), client)
        with pytest.raises((OSError, http.client.HTTPException)):  # the health check needs the certificate too
            _get(server.url_for("/healthz"), pki)
    finally:
        server.close()


def test_basic_auth_without_tls(tmp_path: Path, pki: Pki) -> None:
    server = start_server(_FixedCollector(), "127.0.0.1", 0, web_config=_config(tmp_path, pki, tls=False))
    try:
        assert server.url.startswith("http://")
        assert _get(server.url, pki, (USER, PASSWORD))[0] == 200
        assert _get(server.url, pki)[0] == 401
    finally:
        server.close()


def test_connections_that_never_start_their_handshake_neither_block_nor_stay(tmp_path: Path, pki: Pki) -> None:
    """Idle TCP connections to a TLS port (no ClientHello) cost no thread: a scrape still gets in, and the server
    closes each of them once its handshake time (the request timeout) is over."""
    idle = 300
    server = start_server(
        _FixedCollector(), "127.0.0.1", 0, limits=Limits(timeout=2.0), web_config=_config(tmp_path, pki)
    )
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(idle)]
    try:
        assert _get(server.url, pki, (USER, PASSWORD))[0] == 200
        for sock in sockets:  # each is closed by the server: recv sees the end (or a reset), never the timeout
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(1) == b""
    finally:
        for sock in sockets:
            sock.close()
        server.close()
