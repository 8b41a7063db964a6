"""Killed runs converge and concurrent runs never mix: the day is always whole.

Runs are real ``dagster asset materialize`` processes. A loopback proxy slows every search page
down, so that a SIGKILL at a random moment lands mid-extraction (mid-page, mid-file, before or
after publishing, before cataloguing) rather than before or after the whole run.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow.dataset as pads
import pytest

from es_assets.config import load_settings
from es_assets.demo import k8s_logs
from es_assets.lake.base import VERSIONS_DIR, partition_name
from es_assets.lake.local import LocalLake
from es_assets.lake.s3 import S3Lake
from es_assets_tests.distributions import DISTRIBUTIONS
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy
from es_assets_tests.support import aws_settings, lake_rows, unique_prefix, write_config

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 8, 3)
DOCS = 2_000
PAGE = 100
SELECTION = "elasticsearch/k8s_logs,parquet/k8s_logs,athena/k8s_logs"
PROJECT = Path(__file__).resolve().parents[1]


def start_run(config: Path, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ES_ASSETS_CONFIG": str(config), "DAGSTER_HOME": str(home)}
    home.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "es_assets.definitions",
         "--select", SELECTION, "--partition", DAY.isoformat()],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def slow_pages(proxy: FaultProxy, delay_s: float = 0.15) -> None:
    proxy.add_fault(Fault(match=lambda r: r.path.startswith("/_search?"), kind=FaultKind.DELAY,
                          delay_s=delay_s, times=10**6))


def rows_by_id(config: Path) -> dict[str, dict[str, Any]]:
    return {row["_id"]: row for row in lake_rows(load_settings(config), "k8s_logs")}


def assert_whole_or_absent(config: Path) -> None:
    """What a reader can see right now is one whole published version, or no day at all."""
    lake = LocalLake(load_settings(config).lake.uri)
    manifest = lake.manifest("k8s_logs", DAY)
    if lake.published_partition("k8s_logs", DAY) is None:
        return
    assert manifest is not None, "a published day without its manifest"
    rows = rows_by_id(config)
    assert len(rows) == manifest["rows"] == DOCS


@pytest.fixture(scope="module")
def source(es_url: str) -> dict[str, Any]:
    prefix = unique_prefix("crash")
    k8s_logs.load_days(es_url, [DAY], DOCS, index_prefix=prefix)
    return {"es_url": es_url, "prefix": prefix}


@pytest.fixture(scope="module")
def matrix_source(server_url: str) -> dict[str, Any]:
    """The day in a 3-shard index of each real server version."""
    prefix = unique_prefix("crash")
    k8s_logs.load_days(server_url, [DAY], DOCS, index_prefix=prefix, shards=3)
    return {"es_url": server_url, "prefix": prefix}


def undisturbed_rows(source: dict[str, Any], directory: Path) -> dict[str, dict[str, Any]]:
    """The day as one run that nothing disturbs writes it."""
    config = write_config(directory, source["es_url"], f"{source['prefix']}*", DAY,
                          source={"page_size": PAGE, "slices": 2})
    run = start_run(config, directory / "home")
    assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-3000:] if run.stderr else ""
    return rows_by_id(config)


@pytest.fixture(scope="module")
def undisturbed(source: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return undisturbed_rows(source, tmp_path_factory.mktemp("undisturbed"))


@pytest.fixture(scope="module")
def matrix_undisturbed(matrix_source: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
                       ) -> dict[str, dict[str, Any]]:
    return undisturbed_rows(matrix_source, tmp_path_factory.mktemp("undisturbed"))


# Every version once, each with its own kill pattern (the CI budget allows one killed-run test per version).
KILLS = [(server, seed) for seed, server in enumerate(DISTRIBUTIONS, start=1)]


@pytest.mark.parametrize(("server_url", "seed"), KILLS, indirect=["server_url"])
def test_a_killed_run_converges_to_the_undisturbed_day(
    matrix_source: dict[str, Any], matrix_undisturbed: dict[str, dict[str, Any]], tmp_path: Path, seed: int
) -> None:
    source, undisturbed = matrix_source, matrix_undisturbed
    with FaultProxy(source["es_url"]) as proxy:
        slow_pages(proxy)
        config = write_config(tmp_path, proxy.url, f"{source['prefix']}*", DAY,
                              source={"page_size": PAGE, "slices": 2})
        for kill in range(2):  # kill twice, so a second run also starts over leftovers
            run = start_run(config, tmp_path / "home")
            time.sleep(random.Random(seed * 10 + kill).uniform(2.0, 8.0))
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            assert_whole_or_absent(config)
        run = start_run(config, tmp_path / "home")
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-3000:] if run.stderr else ""
    assert rows_by_id(config) == undisturbed
    lake_root = Path(load_settings(config).lake.uri.removeprefix("file://"))
    versions = [p for p in (lake_root / VERSIONS_DIR / "k8s_logs" / partition_name(DAY)).iterdir() if p.is_dir()]
    assert len(versions) == 1  # nothing orphaned: only the published version is left


def test_a_run_killed_after_publishing_and_before_cataloguing(
    source: dict[str, Any], undisturbed: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    config = write_config(tmp_path, source["es_url"], f"{source['prefix']}*", DAY, source={"page_size": PAGE})
    lake = LocalLake(load_settings(config).lake.uri)
    run = start_run(config, tmp_path / "home")
    deadline = time.monotonic() + 300
    while lake.manifest("k8s_logs", DAY) is None and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert_whole_or_absent(config)
    run = start_run(config, tmp_path / "home")
    assert run.wait(timeout=300) == 0
    assert rows_by_id(config) == undisturbed


def test_two_runs_of_one_day_at_once_never_mix(
    source: dict[str, Any], undisturbed: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    with FaultProxy(source["es_url"]) as proxy:
        slow_pages(proxy, delay_s=1.0)  # 20 pages: the first run holds the day for 20 s or more
        config = write_config(tmp_path, proxy.url, f"{source['prefix']}*", DAY, source={"page_size": PAGE})
        first = start_run(config, tmp_path / "home-1")
        staging = Path(load_settings(config).lake.uri.removeprefix("file://")) / VERSIONS_DIR / "k8s_logs"
        while not list(staging.glob("*/*/")) and first.poll() is None:
            time.sleep(0.05)  # wait until the first run is writing the day
        second = start_run(config, tmp_path / "home-2")
        outcomes = [first.wait(timeout=300), second.wait(timeout=300)]
        second_log = second.stderr.read().decode() if second.stderr else ""
    assert sorted(outcomes) == [0, 1]  # one wins, the other fails ...
    assert "another run is writing k8s_logs 2026-08-03" in second_log  # ... and says why
    assert rows_by_id(config) == undisturbed


@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_killed_while_writing_to_s3_converges_and_leaves_nothing_behind(
    source: dict[str, Any], undisturbed: dict[str, dict[str, Any]], moto_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, seed: int,
) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_url)
    if "crashes" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="crashes")
    prefix = f"seed-{seed}"
    with FaultProxy(source["es_url"]) as proxy:
        slow_pages(proxy)
        config = write_config(tmp_path, proxy.url, f"{source['prefix']}*", DAY, source={"page_size": PAGE, "slices": 2},
                              **aws_settings("crashes", prefix, moto_url, moto_url, f"crash_{seed}"))
        lake = S3Lake(load_settings(config).lake)
        for kill in range(2):
            run = start_run(config, tmp_path / "home")
            time.sleep(random.Random(seed * 10 + kill).uniform(2.0, 8.0))
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            manifest = lake.manifest("k8s_logs", DAY)
            assert manifest is None or manifest["rows"] == DOCS  # readers see a whole day or none
        run = start_run(config, tmp_path / "home")
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-3000:] if run.stderr else ""
    files = lake.published_files("k8s_logs", DAY)
    with duckdb.connect() as con:
        con.register("day", pads.dataset(files, filesystem=lake.filesystem, format="parquet"))
        rows = {r["_id"]: r for r in con.execute("SELECT * FROM day").to_arrow_table().to_pylist()}
    assert rows == {key: {k: v for k, v in row.items() if k != "dt"} for key, row in undisturbed.items()}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="crashes", Prefix=f"{prefix}/k8s_logs/").get("Contents", [])]
    assert {key.split("/")[3] for key in keys} == {lake.published_location("k8s_logs", DAY).rsplit("/", 1)[1]}
    assert not s3.list_multipart_uploads(Bucket="crashes", Prefix=prefix).get("Uploads")
