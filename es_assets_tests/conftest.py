"""Shared pytest fixtures.

Server fixtures are session-scoped and lazy: a server is started only when a
test (directly or via another fixture) asks for its URL, and stopped at the end
of the session. Set ES_TEST_URL / OS_TEST_URL to test against real clusters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from es_assets.demo.emulators import (
    start_elasticsearch_emulator,
    start_moto,
    start_opensearch_emulator,
)

# search_url param -> fixture providing that product's URL.
SEARCH_BACKENDS = {"elasticsearch": "es_url", "opensearch": "opensearch_url"}


# --- servers -------------------------------------------------------------------


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Elasticsearch 8: $ES_TEST_URL if set, else the noida-db emulator."""
    if url := os.environ.get("ES_TEST_URL"):
        yield url
        return
    server, stop = start_elasticsearch_emulator(
        tmp_path_factory.mktemp("elasticsearch-data"),
        log_dir=tmp_path_factory.mktemp("elasticsearch-logs"),
    )
    try:
        yield server.url
    finally:
        stop()


@pytest.fixture(scope="session")
def opensearch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """OpenSearch 3: $OS_TEST_URL if set, else the osmem emulator."""
    if url := os.environ.get("OS_TEST_URL"):
        yield url
        return
    server, stop = start_opensearch_emulator(log_dir=tmp_path_factory.mktemp("opensearch-logs"))
    try:
        yield server.url
    finally:
        stop()


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
