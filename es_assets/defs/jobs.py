"""One job per source: its three assets for a day, the target of the sensor and the schedule."""

from __future__ import annotations

import dagster as dg

from es_assets.config import SourceSettings
from es_assets.defs.assets import asset_keys


def source_job(source: SourceSettings) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{source.name}_days",
        selection=dg.AssetSelection.assets(*asset_keys(source.name)),
        description=f"Plan, extract and catalogue days of source {source.name}.",
        tags={"es_assets/source": source.name},
    )
