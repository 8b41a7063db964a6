"""Raw HTTP to Elasticsearch/OpenSearch, with the retry policy the extraction needs.

Built on ``elastic_transport`` (the official client's transport layer) rather than the
``Elasticsearch`` client object, because the client (a) sends ``compatible-with=9`` media types
that Elasticsearch 8 and OpenSearch reject and (b) refuses responses without
``X-Elastic-Product`` (OpenSearch, Elasticsearch < 7.14). Here every request carries plain
``application/json`` and responses come back as bytes, so the page parser decides how to read them.
"""

from __future__ import annotations

import base64
import itertools
import logging
import random
import threading
import time
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import urlencode, urlparse

import orjson
from elastic_transport import (
    ConnectionError as TransportConnectionError,
    ConnectionTimeout,
    HttpHeaders,
    NodeConfig,
    TlsError,
    Urllib3HttpNode,
)

from es_assets import __version__
from es_assets.config import ElasticsearchSettings
from es_assets.errors import (
    AuthenticationError,
    ClusterError,
    ClusterUnreachable,
    ContextLost,
    MissingIndexError,
    TruncatedResponse,
)

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {429, 502, 503, 504}
_RETRYABLE_ERROR_TYPES = {"es_rejected_execution_exception", "opensearch_rejected_execution_exception"}
T = TypeVar("T")


class TransientFailure(ClusterError):
    """A failure that a retry might cure, raised when the caller asked for no retries."""


class EsHttp:
    """Sends requests to the configured hosts (round-robin) and classifies failures.

    Transient failures (429, 502/503/504, rejected executions, transient circuit breakers,
    connection errors and time-outs) are retried with exponential backoff and full jitter until
    ``retry_budget_s`` is spent; permanent ones raise a typed :mod:`es_assets.errors` exception.
    """

    def __init__(self, settings: ElasticsearchSettings, connections_per_node: int = 16) -> None:
        self.settings = settings
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"es_assets/{__version__}",
        }
        if settings.api_key is not None:
            headers["authorization"] = f"ApiKey {settings.api_key.value}"
        elif settings.username is not None and settings.password is not None:
            token = base64.b64encode(f"{settings.username}:{settings.password.value}".encode()).decode()
            headers["authorization"] = f"Basic {token}"
        self._nodes = [
            _node(host, settings, headers, connections_per_node) for host in settings.hosts
        ]
        self._next_node = itertools.cycle(range(len(self._nodes)))
        self._lock = threading.Lock()
        if not settings.verify_certs and any(urlparse(host).scheme == "https" for host in settings.hosts):
            # Loud on purpose: without verification anyone on the path can read the credentials and the data.
            log.warning(
                "TLS certificate verification is disabled (elasticsearch.verify_certs: false): the connection to %s "
                "can be intercepted, credentials included; set elasticsearch.ca_certs to the cluster's CA instead",
                ", ".join(settings.hosts),
            )

    def close(self) -> None:
        for node, _ in self._nodes:
            node.close()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        ok_statuses: tuple[int, ...] = (),
        retry: bool = True,
    ) -> bytes:
        """Perform one request, retrying transient failures; return the raw response body."""
        return self.read(method, path, bytes, body=body, params=params, ok_statuses=ok_statuses, retry=retry)

    def json(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return self.read(method, path, whole_json, body=body, params=params)

    def read(
        self,
        method: str,
        path: str,
        parse: Callable[[bytes], T],
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        ok_statuses: tuple[int, ...] = (),
        retry: bool = True,
    ) -> T:
        """Perform one request and ``parse`` its body, retrying transient failures.

        A body that ``parse`` finds cut short (:class:`TruncatedResponse`) is transient too:
        with Content-Length or chunked framing urllib3 notices a short body itself, but a body
        framed by closing the connection just ends early, and only parsing can tell. With
        ``retry=False`` a transient failure raises :class:`TransientFailure` at once, for
        requests that are not safe to repeat (a scroll continuation may have moved its cursor).
        """
        target = path + ("?" + urlencode(params) if params else "")
        payload = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
        deadline = time.monotonic() + self.settings.retry_budget_s
        for attempt in itertools.count():
            node, host = self._pick_node()
            try:
                response = node.perform_request(method, target, body=payload)
            except (TransportConnectionError, ConnectionTimeout) as exc:
                if isinstance(exc, TlsError):
                    raise ClusterError(
                        f"TLS handshake with {host} failed: {exc.message}; the certificate must name the host of "
                        "elasticsearch.hosts and be signed by a trusted CA (for a private CA, set elasticsearch.ca_certs "
                        "to its PEM file)"
                    ) from None
                failure = f"{type(exc).__name__} from {host}"
                error: ClusterError | TruncatedResponse = ClusterUnreachable(
                    f"cannot reach Elasticsearch at {host} (elasticsearch.hosts): {exc.message}"
                )
            else:
                status, data = response.meta.status, response.body
                if status < 300 or status in ok_statuses:
                    try:
                        return parse(data)
                    except TruncatedResponse as exc:
                        failure = f"a body cut short from {host} ({len(data):,} bytes)"
                        error = TruncatedResponse(f"{method} {path.split('?')[0]} on {host}: {exc}")
                else:
                    error = _classify(status, data, method, path, host)
                    if not _is_transient(status, data):
                        raise error
                    failure = f"HTTP {status} from {host}"
            if not retry:
                raise TransientFailure(f"{method} {path}: {failure}")
            delay = _backoff(attempt)
            if time.monotonic() + delay > deadline:
                raise error
            log.warning("%s %s: %s; retrying in %.1fs (attempt %d)", method, path, failure, delay, attempt + 1)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _pick_node(self) -> tuple[Urllib3HttpNode, str]:
        with self._lock:
            return self._nodes[next(self._next_node)]


def _node(
    host: str, settings: ElasticsearchSettings, headers: Mapping[str, str], connections: int
) -> tuple[Urllib3HttpNode, str]:
    url = urlparse(host)
    default_port = 443 if url.scheme == "https" else 9200
    config = NodeConfig(
        scheme=url.scheme,
        host=url.hostname or "",
        port=url.port or default_port,
        path_prefix=url.path.rstrip("/"),
        headers=HttpHeaders(headers),
        connections_per_node=connections,
        request_timeout=settings.request_timeout_s,
        verify_certs=settings.verify_certs,
        ca_certs=settings.ca_certs,
        ssl_show_warn=True,
        http_compress=False,
    )
    return Urllib3HttpNode(config), f"{url.scheme}://{url.hostname}:{url.port or default_port}"


def whole_json(data: bytes) -> Any:
    """The body as JSON; a body that does not parse was cut short on the way (HTTP 200 bodies are JSON)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise TruncatedResponse(f"the response is not whole JSON ({exc}); it was cut off") from None


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 0.5 s, 1 s, 2 s ... capped at 30 s."""
    return random.uniform(0, min(30.0, 0.5 * 2**attempt))


def error_type_and_reason(data: bytes) -> tuple[str, str]:
    """The ``error.type`` and ``error.reason`` of an Elasticsearch error body (root cause first)."""
    try:
        error = orjson.loads(data).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return "", data[:300].decode("utf-8", "replace")
    if isinstance(error, str):
        return "", error
    if not isinstance(error, dict):
        return "", ""
    causes = error.get("root_cause") or []
    cause = causes[0] if causes and isinstance(causes[0], dict) else error
    reason = str(cause.get("reason") or error.get("reason") or "")
    index = cause.get("index") or error.get("index")
    if index and str(index) not in reason:  # index_closed_exception's reason is just "closed"
        reason = f"{reason} (index {index})"
    return str(cause.get("type") or error.get("type") or ""), reason


def _is_transient(status: int, data: bytes) -> bool:
    error_type, _ = error_type_and_reason(data)
    if error_type == "circuit_breaking_exception":
        # Sent as 429 whatever its durability: only a TRANSIENT breaker clears by itself.
        return b'"durability":"PERMANENT"' not in data
    return status in _RETRYABLE_STATUS or error_type in _RETRYABLE_ERROR_TYPES


def _classify(status: int, data: bytes, method: str, path: str, host: str) -> ClusterError:
    error_type, reason = error_type_and_reason(data)
    where = f"{method} {path.split('?')[0]} on {host}"
    if status == 401:
        return AuthenticationError(
            f"{where}: authentication failed (HTTP 401); check elasticsearch.api_key or username/password"
        )
    if status == 403:
        return AuthenticationError(
            f"{where}: permission denied (HTTP 403): {reason}; the user needs the monitor cluster privilege and "
            "read, view_index_metadata and monitor on the source indices (see SECURITY.md)"
        )
    if error_type == "index_not_found_exception":
        return MissingIndexError(f"{where}: no such index ({reason})")
    if error_type == "search_context_missing_exception" or "no search context found" in reason.lower():
        return ContextLost(f"{where}: search context lost ({reason})")
    return ClusterError(f"{where}: HTTP {status} {error_type}: {reason}".rstrip(": "))
