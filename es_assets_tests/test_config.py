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
        ("catalog.kind", ..., "catalog.kind: required field is missing"),
        ("catalog.duckdb_path", ..., "catalog.duckdb_path: required field is missing"),
        ("catalog.database", "logs", "catalog.database: only applies to kind athena"),
        ("lake.region", "eu-west-1", "lake.region: only applies to s3:// lakes"),
        ("lake", "file://./lake", "lake: expected a mapping, got str"),
        ("sources", [], "sources: expected a non-empty list of sources"),
        ("elasticsearch.hosts", [], "elasticsearch.hosts: at least one host is required"),
        ("elasticsearch.verify_certs", "no", "elasticsearch.verify_certs: input should be a valid boolean"),
        ("elasticsearch.request_timeout_seconds", 0, "elasticsearch.request_timeout_seconds: input should be greater"),
        ("elasticsearch.username", "reader", "elasticsearch: username and password go together"),
        ("sources.0.slices", 0, "sources[0].slices: input should be greater than 0, got 0"),
        ("sources.0.page_size", True, "sources[0].page_size: input should be a valid integer"),
        ("sources.0.pit_keep_alive", "5 minutes", "sources[0].pit_keep_alive: '5 minutes' must look like 90s"),
        ("sources.0.automation", "cron", "sources[0].automation: 'cron' is not one of 'sensor', 'schedule', 'none'"),
        ("sources.0.schedule_hour", 24, "sources[0].schedule_hour: input should be less than or equal to 23"),
        ("sources.0.days_per_run", 7, "sources[0].days_per_run: only applies to backfill: multi_run"),
        ("sources.0.settle_minutes", -1, "sources[0].settle_minutes: input should be greater than or equal to 0"),
        ("sources.0.start_date", "2026-11-01T00:00:00", "sources[0].start_date: '2026-11-01T00:00:00' is not a date"),
        ("sources.0.timestamp_field", "${NO_SUCH_FIELD_VAR}", "environment variable NO_SUCH_FIELD_VAR is not set"),
    ],
)
def test_each_mistake_names_its_field(tmp_path: Path, path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(config_with(path, value), base_dir=tmp_path, env=ENV)
    assert message in str(raised.value)


def test_five_mistakes_are_reported_at_once_each_with_its_location(tmp_path: Path) -> None:
    raw = config_with("sources.0.start_date", "2026-13-45")
    raw["elasticsearch"]["hostz"] = ["x"]
    raw["lake"]["compression"] = "brotli9"
    raw["catalog"]["kind"] = "hive"
    raw["sources"][0]["page_size"] = 50_000
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw, base_dir=tmp_path, env=ENV)
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "elasticsearch.hostz", "lake.compression", "catalog.kind", "sources[0].start_date", "sources[0].page_size",
    ]
    assert str(raised.value).splitlines() == list(raised.value.problems)


@pytest.mark.parametrize(("changes", "message"), [
    ({"elasticsearch.username": "reader", "elasticsearch.password": "${TEST_ES_API_KEY}"},
     "elasticsearch: set either api_key or username/password, not both"),
    ({"lake.uri": "s3://bucket/lake", "lake.sse": "kms"}, "lake.kms_key_id: required when sse is kms"),
    ({"catalog": {"kind": "athena", "database": "logs", "output_location": "s3://bucket/results/"}},
     "catalog.kind: athena reads the lake from S3"),
    ({"catalog": {"kind": "athena", "database": "logs", "output_location": "/tmp/results"}, "lake.uri": "s3://b-1/l"},
     "catalog.output_location: '/tmp/results' must be an s3:// URI"),
    ({"sources": [VALID["sources"][0], VALID["sources"][0]]}, "sources[1].name: 'k8s_logs' is used by another source"),
])
def test_mistakes_across_fields_name_the_field_to_fix(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    raw = copy.deepcopy(VALID)
    for path, value in changes.items():
        raw = {**raw, path: value} if "." not in path else config_with_in(raw, path, value)
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw, base_dir=tmp_path, env=ENV)
    assert message in str(raised.value)


def config_with_in(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    section, key = path.split(".")
    return {**raw, section: {**raw[section], key: value}}


def test_defaults_and_lenient_forms_are_accepted(tmp_path: Path) -> None:
    raw = config_with("elasticsearch.request_timeout_seconds", 1.5)
    del raw["catalog"]
    raw["sources"][0].update(slices="auto", array_fields="tags", backfill="multi_run", days_per_run=7)
    settings = parse_settings(raw, base_dir=tmp_path, env=ENV)
    assert settings.elasticsearch.request_timeout_s == 1.5
    assert settings.elasticsearch.retry_budget_s == 300
    assert settings.catalog.kind == "duckdb"
    assert settings.catalog.duckdb_path == str(tmp_path / "data" / "catalog.duckdb")
    source = settings.sources[0]
    assert (source.slices, source.array_fields, source.days_per_run, source.page_size) == (None, ("tags",), 7, 10_000)
    assert settings.source("k8s_logs") is source
    with pytest.raises(ConfigError, match="no source named 'other'"):
        settings.source("other")


def test_an_s3_lake_is_normalised_and_keeps_its_options(tmp_path: Path) -> None:
    raw = config_with("lake", {"uri": "s3://bucket-1/some/prefix/", "region": "eu-west-1", "sse": "s3"})
    settings = parse_settings(raw, base_dir=tmp_path, env=ENV)
    assert settings.lake.is_s3 and settings.lake.uri == "s3://bucket-1/some/prefix"
    assert (settings.lake.region, settings.lake.sse) == ("eu-west-1", "s3")


def test_catalog_kind_glue_is_the_athena_catalog(tmp_path: Path) -> None:
    raw = {**config_with("lake", {"uri": "s3://bucket-1/lake", "table_format": "iceberg"}),
           "catalog": {"kind": "glue", "database": "logs", "output_location": "s3://bucket-1/results/"}}
    settings = parse_settings(raw, base_dir=tmp_path, env=ENV)
    assert settings.catalog.kind == "athena" and settings.catalog.database == "logs"
    assert settings.lake.iceberg is not None and settings.lake.iceberg.glue_database == "logs"


def test_env_references_in_plain_fields_use_their_default(tmp_path: Path) -> None:
    raw = config_with("elasticsearch.hosts", ["${TEST_NOT_SET_HOST:-http://127.0.0.1:9201}"])
    assert parse_settings(raw, base_dir=tmp_path, env=ENV).elasticsearch.hosts == ("http://127.0.0.1:9201",)


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
