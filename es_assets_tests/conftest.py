"""Shared pytest fixtures.

Server fixtures are session-scoped and lazy: a server is started only when a test (directly or
via another fixture) asks for its URL, and stopped at the end of the session (a matrix server
that is no default: as soon as the matrix moves on to the next version).

The search servers are the real distributions (``es_assets_tests/distributions.py``):
``es_url`` is Elasticsearch 9.5.4 and ``opensearch_url`` OpenSearch 3.8.0, unless
``ES_TEST_URL`` / ``OS_TEST_URL`` name clusters of your own. ``server_url`` runs a test on every
version of :data:`MATRIX`. The emulators serve only the demo and their own smoke tests.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from es_assets.demo.emulators import start_moto
from es_assets_tests.distributions import DISTRIBUTIONS, start_distribution

DEFAULT_ELASTICSEARCH = "elasticsearch-9.5.4"
DEFAULT_OPENSEARCH = "opensearch-3.8.0"
# Every version a server_url test runs on.
MATRIX = list(DISTRIBUTIONS)

# search_url param -> fixture providing that product's URL.
SEARCH_BACKENDS = {"elasticsearch": "es_url", "opensearch": "opensearch_url"}


# --- servers -------------------------------------------------------------------


class RealServers:
    """Each distribution started on first use, at most once per session."""

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self._lock = threading.Lock()
        self._running: dict[str, tuple[str, Callable[[], None]]] = {}

    def url(self, key: str) -> str:
        with self._lock:
            if key not in self._running:
                server, stop = start_distribution(key, log_dir=self._work_dir / key)
                self._running[key] = (server.url, stop)
            return self._running[key][0]

    def stop(self, key: str) -> None:
        with self._lock:
            _, stop = self._running.pop(key, ("", lambda: None))
        stop()

    def stop_all(self) -> None:
        for key in list(self._running):
            self.stop(key)


@pytest.fixture(scope="session")
def real_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServers]:
    servers = RealServers(tmp_path_factory.mktemp("servers"))
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="session")
def es_url(real_servers: RealServers) -> str:
    """Elasticsearch: $ES_TEST_URL if set, else a real Elasticsearch 9.5.4."""
    return os.environ.get("ES_TEST_URL") or real_servers.url(DEFAULT_ELASTICSEARCH)


@pytest.fixture(scope="session")
def opensearch_url(real_servers: RealServers) -> str:
    """OpenSearch: $OS_TEST_URL if set, else a real OpenSearch 3.8.0."""
    return os.environ.get("OS_TEST_URL") or real_servers.url(DEFAULT_OPENSEARCH)


@pytest.fixture(scope="session", params=MATRIX, ids=MATRIX)
def server_url(request: pytest.FixtureRequest, real_servers: RealServers) -> Iterator[str]:
    """Each real server version in turn (the compatibility matrix)."""
    key = request.param
    yield real_servers.url(key)
    if key not in (DEFAULT_ELASTICSEARCH, DEFAULT_OPENSEARCH):
        real_servers.stop(key)  # pytest runs a session param's tests together: it is not needed again


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto server for S3/Glue/Athena; pass it as endpoint_url (no global env is set)."""
    server, stop = start_moto(log_dir=tmp_path_factory.mktemp("moto-logs"))
    try:
        yield server.url
    finally:
        stop()


@pytest.fixture(scope="session", params=list(SEARCH_BACKENDS), ids=list(SEARCH_BACKENDS))
def search_url(request: pytest.FixtureRequest) -> str:
    """URL of each search product in turn, for end-to-end tests that must pass on both."""
    return str(request.getfixturevalue(SEARCH_BACKENDS[request.param]))
