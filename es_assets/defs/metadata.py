"""Materialization metadata: what a user wants to see for the days a run produced."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

import dagster as dg

from es_assets.catalog import Catalog
from es_assets.config import SourceSettings
from es_assets.extract import DayResult
from es_assets.lake.base import Lake
from es_assets.source.cluster import DayPlan

# The Elasticsearch emulator and a small real node both serve at least this; it is only an estimate.
_ASSUMED_DOCS_PER_SECOND = 8_000


def for_plans(plans: Sequence[DayPlan], source: SourceSettings) -> dict[str, Any]:
    total = sum(p.total for p in plans)
    return {
        "dagster/row_count": total,
        "documents": total,
        "days": len(plans),
        "indices": dg.MetadataValue.json({str(p.day): p.indices for p in plans}),
        "cluster": plans[0].cluster.label if plans else "",
        "health": ", ".join(sorted({p.health for p in plans})),
        "estimated_bytes": sum(p.store_bytes for p in plans),
        "slices": dg.MetadataValue.json({str(p.day): p.slices(source.slices) for p in plans}),
        "documents_without_timestamp": max((p.without_timestamp for p in plans), default=0),
        "expected_seconds": round(total / _ASSUMED_DOCS_PER_SECOND, 1),
        "plan": _table(
            [dg.TableColumn("day", "date"), dg.TableColumn("documents", "int"), dg.TableColumn("indices", "string"),
             dg.TableColumn("estimated_bytes", "int"), dg.TableColumn("health", "string")],
            [{"day": str(p.day), "documents": p.total, "indices": ", ".join(p.indices) or "—",
              "estimated_bytes": p.store_bytes, "health": p.health} for p in plans],
        ),
    }


def for_extractions(
    results: Sequence[DayResult], lake_uri: str, table: str, mappings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``mappings`` (index → ``GET _mapping`` body) give each column's Elasticsearch type."""
    rows = sum(r.rows for r in results)
    seconds = sum(r.seconds for r in results)
    schema = results[-1].schema if results else None
    metadata: dict[str, Any] = {
        "dagster/row_count": rows,
        "rows": rows,
        "bytes": sum(r.bytes for r in results),
        "files": sum(r.files for r in results),
        "duration_seconds": round(seconds, 2),
        "documents_per_second": round(rows / seconds) if seconds else 0,
        "lake_uri": dg.MetadataValue.path(f"{lake_uri.rstrip('/')}/{table}"),
        "table": table,
        "unmapped_documents": sum(r.unmapped_documents for r in results),
        "documents_normalized_slowly": sum(r.documents_normalized_slowly for r in results),
        "context_restarts": sum(r.context_restarts for r in results),
        "elasticsearch_count": sum(r.counted_rows for r in results),
        # Documents indexed into a day between its count and its point in time: in the lake, and said so.
        "late_documents": sum(r.late_documents for r in results),
        "days": _table(
            [dg.TableColumn(name, kind) for name, kind in (
                ("day", "date"), ("rows", "int"), ("counted", "int"), ("late", "int"), ("files", "int"),
                ("bytes", "int"), ("docs_per_second", "int"), ("slices", "int"), ("method", "string"))],
            [{"day": r.day, "rows": r.rows, "counted": r.counted_rows, "late": r.late_documents, "files": r.files,
              "bytes": r.bytes, "docs_per_second": round(r.docs_per_second), "slices": r.slices, "method": r.method}
             for r in results],
        ),
    }
    if schema is not None:
        types = mapping_types(mappings or {})
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[
                dg.TableColumn(name=column, type=arrow_type, description=_column_description(path, types))
                for column, path, arrow_type in schema.column_paths()
            ]
        )
        metadata["schema_fingerprint"] = schema.fingerprint
        metadata["schema_drift"] = dg.MetadataValue.json({r.day: r.drift.as_metadata() for r in results})
    return metadata


def for_table(catalog: Catalog, lake: Lake, table: str, days: Sequence[dt.date]) -> dict[str, Any]:
    manifests = {str(day): lake.manifest(table, day) or {} for day in sorted(days)}
    rows_by_day = {day: manifest.get("rows") for day, manifest in manifests.items()}
    columns, preview = catalog.preview(table, max(days))
    snapshots = {day: m["snapshot_id"] for day, m in manifests.items() if m.get("snapshot_id") is not None}
    return {
        **({"iceberg_snapshot_ids": dg.MetadataValue.json(snapshots)} if snapshots else {}),
        "table": table,
        "catalog": catalog.description,
        "dagster/row_count": sum(r or 0 for r in rows_by_day.values()),
        "rows_by_day": dg.MetadataValue.json(rows_by_day),
        "locations": dg.MetadataValue.json({str(day): lake.published_location(table, day) for day in days}),
        "example_query": dg.MetadataValue.md(
            f"```sql\nSELECT dt, count(*) FROM {table} GROUP BY dt ORDER BY dt;\n```"
        ),
        "preview": _table(
            [dg.TableColumn(column, "string") for column in columns],
            [dict(zip(columns, map(_short, row))) for row in preview],
        ),
    }


def mapping_types(mappings: Mapping[str, Any]) -> dict[str, str]:
    """Elasticsearch path → mapping type over every index of the day (``keyword | text`` where they differ)."""
    types: dict[str, set[str]] = {}

    def walk(properties: Mapping[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = prefix + name
            types.setdefault(path, set()).add(spec.get("type", "object"))
            walk(spec.get("properties", {}), path + ".")

    for body in mappings.values():
        walk(body.get("mappings", {}).get("properties", {}), "")
    return {path: " | ".join(sorted(kinds)) for path, kinds in types.items()}


def _column_description(path: str, types: Mapping[str, str]) -> str:
    if path.startswith("_"):
        return f"Elasticsearch `{path}` (document metadata)"
    return f"Elasticsearch `{path}` ({types.get(path, 'not in the mapping')})"


def _table(columns: list[dg.TableColumn], records: list[dict[str, Any]]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord(record) for record in records], schema=dg.TableSchema(columns=columns)
    )


def _short(value: Any, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
