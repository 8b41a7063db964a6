"""One daily partitions definition per source: the day in the source's time zone."""

from __future__ import annotations

import dagster as dg

from es_assets.config import SourceSettings


def daily_partitions(source: SourceSettings) -> dg.DailyPartitionsDefinition:
    """Days from ``start_date`` to yesterday (a day is materialized only once it is over)."""
    return dg.DailyPartitionsDefinition(
        start_date=source.start_date.isoformat(),
        timezone=source.timezone,
        fmt="%Y-%m-%d",
    )
