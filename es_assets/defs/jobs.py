"""One job per source: plan and extract a day, the target of the sensor and the schedule.

The table (``athena/<src>``) is not in it: it follows the Parquet by its automation condition.
"""

from __future__ import annotations

import dagster as dg

from es_assets.config import SourceSettings
from es_assets.defs.assets import asset_keys


def source_job(source: SourceSettings) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{source.name}_days",
        selection=dg.AssetSelection.assets(*asset_keys(source.name)[:2]),
        description=f"Plan and extract days of source {source.name}; the table follows by its automation condition.",
        tags={"es_assets/source": source.name},
    )
