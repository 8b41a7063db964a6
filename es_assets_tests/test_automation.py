"""Declarative automation: the table follows any day's Parquet; the table's newest day has a freshness check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster._core.definitions.freshness import CronFreshnessPolicy  # what FreshnessPolicy.cron returns

from es_assets.config import load_settings
from es_assets.defs.automation import freshness_deadline_cron
from es_assets.defs.definitions import build_definitions
from es_assets_tests.support import write_config

PARQUET, TABLE = dg.AssetKey(["parquet", "k8s_logs"]), dg.AssetKey(["athena", "k8s_logs"])


def definitions(tmp_path: Path, **source: object) -> dg.Definitions:
    start = dt.date.today() - dt.timedelta(days=20)
    return build_definitions(load_settings(write_config(tmp_path, "http://127.0.0.1:9", "logs-*", start, source=source)))


def test_the_table_follows_the_parquet_of_past_days_too(tmp_path: Path) -> None:
    defs = definitions(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # no Parquet yet: nothing to catalogue
    late_day = (dt.date.today() - dt.timedelta(days=10)).isoformat()  # a late-data re-run, far from the latest
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    for day in (late_day, yesterday):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=PARQUET, partition=day))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.get_requested_partitions(TABLE) == {late_day, yesterday}
    third = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
    assert third.total_requested == 0  # requested once, not on every tick


def test_the_sensor_job_extracts_and_the_table_is_left_to_its_condition(tmp_path: Path) -> None:
    defs = definitions(tmp_path)
    job = defs.resolve_job_def("k8s_logs_days")
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey(["elasticsearch", "k8s_logs"]), PARQUET}
    sensors = {sensor.name: sensor for sensor in defs.sensors or []}
    assert sensors["k8s_logs_table_follows_parquet"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["k8s_logs_new_indices"].default_status == dg.DefaultSensorStatus.RUNNING


def test_the_table_is_due_an_hour_after_each_day_settles_in_the_source_time_zone(tmp_path: Path) -> None:
    defs = definitions(tmp_path, settle_minutes=30, timezone="Europe/Paris")
    policy = defs.resolve_asset_graph().get(TABLE).freshness_policy
    assert isinstance(policy, CronFreshnessPolicy)
    assert (policy.deadline_cron, policy.timezone) == ("30 1 * * *", "Europe/Paris")
    assert policy.lower_bound_delta == dt.timedelta(days=1)
    assert freshness_deadline_cron(load_settings(tmp_path / "es_assets.yaml").sources[0]) == "30 1 * * *"


def test_automation_none_leaves_every_sensor_stopped(tmp_path: Path) -> None:
    defs = definitions(tmp_path, automation="none")
    assert {sensor.default_status for sensor in defs.sensors or []} == {dg.DefaultSensorStatus.STOPPED}
