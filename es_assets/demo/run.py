"""``make demo`` and ``make dev``: the whole pipeline on synthetic data, nothing to set up.

``demo`` starts the Elasticsearch emulator on loopback, loads several days of Kubernetes
container logs, materializes the asset graph for those days through Dagster's own CLI, prints an
analysis query run through the catalog, and stops the emulator. ``dev`` starts the emulator on
the same data and opens the Dagster UI on it (``dagster dev -w workspace.yaml``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import boto3

from es_assets.catalog.duckdb_catalog import DuckDBCatalog
from es_assets.catalog.iceberg_catalog import IcebergDuckDBCatalog
from es_assets.config import load_settings
from es_assets.demo import k8s_logs
from es_assets.demo.emulators import start_elasticsearch_emulator, start_moto
from es_assets.lake import open_lake
from es_assets.schema.fields import SourceSchema
from es_assets.query import TOP_ERROR_NAMESPACES_SQL, format_table, run_query

PROJECT = Path(__file__).resolve().parents[2]
# --lake: the config file each variant runs on.
CONFIGS = {"local": "es_assets.yaml", "s3": "es_assets.s3-demo.yaml", "iceberg": "es_assets.iceberg-demo.yaml",
           "iceberg-s3": "es_assets.iceberg-s3-demo.yaml"}
STATE = PROJECT / ".demo"
SOURCE = "k8s_logs"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the colours of Dagster's console log


def demo_days(days: int, today: dt.date | None = None) -> list[dt.date]:
    """The ``days`` complete UTC days before today: the newest partitions Dagster offers."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return [today - dt.timedelta(days=n) for n in range(days, 0, -1)]


def _environment(es_url: str, config: str = "es_assets.yaml") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ES_URL=es_url,
        ES_ASSETS_CONFIG=str(PROJECT / config),
        DAGSTER_HOME=str(PROJECT / ".dagster_home"),
    )
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(exist_ok=True)
    if not (home / "dagster.yaml").exists():  # the shipped one-machine instance (no first-start dialog)
        (home / "dagster.yaml").write_text((PROJECT / "deploy" / "local" / "dagster.yaml").read_text())
    return env


@contextlib.contextmanager
def _moto_s3(bucket: str) -> Iterator[dict[str, str]]:
    """moto's server with the demo bucket, and the environment that points boto3 at it."""
    server, stop = start_moto(log_dir=STATE / "logs")
    env = {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",
           "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        os.environ.update(env)  # this process reads the lake back too
        boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket=bucket)
        print(f"moto (S3, Glue, Athena) at {server.url}")
        yield env
    finally:
        stop()


def demo(days: int, docs_per_day: int, lake: str) -> None:
    started = time.monotonic()
    server, stop = start_elasticsearch_emulator(STATE / "elasticsearch", log_dir=STATE / "logs")
    try:
        on_s3 = lake in ("s3", "iceberg-s3")
        with _moto_s3("es-assets-demo") if on_s3 else contextlib.nullcontext({}) as aws_env:
            day_list = demo_days(days)
            print(f"Elasticsearch emulator at {server.url}; loading {days} days x {docs_per_day:,} documents ...")
            for index, count in k8s_logs.load_days(server.url, day_list, docs_per_day).items():
                print(f"  {index}: {count:,} documents")
            env = {**_environment(server.url, CONFIGS[lake]), **aws_env}
            selection = f"elasticsearch/{SOURCE},parquet/{SOURCE},athena/{SOURCE}"
            partition_range = f"{day_list[0]}...{day_list[-1]}"
            print(f"Materializing {selection} for {partition_range} through Dagster ...")
            _materialize_showing_progress(
                [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "es_assets.definitions",
                 "--select", selection, "--partition-range", partition_range],
                env,
            )
            if lake == "s3":
                columns, rows = _query_s3_lake(env["ES_ASSETS_CONFIG"], TOP_ERROR_NAMESPACES_SQL)
                where = "DuckDB over the S3 lake (Glue table es_assets_demo.k8s_logs registered on moto)"
            elif lake == "iceberg-s3":  # Athena cannot run on moto: DuckDB's iceberg_scan reads the Glue table's snapshot
                columns, rows = IcebergDuckDBCatalog(load_settings(env["ES_ASSETS_CONFIG"]).lake).query(
                    TOP_ERROR_NAMESPACES_SQL)
                where = "DuckDB's iceberg extension, Iceberg table es_assets_demo.k8s_logs in Glue on moto"
            elif lake == "iceberg":
                columns, rows = run_query(TOP_ERROR_NAMESPACES_SQL, env["ES_ASSETS_CONFIG"])
                where = "DuckDB's iceberg extension, Iceberg table k8s_logs in the local SQL catalog"
            else:
                columns, rows = run_query(TOP_ERROR_NAMESPACES_SQL, env["ES_ASSETS_CONFIG"])
                where = "DuckDB catalog, table k8s_logs"
            print(f"\nTop namespaces by error count per day ({where}):\n")
            print(format_table(columns, rows))
            print(f"\nDone in {time.monotonic() - started:.0f}s.")
            if lake == "local":  # make dev serves the local lake; moto's data is gone with moto
                print("Open the UI on the same data with `make dev` (http://127.0.0.1:3000).")
    finally:
        stop()


def _materialize_showing_progress(command: list[str], env: dict[str, str]) -> None:
    """Run the Dagster CLI, printing the assets' own log lines (plans, progress, results) as they come."""
    log: list[str] = []
    with subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, bufsize=1) as process:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            # Dagster's CLI lines end in " - <step> - <message>"; the assets' messages start with the source.
            message = _ANSI.sub("", line).rstrip().rsplit(" - ", 1)[-1]
            if message.startswith(f"{SOURCE} "):
                print(f"  {message}", flush=True)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command, stderr="".join(log[-200:]).encode())


def _query_s3_lake(config: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Athena cannot run on moto: DuckDB reads the same published S3 files instead."""
    settings = load_settings(config)
    lake = open_lake(settings.lake)
    catalog = DuckDBCatalog(str(STATE / "s3-lake.duckdb"), settings.lake)
    source = settings.source(SOURCE)
    fields = lake.registered_fields(SOURCE)
    assert fields is not None
    catalog.register(SOURCE, lake, lake.published_days(SOURCE), SourceSchema(fields, source.timestamp_field),
                     source.start_date)
    return catalog.query(sql)


def dev(port: int) -> None:
    server, stop = start_elasticsearch_emulator(STATE / "elasticsearch", log_dir=STATE / "logs")
    try:
        print(f"Elasticsearch emulator at {server.url}; Dagster UI at http://127.0.0.1:{port}")
        dagster = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT, env=_environment(server.url),
        )
        try:
            dagster.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached dagster dev too: let it stop its webserver, daemon and code servers
            # (subprocess.run would SIGKILL it a quarter of a second later and orphan them).
            dagster.wait()
    finally:
        stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="load, materialize, query")
    demo_parser.add_argument("--days", type=int, default=3)
    demo_parser.add_argument("--docs-per-day", type=int, default=34_000)
    demo_parser.add_argument("--lake", choices=sorted(CONFIGS), default="local",
                             help="s3: the lake on S3 and the table in Glue, on a moto server; iceberg: an Iceberg "
                                  "table in a local SQL catalog; iceberg-s3: an Iceberg table on S3 in Glue (moto)")
    dev_parser = commands.add_parser("dev", help="the Dagster UI on the demo data")
    dev_parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            demo(args.days, args.docs_per_day, args.lake)
        else:
            dev(args.port)
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stderr.decode(errors="replace")[-5000:] if exc.stderr else "")
        raise SystemExit(f"the Dagster run failed (exit {exc.returncode}); its log is above")


if __name__ == "__main__":
    main()
