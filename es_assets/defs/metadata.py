"""Materialization metadata: what a user wants to see for the days a run produced."""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

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
        "plan": dg.MetadataValue.md(
            _markdown_table(
                ["day", "documents", "indices", "est. bytes", "health"],
                [[str(p.day), f"{p.total:,}", ", ".join(p.indices) or "—", f"{p.store_bytes:,}", p.health]
                 for p in plans],
            )
        ),
    }


def for_extractions(results: Sequence[DayResult], lake_uri: str, table: str) -> dict[str, Any]:
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
        "exact_path_pages": sum(r.exact_pages for r in results),
        "context_restarts": sum(r.context_restarts for r in results),
        "elasticsearch_count": sum(r.counted_rows for r in results),
        # Documents indexed into a day between its count and its point in time: in the lake, and said so.
        "late_documents": sum(r.late_documents for r in results),
        "days": dg.MetadataValue.md(
            _markdown_table(
                ["day", "rows", "counted", "late", "files", "bytes", "docs/s", "slices", "method"],
                [[r.day, f"{r.rows:,}", f"{r.counted_rows:,}", f"{r.late_documents:,}", str(r.files), f"{r.bytes:,}",
                  f"{r.docs_per_second:,.0f}", str(r.slices), r.method] for r in results],
            )
        ),
    }
    if schema is not None:
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(name=f.name, type=str(f.type)) for f in schema.arrow_schema]
        )
        metadata["schema_fingerprint"] = schema.fingerprint
        metadata["schema_drift"] = dg.MetadataValue.json({r.day: r.drift.as_metadata() for r in results})
    return metadata


def for_table(catalog: Catalog, lake: Lake, table: str, days: Sequence[dt.date]) -> dict[str, Any]:
    rows_by_day = {str(day): (lake.manifest(table, day) or {}).get("rows") for day in sorted(days)}
    columns, preview = catalog.preview(table, max(days))
    return {
        "table": table,
        "catalog": catalog.description,
        "dagster/row_count": sum(r or 0 for r in rows_by_day.values()),
        "rows_by_day": dg.MetadataValue.json(rows_by_day),
        "locations": dg.MetadataValue.json({str(day): lake.published_location(table, day) for day in days}),
        "example_query": dg.MetadataValue.md(
            f"```sql\nSELECT dt, count(*) FROM {table} GROUP BY dt ORDER BY dt;\n```"
        ),
        "preview": dg.MetadataValue.md(_markdown_table(columns, [[_short(v) for v in row] for row in preview])),
    }


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
