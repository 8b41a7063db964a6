"""The Dagster UI on materialized days: what the webserver's GraphQL API reports and what a browser renders.

Two days are materialized through Dagster's CLI into a persistent ``DAGSTER_HOME``, then
``dagster dev`` serves that instance and Debian's headless Chromium loads the asset graph, the
catalog and an asset's partitions. The asset graph's screenshot is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest
import urllib3

from es_assets.demo import k8s_logs
from es_assets.demo.emulators import free_port, wait_until_ready
from es_assets_tests.support import unique_prefix, write_config

pytestmark = [pytest.mark.integration, pytest.mark.ui]

PROJECT = Path(__file__).resolve().parents[1]
ARTIFACTS = PROJECT / "test-artifacts"
SOURCE = "k8s_logs"
KEYS = [f"{layer}/{SOURCE}" for layer in ("elasticsearch", "parquet", "athena")]
TODAY = dt.datetime.now(dt.timezone.utc).date()
START = TODAY - dt.timedelta(days=5)
DAYS = [TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=2)]  # 2 of the 5 partitions
DOCS_PER_DAY = 300

CHROMIUM = shutil.which("chromium")  # Debian's package: /usr/bin/chromium
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)"
)
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1600,1000",
    # Virtual time stands still while requests are pending, so the SPA's GraphQL answers are in.
    "--virtual-time-budget=15000",
]
RENDER_ATTEMPTS = 3

# "Join the Dagster community" would cover the page; telemetry is of no use to a test.
INSTANCE_YAML = "nux:\n  enabled: false\ntelemetry:\n  enabled: false\n"


def graphql(base_url: str, query: str) -> dict[str, Any]:
    response = urllib3.request("POST", f"{base_url}/graphql", json={"query": query}, timeout=30)
    assert response.status == 200, response.data[:1000]
    body = orjson.loads(response.data)
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


def asset_keys(base_url: str) -> list[str]:
    nodes = graphql(base_url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    return sorted("/".join(node["assetKey"]["path"]) for node in nodes)


def stop_process_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGINT the group (``dagster dev`` shuts its webserver and daemon down), then SIGKILL what is left."""
    os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    # Nothing, normally; everything if SIGINT was ignored (inherited from a `make test &`).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def dagster_ui(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dagster dev`` on an instance holding one run that materialized ``DAYS``; yields its URL."""
    work = tmp_path_factory.mktemp("ui")
    prefix = unique_prefix("ui")
    k8s_logs.load_days(es_url, DAYS, DOCS_PER_DAY, index_prefix=prefix)
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ES_ASSETS_CONFIG": str(write_config(work, es_url, f"{prefix}*", START)),
    }
    materialize = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "es_assets.definitions",
         "--select", ",".join(KEYS), "--partition-range", f"{DAYS[0]}...{DAYS[-1]}"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert materialize.returncode == 0, materialize.stderr[-5000:]

    url = f"http://127.0.0.1:{free_port()}"
    log_path = work / "dagster-dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml",
             "-h", "127.0.0.1", "-p", url.rsplit(":", 1)[1]],
            cwd=PROJECT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one signal reaches every process it starts
        )
        try:
            wait_until_ready(f"{url}/server_info", 120, process, name="dagster dev", log_path=log_path)
            # The webserver answers before the code location has loaded.
            deadline = time.monotonic() + 120
            while asset_keys(url) != sorted(KEYS):
                assert time.monotonic() < deadline, f"code location not loaded; see {log_path}"
                time.sleep(0.5)
            yield url
        finally:
            stop_process_group(process, grace_s=60)


def chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium once; its stdout (the DOM, with ``--dump-dom``)."""
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=120)
    finally:
        # Its renderer and utility processes share its group: none outlives the call.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 0, f"chromium exited with {process.returncode} for {args}"
    return out.decode(errors="replace")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(dom: str) -> str:
    parser = _VisibleText()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())


def rendered(profile: Path, url: str, expected: list[str]) -> str:
    """The DOM of ``url`` once it contains every ``expected`` string (markup or text)."""
    for _ in range(RENDER_ATTEMPTS):  # a cold webserver can answer its first queries slowly
        dom = chromium(profile, "--dump-dom", url)
        page = dom + "\n" + visible_text(dom)
        missing = [s for s in expected if s not in page]
        if not missing:
            return dom
    raise AssertionError(f"{url} rendered without {missing}:\n{visible_text(dom)[:3000]}")


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chromium-profile")


def test_graphql_lists_the_three_assets_and_the_materialized_days(dagster_ui: str) -> None:
    assets = graphql(
        dagster_ui,
        "{ assetsOrError { ... on AssetConnection { nodes { key { path } "
        "definition { partitionStats { numMaterialized } } assetMaterializations { partition } } } } }",
    )["assetsOrError"]["nodes"]
    by_key = {"/".join(a["key"]["path"]): a for a in assets}
    assert sorted(by_key) == sorted(KEYS)
    for asset in by_key.values():
        assert sorted(m["partition"] for m in asset["assetMaterializations"]) == [str(day) for day in DAYS]
        assert asset["definition"]["partitionStats"]["numMaterialized"] == len(DAYS)


@needs_chromium
def test_asset_graph_renders_the_three_assets_with_their_partitions(dagster_ui: str, profile: Path) -> None:
    url = f"{dagster_ui}/asset-groups"  # "Global asset lineage"
    partitions = graphql(
        dagster_ui, '{ assetNodeOrError(assetKey: {path: ["parquet", "k8s_logs"]}) '
        "{ ... on AssetNode { partitionStats { numPartitions } } } }",
    )["assetNodeOrError"]["partitionStats"]["numPartitions"]
    # Each node links to its partitions and says how many there are, once live data is in.
    dom = rendered(profile, url, [f'href="/assets/{key}?view=partitions"' for key in KEYS]
                   + [f"{partitions} partitions"])
    assert visible_text(dom).count(f"{partitions} partitions") == len(KEYS)

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "ui-asset-graph.png"
    screenshot.unlink(missing_ok=True)
    chromium(profile, f"--screenshot={screenshot}", url)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000, "the screenshot is nearly blank"


@needs_chromium
def test_catalog_and_partitions_pages_render(dagster_ui: str, profile: Path) -> None:
    rendered(profile, f"{dagster_ui}/assets", [f'href="/assets/{key}"' for key in KEYS])
    rendered(profile, f"{dagster_ui}/assets/parquet/{SOURCE}?view=partitions",
             [f"Materialized ({len(DAYS)})", *(str(day) for day in DAYS)])
