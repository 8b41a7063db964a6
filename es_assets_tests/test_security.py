"""Security: secrets never leak, TLS is verified by default, hostile config is refused (see SECURITY.md)."""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import io
import ipaddress
import logging
import secrets
import ssl
import threading
import traceback
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from es_assets.config import ElasticsearchSettings, load_settings, parse_settings
from es_assets.definitions import build_definitions
from es_assets.demo import k8s_logs
from es_assets.errors import AuthenticationError, ClusterError, ConfigError
from es_assets.source.cluster import ClusterInfo, detect_cluster
from es_assets.source.http import EsHttp
from es_assets_tests.support import unique_prefix, write_config

DAY = dt.date(2026, 11, 20)
USERNAME = "es_assets_reader"
ROOT = orjson.dumps({"name": "tls-node", "version": {"number": "8.15.3"}, "tagline": "You Know, for Search"})
UNAUTHORIZED = orjson.dumps({
    "error": {"type": "security_exception", "reason": "unable to authenticate with provided credentials"},
    "status": 401,
})
FORBIDDEN = orjson.dumps({
    "error": {"type": "security_exception", "reason": "action [indices:data/read/search] is unauthorized"},
    "status": 403,
})
VALID: dict[str, Any] = {
    "elasticsearch": {"hosts": ["http://127.0.0.1:9200"]},
    "lake": {"uri": "file://./lake"},
    "catalog": {"kind": "duckdb", "duckdb_path": "./catalog.duckdb"},
    "sources": [{"name": "k8s_logs", "index": "logs-k8s-*", "timestamp_field": "@timestamp", "start_date": "2026-11-01"}],
}


def config_with(section: str, key: str, value: Any) -> dict[str, Any]:
    """VALID with one key of one section (of the first source, for ``sources``) set to ``value``."""
    raw = copy.deepcopy(VALID)
    (raw[section][0] if section == "sources" else raw[section])[key] = value
    return raw


def es_settings(url: str, tmp_path: Path, **elasticsearch: Any) -> ElasticsearchSettings:
    raw = config_with("elasticsearch", "hosts", [url])
    raw["elasticsearch"].update(retry_budget_seconds=2, **elasticsearch)
    return parse_settings(raw, base_dir=tmp_path, env={}).elasticsearch


def detect(settings: ElasticsearchSettings) -> ClusterInfo:
    with contextlib.closing(EsHttp(settings)) as http:
        return detect_cluster(http)


# --- loopback servers ------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Answers every request with one canned response and records the Authorization headers sent."""

    daemon_threads = True

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.body = status, body
        self.authorizations: list[str] = []

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client refusing our certificate is the expected outcome, not a server error


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        if self.server.status == 401:
            self.send_header("WWW-Authenticate", 'ApiKey, Basic realm="security"')
        self.end_headers()
        self.wfile.write(self.server.body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output to what es_assets itself logs


@contextlib.contextmanager
def serve(status: int, body: bytes, tls: ssl.SSLContext | None = None) -> Iterator[_Server]:
    server = _Server(status, body)
    if tls is not None:
        # Handshake in the handler thread, so a refused certificate ends only that connection.
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def self_signed_certificate(directory: Path, name_in_certificate: x509.GeneralName) -> tuple[Path, Path]:
    """A certificate for one name (subjectAltName) that is its own CA; returns (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "es-assets-test")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([name_in_certificate]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "node.pem", directory / "node.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return cert_path, key_path


# --- 1. secrets never leak -------------------------------------------------------------------


@contextlib.contextmanager
def debug_logs() -> Iterator[io.StringIO]:
    """Every logger at DEBUG into one buffer, including those that do not propagate (elastic_transport.node)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    loggers = [root, *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    levels = [(lg, lg.level) for lg in loggers]
    hooked = [root, *(lg for lg in loggers if not lg.propagate)]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    for lg in hooked:
        lg.addHandler(handler)
    try:
        yield buffer
    finally:
        for lg in hooked:
            lg.removeHandler(handler)
        for lg, level in levels:
            lg.setLevel(level)


def materialize_and_record(config: Path) -> tuple[bool, list[str]]:
    """Materialize DAY's whole graph; return whether it succeeded and everything it exposes, as text.

    Like ``support.materialize_days``, but keeps the instance so its stored event log can be read.
    """
    instance = dg.DagsterInstance.ephemeral()
    defs = build_definitions(load_settings(config))
    result = dg.materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        resources=defs.resources,
        instance=instance,
        partition_key=DAY.isoformat(),
        raise_on_error=False,
    )
    texts = [repr(defs.resources), repr(load_settings(config)), str(load_settings(config))]
    texts += [f"{event!s} {event!r}" for event in result.all_events]
    # The stored event log: user log lines, metadata, step failures with their stack traces.
    texts += [dg.serialize_value(entry) for entry in instance.all_logs(result.run_id)]
    texts += [repr(e.materialization.metadata) for e in result.get_asset_materialization_events()]
    texts += [e.step_failure_data.error.to_string() for e in result.get_step_failure_events() if e.step_failure_data.error]
    return result.success, texts


@pytest.mark.integration
@pytest.mark.parametrize("auth", ["api_key", "basic"])
def test_credentials_never_appear_in_logs_events_metadata_or_errors(
    auth: str, es_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    api_key, password = f"canary-{secrets.token_hex(12)}", f"canary-{secrets.token_hex(12)}"
    monkeypatch.setenv("ES_API_KEY", api_key)
    monkeypatch.setenv("ES_PASSWORD", password)
    basic = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
    header = f"ApiKey {api_key}" if auth == "api_key" else f"Basic {basic}"
    credentials = {"api_key": "${ES_API_KEY}"} if auth == "api_key" else {"username": USERNAME, "password": "${ES_PASSWORD}"}
    canaries = [api_key, password, base64.b64encode(api_key.encode()).decode(), basic, header]

    prefix = unique_prefix("sec")
    k8s_logs.load_days(es_url, [DAY], 200, index_prefix=prefix)
    (tmp_path / "ok").mkdir()
    (tmp_path / "rejected").mkdir()
    with debug_logs() as logs, serve(401, UNAUTHORIZED) as rejecting:
        ok = write_config(tmp_path / "ok", es_url, f"{prefix}*", DAY, elasticsearch=credentials)
        ok_succeeded, ok_texts = materialize_and_record(ok)
        rejected = write_config(tmp_path / "rejected", rejecting.url, f"{prefix}*", DAY, elasticsearch=credentials)
        rejected_succeeded, rejected_texts = materialize_and_record(rejected)
        with contextlib.closing(EsHttp(load_settings(rejected).elasticsearch)) as http:
            with pytest.raises(AuthenticationError) as raised:
                detect_cluster(http)
            texts = [*ok_texts, *rejected_texts, "".join(traceback.format_exception(raised.value)), repr(vars(http))]
    captured = capfd.readouterr()
    texts += [logs.getvalue(), captured.out, captured.err]

    assert ok_succeeded and not rejected_succeeded
    assert header in rejecting.authorizations  # the canary really went out on the wire ...
    scheme = header.split()[0]
    assert f"Authorization: {scheme} <hidden>" in logs.getvalue()  # ... and headers were debug-logged
    leaks = [(canary, text[max(0, text.find(canary) - 80):text.find(canary) + 80])
             for canary in canaries for text in texts if canary in text]
    assert not leaks, leaks


# --- 2. TLS verification on by default -------------------------------------------------------


@contextlib.contextmanager
def https_node(directory: Path, name_in_certificate: x509.GeneralName) -> Iterator[tuple[int, Path]]:
    """A loopback HTTPS 'Elasticsearch 8.15.3' with a self-signed certificate: (port, certificate)."""
    certificate, key = self_signed_certificate(directory, name_in_certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    with serve(200, ROOT, tls=context) as server:
        yield server.server_port, certificate


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(url, certificate) of a node whose certificate names IP 127.0.0.1."""
    with https_node(tmp_path_factory.mktemp("tls"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))) as (port, cert):
        yield f"https://127.0.0.1:{port}", cert


def test_an_unknown_certificate_is_refused_with_what_to_configure(tls_node: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = tls_node
    settings = es_settings(url, tmp_path)
    assert settings.verify_certs is True
    with pytest.raises(ClusterError, match=r"(?s)TLS handshake .*CERTIFICATE_VERIFY_FAILED.*elasticsearch\.ca_certs"):
        detect(settings)


def test_the_configured_ca_is_trusted(tls_node: tuple[str, Path], tmp_path: Path) -> None:
    url, certificate = tls_node
    cluster = detect(es_settings(url, tmp_path, ca_certs=str(certificate)))
    assert cluster.version == (8, 15, 3)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_trusted_certificate_for_another_name_is_refused(host: str, tmp_path: Path) -> None:
    # Both paths: elastic_transport checks DNS names itself and leaves IP addresses to urllib3.
    with https_node(tmp_path, x509.DNSName("es-node.example")) as (port, certificate):
        settings = es_settings(f"https://{host}:{port}", tmp_path, ca_certs=str(certificate))
        with pytest.raises(ClusterError, match=r"TLS handshake .*match.*elasticsearch\.hosts"):
            detect(settings)


def test_disabling_verification_works_but_warns(tls_node: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = tls_node
    with warnings.catch_warnings(record=True) as warned, debug_logs() as logs:
        warnings.simplefilter("always")
        cluster = detect(es_settings(url, tmp_path, verify_certs=False))
    assert cluster.version == (8, 15, 3)
    assert "es_assets.source.http WARNING TLS certificate verification is disabled" in logs.getvalue()
    assert any("verify_certs=False is insecure" in str(w.message) for w in warned)  # elastic_transport's own


@pytest.mark.parametrize(("status", "body", "hint"), [
    (401, UNAUTHORIZED, "check elasticsearch.api_key or username/password"),
    (403, FORBIDDEN, "monitor cluster privilege and read, view_index_metadata and monitor on the source indices"),
])
def test_rejected_credentials_say_what_to_fix(tmp_path: Path, status: int, body: bytes, hint: str) -> None:
    with serve(status, body) as server:
        with pytest.raises(AuthenticationError, match=f"HTTP {status}") as raised:
            detect(es_settings(server.url, tmp_path))
    assert hint in str(raised.value)
    assert len(server.authorizations) == 1  # refused credentials are not retried


# --- 3. hostile config is refused at validation ----------------------------------------------

BEYOND = "reaches beyond one source"
NOT_AN_INDEX = "start with a letter or digit"


@pytest.mark.parametrize(("index", "message"), [
    ("_all", BEYOND),
    ("*", BEYOND),
    ("**", BEYOND),
    ("*,-logs-k8s-secret", BEYOND),
    ("logs-k8s-*,-logs-k8s-secret", BEYOND),  # exclusions are refused too: a source names what it reads
    ("-logs-k8s-*", BEYOND),
    ("logs-k8s-*,", BEYOND),
    ("remote:logs-k8s-*", "remote-cluster pattern 'remote:logs-k8s-*' is not allowed"),
    ("*:logs-k8s-*", "remote-cluster pattern"),
    (".security*", "system or hidden indices"),
    (".security-7", "system or hidden indices"),
    ("logs-k8s-*,.kibana", "system or hidden indices"),
    ("_security", NOT_AN_INDEX),
    ("*logs", NOT_AN_INDEX),
    ("logs-k8s-*/../_security", NOT_AN_INDEX),
    ("logs-k8s-*?pretty", NOT_AN_INDEX),
    ("logs k8s", NOT_AN_INDEX),
    ("<logs-k8s-{now/d}>", NOT_AN_INDEX),
])
def test_index_patterns_reaching_beyond_the_source_are_refused(tmp_path: Path, index: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^sources\\[0\\]\\.index: ") as raised:
        parse_settings(config_with("sources", "index", index), base_dir=tmp_path, env={})
    assert message in str(raised.value)


@pytest.mark.parametrize("index", ["logs-k8s-*", "logs-k8s-2026.11.20", "logs-k8s-*,audit-*", "k8s_logs_alias", "2026-logs"])
def test_plain_index_patterns_are_accepted(tmp_path: Path, index: str) -> None:
    assert parse_settings(config_with("sources", "index", index), base_dir=tmp_path, env={}).sources[0].index == index


@pytest.mark.parametrize("name", [
    "../etc", "k8s/logs", "k8s-logs", "K8s_logs", "1logs", "_versions", "logs;drop", "logs\n", "lógs", "x" * 64,
])
def test_source_names_must_be_safe_identifiers(tmp_path: Path, name: str) -> None:
    # The name is the table name and a directory of the lake: nothing but [a-z][a-z0-9_]*.
    with pytest.raises(ConfigError, match=r"^sources\[0\]\.name: .* must be lower-case letters"):
        parse_settings(config_with("sources", "name", name), base_dir=tmp_path, env={})


@pytest.mark.parametrize(("uri", "message"), [
    ("ftp://somewhere/lake", "must start with file://"),
    ("http://somewhere/lake", "must start with file://"),
    ("s3://bucket/lake/../other", "'..' is not allowed"),
    ("s3://Bucket_Name/lake", "not a valid S3 bucket name"),
    ("file://../lake", "'..'"),
    ("file://./lake/../../elsewhere", "'..'"),
    ("file:///", "filesystem root"),
    ("file://./lake?x=1", "query or fragment"),
    ("file://./lake#x", "query or fragment"),
])
def test_unsafe_lake_uris_are_refused(tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^lake\.uri: ") as raised:
        parse_settings(config_with("lake", "uri", uri), base_dir=tmp_path, env={})
    assert message in str(raised.value)


def test_a_relative_lake_resolves_under_the_config_directory(tmp_path: Path) -> None:
    settings = parse_settings(config_with("lake", "uri", "file://./data/lake"), base_dir=tmp_path, env={})
    assert settings.lake.uri == f"file://{tmp_path}/data/lake"


@pytest.mark.parametrize(("path", "message"), [
    ("../catalog.duckdb", "'..'"),
    ("./data/../../catalog.duckdb", "'..'"),
    (":memory:", "must be a local file path"),
    ("md:my_database", "must be a local file path"),
    ("s3://bucket/catalog.duckdb", "must be a local file path"),
])
def test_unsafe_duckdb_paths_are_refused(tmp_path: Path, path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^catalog\.duckdb_path: ") as raised:
        parse_settings(config_with("catalog", "duckdb_path", path), base_dir=tmp_path, env={})
    assert message in str(raised.value)


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^elasticsearch\.ca_certs: .*no such file"):
        parse_settings(config_with("elasticsearch", "ca_certs", "./missing-ca.pem"), base_dir=tmp_path, env={})

