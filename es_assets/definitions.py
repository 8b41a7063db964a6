"""The code location of ``workspace.yaml``: every source of ``$ES_ASSETS_CONFIG`` (default ``es_assets.yaml``)."""

from __future__ import annotations

from es_assets.config import load_settings
from es_assets.defs.definitions import build_definitions

__all__ = ["build_definitions", "defs"]

defs = build_definitions(load_settings())
