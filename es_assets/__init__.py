"""es_assets: Elasticsearch/OpenSearch indices into a daily-partitioned Parquet lake, as Dagster assets.

The engine (``config``, ``source``, ``schema``, ``lake``, ``catalog``, ``extract``) has no Dagster
imports so it can be tested, benchmarked and reused on its own; ``defs`` wires it into Dagster.
"""

__version__ = "0.1.0"
