"""All of es_assets' definitions from one :class:`~es_assets.config.Settings`: the code location and the component use it."""

from __future__ import annotations

import dagster as dg

from es_assets.config import Settings
from es_assets.defs.assets import asset_keys, source_assets
from es_assets.defs.automation import automation_sensor
from es_assets.defs.jobs import source_job
from es_assets.defs.resources import resources_for
from es_assets.defs.schedules import build_daily_schedule
from es_assets.defs.sensors import build_new_indices_sensor


def build_definitions(settings: Settings) -> dg.Definitions:
    jobs = {source.name: source_job(source) for source in settings.sources}
    return dg.Definitions(
        assets=[asset for source in settings.sources for asset in source_assets(source, settings.lake, settings.catalog)],
        jobs=list(jobs.values()),
        sensors=[
            sensor
            for source in settings.sources
            for sensor in (
                build_new_indices_sensor(source, jobs[source.name]),
                automation_sensor(source, asset_keys(source.name)[2]),
            )
        ],
        schedules=[build_daily_schedule(source, jobs[source.name]) for source in settings.sources],
        resources=resources_for(settings),
    )
