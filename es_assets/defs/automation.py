"""Declarative automation: the table follows the Parquet, and a day that did not arrive turns red.

``athena/<src>`` carries an :class:`~dagster.AutomationCondition`: every day whose
``parquet/<src>`` was (re)materialized is catalogued, whichever run wrote it (the sensor's run, a
late-data re-run of a past day, a backfill), once no upstream run is in progress. A per-source
automation sensor evaluates it. The table's freshness policy turns it red when no day was
catalogued in the 24 hours before a deadline (each day's settle time plus an hour): a day that did
not arrive. (A policy looks at the latest materialization of any day, so a re-run of an older day
in that window also counts; the ``every_day_with_data_is_in_the_lake`` check names missing days.)
"""

from __future__ import annotations

import datetime as dt

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


def table_freshness(source: SourceSettings) -> dg.FreshnessPolicy:
    """Fresh when the table was materialized in the day before each deadline; evaluated by the freshness daemon.

    Not ``build_time_partition_freshness_checks``: its check joins every run of the table (one more
    step per run) and needs a sensor of its own; the policy costs the runs nothing.
    """
    return dg.FreshnessPolicy.cron(
        deadline_cron=freshness_deadline_cron(source), lower_bound_delta=dt.timedelta(days=1),
        timezone=source.timezone,
    )
