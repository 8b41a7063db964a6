"""A loopback HTTP/1.1 reverse proxy that records requests and injects faults on demand.

Placed between es_assets and a real server (an emulator), it forwards every request faithfully
and records it as received, unless a :class:`Fault` the test added matches the request: then it
answers with an error, resets the connection, cuts the body short (with either framing), stalls,
or rewrites the request it forwards and the real response. Faults are tried in the order they
were added; each applies ``times`` times.

    with FaultProxy(upstream_url) as proxy:
        proxy.add_fault(Fault(match=is_page, kind=FaultKind.RESPOND, status=429, body=es_error(...)))
        ...  # point the client at proxy.url
        assert proxy.requests[0].header_values("user-agent") == [...]
"""

from __future__ import annotations

import dataclasses
import enum
import http.client
import socket
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

import orjson

# Per-connection headers that a proxy must not pass on (RFC 9110 7.6.1). Requests keep their
# Content-Length (the body is read whole; es_assets never sends chunked requests); responses get
# theirs recomputed, as their body is sent whole (or deliberately cut).
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
_UPSTREAM_TIMEOUT_S = 60.0


class FaultKind(enum.Enum):
    RESPOND = "respond"  # answer with ``status`` + ``body``; the upstream never sees the request
    RESET = "reset"  # close the socket with RST and no response
    TRUNCATE = "truncate"  # forward, then send the full Content-Length but only half the body
    # forward, then send half the body framed by closing the connection (no Content-Length): the
    # client cannot tell from the framing that it is short
    TRUNCATE_CLOSE_DELIMITED = "truncate_close_delimited"
    DELAY = "delay"  # wait ``delay_s`` before forwarding (longer than the client's timeout)
    # forward ``rewrite_request(request)``, then send ``rewrite(body)`` (body as sent: es_assets asks for no gzip)
    REWRITE = "rewrite"


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # path and query, as sent
    headers: tuple[tuple[str, str], ...]  # as received, in order, names as the client spelled them
    body: bytes
    fault: FaultKind | None  # the fault injected into this request, if any

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclasses.dataclass
class Fault:
    match: Callable[[RecordedRequest], bool]  # sees the request with ``fault=None``
    kind: FaultKind
    times: int = 1
    status: int = 503
    body: bytes = b""
    delay_s: float = 0.0
    rewrite: Callable[[bytes], bytes] | None = None
    # REWRITE: what to forward instead (a new path; the body keeps its length, as Content-Length is passed on)
    rewrite_request: Callable[[RecordedRequest], RecordedRequest] | None = None
    injected: int = 0  # how many times it has applied so far


def es_error(status: int, error_type: str, reason: str) -> bytes:
    """An Elasticsearch-shaped error body."""
    cause = {"type": error_type, "reason": reason}
    return orjson.dumps({"error": {"root_cause": [cause], **cause}, "status": status})


class FaultProxy:
    """Reverse proxy on ``127.0.0.1:<free port>`` to ``upstream``; use as a context manager."""

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
            raise ValueError(f"upstream must be http://host:port, got {upstream!r}")
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting, wake delayed handlers, drop client connections and join every thread."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        with self._lock:
            self._stopping.set()
            for connection in self._connections:
                _drop(connection)
        self._server.server_close()  # joins the handler threads, which now all see EOF

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _record(self, request: RecordedRequest) -> Fault | None:
        """Record the request and pick (and use up) the first fault that matches it."""
        with self._lock:
            fault = next((f for f in self._faults if f.injected < f.times and f.match(request)), None)
            if fault is not None:
                fault.injected += 1
            self.requests.append(dataclasses.replace(request, fault=fault.kind if fault else None))
            return fault

    def _forward(self, request: RecordedRequest) -> tuple[int, str, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=_UPSTREAM_TIMEOUT_S)
        try:
            # putheader, not a dict, so repeated headers travel as they came; Host names the upstream.
            upstream.putrequest(request.method, request.path, skip_accept_encoding=True)
            for name, value in request.headers:
                if name.lower() not in _HOP_BY_HOP | {"host"}:
                    upstream.putheader(name, value)
            upstream.endheaders(request.body or None)
            response = upstream.getresponse()
            body = response.read()  # http.client undoes chunked transfer coding
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}]
            return response.status, response.reason, kept, body
        finally:
            upstream.close()


def _drop(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)  # unblocks a handler waiting for the next request
    except OSError:
        pass  # the client closed it already


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for every handler: nothing outlives the proxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections (time-outs, resets) are expected here, not errors


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

        def setup(self) -> None:
            super().setup()
            with proxy._lock:
                proxy._connections.add(self.connection)
                if proxy._stopping.is_set():  # accepted just before stop(): do not serve it
                    _drop(self.connection)

        def finish(self) -> None:
            with proxy._lock:
                proxy._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the recorded requests are the log

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except OSError:
                self.close_connection = True  # the client went away mid-exchange

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers=tuple(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                fault=None,
            )
            fault = proxy._record(request)
            if fault is None:
                self._send(*proxy._forward(request))
            elif fault.kind is FaultKind.RESPOND:
                self._send(fault.status, "", [("Content-Type", "application/json")], fault.body)
            elif fault.kind is FaultKind.RESET:
                # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
            elif fault.kind is FaultKind.TRUNCATE:
                status, reason, headers, body = proxy._forward(request)
                self._send(status, reason, headers, body, send_bytes=len(body) // 2)
                self.close_connection = True
            elif fault.kind is FaultKind.TRUNCATE_CLOSE_DELIMITED:
                status, reason, headers, body = proxy._forward(request)
                self._send(status, reason, headers, body, send_bytes=len(body) // 2, close_delimited=True)
                self.close_connection = True
            elif fault.kind is FaultKind.DELAY:
                if not proxy._stopping.wait(fault.delay_s):
                    self._send(*proxy._forward(request))
                self.close_connection = True
            else:
                assert fault.kind is FaultKind.REWRITE
                forwarded = fault.rewrite_request(request) if fault.rewrite_request else request
                status, reason, headers, body = proxy._forward(forwarded)
                self._send(status, reason, headers, fault.rewrite(body) if fault.rewrite else body)

        def _send(
            self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes, send_bytes: int | None = None,
            close_delimited: bool = False,
        ) -> None:
            self.send_response_only(status, reason or None)
            for name, value in headers:
                self.send_header(name, value)
            # Without a length the body ends where the connection does (RFC 9112 6.3, last rule).
            self.send_header(*(("Connection", "close") if close_delimited else ("Content-Length", str(len(body)))))
            self.end_headers()
            self.wfile.write(body if send_bytes is None else body[:send_bytes])
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
