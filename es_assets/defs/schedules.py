"""The daily schedule: materialize yesterday for a source (running when ``automation: schedule``)."""

from __future__ import annotations

import dagster as dg

from es_assets.config import SourceSettings


def build_daily_schedule(source: SourceSettings, job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    return dg.build_schedule_from_partitioned_job(
        job,
        name=f"{source.name}_daily",
        hour_of_day=source.schedule_hour,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING if source.automation == "schedule" else dg.DefaultScheduleStatus.STOPPED
        ),
        description=f"Materializes yesterday ({source.timezone}) at {source.schedule_hour:02d}:00 every day.",
    )
