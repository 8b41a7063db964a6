"""The code location loads, has the expected graph, and passes Dagster's own validation."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from es_assets.config import load_settings
from es_assets.definitions import build_definitions
from es_assets.defs.resources import DuckDBCatalogResource
from es_assets.demo import k8s_logs
from es_assets_tests.support import aws_settings, lake_rows, unique_prefix, write_config

PROJECT = Path(__file__).resolve().parents[1]


def two_source_definitions(tmp_path: Path) -> dg.Definitions:
    config = write_config(tmp_path, "http://127.0.0.1:9200", "logs-*", dt.date(2026, 11, 1))
    text = config.read_text()
    extra = "- array_fields: []\n  index: audit-*\n  name: audit\n  start_date: '2026-10-01'\n" \
            "  timestamp_field: event.created\n  timezone: Europe/Paris\n"
    config.write_text(text + extra)
    return build_definitions(load_settings(config))


def test_definitions_are_loadable(tmp_path: Path) -> None:
    dg.Definitions.validate_loadable(two_source_definitions(tmp_path))


def test_each_source_has_its_three_assets_in_order(tmp_path: Path) -> None:
    graph = two_source_definitions(tmp_path).resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {f"{layer}/{src}" for layer in ("elasticsearch", "parquet", "athena") for src in ("k8s_logs", "audit")}
    for src in ("k8s_logs", "audit"):
        parquet = graph.get(dg.AssetKey(["parquet", src]))
        table = graph.get(dg.AssetKey(["athena", src]))
        assert parquet.parent_keys == {dg.AssetKey(["elasticsearch", src])}
        assert table.parent_keys == {dg.AssetKey(["parquet", src])}
        assert parquet.description and table.description


def test_partitions_follow_each_source(tmp_path: Path) -> None:
    graph = two_source_definitions(tmp_path).resolve_asset_graph()
    audit = graph.get(dg.AssetKey(["parquet", "audit"])).partitions_def
    assert isinstance(audit, dg.DailyPartitionsDefinition)
    assert audit.timezone == "Europe/Paris"
    assert audit.get_first_partition_key() == "2026-10-01"
    k8s = graph.get(dg.AssetKey(["athena", "k8s_logs"])).partitions_def
    assert k8s == graph.get(dg.AssetKey(["elasticsearch", "k8s_logs"])).partitions_def
    assert k8s.get_first_partition_key() == "2026-11-01"


@pytest.mark.integration
def test_dagster_validates_the_workspace() -> None:
    env = {**os.environ, "ES_ASSETS_CONFIG": str(PROJECT / "es_assets.yaml")}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful for code location es_assets.definitions" in result.stderr + result.stdout


def test_resources_carry_the_settings_as_typed_fields_and_secrets_as_env_vars(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9200", "logs-*", dt.date(2026, 11, 1),
                          elasticsearch={"api_key": "${TEST_DEFS_API_KEY}", "request_timeout_seconds": 1.5})
    settings = load_settings(config, env={"TEST_DEFS_API_KEY": "not-stored"})
    resources = build_definitions(settings).resources or {}
    elasticsearch, lake, catalog = resources["elasticsearch"], resources["lake"], resources["catalog"]
    assert elasticsearch.hosts == ["http://127.0.0.1:9200"]
    assert elasticsearch.request_timeout_seconds == 1.5
    assert elasticsearch.api_key == dg.EnvVar("TEST_DEFS_API_KEY")  # the name, never the value
    assert "not-stored" not in repr(resources)
    assert lake.uri == settings.lake.uri and lake.settings() == settings.lake
    assert isinstance(catalog, DuckDBCatalogResource) and catalog.settings() == settings.catalog
    assert not any("config_path" in type(r).model_fields for r in resources.values())


@pytest.mark.integration
def test_a_run_uses_the_settings_the_definitions_were_built_from(es_url: str, tmp_path: Path) -> None:
    # The file is gone before the run starts: nothing may re-read it at run time.
    day = dt.date(2026, 11, 20)
    prefix = unique_prefix("defs")
    k8s_logs.load_days(es_url, [day], 50, index_prefix=prefix)
    config = write_config(tmp_path, es_url, f"{prefix}*", day)
    settings = load_settings(config)
    defs = build_definitions(settings)
    config.unlink()
    result = dg.materialize(list(defs.assets or []), resources=defs.resources,  # type: ignore[arg-type]
                            instance=dg.DagsterInstance.ephemeral(), partition_key=day.isoformat())
    assert result.success
    assert len(lake_rows(settings, "k8s_logs")) == 50


def test_the_table_asset_shows_the_configured_catalog_as_its_kind(tmp_path: Path) -> None:
    local = write_config(tmp_path, "http://127.0.0.1:9200", "logs-*", dt.date(2026, 11, 1))
    (tmp_path / "aws").mkdir()
    aws = write_config(tmp_path / "aws", "http://127.0.0.1:9200", "logs-*", dt.date(2026, 11, 1),
                       **aws_settings("bucket-1", "lake", "http://127.0.0.1:1", "http://127.0.0.1:1", "logs"))
    kinds = {}
    for label, config in (("local", local), ("aws", aws)):
        graph = build_definitions(load_settings(config)).resolve_asset_graph()
        kinds[label] = {key: graph.get(dg.AssetKey([key, "k8s_logs"])).kinds for key in ("parquet", "athena")}
    assert kinds["local"] == {"parquet": {"parquet"}, "athena": {"duckdb"}}
    assert kinds["aws"] == {"parquet": {"parquet", "s3"}, "athena": {"athena", "glue"}}
