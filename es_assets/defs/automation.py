"""Declarative automation: the table follows the Parquet, and a day that did not arrive turns red.

``athena/<src>`` carries an :class:`~dagster.AutomationCondition`: every day whose
``parquet/<src>`` was (re)materialized is catalogued, whichever run wrote it (the sensor's run, a
late-data re-run of a past day, a backfill), once no upstream run is in progress. A per-source
automation sensor evaluates it. A time-partition freshness check on the table fails when the
newest complete day is not in it by its deadline (the day's settle time plus an hour).
"""

from __future__ import annotations

import warnings

import dagster as dg

from es_assets.config import SourceSettings

# How late a day may be catalogued after it is complete before its freshness check fails.
FRESHNESS_GRACE_MINUTES = 60


def table_follows_parquet() -> dg.AutomationCondition:
    """``eager()`` over every partition, not only the latest one: past days re-run for late data too."""
    return dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())


def _running_unless_none(source: SourceSettings) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.STOPPED if source.automation == "none" else dg.DefaultSensorStatus.RUNNING


def automation_sensor(source: SourceSettings, table_key: dg.AssetKey) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        name=f"{source.name}_table_follows_parquet",
        target=dg.AssetSelection.assets(table_key),
        default_status=_running_unless_none(source),
        description=f"Catalogues every day of {source.name} whose Parquet changed (the table's automation condition).",
    )


def freshness_deadline_cron(source: SourceSettings) -> str:
    minutes = min(source.settle_minutes + FRESHNESS_GRACE_MINUTES, 23 * 60 + 59)
    return f"{minutes % 60} {minutes // 60} * * *"


# Dagster 1.13 marks these superseded by FreshnessPolicy, but a FreshnessPolicy looks at the
# latest materialization of any partition (re-running an old day would look fresh) and needs the
# freshness daemon; the time-partition check asks for the newest complete day itself.
def freshness_checks(source: SourceSettings, table_key: dg.AssetKey) -> list[dg.AssetChecksDefinition]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return list(dg.build_time_partition_freshness_checks(
            assets=[table_key], deadline_cron=freshness_deadline_cron(source), timezone=source.timezone,
        ))


def freshness_sensor(source: SourceSettings, checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, name=f"{source.name}_freshness", default_status=_running_unless_none(source),
        )
