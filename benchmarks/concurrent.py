"""Day-runs in parallel: ``python -m benchmarks.concurrent [--runs 1,2,4] [--slices 1] [--docs-per-day N]``.

What a multi-run backfill does to throughput: one OpenSearch emulator, ``max(runs)`` days seeded
(one index per day, ``N`` documents each), then for each ``K`` in ``--runs`` and each ``S`` in
``--slices``, ``K`` fresh processes each extract a different day with the engine exactly as the
Dagster asset does (:mod:`benchmarks.engine`, ``S`` slices), all released at the same instant.
Each process imports its libraries and builds its client before the start, so the figures are
about reading days, not about starting Python.

Reported per ``(K, S)``: aggregate documents/s (all days ÷ first start to last end), the slowest
run's wall time, client CPU µs/doc (all K processes), server CPU µs/doc (the emulator, over the
same window), host CPU use (client + server CPU ÷ wall ÷ CPUs: near 1.0 means the host is
saturated and more parallelism cannot help), the largest per-run peak RSS, Parquet bytes/doc, and
the CPU the rest of the host used meanwhile (noise: on a shared host, repeat with ``--repeat``).
Written to ``benchmarks/results/concurrent.json``. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from benchmarks.job import Job
from benchmarks.procfs import cpu_seconds, descendants, host_busy_seconds, status_mb

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "concurrent.json"
FIRST_DAY = dt.date(2026, 2, 1)
START_DELAY_S = 3.0  # after the last process is ready: every run starts at the same instant


def child(job_path: Path, ready_path: Path, go_path: Path, result_path: Path) -> None:
    """Prepare the engine, say so, wait for the common start time, extract the day, report."""
    from benchmarks.engine import prepare

    job = Job.load(job_path)
    run = prepare(job)
    ready_path.write_text("ready")
    while not go_path.exists():
        time.sleep(0.005)
    start_at = float(go_path.read_text())
    while time.time() < start_at:
        time.sleep(0.001)
    started, cpu_started = time.time(), time.process_time()
    docs, details = run()
    ended, cpu = time.time(), time.process_time() - cpu_started
    files = {p.resolve() for p in Path(job.workdir).rglob("*.parquet")}
    result_path.write_text(json.dumps({
        "docs": docs, "started": started, "ended": ended, "cpu_s": cpu,
        "peak_rss_mb": status_mb("VmHWM"), "parquet_bytes": sum(p.stat().st_size for p in files),
        "details": details,
    }))


def run_batch(jobs: Sequence[Job], scratch: Path, server_pids: set[int]) -> list[dict[str, Any]]:
    """Start one process per job, release them together, wait for all; their results."""
    scratch.mkdir(parents=True)
    go = scratch / "go"
    processes, paths = [], []
    for i, job in enumerate(jobs):
        Path(job.workdir).mkdir(parents=True)
        job_path, ready, result = scratch / f"{i}.job.json", scratch / f"{i}.ready", scratch / f"{i}.result.json"
        job.save(job_path)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "benchmarks.concurrent", "--child", str(job_path), str(ready), str(go), str(result)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        ))
        paths.append((ready, result))
    try:
        deadline = time.monotonic() + 120
        while not all(ready.exists() for ready, _ in paths):
            failed = [p for p in processes if p.poll() is not None]
            if failed:
                raise RuntimeError(f"a run exited before starting: {failed[0].stderr.read()[-2000:]}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise RuntimeError("the runs did not get ready within 120 s")
            time.sleep(0.05)
        start_at = time.time() + START_DELAY_S
        staged_go = scratch / "go.tmp"
        staged_go.write_text(repr(start_at))
        staged_go.rename(go)  # atomically: a run never reads a half-written start time
        while time.time() < start_at:
            time.sleep(0.001)
        server_before, host_before = cpu_seconds(server_pids), host_busy_seconds()
        for process in processes:
            _, stderr = process.communicate(timeout=3600)
            if process.returncode != 0:
                lines = stderr.strip().splitlines()
                raise RuntimeError(lines[-1] if lines else f"exit code {process.returncode}")
        server_cpu = cpu_seconds(server_pids) - server_before
        host_cpu = host_busy_seconds() - host_before
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    results = [json.loads(result.read_text()) for _, result in paths]
    for result in results:
        result["server_cpu_s_batch"] = server_cpu
        result["host_cpu_s_batch"] = host_cpu
    return results


def summarize(runs: int, slices: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    docs = sum(r["docs"] for r in results)
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    client_cpu = sum(r["cpu_s"] for r in results)
    server_cpu = results[0]["server_cpu_s_batch"]
    return {
        "runs": runs,
        "slices": slices,
        "docs": docs,
        "wall_s": wall,
        "aggregate_docs_per_s": docs / wall,
        "per_run_docs_per_s": statistics.median(r["docs"] / (r["ended"] - r["started"]) for r in results),
        "client_cpu_us_per_doc": client_cpu / docs * 1e6,
        "server_cpu_us_per_doc": server_cpu / docs * 1e6,
        "host_cpu_use": (client_cpu + server_cpu) / wall / (os.cpu_count() or 1),
        # CPU the rest of the host used meanwhile (from the first start to the last process's exit):
        # the noise indicator. /proc/stat and the processes' own counters tick differently.
        "other_cpu_s": max(results[0]["host_cpu_s_batch"] - client_cpu - server_cpu, 0.0),
        "max_peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "parquet_bytes_per_doc": sum(r["parquet_bytes"] for r in results) / docs,
    }


def _median_summary(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    first = summaries[0]
    return {key: (statistics.median(s[key] for s in summaries) if isinstance(value, float) else value)
            for key, value in first.items()}


@contextlib.contextmanager
def _opensearch(scratch: Path) -> Iterator[str]:
    from es_assets.demo.emulators import start_opensearch_emulator

    server, stop = start_opensearch_emulator(log_dir=scratch / "logs")
    try:
        yield server.url
    finally:
        stop()


def bench(runs: Sequence[int], slices: Sequence[int], docs_per_day: int, repeat: int, scratch: Path) -> dict[str, Any]:
    from es_assets.demo.k8s_logs import index_name, load_days
    from es_assets.schema.pages import FILTER_PATH
    from es_assets.source.cluster import DayWindow

    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(max(runs))]
    with _opensearch(scratch) as url:
        server_pids = descendants(os.getpid())  # only the emulator runs below us right now
        print(f"OpenSearch emulator at {url}: seeding {len(days)} days x {docs_per_day:,} documents ...", flush=True)
        seed_started = time.perf_counter()
        seeded = load_days(url, days, docs_per_day)
        seed_s = time.perf_counter() - seed_started
        table = []
        for attempt in range(repeat):
            for s in slices:
                for k in runs:
                    label = f"r{attempt}-k{k}-s{s}"
                    jobs = [
                        Job(kind="es_assets", product="opensearch", url=url, source="k8s_logs", index=index_name(day), day=day.isoformat(),
                            query=DayWindow.of(day, "UTC").query("@timestamp"), filter_path=FILTER_PATH, slices=s,
                            workdir=str(scratch / label / f"day-{day}"))
                        for day in days[:k]
                    ]
                    print(f"  {k} run(s) x {s} slice(s) ...", end=" ", flush=True)
                    results = run_batch(jobs, scratch / label, server_pids)
                    expected = sum(seeded[job.index] for job in jobs)
                    if sum(r["docs"] for r in results) != expected:
                        raise RuntimeError(f"{label}: read {sum(r['docs'] for r in results):,} of {expected:,} documents")
                    summary = summarize(k, s, results)
                    table.append(summary)
                    print(f"{summary['aggregate_docs_per_s']:,.0f} docs/s", flush=True)
                    shutil.rmtree(scratch / label, ignore_errors=True)  # disk and page cache for the next batch
    grouped: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for summary in table:
        grouped.setdefault((summary["runs"], summary["slices"]), []).append(summary)
    return {
        "docs_per_day": docs_per_day,
        "days": [str(d) for d in days],
        "seed_s": seed_s,
        "repeat": repeat,
        "results": [_median_summary(v) for v in grouped.values()],
        "all_runs": table,
    }


def format_table(report: dict[str, Any]) -> str:
    header = ("runs", "slices", "docs", "wall s", "aggregate docs/s", "per-run docs/s", "client CPU µs/doc",
              "server CPU µs/doc", "host CPU use", "max peak RSS MB", "Parquet B/doc", "other CPU s")
    rows = [(str(r["runs"]), str(r["slices"]), f"{r['docs']:,}", f"{r['wall_s']:.2f}",
             f"{r['aggregate_docs_per_s']:,.0f}", f"{r['per_run_docs_per_s']:,.0f}",
             f"{r['client_cpu_us_per_doc']:.1f}", f"{r['server_cpu_us_per_doc']:.1f}", f"{r['host_cpu_use']:.2f}",
             f"{r['max_peak_rss_mb']:.0f}", f"{r['parquet_bytes_per_doc']:.1f}", f"{r['other_cpu_s']:.1f}")
            for r in sorted(report["results"], key=lambda r: (r["slices"], r["runs"]))]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [f"OpenSearch emulator, {report['docs_per_day']:,} documents per day-run, {os.cpu_count()} CPUs"
             + (f", median of {report['repeat']}" if report["repeat"] > 1 else "")]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in (header, *rows)]
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of positive integers")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        child(*(Path(arg) for arg in argv[1:5]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrent", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=_int_list, default=[1, 2, 4], help="day-runs at once (default 1,2,4)")
    parser.add_argument("--slices", type=_int_list, default=[1], help="slices per run (default 1)")
    parser.add_argument("--docs-per-day", type=int, default=50_000,
                        help="documents per day (default 50,000; the emulator keeps ~30 KB of RAM per document)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="es-assets-concurrent-") as scratch:
        report = bench(args.runs, args.slices, args.docs_per_day, args.repeat, Path(scratch))
    report["environment"] = {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
    }
    print()
    print(format_table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
