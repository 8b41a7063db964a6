"""The three assets of each source: the day in Elasticsearch, its Parquet files, its table.

Every asset is partitioned by day. By default a range of days runs in one run (single-run
backfills: ``--partition-range`` and UI backfills of months on one machine); with
``backfill: multi_run`` a backfill fans out into runs of ``days_per_run`` days for a cluster.
Each materialization records per-day metadata; the Parquet asset carries its checks in-asset.
"""

import datetime as dt

import dagster as dg

from es_assets.config import CatalogSettings, LakeSettings, SourceSettings
from es_assets.defs import checks, metadata
from es_assets.defs.automation import table_follows_parquet, table_freshness
from es_assets.defs.partitions import daily_partitions
from es_assets.defs.resources import CatalogResource, ElasticsearchResource, LakeResource
from es_assets.catalog import catalogue_days
from es_assets.errors import SmallerDayRefused
from es_assets.extract import extract_day
from es_assets.source.cluster import plan_day
from es_assets.source.discovery import discover_days

# A run with this tag set to "true" may replace published days with smaller ones (documents deleted on purpose).
ALLOW_SMALLER_DAY_TAG = "es_assets/allow_smaller_day"


def asset_keys(source: str) -> tuple[dg.AssetKey, dg.AssetKey, dg.AssetKey]:
    return dg.AssetKey(["elasticsearch", source]), dg.AssetKey(["parquet", source]), dg.AssetKey(["athena", source])


def days_of(context: dg.AssetExecutionContext) -> list[dt.date]:
    # partition_keys works for single partitions and for single-run ranges alike.
    return [dt.date.fromisoformat(key) for key in context.partition_keys]


# The UI's kind tags (and icons) of the table asset, by catalog kind.
CATALOG_KINDS = {"duckdb": {"duckdb"}, "athena": {"athena", "glue"}}


def source_assets(source: SourceSettings, lake: LakeSettings, catalog: CatalogSettings) -> list[dg.AssetsDefinition]:
    """Build ``elasticsearch/<src>`` → ``parquet/<src>`` → ``athena/<src>`` for one configured source."""
    name = source.name
    es_key, parquet_key, table_key = asset_keys(name)
    common = dict(
        partitions_def=daily_partitions(source),
        backfill_policy=(
            dg.BackfillPolicy.single_run() if source.backfill == "single_run"
            else dg.BackfillPolicy.multi_run(max_partitions_per_run=source.days_per_run)
        ),
        group_name=name,
    )

    @dg.asset(
        key=es_key,
        description=(
            f"The documents of `{source.index}` for one day (by `{source.timestamp_field}`, {source.timezone}), "
            "as they sit in the cluster. Materializing plans the day: the indices that hold it, the exact "
            "document count, shard health, mapping fingerprint and expected size."
        ),
        kinds={"elasticsearch"},
        pool=f"elasticsearch_{name}",
        check_specs=checks.plan_check_specs(es_key),
        **common,
    )
    def day_in_elasticsearch(
        context: dg.AssetExecutionContext, elasticsearch: ElasticsearchResource, lake: LakeResource
    ) -> dg.MaterializeResult:
        with elasticsearch.connect() as (http, cluster):
            plans = [plan_day(http, cluster, source, day) for day in days_of(context)]
            days_with_data = discover_days(http, source, since=source.start_date)
        for plan in plans:
            context.log.info(f"{name} {plan.day}: {plan.total:,} documents in {len(plan.indices)} indices")
        published = set(lake.lake().published_days(name)) | {plan.day for plan in plans}
        last_complete = dt.datetime.now(source.tz).date() - dt.timedelta(days=1)
        missing = sorted(day for day in days_with_data if day <= last_complete and day not in published)
        return dg.MaterializeResult(
            metadata=metadata.for_plans(plans, source),
            check_results=checks.plan_check_results(
                max((p.without_timestamp for p in plans), default=0), source.timestamp_field, missing
            ),
        )

    @dg.asset(
        key=parquet_key,
        deps=[es_key],
        description=(
            f"The day's documents of source `{name}` as zstd Parquet in the lake "
            f"(`<lake>/{name}/dt=YYYY-MM-DD/`), extracted with point-in-time + search_after in parallel "
            "slices and published atomically: a failed run leaves the previous day in place."
        ),
        kinds={"parquet", "s3"} if lake.is_s3 else {"parquet"},
        pool=f"elasticsearch_{name}",
        check_specs=checks.parquet_check_specs(parquet_key),
        **common,
    )
    def day_in_parquet(
        context: dg.AssetExecutionContext, elasticsearch: ElasticsearchResource, lake: LakeResource
    ) -> dg.MaterializeResult:
        the_lake = lake.lake()
        allow_smaller = context.run.tags.get(ALLOW_SMALLER_DAY_TAG, "").lower() == "true"
        results, mappings = [], {}
        with elasticsearch.connect() as (http, cluster):
            for day in days_of(context):
                plan = plan_day(http, cluster, source, day)
                context.log.info(
                    f"{name} {day}: extracting {plan.total:,} documents from {plan.index_expression or 'no index'} "
                    f"with {plan.slices(source.slices)} slices ({cluster.label})"
                )
                try:
                    result = extract_day(
                        http, source, the_lake, plan,
                        on_progress=lambda progress, day=day: context.log.info(f"{name} {day}: {progress}"),
                        allow_smaller=allow_smaller,
                        run_id=context.run.run_id,
                    )
                except SmallerDayRefused as refused:
                    raise dg.Failure(
                        f"{refused}; to publish the smaller day on purpose, run it again with the run tag "
                        f'{ALLOW_SMALLER_DAY_TAG}: "true"',
                        metadata={"lake_rows": refused.lake_rows, "cluster_rows": refused.cluster_rows,
                                  "vanished_indices": dg.MetadataValue.json(list(refused.vanished_indices))},
                    ) from refused
                if result.late_documents:
                    context.log.warning(
                        f"{name} {day}: {result.late_documents:,} documents were indexed into the day after it was "
                        f"counted ({result.counted_rows:,}); the lake has all {result.rows:,}"
                    )
                if result.previous_rows is not None and result.rows < result.previous_rows:
                    context.log.warning(f"{name} {day}: {result.rows:,} rows replace the lake's {result.previous_rows:,} "
                                        f"({ALLOW_SMALLER_DAY_TAG} is set)")
                context.log.info(
                    f"{name} {day}: wrote {result.rows:,} rows in {result.files} files "
                    f"({result.bytes:,} bytes, {result.docs_per_second:,.0f} docs/s)"
                )
                results.append(result)
                mappings = plan.mappings
        return dg.MaterializeResult(
            metadata=metadata.for_extractions(results, the_lake.uri, name, mappings),
            check_results=checks.parquet_check_results(the_lake, name, results),
        )

    @dg.asset(
        key=table_key,
        deps=[parquet_key],
        description=(
            f"The table `{name}` over the lake's Parquet, Hive-partitioned by `dt` (a DuckDB view locally, "
            "a Glue table for Athena in AWS). Materializing a day makes its published version the one "
            "readers see, then removes older versions."
        ),
        kinds=CATALOG_KINDS[catalog.kind],
        automation_condition=table_follows_parquet(),
        freshness_policy=table_freshness(source),
        check_specs=checks.table_check_specs(table_key),
        **common,
    )
    def day_in_table(
        context: dg.AssetExecutionContext, lake: LakeResource, catalog: CatalogResource
    ) -> dg.MaterializeResult:
        the_lake, the_catalog = lake.lake(), catalog.catalog(lake)
        days = days_of(context)
        missing = [day for day in days if the_lake.manifest(name, day) is None]
        if missing:
            raise dg.Failure(
                f"{name}: no Parquet published for {', '.join(map(str, missing))}; materialize parquet/{name} first"
            )
        catalogue_days(the_catalog, the_lake, source, days)
        return dg.MaterializeResult(
            metadata=metadata.for_table(the_catalog, the_lake, name, days),
            check_results=[checks.table_result(the_catalog.problems(name, the_lake, days), len(days))],
        )

    return [day_in_elasticsearch, day_in_parquet, day_in_table]
