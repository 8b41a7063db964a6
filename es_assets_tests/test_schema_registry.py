"""The schema registry keeps column types stable across days and reports drift."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import urllib3

from es_assets.config import load_settings
from es_assets.lake.local import LocalLake
from es_assets.query import run_query
from es_assets.schema.fields import build_schema
from es_assets.schema.registry import reconcile
from es_assets_tests.support import lake_rows, materialize_days, unique_prefix, write_config

DAY1, DAY2, DAY3 = dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 7)


def mapping(**properties: Any) -> dict[str, Any]:
    return {"mappings": {"properties": {"@timestamp": {"type": "date"}, **properties}}}


def test_new_fields_become_new_columns_and_registered_types_stay() -> None:
    day1 = build_schema({"a": mapping(status={"type": "long"}, Msg={"type": "keyword"})}, "@timestamp").fields
    day2 = build_schema({"b": mapping(status={"type": "keyword"}, msg={"type": "text"})}, "@timestamp").fields
    fields, drift = reconcile(day1, day2)
    by_source = {f.source_name: f for f in fields}
    assert by_source["status"].kind == "integer"  # never changed once registered
    assert by_source["Msg"].name == "msg" and by_source["msg"].name == "msg_2"  # no clash with the registry
    assert drift.new_columns == ("msg",)
    assert drift.conflicts == ("status: integer in the table, string today",)


@pytest.mark.integration
def test_days_with_drifting_mappings(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("drift")
    http = urllib3.PoolManager(headers={"Content-Type": "application/json"})
    bodies = {
        DAY1: (mapping(status={"type": "long"}), {"status": 200}),
        DAY2: (mapping(status={"type": "long"}, region={"type": "keyword"}), {"status": 404, "region": "eu"}),
        DAY3: (mapping(status={"type": "keyword"}), {"status": "teapot"}),
    }
    for day, (index_mapping, source) in bodies.items():
        index = f"{prefix}{day:%Y.%m.%d}"
        assert http.request("PUT", f"{es_url}/{index}", body=orjson.dumps(index_mapping)).status == 200
        document = {"@timestamp": f"{day}T12:00:00Z", **source}
        http.request("PUT", f"{es_url}/{index}/_doc/1?refresh=true", body=orjson.dumps(document))
    config = write_config(tmp_path, es_url, f"{prefix}*", DAY1)

    assert materialize_days(config, DAY1, DAY2).success
    result = materialize_days(config, DAY3, DAY3, raise_on_error=False)

    schema_check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "schema_compatible_with_table")
    assert not schema_check.passed  # long → keyword cannot be read across days: someone must decide
    assert "status: integer in the table, string today" in str(schema_check.metadata["conflicts"].value)
    settings = load_settings(config)
    registered = {f.source_name: f.kind for f in LocalLake(settings.lake.uri).registered_fields("k8s_logs") or ()}
    assert registered == {"@timestamp": "date", "status": "integer", "region": "string"}
    rows = {row["dt"]: row for row in lake_rows(settings, "k8s_logs")}
    assert rows[DAY1]["status"] == 200 and rows[DAY1]["region"] is None
    assert rows[DAY2]["region"] == "eu"
    assert rows[DAY3]["status"] is None and orjson.loads(rows[DAY3]["_unmapped"]) == {"status": "teapot"}
    _, counts = run_query("SELECT dt, count(*) FROM k8s_logs GROUP BY 1 ORDER BY 1", str(config))
    assert counts == [(DAY1, 1), (DAY2, 1), (DAY3, 1)]
