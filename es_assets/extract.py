"""Extract one day of a source into the lake: read in parallel slices, write, verify, publish.

The day becomes visible only after every slice has written exactly the number of documents the
server counted for it in the same point in time (``track_total_hits`` on the slice's first page),
the day's rows reach its count taken outside that point in time, and the day would not shrink
the published one (see :mod:`es_assets.day_guards`). Any failure leaves the published day untouched.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Callable, Iterator

from es_assets.config import SourceSettings
from es_assets.day_guards import late_documents, refuse_smaller_day
from es_assets.errors import ContextLost, IncompleteExtraction
from es_assets.lake.base import Lake, StagedPartition, StagedSink
from es_assets.lake.parquet_files import ROW_GROUP_BUDGET_BYTES, ROW_GROUP_BUDGET_ROWS, SliceFileWriter
from es_assets.schema.fields import SourceSchema, build_schema, select_fields
from es_assets.schema.pages import Page, PageParser
from es_assets.schema.registry import SchemaDrift, reconcile
from es_assets.source.cluster import DayPlan, DayWindow
from es_assets.source.http import EsHttp
from es_assets.source.pagination import (
    PointInTime,
    SearchSpec,
    SliceProgress,
    read_pit_slice,
    read_scroll_slice,
)

log = logging.getLogger(__name__)

# A lost search context restarts the day (PIT) or the slice (scroll) this many times at most.
MAX_CONTEXT_RESTARTS = 3
PROGRESS_INTERVAL_S = 10.0


@dataclasses.dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def __str__(self) -> str:
        eta = f", ETA {self.eta_s:.0f}s" if self.eta_s is not None else ""
        return f"{self.done:,}/{self.total:,} documents ({self.rate:,.0f} docs/s{eta})"


@dataclasses.dataclass(frozen=True)
class DayResult:
    source: str
    day: str
    rows: int
    expected_rows: int  # the day's count in the point in time it was read from
    counted_rows: int  # the day's count taken outside that point in time, just before (the plan's)
    late_documents: int  # rows - counted_rows: documents indexed into the day in between
    previous_rows: int | None  # what the lake held for the day before, if it was published
    files: int
    bytes: int
    seconds: float
    slices: int
    method: str  # "pit" | "scroll"
    documents_normalized_slowly: int  # documents that did not fit the Arrow reader: normalized one by one
    unmapped_documents: int  # documents with values kept in _unmapped
    context_restarts: int
    schema: SourceSchema
    drift: SchemaDrift
    location: str

    @property
    def docs_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass
class _SliceOutcome:
    rows: int = 0
    expected: int | None = None
    documents_normalized_slowly: int = 0
    unmapped_documents: int = 0
    restarts: int = 0


def extract_day(
    http: EsHttp,
    source: SourceSettings,
    lake: Lake,
    plan: DayPlan,
    on_progress: Callable[[Progress], None] | None = None,
    progress_interval_s: float = PROGRESS_INTERVAL_S,
    allow_smaller: bool = False,
    run_id: str | None = None,
) -> DayResult:
    """Extract ``plan.day`` of ``source`` and publish it in the lake; return what was written.

    ``on_progress`` is called from this thread every ``progress_interval_s`` while slices run.
    A day that would publish fewer rows than the lake holds for it is refused before anything
    is read (:class:`~es_assets.errors.SmallerDayRefused`) unless ``allow_smaller``.
    ``run_id`` (the orchestrator's) is recorded with the published day.
    """
    started = time.monotonic()
    lake_settings = lake.settings
    published = lake.manifest(source.name, plan.day)
    refuse_smaller_day(source.name, plan.day, published, plan.total, plan.pattern_indices, allow_smaller)
    todays_schema = build_schema(plan.mappings, source.timestamp_field, source.array_fields)
    todays_fields = select_fields(todays_schema.fields, source.source_includes, source.source_excludes)
    fields, drift = reconcile(lake.registered_fields(source.name), todays_fields)
    schema = dataclasses.replace(todays_schema, fields=fields)
    parser = PageParser(schema)
    slices = plan.slices(source.slices)
    spec = SearchSpec(
        indices=plan.index_expression,
        query=DayWindow.of(plan.day, source.timezone).query(source.timestamp_field),
        page_size=source.page_size,
        keep_alive=source.pit_keep_alive,
        source_includes=source.source_includes,
        source_excludes=source.source_excludes,
    )
    tiebreaker = plan.cluster.sort_tiebreaker
    reporter = _ProgressReporter(on_progress, progress_interval_s, started)
    restarts = 0
    while True:
        with lake.stage(source.name, plan.day) as staged:

            def new_writer(slice_id: int) -> SliceFileWriter:
                return SliceFileWriter(
                    staged.directory, slice_id, schema.arrow_schema, lake_settings.compression,
                    StagedSink(lake, staged), lake_settings.target_file_rows, lake_settings.target_file_bytes,
                    row_group_rows=max(source.page_size, ROW_GROUP_BUDGET_ROWS // slices),
                    row_group_bytes=ROW_GROUP_BUDGET_BYTES // slices,
                )

            try:
                if plan.total == 0:
                    outcomes = [_SliceOutcome(expected=0)]
                    new_writer(0).close(write_empty=True)
                elif tiebreaker is not None:
                    with PointInTime(http, plan.cluster, spec, plan.primary_shards) as pit:
                        outcomes = _run_slices(
                            slices, new_writer, plan.total, reporter,
                            lambda slice_id, progress: read_pit_slice(
                                http, parser, pit, tiebreaker, slice_id, slices, progress
                            ),
                        )
                else:
                    outcomes = _run_slices(
                        slices, new_writer, plan.total, reporter,
                        lambda slice_id, progress: read_scroll_slice(http, parser, spec, slice_id, slices, progress),
                        restart_slices=True,
                    )
            except ContextLost as exc:
                restarts += 1
                if restarts > MAX_CONTEXT_RESTARTS:
                    raise IncompleteExtraction(
                        f"{source.name} {plan.day}: the search context was lost {restarts} times; last: {exc}"
                    ) from exc
                log.warning("%s %s: %s; restarting the day (%d/%d)", source.name, plan.day, exc, restarts,
                            MAX_CONTEXT_RESTARTS)
                continue
            rows = sum(o.rows for o in outcomes)
            # Each slice's total was counted by the server in the same context it was read from.
            expected = sum(o.expected or 0 for o in outcomes)
            _verify_counts(source.name, plan, outcomes, rows, expected)
            late = late_documents(source.name, plan.day, plan.total, rows)
            if late:
                log.warning("%s %s: %d documents were indexed into the day after it was counted (%d); all %d are "
                            "in the lake", source.name, plan.day, late, plan.total, rows)
            previous_rows = int(published["rows"]) if published else None
            if previous_rows is not None and rows < previous_rows:
                log.warning("%s %s: publishing %d rows in place of the lake's %d, as this run allows",
                            source.name, plan.day, rows, previous_rows)
            result = DayResult(
                source=source.name,
                day=plan.day.isoformat(),
                rows=rows,
                expected_rows=expected,
                counted_rows=plan.total,
                late_documents=late,
                previous_rows=previous_rows,
                files=len(staged.files),
                bytes=sum(f.bytes for f in staged.files),
                seconds=time.monotonic() - started,
                slices=len(outcomes),
                method="pit" if tiebreaker else "scroll",
                documents_normalized_slowly=sum(o.documents_normalized_slowly for o in outcomes),
                unmapped_documents=sum(o.unmapped_documents for o in outcomes),
                context_restarts=restarts + sum(o.restarts for o in outcomes),
                schema=schema,
                drift=drift,
                location=staged.location,
            )
            lake.register_fields(source.name, schema.fields)
            lake.publish(staged, _manifest(result, plan, staged, run_id))
            return result


def _run_slices(
    slices: int,
    new_writer: Callable[[int], SliceFileWriter],
    expected_total: int,
    reporter: "_ProgressReporter",
    read_slice: Callable[[int, SliceProgress], Iterator[Page]],
    restart_slices: bool = False,
) -> list[_SliceOutcome]:
    """Run every slice in its own thread; the first failure stops the others."""
    stop = threading.Event()
    done = [0] * slices

    def run(slice_id: int) -> _SliceOutcome:
        outcome = _SliceOutcome()
        writer = new_writer(slice_id)
        while True:
            progress = SliceProgress()
            try:
                for page in read_slice(slice_id, progress):
                    if stop.is_set():
                        raise InterruptedError("another slice failed")
                    writer.write(page.table)
                    outcome.documents_normalized_slowly += page.slow_documents
                    outcome.unmapped_documents += page.unmapped_documents
                    done[slice_id] = writer.rows
                break
            except ContextLost:
                if not restart_slices or outcome.restarts >= MAX_CONTEXT_RESTARTS:
                    raise
                outcome.restarts += 1
                writer.discard()
                outcome.documents_normalized_slowly = outcome.unmapped_documents = done[slice_id] = 0
        writer.close(write_empty=slice_id == 0)
        outcome.rows, outcome.expected = writer.rows, progress.expected
        return outcome

    with ThreadPoolExecutor(max_workers=slices, thread_name_prefix="es-slice") as pool:
        futures: list[Future[_SliceOutcome]] = [pool.submit(run, i) for i in range(slices)]
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=reporter.interval_s, return_when=FIRST_EXCEPTION)
            if any(f.exception() for f in finished):
                stop.set()
                break
            if pending:
                reporter.report(sum(done), expected_total)
        wait(pending)
    for future in futures:
        if future.exception() is not None and not isinstance(future.exception(), InterruptedError):
            raise future.exception()  # type: ignore[misc]
    return [f.result() for f in futures]


@dataclasses.dataclass(frozen=True)
class _ProgressReporter:
    callback: Callable[[Progress], None] | None
    interval_s: float
    started: float

    def report(self, done: int, total: int) -> None:
        if self.callback is not None:
            self.callback(Progress(done, total, time.monotonic() - self.started))


def _verify_counts(
    source: str, plan: DayPlan, outcomes: list[_SliceOutcome], rows: int, expected: int
) -> None:
    short = [
        f"slice {i + 1}: wrote {o.rows:,} of {o.expected if o.expected is not None else 'an uncounted'}"
        for i, o in enumerate(outcomes)
        if o.rows != o.expected
    ]
    if short or rows != expected:
        raise IncompleteExtraction(
            f"{source} {plan.day}: wrote {rows:,} documents but Elasticsearch counts {expected:,} for the day"
            + (f" ({'; '.join(short)})" if short else "")
            + "; the previously published day was left in place"
        )


def _manifest(result: DayResult, plan: DayPlan, staged: StagedPartition, run_id: str | None) -> dict[str, object]:
    return {
        "source": result.source,
        "day": result.day,
        "rows": result.rows,
        "elasticsearch_count": result.counted_rows,
        "late_documents": result.late_documents,
        "run_id": run_id,
        "timestamp_column": next(
            (column for column, path, _ in result.schema.column_paths() if path == result.schema.timestamp_field), None
        ),
        "files": [f.name for f in staged.files],
        "bytes": result.bytes,
        "indices": plan.indices,
        "cluster": plan.cluster.label,
        "method": result.method,
        "schema_fingerprint": result.schema.fingerprint,
        "schema_drift": result.drift.as_metadata(),
        "columns": [
            {"column": column, "source_path": path, "type": arrow_type}
            for column, path, arrow_type in result.schema.column_paths()
        ],
    }
