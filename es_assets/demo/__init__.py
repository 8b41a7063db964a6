"""Demo data for es_assets: synthetic Kubernetes logs and a loader for Elasticsearch."""
