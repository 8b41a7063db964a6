"""The server fixtures give live servers of the right product."""

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

from es_assets.demo import emulators as servers
from es_assets.demo.emulators import free_port, start_opensearch_emulator, wait_until_ready

pytestmark = pytest.mark.integration  # every test here starts a server


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return json.load(resp)


def test_es_url_is_elasticsearch_8(es_url: str) -> None:
    version = get_json(es_url + "/")["version"]
    assert version["number"].startswith("8")
    assert version.get("distribution") != "opensearch"


def test_opensearch_url_is_opensearch(opensearch_url: str) -> None:
    assert get_json(opensearch_url + "/")["version"]["distribution"] == "opensearch"


def test_search_url_matches_its_param(search_url: str, request: pytest.FixtureRequest) -> None:
    distribution = get_json(search_url + "/")["version"].get("distribution", "elasticsearch")
    assert distribution == request.node.callspec.params["search_url"]


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
