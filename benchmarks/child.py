"""Run and measure one variant in this fresh process: ``python -m benchmarks.child JOB.json RESULT.json``.

Started by :mod:`benchmarks.run`, one process per variant, so peak RSS is the variant's own. Only
the variant's module (and with it its libraries) is imported, and that happens before the clock
starts: the figures are about reading a day, not about importing pandas.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

from benchmarks.job import Job, Measurement, VariantRun
from benchmarks.procfs import status_mb

# Job.kind -> module with ``prepare(job) -> VariantRun``.
VARIANT_MODULES = {
    "raw": "benchmarks.raw",
    "raw+parse": "benchmarks.raw",
    "seed-style": "benchmarks.seed_style",
    "es_assets": "benchmarks.engine",
    "es_assets-iceberg": "benchmarks.engine",
}


def _parquet_files(workdir: Path) -> list[Path]:
    # resolve(): the es_assets lake reaches its files both directly and through a symlink.
    return sorted({path.resolve() for path in workdir.rglob("*.parquet")})


def measure(job: Job) -> Measurement:
    prepare = importlib.import_module(VARIANT_MODULES[job.kind]).prepare
    run: VariantRun = prepare(job)
    rss_ready = status_mb("VmRSS")
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    docs, details = run()
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    files = _parquet_files(Path(job.workdir))
    return Measurement(
        docs=docs,
        wall_s=wall,
        cpu_s=cpu,
        rss_ready_mb=rss_ready,
        peak_rss_mb=status_mb("VmHWM"),
        parquet_bytes=sum(path.stat().st_size for path in files),
        parquet_files=len(files),
        details=details,
    )


def _one_line(exc: BaseException) -> str:
    """The error as one line (the orchestrator shows stderr's last): a message's first and last lines,
    e.g. fastparquet's column dump ends with the column's name."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [""]
    message = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
    return f"{type(exc).__name__}: {message}"


def main(argv: list[str]) -> None:
    job_path, result_path = (Path(arg) for arg in argv)
    try:
        measure(Job.load(job_path)).save(result_path)
    except Exception as exc:
        traceback.print_exc()
        print(_one_line(exc), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
