"""The asset checks of each source, evaluated in the run that materializes the days."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import dagster as dg

from es_assets.extract import DayResult
from es_assets.lake import verify
from es_assets.lake.partitions import LocalLake

ROW_COUNT_CHECK = "row_count_matches_elasticsearch"
DUPLICATES_CHECK = "no_duplicate_documents"
SCHEMA_CHECK = "schema_compatible_with_table"
TABLE_ROWS_CHECK = "table_rows_match_parquet"
NO_TIMESTAMP_CHECK = "documents_without_timestamp"
COVERAGE_CHECK = "every_day_with_data_is_in_the_lake"


def plan_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(NO_TIMESTAMP_CHECK, asset=key,
                          description="Documents without the timestamp field belong to no day and are not extracted."),
        dg.AssetCheckSpec(COVERAGE_CHECK, asset=key,
                          description="Every complete day that has documents in the cluster has a partition in the lake."),
    ]


def parquet_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(ROW_COUNT_CHECK, asset=key,
                          description="Parquet rows equal Elasticsearch's exact count for the day."),
        dg.AssetCheckSpec(DUPLICATES_CHECK, asset=key,
                          description="No (_index, _id) appears twice in the day's files (read back with DuckDB)."),
        dg.AssetCheckSpec(SCHEMA_CHECK, asset=key,
                          description="The day's mappings agree with the table's registered column types."),
    ]


def table_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(TABLE_ROWS_CHECK, asset=key,
                          description="The table returns as many rows for the day as its Parquet files hold."),
    ]


def parquet_check_results(lake: LocalLake, source: str, results: Sequence[DayResult]) -> list[dg.AssetCheckResult]:
    """Row counts, duplicates and schema of the days just published, read back from the lake."""
    published = {day: lake.published_partition(source, day) for day in lake.published_days(source)}
    one_file_per_day = {
        f"dt={day}": files[0] for day, path in published.items() if path and (files := sorted(path.glob("*.parquet")))
    }
    short, duplicates, conflicts = {}, {}, []
    for result in results:
        files = sorted(published[dt.date.fromisoformat(result.day)].glob("*.parquet"))  # type: ignore[union-attr]
        rows, duplicated = verify.count_rows_and_duplicates(files)
        if rows != result.expected_rows:
            short[result.day] = f"{rows} rows in Parquet, {result.expected_rows} in Elasticsearch"
        if duplicated:
            duplicates[result.day] = duplicated
        others = {label: f for label, f in one_file_per_day.items() if label != f"dt={result.day}"}
        conflicts += [f"dt={result.day}: {c}" for c in verify.schema_conflicts(files[0], others)]
        conflicts += [f"dt={result.day}: {c}" for c in result.drift.conflicts]
    return [
        dg.AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            passed=not short,
            metadata={
                "parquet_rows": sum(r.rows for r in results),
                "elasticsearch_count": sum(r.expected_rows for r in results),
                "mismatched_days": dg.MetadataValue.json(short),
            },
        ),
        dg.AssetCheckResult(
            check_name=DUPLICATES_CHECK,
            passed=not duplicates,
            metadata={"duplicates_by_day": dg.MetadataValue.json(duplicates)},
        ),
        dg.AssetCheckResult(
            check_name=SCHEMA_CHECK,
            passed=not conflicts,
            metadata={
                "conflicts": dg.MetadataValue.json(conflicts[:50]),
                "new_columns": dg.MetadataValue.json({r.day: list(r.drift.new_columns) for r in results}),
            },
        ),
    ]


def plan_check_results(
    without_timestamp: int, timestamp_field: str, missing_days: Sequence[dt.date]
) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=NO_TIMESTAMP_CHECK,
            passed=without_timestamp == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "documents": without_timestamp,
                "how_to_extract": f"see the README: documents without {timestamp_field}",
            },
        ),
        dg.AssetCheckResult(
            check_name=COVERAGE_CHECK,
            passed=not missing_days,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"missing_days": dg.MetadataValue.json([str(day) for day in missing_days[:100]]),
                      "missing_count": len(missing_days)},
        ),
    ]


def table_rows_result(lake: LocalLake, source: str, rows_in_table: dict[dt.date, int]) -> dg.AssetCheckResult:
    wrong = {}
    for day, rows in rows_in_table.items():
        manifest = lake.manifest(source, day) or {}
        if rows != manifest.get("rows"):
            wrong[str(day)] = f"{rows} in the table, {manifest.get('rows')} in Parquet"
    return dg.AssetCheckResult(
        check_name=TABLE_ROWS_CHECK,
        passed=not wrong,
        metadata={"days_checked": len(rows_in_table), "mismatches": dg.MetadataValue.json(wrong)},
    )
