"""The sensor on new indices, evaluated tick by tick through the definitions against the emulator."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import orjson
import pytest
import urllib3

from es_assets.config import load_settings
from es_assets.definitions import build_definitions
from es_assets.demo import k8s_logs
from es_assets.source.discovery import day_in_index_name
from es_assets_tests.support import materialize_days, unique_prefix, write_config

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.timezone.utc).date()
DOCS = 200


def tick(config: Path, cursor: str | None = None) -> dg.SensorExecutionData:
    defs = build_definitions(load_settings(config))
    sensor = defs.resolve_sensor_def("k8s_logs_new_indices")
    with dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        repository_def=defs.get_repository_def(),  # partition keys are validated against the job
        resources=defs.resources,
    ) as context:
        return sensor.evaluate_tick(context)


def requested(data: dg.SensorExecutionData) -> dict[str, dict[str, Any]]:
    return {r.partition_key: {"run_key": r.run_key, "reason": r.tags["es_assets/reason"]} for r in data.run_requests}


def sensor_config(tmp_path: Path, es_url: str, prefix: str) -> Path:
    return write_config(tmp_path, es_url, f"{prefix}*", TODAY - dt.timedelta(days=30),
                        source={"settle_minutes": 0, "late_data_days": 3})


def index_documents(es_url: str, index: str, documents: list[tuple[str, dict[str, Any]]]) -> None:
    lines = []
    for doc_id, source in documents:
        lines += [orjson.dumps({"index": {"_index": index, "_id": doc_id}}), orjson.dumps(source)]
    response = urllib3.request("POST", f"{es_url}/_bulk?refresh=true", body=b"\n".join(lines) + b"\n",
                               headers={"Content-Type": "application/x-ndjson"})
    assert not orjson.loads(response.data)["errors"]


@pytest.mark.parametrize(
    ("index", "day"),
    [
        ("logs-2026.11.25", dt.date(2026, 11, 25)),
        ("logstash-2026-11-25", dt.date(2026, 11, 25)),
        ("app_20261125", dt.date(2026, 11, 25)),
        ("logs-000007", None),
        (".ds-logs-app-2026.11.25-000001", None),  # a backing index is named after its rollover, not its data
        ("logs-2026.13.45", None),
    ],
)
def test_day_in_index_name(index: str, day: dt.date | None) -> None:
    assert day_in_index_name(index) == day


def test_new_daily_indices_request_one_run_per_complete_day(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("sensor")
    days = [TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1), TODAY]
    k8s_logs.load_days(es_url, days, DOCS, index_prefix=prefix)
    config = sensor_config(tmp_path, es_url, prefix)

    first = tick(config)
    runs = requested(first)
    assert set(runs) == {str(days[0]), str(days[1])}  # today is not over: no run
    assert runs[str(days[0])] == {"run_key": f"k8s_logs/{days[0]}/{DOCS}", "reason": "new"}

    second = tick(config, cursor=first.cursor)  # the same tick again, as after a restart
    assert second.run_requests == []
    assert "requested already" in (second.skip_message or "")
    assert f"{TODAY} is not complete" in (second.skip_message or "")


def test_count_drift_on_a_materialized_day_requests_a_rerun(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("drift")
    day = TODAY - dt.timedelta(days=1)
    k8s_logs.load_days(es_url, [day], DOCS, index_prefix=prefix)
    config = sensor_config(tmp_path, es_url, prefix)
    assert materialize_days(config, day, day).success
    assert requested(tick(config)) == {}

    late = [(f"late-{i}", source) for i, (_, source) in enumerate(k8s_logs.generate_docs(day, 5, seed=7))]
    index_documents(es_url, k8s_logs.index_name(day, prefix), late)

    runs = requested(tick(config))
    assert runs == {str(day): {"run_key": f"k8s_logs/{day}/{DOCS + 5}",
                               "reason": f"late data: {DOCS} → {DOCS + 5} documents"}}


def test_rollover_index_without_a_date_is_read_by_histogram(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("rollover")
    index = f"{prefix}000001"
    urllib3.request("PUT", f"{es_url}/{index}", body=orjson.dumps({"mappings": k8s_logs.index_mapping()["mappings"]}),
                    headers={"Content-Type": "application/json"})
    days = [TODAY - dt.timedelta(days=4), TODAY - dt.timedelta(days=3)]
    index_documents(es_url, index, [doc for day in days for doc in k8s_logs.generate_docs(day, 50)])
    runs = requested(tick(sensor_config(tmp_path, es_url, prefix)))
    assert set(runs) == {str(day) for day in days}
    assert all(run["run_key"].endswith("/50") for run in runs.values())


def test_sensor_cursor_is_json_of_requested_counts(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("cursor")
    day = TODAY - dt.timedelta(days=2)
    k8s_logs.load_days(es_url, [day], DOCS, index_prefix=prefix)
    data = tick(sensor_config(tmp_path, es_url, prefix))
    assert json.loads(data.cursor or "{}") == {str(day): DOCS}
