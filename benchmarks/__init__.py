"""Extraction benchmark: es_assets against a raw-HTTP floor and the pandas/fastparquet approach it replaces.

``python -m benchmarks.run`` starts an emulator, seeds one day of synthetic container logs and
runs every variant in its own fresh interpreter (:mod:`benchmarks.variants`), so each variant's
peak RSS is its own. See ``benchmarks/README.md`` for what the figures mean.
"""
