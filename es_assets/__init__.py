"""es_assets: Elasticsearch/OpenSearch indices into a daily-partitioned Parquet lake, as Dagster assets.

The engine (``config``, ``source``, ``schema``, ``lake``, ``catalog``, ``extract``) has no Dagster
imports so it can be tested, benchmarked and reused on its own; ``defs`` wires it into Dagster.
``es_assets.ElasticsearchLakeComponent`` (the dg component) is imported on first use only, so
importing the engine never imports Dagster.
"""

from typing import Any

__version__ = "0.1.0"

_LAZY = {"ElasticsearchLakeComponent": "es_assets.defs.component"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'es_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    # dg finds components by listing the registry module (the entry point in setup.cfg).
    return sorted([*globals(), *_LAZY])
