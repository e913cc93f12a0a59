"""The HTTP server of the exporter and of the worker's metrics: bounded, so no client can hold it down.

``http.server.ThreadingHTTPServer`` (and ``prometheus_client.start_http_server``, built the same way) gives every
connection a thread of its own with no socket timeout: a few thousand idle or half-sent requests make a few thousand
threads and ``/metrics`` stops answering until they close. Here

- one ``asyncio`` event loop, in a thread of its own, accepts the connections and reads each request head: a waiting
  connection costs a socket and a small buffer, never a thread;
- the request head must arrive within ``Limits.timeout`` (a slow drip counts from the first byte, not per byte), or
  the connection is closed; a head over ``Limits.max_head_bytes`` gets a 431 and is closed;
- at most ``Limits.max_connections`` connections are open at once. At the cap a new connection closes the *oldest one
  still sending its request* (an idle client loses its place to a live one, so a scraper that sends its request at
  once always gets in); only when every open connection is a request being answered is the new one closed at once;
- complete requests are answered by a pool of ``Limits.threads`` threads running an ordinary
  ``BaseHTTPRequestHandler`` subclass on the bytes received (``RequestHandler``), so the standard library parses the
  request and formats the response, and ``prometheus_client.MetricsHandler`` serves a registry unchanged;
- the response must be taken by the client within ``Limits.timeout``, then the connection is closed (one request per
  connection, as HTTP/1.0 servers do; ``http.server`` and ``prometheus_client`` did the same).

Every handler answers ``GET /healthz`` with ``200 ok`` (the process is up and serving), whatever its other paths.

A web config (``scorecard.outputs.webconfig``, exporter-toolkit's format) adds TLS and basic authentication: its
``ssl.SSLContext`` is given to ``asyncio.start_server``, whose handshake must end within ``Limits.timeout`` (a
connection counts towards ``Limits.max_connections`` once its handshake is done; a plaintext request to a TLS port
ends in a failed handshake), and ``RequestHandler.do_GET`` checks the ``Authorization`` header before any path but
``/healthz`` is served (``401`` otherwise). ``/healthz`` needs no password, so a container's health check needs
none: it tells only that the process serves.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, Self, TypeVar
from urllib.parse import urlsplit

from scorecard.outputs.webconfig import WebConfig

__all__ = ["HEALTH_PATH", "ConnectionCounts", "Limits", "ListenError", "RequestHandler", "WebServer"]

log = logging.getLogger("scorecard.webserver")  # stable, whatever the module path

HEALTH_PATH: Final = "/healthz"
TEXT: Final = "text/plain; charset=utf-8"
_TOO_LARGE: Final = b"HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_WARN_EVERY_S: Final = 60.0
_BACKLOG: Final = 1024
"""Connections the kernel completes before the server accepts them: absorbs bursts (the kernel caps it at somaxconn)."""
_HEAD_END: Final = (b"\r\n", b"\n")
_UNAUTHORIZED: Final = b"unauthorized: give the user and password of the web config (basic authentication)\n"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Limits:
    """What one client may take from the server (see the module docstring)."""

    timeout: float = 10.0
    """Seconds to send the request head, and again to take the response."""
    max_connections: int = 256
    """Connections open at once; each waiting one holds at most about three times ``max_head_bytes`` of buffers."""
    threads: int = 4
    """Requests answered at once; more wait (at most ``max_connections``) for a free thread."""
    max_head_bytes: int = 32 * 1024
    """Request line and headers together."""

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_connections < 1 or self.threads < 1 or self.max_head_bytes < 1024:
            raise ValueError(f"invalid server limits: {self}")


@dataclass
class ConnectionCounts:
    """What became of the connections so far (read by tests and by the warning logged at the cap)."""

    answered: int = 0
    timed_out: int = 0
    """Closed because the request head or the taking of the response did not end within ``Limits.timeout``."""
    evicted: int = 0
    """Closed while still sending their request, to make room for a new connection at the cap."""
    refused: int = 0
    """Closed at once: the cap was reached and every open connection was a request being answered."""
    too_large: int = 0


class RequestHandler(BaseHTTPRequestHandler):
    """A ``BaseHTTPRequestHandler`` run on a request already read: ``rfile`` holds the head, ``wfile`` collects the
    response, which ``WebServer`` then sends. Subclasses implement ``get()``; ``/healthz`` is answered here."""

    request: bytes  # the request head, in place of a socket

    def setup(self) -> None:
        self.rfile = io.BytesIO(self.request)
        self.wfile = io.BytesIO()

    def finish(self) -> None:
        """Nothing to flush or close: ``WebServer`` takes ``wfile``'s bytes afterwards."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path == HEALTH_PATH:
            self.reply(200, TEXT, b"ok\n")
        elif not self.authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="scorecard", charset="UTF-8"')
            self.send_header("Content-Type", TEXT)
            self.send_header("Content-Length", str(len(_UNAUTHORIZED)))
            self.end_headers()
            self.wfile.write(_UNAUTHORIZED)
        else:
            self.get()

    def authorized(self) -> bool:
        """Whether the request may be served: always without basic auth in the server's web config."""
        web_config: WebConfig | None = getattr(self.server, "web_config", None)
        if web_config is None or web_config.auth is None:
            return True
        return web_config.auth.check(self.headers.get("Authorization"))

    def get(self) -> None:
        """Answer a GET of ``self.path`` (any path but the health check)."""
        self.reply(404, TEXT, b"not found\n")

    def reply(self, code: int, content_type: str, body: bytes) -> None:
        """Send a whole response: status, content type and length, body."""
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Debug level only: a line per scrape would drown the log."""
        log.debug("%s " + format, self.address_string(), *args)

    def response_bytes(self) -> bytes:
        """The response written by the handler (all of it: ``wfile`` is a buffer)."""
        assert isinstance(self.wfile, io.BytesIO)
        return self.wfile.getvalue()


class WebServer:
    """An HTTP server bounded in threads, connections, memory and time per client (module docstring)."""

    def __init__(
        self,
        handler: type[RequestHandler],
        host: str,
        port: int,
        *,
        limits: Limits | None = None,
        name: str = "web",
        web_config: WebConfig | None = None,
    ) -> None:
        self.handler = handler
        self.limits = limits or Limits()
        self.web_config = web_config
        """TLS and basic authentication (``webconfig``); None serves plain HTTP to anyone."""
        self.name = name
        self.host = host
        self.counts = ConnectionCounts()
        self._socket = _listen(host, port)
        self.port: int = self._socket.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopped = threading.Event()
        self._pool = ThreadPoolExecutor(self.limits.threads, thread_name_prefix=f"{name}-request")
        self._open: set[asyncio.StreamWriter] = set()
        self._reading: dict[asyncio.StreamWriter, None] = {}  # connections still sending their head, oldest first
        self._warned_at = -_WARN_EVERY_S

    @property
    def url(self) -> str:
        """The metrics URL for a client on this machine."""
        return self.url_for("/metrics")

    def url_for(self, path: str) -> str:
        """Where a client on this machine reaches ``path`` (the loopback address for a wildcard listen address)."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the web config, None for plain HTTP."""
        return self.web_config.ssl_context if self.web_config is not None else None

    # ----------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Serve in a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._started.wait()
        return self

    def serve_forever(self) -> None:
        """Serve until ``close()`` from another thread, or Ctrl-C (which closes the server and returns)."""
        if self._thread is None:
            self.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Stop accepting, close every connection, and end the thread (a request being answered finishes alone)."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5.0)
        self._socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._stopped.set()

    def _run(self) -> None:
        loop = asyncio.SelectorEventLoop()  # not the process's policy: the worker's uvloop stays Faust's alone
        self._loop = loop
        try:
            server = loop.run_until_complete(
                asyncio.start_server(
                    self._connection,
                    sock=self._socket,
                    limit=self.limits.max_head_bytes,
                    backlog=_BACKLOG,
                    ssl=self.ssl_context,
                    ssl_handshake_timeout=self.limits.timeout if self.ssl_context is not None else None,
                )
            )
            self._started.set()
            loop.run_forever()
            server.close()
            loop.run_until_complete(self._cancel_all())
        finally:
            self._started.set()
            self._stopped.set()
            loop.close()

    async def _cancel_all(self) -> None:
        """End every connection task (each aborts its transport on the way out)."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --------------------------------------------------------------------------------------------- connections
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admit(writer):
            return
        orderly = False  # close after what was written, rather than drop the connection
        try:
            head = await self._within(self._read_head(reader))
            self._reading.pop(writer, None)
            if head is None:
                return  # the client closed (or was closed) before its request was complete
            peer = writer.get_extra_info("peername") or ("", 0)
            response = await asyncio.get_running_loop().run_in_executor(self._pool, self._respond, head, peer)
            await self._send(writer, response)
            orderly = True
            self.counts.answered += 1
        except _HeadTooLarge:
            self.counts.too_large += 1
            writer.write(_TOO_LARGE)  # a few bytes: the kernel takes them at once, no wait
            orderly = True
        except _TimedOut:
            if writer in self._open:  # not already closed to make room at the cap
                self.counts.timed_out += 1
                log.debug("%s: closed a connection that took over %g s", self.name, self.limits.timeout)
        except (ConnectionError, OSError):
            pass  # the client went away; nothing to tell it
        except asyncio.CancelledError:
            pass  # the server is closing; the transport is aborted below
        except Exception:  # a handler bug must not end the server: log it, close this connection
            log.exception("%s: request failed", self.name)
        finally:
            self._open.discard(writer)
            self._reading.pop(writer, None)
            if orderly:
                writer.close()  # what was written is with the kernel: it goes out before the close
            else:
                writer.transport.abort()

    def _admit(self, writer: asyncio.StreamWriter) -> bool:
        """Make room for a new connection at the cap: close the oldest one still sending its request, else this one."""
        if len(self._open) >= self.limits.max_connections:
            if not self._reading:
                writer.transport.abort()
                self.counts.refused += 1
                self._warn_at_cap()
                return False
            oldest = next(iter(self._reading))
            del self._reading[oldest]
            self._open.discard(oldest)
            oldest.transport.abort()
            self.counts.evicted += 1
            self._warn_at_cap()
        self._open.add(writer)
        self._reading[writer] = None
        return True

    async def _within(self, step: Awaitable[_T]) -> _T:
        try:
            return await asyncio.wait_for(step, self.limits.timeout)
        except TimeoutError:
            raise _TimedOut from None

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Hand ``data`` to the kernel, all of it, within the timeout (a client that does not read is closed)."""
        writer.transport.set_write_buffer_limits(high=0)  # so drain() waits until nothing is left in our buffer
        writer.write(data)
        await self._within(writer.drain())

    async def _read_head(self, reader: asyncio.StreamReader) -> bytes | None:
        """The request line and headers up to the blank line, or None at end of input before it."""
        lines: list[bytes] = []
        size = 0
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # one line longer than the reader's limit (max_head_bytes)
                raise _HeadTooLarge from None
            if not line.endswith(b"\n"):
                return None
            lines.append(line)
            size += len(line)
            if size > self.limits.max_head_bytes:
                raise _HeadTooLarge
            if line in _HEAD_END and len(lines) > 1:
                return b"".join(lines)

    def _respond(self, head: bytes, peer: tuple[Any, ...]) -> bytes:
        """Run the handler on the head (in a pool thread): the whole response, ready to send."""
        handler = self.handler(head, peer, self)  # type: ignore[arg-type]  # a head, not a socket (RequestHandler)
        return handler.response_bytes()

    def _warn_at_cap(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "%s: %d connections open, the cap: closing the oldest idle ones (so far %d idle closed, %d refused); "
                "is a client holding connections open?",
                self.name,
                self.limits.max_connections,
                self.counts.evicted,
                self.counts.refused,
            )


class ListenError(OSError):
    """The address could not be listened on (taken, not this machine's, not an address); the message says which."""


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket bound now, so a taken port fails in the caller; IPv6 addresses work too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    dualstack = family == socket.AF_INET6 and host == "::" and socket.has_dualstack_ipv6()
    try:
        sock = socket.create_server((host, port), family=family, backlog=_BACKLOG, dualstack_ipv6=dualstack)
    except OSError as error:
        reason = (error.strerror or str(error)).split(" (while attempting")[0]
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from error
    sock.setblocking(False)
    return sock


class _TimedOut(Exception):
    """A request head or a response transfer outlasted ``Limits.timeout``."""


class _HeadTooLarge(Exception):
    """A request head over ``Limits.max_head_bytes``."""
