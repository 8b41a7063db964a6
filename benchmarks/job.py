"""What the orchestrator hands one variant process, and what that process hands back (as JSON files).

Standard library only: every variant process imports this, and nothing here may weigh on a
variant's memory.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

PAGE_SIZE = 10_000  # documents per search page, in every variant
KEEP_ALIVE = "5m"  # PIT / scroll keep-alive, in every variant

# A variant's timed step: read the whole day, return (documents read, variant-specific details).
VariantRun = Callable[[], tuple[int, dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Job:
    kind: str  # "raw" | "raw+parse" | "seed-style" | "es_assets" | "es_assets-iceberg"
    product: str  # "opensearch" | "elasticsearch"
    url: str
    source: str  # the es_assets source's name (the corpus's)
    index: str  # what the source is configured with: an index pattern
    day: str  # YYYY-MM-DD, the seeded day
    query: dict[str, Any]  # the day's range query, built by es_assets' own DayWindow
    filter_path: str  # es_assets.schema.pages.FILTER_PATH
    slices: int  # es_assets only
    workdir: str  # the only place the variant writes to

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def load(cls, path: Path) -> "Job":
        return cls(**json.loads(path.read_text()))


@dataclasses.dataclass(frozen=True)
class Measurement:
    docs: int
    wall_s: float
    cpu_s: float  # user + system time of the whole variant process (all threads)
    rss_ready_mb: float  # resident set once the variant's libraries are imported, before the clock starts
    peak_rss_mb: float  # the process's high-water mark (VmHWM), imports included
    parquet_bytes: int
    parquet_files: int
    details: dict[str, Any]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def load(cls, path: Path) -> "Measurement":
        return cls(**json.loads(path.read_text()))
