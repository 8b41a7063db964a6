"""Benchmark extracting one day: es_assets against the raw floors and the approach it replaces.

For each server asked for, this starts it and, for each corpus (:mod:`benchmarks.corpora`: the
container logs, Filebeat nginx access logs, the awkward cases), seeds ``N`` documents into that
corpus's indices for one day, runs every variant in a fresh process (:mod:`benchmarks.child`) and
deletes the indices; then it stops the server, prints one table per corpus and server and writes
everything to a JSON file. Variants, figures and how to read them: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from es_assets.config import ElasticsearchSettings
from es_assets.demo.emulators import RunningServer, start_elasticsearch_emulator, start_opensearch_emulator
from es_assets.schema.pages import FILTER_PATH
from es_assets.source.cluster import DayWindow, detect_cluster
from es_assets.source.http import EsHttp
from es_assets_tests.distributions import DISTRIBUTIONS, start_distribution

from benchmarks.corpora import CORPORA, SHARDS, Corpus
from benchmarks.job import PAGE_SIZE, Job, Measurement
from benchmarks.procfs import cpu_seconds, descendants, host_busy_seconds

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"
DAY = dt.date(2026, 1, 15)
# Servers: the emulators, and the real distributions (es_assets_tests/distributions.py) by name.
EMULATORS = {"opensearch-emulator": "opensearch", "elasticsearch-emulator": "elasticsearch"}
SERVERS = (*EMULATORS, *DISTRIBUTIONS)
DEFAULT_SERVERS = ("opensearch-emulator", "opensearch-3.8.0", "elasticsearch-9.5.4")
# Both emulators keep ~30 KB of RAM per document; the Elasticsearch one also serves only ~10k docs/s.
DEFAULT_DOCS = {"elasticsearch-emulator": 30_000}
DOCS = 200_000
VARIANTS = ("raw", "raw+parse", "seed-style", "es_assets-1", "es_assets-K", "es_assets-iceberg")
VARIANT_TIMEOUT_S = 3600
ENGINE_PREFIX = "es_assets-"
SEED_STYLE = "seed-style"  # the approach es_assets replaces
ICEBERG_VARIANT = "es_assets-iceberg"  # es_assets-1 writing an Iceberg table: reports the commit's share
# Libraries whose versions explain the figures.
_PACKAGES = ("es_assets", "pyarrow", "orjson", "urllib3", "elasticsearch", "elastic-transport", "pandas",
             "fastparquet", "osmem-server", "noida-db")  # the real servers' versions are in their labels


@dataclasses.dataclass(frozen=True)
class Run:
    """One fresh-process run of a variant."""

    measurement: Measurement
    server_cpu_s: float  # CPU the server's processes (the JVM) spent while the variant's process lived
    other_cpu_s: float  # CPU the rest of the host spent meanwhile: noise, when it is large


@dataclasses.dataclass
class VariantResult:
    """Every run of one variant; the figures are medians over the runs."""

    variant: str
    runs: list[Run] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.errors

    def _median(self, value: Callable[[Run], float]) -> float:
        return statistics.median(value(run) for run in self.runs)

    @property
    def wall_s(self) -> float:
        return self._median(lambda r: r.measurement.wall_s)

    @property
    def docs_per_s(self) -> float:
        return self._median(lambda r: r.measurement.docs / r.measurement.wall_s)

    @property
    def cpu_us_per_doc(self) -> float:
        return self._median(lambda r: r.measurement.cpu_s / r.measurement.docs * 1e6)

    @property
    def server_cpu_us_per_doc(self) -> float:
        return self._median(lambda r: r.server_cpu_s / r.measurement.docs * 1e6)

    @property
    def other_cpu_s(self) -> float:
        return self._median(lambda r: r.other_cpu_s)

    @property
    def rss_ready_mb(self) -> float:
        return self._median(lambda r: r.measurement.rss_ready_mb)

    @property
    def peak_rss_mb(self) -> float:
        return self._median(lambda r: r.measurement.peak_rss_mb)

    @property
    def parquet_files(self) -> int:
        return self.runs[0].measurement.parquet_files

    @property
    def parquet_bytes_per_doc(self) -> float | None:
        if not self.parquet_files:
            return None
        return self._median(lambda r: r.measurement.parquet_bytes / r.measurement.docs)

    @property
    def slow_documents(self) -> int | None:
        """es_assets only: documents that took the exact per-document path (the same in every run)."""
        return self.runs[0].measurement.details.get("documents_normalized_slowly")

    def to_json(self) -> dict[str, Any]:
        figures = {name: getattr(self, name) for name in _FIGURES} if self.runs else {}
        return {
            "variant": self.variant,
            **figures,
            "errors": self.errors,
            "runs": [{**dataclasses.asdict(run.measurement), "server_cpu_s": run.server_cpu_s,
                      "other_cpu_s": run.other_cpu_s} for run in self.runs],
        }


_FIGURES = ("docs_per_s", "wall_s", "cpu_us_per_doc", "server_cpu_us_per_doc", "other_cpu_s", "rss_ready_mb",
            "peak_rss_mb", "parquet_bytes_per_doc", "parquet_files")


def _own_and_children_cpu() -> float:
    """CPU of this process plus its waited-for children (the finished variant processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# -- one server ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _server(name: str, scratch: Path) -> Iterator[RunningServer]:
    """An emulator, or a real distribution started as the tests start it."""
    logs = scratch / "logs"
    if name == "opensearch-emulator":
        server, stop = start_opensearch_emulator(log_dir=logs)
    elif name == "elasticsearch-emulator":
        server, stop = start_elasticsearch_emulator(scratch / "elasticsearch-data", log_dir=logs, timeout_s=60)
    else:
        server, stop = start_distribution(name, log_dir=logs)
    try:
        yield server
    finally:
        stop()


def _server_label(url: str, name: str) -> tuple[str, str]:
    """The product, and the label of the table: product, version, and whether it is an emulator."""
    http = EsHttp(ElasticsearchSettings(hosts=(url,)))
    try:
        cluster = detect_cluster(http)
    finally:
        http.close()
    return cluster.product, cluster.label + (" (emulator)" if name in EMULATORS else "")


def _run_variant(job: Job, expected_docs: int, server_pids: set[int]) -> Run:
    """Run ``job`` in a fresh process; raise RuntimeError if it fails or reads the wrong number of documents."""
    workdir = Path(job.workdir)
    workdir.mkdir(parents=True)
    job_file, result_file = workdir.with_suffix(".job.json"), workdir.with_suffix(".result.json")
    job.save(job_file)
    server_before, ours_before, host_before = cpu_seconds(server_pids), _own_and_children_cpu(), host_busy_seconds()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "benchmarks.child", str(job_file), str(result_file)],
            cwd=ROOT, capture_output=True, text=True, timeout=VARIANT_TIMEOUT_S,
        )
    finally:
        shutil.rmtree(workdir)  # the next run's disk and page cache should not hold this one's files
    server_cpu = cpu_seconds(server_pids) - server_before
    other_cpu = host_busy_seconds() - host_before - server_cpu - (_own_and_children_cpu() - ours_before)
    if process.returncode != 0:
        lines = process.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit code {process.returncode}")
    measurement = Measurement.load(result_file)
    if measurement.docs != expected_docs:
        raise RuntimeError(f"read {measurement.docs:,} of {expected_docs:,} documents")
    # /proc/stat and rusage tick at different rates: a quiet host can come out slightly negative.
    return Run(measurement, server_cpu, max(other_cpu, 0.0))


def _variant_plan(names: Sequence[str], slices: Sequence[int]) -> dict[str, tuple[str, int]]:
    """Variant name -> (Job.kind, slices); ``es_assets-K`` is one variant per K (K = 1 is ``es_assets-1``)."""
    plan: dict[str, tuple[str, int]] = {}
    for name in names:
        if name == ICEBERG_VARIANT:
            plan[name] = (name, 1)
        elif name.startswith(ENGINE_PREFIX):
            for count in [1] if name == "es_assets-1" else slices:
                plan[f"{ENGINE_PREFIX}{count}"] = ("es_assets", count)
        else:
            plan[name] = (name, 1)
    return plan


def bench_server(
    name: str, corpora: Sequence[Corpus], docs: int, variants: Sequence[str], slices: Sequence[int], repeat: int,
    scratch: Path,
) -> list[dict[str, Any]]:
    """One report per corpus, each measured with only that corpus's indices on the server."""
    with _server(name, scratch) as server:
        server_pids = descendants(os.getpid())  # only the server (its launcher and JVM) runs below us now
        product, label = _server_label(server.url, name)
        return [bench_corpus(server.url, product, label, corpus, docs, variants, slices, repeat,
                             scratch / corpus.name, server_pids) for corpus in corpora]


def bench_corpus(
    url: str, product: str, label: str, corpus: Corpus, docs: int, variants: Sequence[str],
    slices: Sequence[int], repeat: int, scratch: Path, server_pids: set[int],
) -> dict[str, Any]:
    print(f"{label} at {url}: seeding {docs:,} {corpus.name} documents ...", flush=True)
    started = time.perf_counter()
    seeded = corpus.load(url, DAY, docs, product)
    seed_s = time.perf_counter() - started
    plan = _variant_plan(variants, slices)
    results = {name: VariantResult(name) for name in plan}
    try:
        # Round-robin rather than variant after variant, so a burst of load from elsewhere on the host
        # lands on several variants instead of skewing one.
        for attempt in range(1, repeat + 1):
            for name, (kind, count) in plan.items():
                print(f"  run {attempt}/{repeat} {corpus.name} {name} ...", end=" ", flush=True)
                job = Job(
                    kind=kind,
                    product=product,
                    url=url,
                    source=corpus.name,
                    index=corpus.index_pattern,
                    day=DAY.isoformat(),
                    query=DayWindow.of(DAY, "UTC").query("@timestamp"),
                    filter_path=FILTER_PATH,
                    slices=count,
                    workdir=str(scratch / "variants" / name),
                )
                try:
                    run = _run_variant(job, seeded, server_pids)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    results[name].errors.append(str(exc))
                    print(f"failed: {exc}", flush=True)
                    continue
                results[name].runs.append(run)
                print(f"{run.measurement.wall_s:.1f} s", flush=True)
    finally:
        corpus.delete(url, DAY, product)
    return {
        "server": label,
        "corpus": corpus.name,
        "index": corpus.index_pattern,
        "indices": [index for index, _ in corpus.indices(DAY, product)],
        "shards": SHARDS,
        "docs": seeded,
        "seed_s": seed_s,
        "repeat": repeat,
        "results": results,
        "ratios": ratios(results),
    }


# -- figures ---------------------------------------------------------------------------------------
def ratios(results: dict[str, VariantResult]) -> dict[str, float]:
    """The comparisons the benchmark exists for, for each es_assets variant that ran."""
    pairs: list[tuple[str, str, str]] = []
    for engine in (name for name in results if name.startswith(ENGINE_PREFIX)):
        pairs += [
            ("cpu_us_per_doc", engine, "raw+parse"),
            ("cpu_us_per_doc", "seed-style", engine),
            ("docs_per_s", engine, "raw"),
            ("docs_per_s", engine, "seed-style"),
            ("parquet_bytes_per_doc", engine, "seed-style"),
        ]
    out: dict[str, float] = {}
    for metric, top, bottom in pairs:
        a, b = results.get(top), results.get(bottom)
        if a is None or b is None or not (a.ok and b.ok):
            continue
        top_value, bottom_value = getattr(a, metric), getattr(b, metric)
        if top_value is not None and bottom_value:
            out[f"{metric}: {top} / {bottom}"] = top_value / bottom_value
    return out


# The issues' targets for es_assets at 1 slice: (label, ratio, bound, True if at least). Throughput
# and bytes hold on every corpus; client CPU (issue 13) is as low as raw+parse on the container and
# web logs, and at most twice it on the awkward cases.
TARGETS = (
    ("docs/s ≥ 1.5× seed-style", "docs_per_s: es_assets-1 / seed-style", 1.5, True),
    ("docs/s ≥ 0.8× raw", "docs_per_s: es_assets-1 / raw", 0.8, True),
    ("Parquet bytes/doc ≤ 0.6× seed-style", "parquet_bytes_per_doc: es_assets-1 / seed-style", 0.6, False),
)
CPU_VS_RAW_PARSE = {"k8s": 1.0, "nginx": 1.0, "awkward": 2.0}
CPU_LESS_THAN_SEED_STYLE = {"k8s": 4.0, "nginx": 4.0}
PEAK_RSS_TARGET_MB = 300.0


def corpus_targets(corpus: str) -> tuple[tuple[str, str, float, bool], ...]:
    cpu = [(f"client CPU ≤ {CPU_VS_RAW_PARSE[corpus]:.1f}× raw+parse", "cpu_us_per_doc: es_assets-1 / raw+parse",
            CPU_VS_RAW_PARSE[corpus], False)]
    if corpus in CPU_LESS_THAN_SEED_STYLE:
        cpu.append((f"client CPU ≥ {CPU_LESS_THAN_SEED_STYLE[corpus]:.0f}× less than seed-style",
                    "cpu_us_per_doc: seed-style / es_assets-1", CPU_LESS_THAN_SEED_STYLE[corpus], True))
    return (*cpu, *TARGETS)


def targets(report: dict[str, Any]) -> dict[str, bool]:
    """Which of the targets es_assets-1 met on this corpus and server (absent: a variant it needs did not run)."""
    met = {label: (report["ratios"][key] >= bound if at_least else report["ratios"][key] <= bound)
           for label, key, bound, at_least in corpus_targets(report["corpus"]) if key in report["ratios"]}
    engine = report["results"].get("es_assets-1")
    if engine is not None and engine.ok:
        met[f"peak RSS ≤ {PEAK_RSS_TARGET_MB:.0f} MB at 1 slice"] = engine.peak_rss_mb <= PEAK_RSS_TARGET_MB
    return met


def format_server(report: dict[str, Any]) -> str:
    header = ("variant", "docs/s", "wall s", "client CPU µs/doc", "server CPU µs/doc", "RSS ready MB",
              "peak RSS MB", "Parquet B/doc", "files", "slow docs", "other CPU s")
    rows: list[tuple[str, ...]] = []
    failures: list[str] = []
    for name, result in report["results"].items():
        failures += [f"  {name} failed: {error}" for error in result.errors]
        if not result.runs:
            continue
        per_doc, slow = result.parquet_bytes_per_doc, result.slow_documents
        rows.append((
            name, f"{result.docs_per_s:,.0f}", f"{result.wall_s:.2f}", f"{result.cpu_us_per_doc:.1f}",
            f"{result.server_cpu_us_per_doc:.1f}", f"{result.rss_ready_mb:.0f}", f"{result.peak_rss_mb:.0f}",
            "-" if per_doc is None else f"{per_doc:.1f}", str(result.parquet_files),
            "-" if slow is None else f"{slow:,}", f"{result.other_cpu_s:.1f}",
        ))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        columns = enumerate(zip(cells, widths, strict=True))
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in columns)

    runs = f", median of {report['repeat']} runs" if report["repeat"] > 1 else ""
    lines = [
        f"{report['corpus']} corpus on {report['server']}: {report['docs']:,} documents in {report['index']} "
        f"({', '.join(report['indices'])}; {report['shards']} shards each), seeded in {report['seed_s']:.1f} s{runs}",
        line(header),
        *(line(row) for row in rows),
        *failures,
    ]
    iceberg = report["results"].get(ICEBERG_VARIANT)
    if iceberg is not None and iceberg.runs:
        commit_s = statistics.median(run.measurement.details["iceberg_commit_s"] for run in iceberg.runs)
        lines.append(f"{ICEBERG_VARIANT}: the Iceberg commit took {commit_s:.2f} s of the day's {iceberg.wall_s:.2f} s "
                     f"({100 * commit_s / iceberg.wall_s:.1f} %)")
    if report["ratios"]:
        lines.append("ratios:")
        lines += [f"  {label:<55} {value:6.2f}" for label, value in report["ratios"].items()]
    if met := targets(report):
        lines.append("targets (es_assets-1):")
        lines += [f"  {label:<55} {'met' if ok else 'NOT met'}" for label, ok in met.items()]
    return "\n".join(lines)


def _environment() -> dict[str, Any]:
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in _PACKAGES},
        "day": DAY.isoformat(),
        "page_size": PAGE_SIZE,
    }


# -- command line ----------------------------------------------------------------------------------
def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _positive_list(text: str) -> list[int]:
    return [_positive(part) for part in text.split(",") if part.strip()]


def _names_of(kind: str, known: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: a comma-separated list of ``known`` names."""

    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = sorted(set(names) - set(known))
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"unknown {kind}(s) {', '.join(unknown)}; choose from {', '.join(known)}")
        return names

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=_positive, help="documents to seed (default: 200,000; 30,000 for "
                                                      "elasticsearch-emulator)")
    parser.add_argument("--server", type=_names_of("server", SERVERS), default=list(DEFAULT_SERVERS),
                        help=f"comma-separated, one after the other, of {','.join(SERVERS)} "
                             f"(default: {','.join(DEFAULT_SERVERS)})")
    parser.add_argument("--slices", type=_positive_list, default=[2, 4],
                        help="comma-separated K of the es_assets-K variants (default 2,4)")
    parser.add_argument("--corpus", type=_names_of("corpus", list(CORPORA)), default=list(CORPORA),
                        help=f"comma-separated, one after the other, of {','.join(CORPORA)} (default: all)")
    parser.add_argument("--variants", type=_names_of("variant", VARIANTS), default=list(VARIANTS),
                        help=f"comma-separated subset of {','.join(VARIANTS)} (default: all)")
    parser.add_argument("--repeat", type=_positive, default=1,
                        help="runs of each variant, round-robin; figures are medians (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file (default: %(default)s)")
    args = parser.parse_args(argv)

    corpora = [CORPORA[name] for name in args.corpus]
    reports: dict[str, dict[str, dict[str, Any]]] = {corpus.name: {} for corpus in corpora}  # corpus -> server ->
    with tempfile.TemporaryDirectory(prefix="es-assets-bench-") as scratch:
        for name in args.server:
            docs = args.docs or DEFAULT_DOCS.get(name, DOCS)
            for report in bench_server(name, corpora, docs, args.variants, args.slices, args.repeat,
                                       Path(scratch) / name):
                reports[report["corpus"]][name] = report
    every = [report for by_server in reports.values() for report in by_server.values()]
    print()
    print("\n\n".join(format_server(report) for report in every))  # grouped by corpus

    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "environment": _environment(),
        "slices_k": args.slices,
        "corpora": {
            corpus: {
                name: {**report, "results": [r.to_json() for r in report["results"].values()],
                       "targets": targets(report)}
                for name, report in by_server.items()
            }
            for corpus, by_server in reports.items()
        },
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    # seed-style failing on a corpus (fastparquet refusing mixed columns) is a finding, shown in the
    # table; any other variant failing is the harness's or the engine's fault.
    failed = [r for report in every for r in report["results"].values() if not r.ok and r.variant != SEED_STYLE]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
