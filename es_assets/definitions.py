"""The code location: every configured source's assets, from ``$ES_ASSETS_CONFIG`` (default ``es_assets.yaml``)."""

from __future__ import annotations

import dagster as dg

from es_assets.config import Settings, load_settings
from es_assets.defs.assets import source_assets
from es_assets.defs.resources import resources_for


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[asset for source in settings.sources for asset in source_assets(source)],
        resources=resources_for(str(settings.path) if settings.path else None),
    )


defs = build_definitions(load_settings())
