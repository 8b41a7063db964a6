"""The es_assets Component in a dg project: scaffolded, edited, checked, listed and launched with `dg`.

The project is written into a temp dir the way ``create-dagster project`` lays one out (pyproject
with ``[tool.dg]``, ``src/<module>/defs``); es_assets is found through its
``dagster_dg_cli.registry_modules`` entry point, as an installed integration is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml

from es_assets.demo import k8s_logs
from es_assets_tests.support import unique_prefix

DG = str(Path(sys.executable).parent / "dg")
COMPONENT = "es_assets.ElasticsearchLakeComponent"
DAYS = [dt.date(2026, 11, 18), dt.date(2026, 11, 19)]
DOCS_PER_DAY = 120


def dg_project(root: Path) -> dict[str, str]:
    """A minimal dg project in ``root``; the environment that runs ``dg`` in it."""
    package = root / "src" / "my_project"
    (package / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "my_project"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["es_assets"]

        [tool.dg]
        directory_type = "project"

        [tool.dg.project]
        root_module = "my_project"
        """))
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text(textwrap.dedent("""\
        from pathlib import Path

        import dagster as dg


        @dg.definitions
        def defs() -> dg.Definitions:
            return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        """))
    (root / "home").mkdir()
    return {**os.environ, "PYTHONPATH": str(root / "src"), "DAGSTER_HOME": str(root / "home"), "COLUMNS": "200",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def dg(root: Path, env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([DG, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert result.returncode == 0, f"dg {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.integration
@pytest.mark.slow
def test_a_scaffolded_component_checks_lists_and_launches_a_backfill(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("dg")
    k8s_logs.load_days(es_url, DAYS, DOCS_PER_DAY, index_prefix=prefix)
    env = dg_project(tmp_path)

    dg(tmp_path, env, "scaffold", "defs", COMPONENT, "my_logs")
    defs_yaml = tmp_path / "src" / "my_project" / "defs" / "my_logs" / "defs.yaml"
    scaffolded = yaml.safe_load(defs_yaml.read_text())
    assert scaffolded["type"] == COMPONENT
    assert scaffolded["attributes"]["sources"][0]["name"] == "my_logs"

    # The user's edits: their cluster, their indices, their first day.
    attributes = scaffolded["attributes"]
    attributes["elasticsearch"]["hosts"] = [es_url]
    attributes["sources"][0].update(index=f"{prefix}*", start_date=DAYS[0].isoformat(), array_fields=["tags"])
    defs_yaml.write_text(yaml.safe_dump(scaffolded))

    dg(tmp_path, env, "check", "defs")
    listed = json.loads(dg(tmp_path, env, "list", "defs", "--json").stdout)
    asset_keys = {asset["asset_key"] for asset in listed["assets"]}
    assert asset_keys == {"elasticsearch/my_logs", "parquet/my_logs", "athena/my_logs"}

    dg(tmp_path, env, "launch", "--assets", "elasticsearch/my_logs,parquet/my_logs,athena/my_logs",
       "--partition-range", f"{DAYS[0]}...{DAYS[-1]}")
    lake = tmp_path / "data" / "my_logs" / "lake" / "my_logs"  # relative paths resolve against the project root
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT dt::VARCHAR, count(*) FROM read_parquet('{lake}/dt=*/*.parquet', hive_partitioning = true) "
            "GROUP BY dt ORDER BY dt"
        ).fetchall()
        catalog = duckdb.connect(str(tmp_path / "data" / "my_logs" / "catalog.duckdb"), read_only=True)
        table_rows = catalog.execute("SELECT count(*) FROM my_logs").fetchone()
        catalog.close()
    assert rows == [(day.isoformat(), DOCS_PER_DAY) for day in DAYS]
    assert table_rows == (DOCS_PER_DAY * len(DAYS),)


@pytest.mark.integration
@pytest.mark.slow
def test_dg_check_reports_every_mistake_of_the_component_with_its_field(tmp_path: Path) -> None:
    env = dg_project(tmp_path)
    dg(tmp_path, env, "scaffold", "defs", COMPONENT, "my_logs")
    defs_yaml = tmp_path / "src" / "my_project" / "defs" / "my_logs" / "defs.yaml"
    scaffolded = yaml.safe_load(defs_yaml.read_text())
    scaffolded["attributes"]["sources"][0].update(start_date="2026-13-45", page_size=50_000)
    scaffolded["attributes"]["lake"]["compression"] = "brotli9"
    defs_yaml.write_text(yaml.safe_dump(scaffolded))
    result = dg(tmp_path, env, "check", "defs", ok=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for problem in ("attributes.lake.compression: 'brotli9' is not one of",
                    "attributes.sources[0].start_date: '2026-13-45' is not a date",
                    "attributes.sources[0].page_size: 50000 exceeds"):
        assert problem in output, output[-3000:]
