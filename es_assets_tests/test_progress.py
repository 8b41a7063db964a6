"""Long extractions report progress: documents done of total, rate and ETA."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from es_assets.config import load_settings
from es_assets.demo import k8s_logs
from es_assets.extract import Progress, extract_day
from es_assets.lake import open_lake
from es_assets.source.cluster import detect_cluster, plan_day
from es_assets.source.http import EsHttp
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy
from es_assets_tests.support import unique_prefix, write_config

DAY = dt.date(2026, 6, 1)


@pytest.mark.integration
def test_progress_is_reported_while_slices_run(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("progress")
    k8s_logs.load_days(es_url, [DAY], 600, index_prefix=prefix)
    reports: list[Progress] = []
    with FaultProxy(es_url) as proxy:
        proxy.add_fault(Fault(match=lambda r: r.path.startswith("/_search?"), kind=FaultKind.DELAY,
                              delay_s=0.1, times=10**6))
        settings = load_settings(write_config(tmp_path, proxy.url, f"{prefix}*", DAY,
                                              source={"page_size": 50, "slices": 1}))
        http = EsHttp(settings.elasticsearch)
        plan = plan_day(http, detect_cluster(http), settings.sources[0], DAY)
        result = extract_day(http, settings.sources[0], open_lake(settings.lake), plan,
                             on_progress=reports.append, progress_interval_s=0.2)
    assert result.rows == 600
    assert len(reports) >= 3
    assert all(r.total == 600 for r in reports)
    assert [r.done for r in reports] == sorted(r.done for r in reports)  # never goes back
    assert 0 < reports[-1].done <= 600 and reports[-1].rate > 0
    assert "/600 documents (" in str(reports[-1]) and "docs/s" in str(reports[-1])
