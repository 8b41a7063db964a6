"""The Dagster layer: partitions, resources, assets, checks and metadata wired to the engine."""
