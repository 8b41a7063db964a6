"""es_assets: Elasticsearch/OpenSearch indices into a daily-partitioned Parquet lake, as Dagster assets.

The engine (``config``, ``source``, ``schema``, ``lake``, ``catalog``, ``extract``) has no Dagster
imports so it can be tested, benchmarked and reused on its own; ``defs`` wires it into Dagster.
``es_assets.ElasticsearchLakeComponent`` (the dg component) is imported on first use only, so
importing the engine never imports Dagster.
"""

import os
from typing import Any

__version__ = "0.1.0"

# Arrow memory from the system allocator unless the user chose another: a day's pages are
# buffers of a page's size, freed as soon as they are written, and glibc hands them back where
# pyarrow's default (jemalloc) keeps them (measured: ~30 MB less peak RSS at one slice, no more
# CPU). Read when pyarrow loads, so it is set before anything here imports pyarrow.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

_LAZY = {"ElasticsearchLakeComponent": "es_assets.defs.component"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'es_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    # dg finds components by listing the registry module (the entry point in setup.cfg).
    return sorted([*globals(), *_LAZY])
