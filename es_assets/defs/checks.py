"""The asset checks of each source, evaluated in the run that materializes the days."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import dagster as dg

from es_assets.extract import DayResult
from es_assets.lake import verify
from es_assets.lake.base import Lake

ROW_COUNT_CHECK = "row_count_matches_elasticsearch"
DUPLICATES_CHECK = "no_duplicate_documents"
SCHEMA_CHECK = "schema_compatible_with_table"
TABLE_CHECK = "table_serves_the_published_day"
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
                          description="Parquet rows equal Elasticsearch's exact count for the day, taken outside "
                                      "the point in time it was read from, plus documents indexed into the day "
                                      "meanwhile (late data, reported)."),
        dg.AssetCheckSpec(DUPLICATES_CHECK, asset=key,
                          description="No (_index, _id) appears twice in the day's files (read back with DuckDB)."),
        dg.AssetCheckSpec(SCHEMA_CHECK, asset=key,
                          description="No column changed kind (long → keyword, object → scalar, scalar ↔ list) against the "
                                      "registered types or another day's files; new fields are drift (new_columns), "
                                      "not conflicts."),
    ]


def table_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(TABLE_CHECK, asset=key,
                          description="The table reads the day's published version (DuckDB: same row count; "
                                      "Athena: the partition points at it)."),
    ]


def parquet_check_results(lake: Lake, source: str, results: Sequence[DayResult]) -> list[dg.AssetCheckResult]:
    """Row counts, duplicates and schema of the days just published, read back from the lake."""
    one_file_per_day = {
        f"dt={day}": files[0] for day in lake.published_days(source) if (files := lake.published_files(source, day))
    }
    short, duplicates, conflicts = {}, {}, []
    for result in results:
        files = lake.published_files(source, dt.date.fromisoformat(result.day))
        rows, duplicated = verify.count_rows_and_duplicates(lake.filesystem, files)
        # Held to the count taken outside the PIT (a partial PIT agrees with itself); more is late data.
        if rows < result.counted_rows or rows != result.rows:
            short[result.day] = (f"{rows} rows in Parquet; Elasticsearch counted {result.counted_rows} and "
                                 f"{result.late_documents} more arrived before the point in time")
        if duplicated:
            duplicates[result.day] = duplicated
        others = {label: f for label, f in one_file_per_day.items() if label != f"dt={result.day}"}
        conflicts += [f"dt={result.day}: {c}" for c in verify.schema_conflicts(lake.filesystem, files[0], others)]
        conflicts += [f"dt={result.day}: {c}" for c in result.drift.conflicts]
    return [
        dg.AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            passed=not short,
            metadata={
                "parquet_rows": sum(r.rows for r in results),
                "elasticsearch_count": sum(r.counted_rows for r in results),
                "late_documents": sum(r.late_documents for r in results),
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


def table_result(problems: dict[str, str], days_checked: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=TABLE_CHECK,
        passed=not problems,
        metadata={"days_checked": days_checked, "problems": dg.MetadataValue.json(problems)},
    )


