"""The server fixtures give live servers of the right product; the emulator launcher's own smoke tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from es_assets.config import ElasticsearchSettings
from es_assets.demo import emulators as servers
from es_assets.demo.emulators import free_port, start_opensearch_emulator, wait_until_ready
from es_assets.source.cluster import ClusterInfo, detect_cluster
from es_assets.source.http import EsHttp
from es_assets_tests.distributions import DISTRIBUTIONS, DistributionError, java_home

pytestmark = pytest.mark.integration  # every test here starts a server


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return json.load(resp)


def detected(url: str) -> ClusterInfo:
    http = EsHttp(ElasticsearchSettings(hosts=(url,)))
    try:
        return detect_cluster(http)
    finally:
        http.close()


@pytest.mark.integration
def test_each_matrix_server_is_the_distribution_it_claims(server_url: str, request: pytest.FixtureRequest) -> None:
    """The engine's own detection names the exact product and version, also where ``GET /`` is 405."""
    key = request.node.callspec.params["server_url"]
    product, version = key.split("-")
    assert detected(server_url).label == f"{product} {version}"


@pytest.mark.integration
def test_the_default_servers_are_elasticsearch_9_and_opensearch_3(es_url: str, opensearch_url: str) -> None:
    assert detected(es_url).label == "elasticsearch 9.5.4"
    assert detected(opensearch_url).label == "opensearch 3.8.0"


@pytest.mark.integration
def test_search_url_matches_its_param(search_url: str, request: pytest.FixtureRequest) -> None:
    assert detected(search_url).product == request.node.callspec.params["search_url"]


def test_moto_s3_bucket_roundtrip(moto_url: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="es-assets-test-bucket")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "es-assets-test-bucket" in names


def test_stop_is_idempotent_and_stops_the_server(tmp_path: Path) -> None:
    server, stop = start_opensearch_emulator(log_dir=tmp_path)
    stop()
    stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url + "/", timeout=2)


def test_start_retries_on_a_new_port_when_the_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, free_port()])
        monkeypatch.setattr(servers, "free_port", lambda: next(ports))
        server, stop = start_opensearch_emulator(log_dir=tmp_path)
        try:
            assert not server.url.endswith(f":{taken}")
            assert get_json(server.url + "/")["version"]["distribution"] == "opensearch"
        finally:
            stop()


def test_wait_until_ready_reports_early_exit(tmp_path: Path) -> None:
    log_path = tmp_path / "dying.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.exit('bind: address already in use')"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(RuntimeError) as excinfo:
        wait_until_ready(url, timeout_s=10, process=process, name="dying-server", log_path=log_path)
    process.wait()
    message = str(excinfo.value)
    assert "dying-server" in message and url in message and "address already in use" in message


def fake_jdk(jvm_dir: Path, name: str, version: str) -> Path:
    home = jvm_dir / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").touch()
    (home / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n')
    return home


def test_each_distribution_gets_a_jdk_it_runs_on(tmp_path: Path) -> None:
    java17 = fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    java25 = fake_jdk(tmp_path, "temurin-25-jdk-amd64", "25.0.3")
    (tmp_path / "java-1.17.0-openjdk-amd64").symlink_to(java17)  # Debian's alias: the same JDK
    homes = {key: java_home(distribution, tmp_path) for key, distribution in DISTRIBUTIONS.items()}
    assert homes == {"elasticsearch-7.17.29": java17, "elasticsearch-8.19.21": java17,
                     "elasticsearch-9.5.4": java25, "opensearch-2.19.6": java17, "opensearch-3.8.0": java25}


def test_a_missing_jdk_names_what_is_needed_and_what_is_there(tmp_path: Path) -> None:
    fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    with pytest.raises(DistributionError) as failure:
        java_home(DISTRIBUTIONS["elasticsearch-9.5.4"], tmp_path)
    assert str(failure.value) == (f"elasticsearch-9.5.4 needs Java 21+; JDKs in {tmp_path}: "
                                  f"Java 17 ({tmp_path / 'java-17-openjdk-amd64'})")
