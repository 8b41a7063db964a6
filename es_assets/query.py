"""Run SQL against the configured catalog and print the result: ``python -m es_assets.query "SELECT ..."``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any, Sequence

from es_assets.catalog import open_catalog
from es_assets.config import load_settings
from es_assets.errors import EsAssetsError

TOP_ERROR_NAMESPACES_SQL = """
WITH errors AS (
    SELECT dt, kubernetes.namespace_name AS namespace, count(*) AS errors
    FROM k8s_logs
    WHERE level = 'ERROR'
    GROUP BY ALL
)
SELECT dt, namespace, errors
FROM (SELECT *, row_number() OVER (PARTITION BY dt ORDER BY errors DESC, namespace) AS rank FROM errors)
WHERE rank <= 3
ORDER BY dt, rank
"""


def run_query(sql: str, config_path: str | None = None, previous_version_of: tuple[str, dt.date] | None = None
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` through the configured catalog: DuckDB locally, Athena on AWS.

    ``previous_version_of=(source, day)`` (Iceberg tables) reads that source's table as it was just
    before the commit that last replaced ``day``: time travel to the day's previous version.
    """
    settings = load_settings(config_path)
    catalog = open_catalog(settings.catalog, settings.lake)
    if previous_version_of is None:
        return catalog.query(sql)
    if settings.lake.table_format != "iceberg":
        raise EsAssetsError("time travel needs lake.table_format: iceberg (the Hive layout keeps one version a day)")
    from es_assets.lake.iceberg import IcebergLake

    source, day = previous_version_of
    snapshot = IcebergLake(settings.lake).previous_snapshot_id(source, day)
    if snapshot is None:
        raise EsAssetsError(f"{source} {day}: the table has no snapshot before the day's last commit")
    return catalog.query(sql, as_of={source: snapshot})  # type: ignore[call-arg]


def _source_and_day(text: str) -> tuple[str, dt.date]:
    source, _, day = text.partition("=")
    try:
        return source, dt.date.fromisoformat(day)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not SOURCE=YYYY-MM-DD") from None


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sql", help="the query; tables are named after the sources")
    parser.add_argument("--config", help="es_assets.yaml (default: $ES_ASSETS_CONFIG or ./es_assets.yaml)")
    parser.add_argument("--previous-version-of", metavar="SOURCE=YYYY-MM-DD", type=_source_and_day,
                        help="Iceberg tables: read SOURCE as it was before DAY was last replaced")
    args = parser.parse_args(argv)
    columns, rows = run_query(args.sql, args.config, args.previous_version_of)
    print(format_table(columns, rows))


if __name__ == "__main__":
    sys.exit(main())
