"""Config validation: every mistake gets one clear message naming the field or host."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from es_assets.config import load_settings, parse_settings
from es_assets.errors import ClusterUnreachable, ConfigError
from es_assets.source.cluster import detect_cluster
from es_assets.source.http import EsHttp

PROJECT = Path(__file__).resolve().parents[1]

VALID: dict[str, Any] = {
    "elasticsearch": {"hosts": ["http://127.0.0.1:9200"], "api_key": "${TEST_ES_API_KEY}"},
    "lake": {"uri": "file://./lake"},
    "catalog": {"kind": "duckdb", "duckdb_path": "./catalog.duckdb"},
    "sources": [{"name": "k8s_logs", "index": "logs-*", "timestamp_field": "@timestamp", "start_date": "2026-11-01"}],
}
ENV = {"TEST_ES_API_KEY": "c2VjcmV0OnNlY3JldA=="}


def config_with(path: str, value: Any) -> dict[str, Any]:
    """VALID with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    raw = copy.deepcopy(VALID)
    node: Any = raw
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return raw


def test_valid_config_resolves_secrets_and_relative_paths(tmp_path: Path) -> None:
    settings = parse_settings(VALID, base_dir=tmp_path, env=ENV)
    assert settings.elasticsearch.api_key is not None
    assert settings.elasticsearch.api_key.value == ENV["TEST_ES_API_KEY"]
    assert ENV["TEST_ES_API_KEY"] not in repr(settings)  # secrets never show in reprs or logs
    assert settings.elasticsearch.verify_certs is True  # TLS verification is on by default
    assert settings.lake.uri == f"file://{tmp_path}/lake"
    assert settings.lake.compression == "zstd"
    assert settings.catalog.duckdb_path == str(tmp_path / "catalog.duckdb")
    assert settings.sources[0].start_date.isoformat() == "2026-11-01"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("elasticsearch.hostz", ["x"], "elasticsearch.hostz: unknown key"),
        ("sources.0.indx", "logs-*", "sources[0].indx: unknown key"),
        ("sources.0.index", ..., "sources[0].index: required field is missing"),
        ("sources.0.timestamp_field", ..., "sources[0].timestamp_field: required field is missing"),
        ("sources.0.start_date", "2026-13-45", "sources[0].start_date: '2026-13-45' is not a date"),
        ("sources.0.start_date", "yesterday", "sources[0].start_date: 'yesterday' is not a date"),
        ("elasticsearch.api_key", "c2VjcmV0", "elasticsearch.api_key: secrets must be an environment reference"),
        ("elasticsearch.api_key", "${NOT_SET_ANYWHERE}", "environment variable NOT_SET_ANYWHERE is not set"),
        ("elasticsearch.hosts", ["127.0.0.1:9200"], "elasticsearch.hosts[0]: '127.0.0.1:9200' is not an http(s)://"),
        ("elasticsearch.hosts", ["https://u:p@es:9200"], "credentials in the URL are not allowed"),
        ("sources.0.name", "K8s-Logs", "sources[0].name: 'K8s-Logs' must be lower-case"),
        ("sources.0.timezone", "Mars/Olympus", "sources[0].timezone: 'Mars/Olympus' is not an IANA time zone"),
        ("sources.0.page_size", 50_000, "sources[0].page_size: 50000 exceeds"),
        ("sources.0.index", "_all", "sources[0].index: '_all' reaches beyond one source"),
        ("sources.0.index", "remote:logs-*", "remote-cluster pattern"),
        ("lake.compression", "brotli9", "lake.compression: 'brotli9' is not one of"),
        ("lake.uri", "ftp://somewhere", "lake.uri: 'ftp://somewhere' must start with"),
        ("catalog.kind", "hive", "catalog.kind: 'hive' is not supported"),
    ],
)
def test_each_mistake_names_its_field(tmp_path: Path, path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(config_with(path, value), base_dir=tmp_path, env=ENV)
    assert message in str(raised.value)


def test_secret_value_never_appears_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(config_with("elasticsearch.api_key", "hunter2-literal"), base_dir=tmp_path, env=ENV)
    assert "hunter2-literal" not in str(raised.value)


def test_missing_file_says_which_env_var_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ES_ASSETS_CONFIG"):
        load_settings(tmp_path / "nope.yaml")


def test_unreachable_cluster_names_the_host(tmp_path: Path) -> None:
    raw = config_with("elasticsearch.hosts", ["http://127.0.0.1:9"])  # port 9 (discard): nothing listens
    raw["elasticsearch"]["retry_budget_seconds"] = 1
    settings = parse_settings(raw, base_dir=tmp_path, env=ENV)
    with pytest.raises(ClusterUnreachable, match=r"cannot reach Elasticsearch at http://127\.0\.0\.1:9"):
        detect_cluster(EsHttp(settings.elasticsearch))


@pytest.mark.parametrize("name", ["es_assets.yaml", "es_assets.example.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    env = {"ES_API_KEY": "x", "ES_PASSWORD": "x", "AWS_PROFILE": "x"}
    settings = load_settings(PROJECT / name, env=env)
    assert settings.sources
