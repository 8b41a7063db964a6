"""Synthetic Kubernetes container logs, shaped like Fluent Bit ships them to Elasticsearch.

The demo, the tests and the benchmark share this module so that they all extract the same
kind of data: daily ``logs-k8s-YYYY.MM.DD`` indices holding what Fluent Bit's ``kubernetes``
filter and ``es`` output (``Logstash_Format On``) would index for a mid-sized cluster -- about
twenty namespaces, a few hundred pods, a mix of nginx access lines, JSON application logs,
Java / Python stack traces and klog lines, with unicode throughout and optional fields that
really are missing from some documents.

* :func:`generate_docs` is a pure, deterministic generator: the same ``(day, count, seed)``
  always yields exactly the same ``(doc_id, source)`` pairs. It draws from pools precomputed
  once per process, so it produces well over 60,000 documents per second on one core.
* :func:`load_days` (re)creates one index per day with :func:`index_mapping` and bulk-indexes
  the generated documents over plain HTTP (urllib3 + orjson, no client library).

Command line (loads the days ending yesterday, UTC, unless ``--end-day`` is given)::

    python -m es_assets.demo.k8s_logs --url http://127.0.0.1:9200 --days 3 --docs-per-day 34000
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import functools
import math
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, TypeVar

import orjson
import urllib3

INDEX_PREFIX = "logs-k8s-"

_MS_PER_DAY = 86_400_000
_REGISTRY = "registry.example.com"
# Probability that a document carries the optional field.
_P_HTTP = 0.70
_P_TRACE = 0.90
_P_USER = 0.85
# Extra error rate of the one namespace that has "an incident" on a given day, so the
# "top namespaces by errors per day" ranking changes from day to day.
_INCIDENT_ERROR_BOOST = 0.12
_T = TypeVar("_T")

# Size of the lookup tables that turn one uniform draw into a categorical value.
_TABLE = 1000


def index_name(day: dt.date, prefix: str = INDEX_PREFIX) -> str:
    """Daily index name, e.g. ``logs-k8s-2026.11.23``."""
    return f"{prefix}{day:%Y.%m.%d}"


def index_mapping(shards: int = 2) -> dict[str, Any]:
    """Body for ``PUT /<index>``: settings plus an explicit mapping of every generated field."""
    keyword = {"type": "keyword"}
    return {
        "settings": {"number_of_shards": shards, "number_of_replicas": 0},
        "mappings": {
            "dynamic": True,
            "properties": {
                "@timestamp": {"type": "date"},
                # Lines are at most a few hundred bytes; the sub-field keeps all of them.
                "log": {
                    "type": "text",
                    "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}},
                },
                "stream": keyword,
                "level": keyword,
                "message": {"type": "text"},
                "kubernetes": {
                    "properties": {
                        "pod_name": keyword,
                        "namespace_name": keyword,
                        "pod_id": keyword,
                        "host": keyword,
                        "container_name": keyword,
                        "container_image": keyword,
                        "docker_id": keyword,
                        "labels": {
                            "properties": {"app": keyword, "tier": keyword, "version": keyword}
                        },
                    }
                },
                "http": {
                    "properties": {
                        "method": keyword,
                        "path": keyword,
                        "status": {"type": "integer"},
                        "latency_ms": {"type": "double"},
                        "bytes": {"type": "long"},
                    }
                },
                "tags": keyword,
                "trace_id": keyword,
                "user": {"properties": {"id": keyword, "name": keyword}},
            },
        },
    }


# --------------------------------------------------------------------------------------------
# The simulated cluster. Each namespace: (name, share of log volume, base error rate,
# debug rate, apps); each app: (name, tier, log style, replicas, image). An image of None
# means an in-house service built to the company registry: those carry a
# ``labels.version``, the third-party charts in this cluster do not set one.
# --------------------------------------------------------------------------------------------
_NODE_COUNT = 20
_AppSpec = tuple[str, str, str, int, str | None]
_NamespaceSpec = tuple[str, float, float, float, tuple[_AppSpec, ...]]

_CLUSTER: tuple[_NamespaceSpec, ...] = (
    ("ingress-nginx", 16, 0.030, 0.00, (
        ("ingress-nginx-controller", "edge", "nginx", 9, "registry.k8s.io/ingress-nginx/controller:v1.12.1"),
    )),
    ("payments", 7, 0.140, 0.05, (
        ("payments-api", "backend", "java", 10, None),
        ("payments-worker", "worker", "java", 4, None),
        ("fraud-scorer", "backend", "python", 3, None),
    )),
    ("checkout", 9, 0.090, 0.05, (
        ("checkout-web", "frontend", "json", 12, None),
        ("checkout-api", "backend", "java", 6, None),
        ("cart-service", "backend", "json", 5, None),
    )),
    ("kube-system", 9, 0.020, 0.00, (
        ("coredns", "infra", "klog", 3, "registry.k8s.io/coredns/coredns:v1.11.3"),
        ("kube-proxy", "infra", "klog", _NODE_COUNT, "registry.k8s.io/kube-proxy:v1.31.4"),
        ("aws-node", "infra", "klog", _NODE_COUNT, "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.2"),
        ("metrics-server", "infra", "klog", 2, "registry.k8s.io/metrics-server/metrics-server:v0.7.2"),
    )),
    ("données-été", 3, 0.110, 0.10, (
        ("rapport-saisonnier", "batch", "python", 3, None),
        ("export-meteo", "batch", "python", 2, None),
    )),
    ("catalog", 6, 0.020, 0.10, (
        ("catalog-api", "backend", "json", 10, None),
        ("pricing", "backend", "java", 4, None),
    )),
    ("search", 6, 0.035, 0.05, (
        ("search-api", "backend", "json", 10, None),
        ("indexer", "worker", "java", 3, None),
    )),
    ("inventory", 5, 0.050, 0.05, (
        ("inventory-api", "backend", "java", 8, None),
        ("stock-sync", "worker", "python", 2, None),
    )),
    ("shipping", 4, 0.040, 0.05, (
        ("shipping-api", "backend", "json", 6, None),
        ("label-printer", "worker", "python", 2, None),
    )),
    ("notifications", 4, 0.045, 0.00, (
        ("notifier", "worker", "json", 4, None),
        ("email-sender", "worker", "python", 3, None),
    )),
    ("auth", 5, 0.025, 0.05, (
        ("auth-api", "backend", "json", 8, None),
        ("keycloak", "backend", "java", 3, "quay.io/keycloak/keycloak:26.0.7"),
    )),
    ("users", 4, 0.020, 0.05, (
        ("users-api", "backend", "json", 6, None),
        ("profile-images", "backend", "python", 2, None),
    )),
    ("recommendations", 3, 0.060, 0.10, (
        ("recs-api", "backend", "python", 4, None),
        ("feature-store", "data", "java", 2, None),
    )),
    ("ml-serving", 2, 0.070, 0.00, (
        ("model-gateway", "ml", "python", 3, None),
        ("triton", "ml", "klog", 2, "nvcr.io/nvidia/tritonserver:24.10-py3"),
    )),
    ("data-pipeline", 3, 0.050, 0.10, (
        ("kafka-connect", "data", "java", 3, "confluentinc/cp-kafka-connect:7.7.1"),
        ("etl-runner", "batch", "python", 4, None),
    )),
    ("monitoring", 3, 0.010, 0.00, (
        ("prometheus", "infra", "klog", 2, "quay.io/prometheus/prometheus:v2.55.1"),
        ("grafana", "infra", "json", 2, "grafana/grafana:11.3.1"),
        ("node-exporter", "infra", "klog", _NODE_COUNT, "quay.io/prometheus/node-exporter:v1.8.2"),
    )),
    ("logging", 4, 0.015, 0.00, (
        ("fluent-bit", "infra", "klog", _NODE_COUNT, "cr.fluentbit.io/fluent/fluent-bit:3.2.4"),
    )),
    ("cert-manager", 1, 0.030, 0.00, (
        ("cert-manager", "infra", "klog", 1, "quay.io/jetstack/cert-manager-controller:v1.16.2"),
        ("cert-manager-webhook", "infra", "klog", 1, "quay.io/jetstack/cert-manager-webhook:v1.16.2"),
    )),
    ("argocd", 2, 0.020, 0.05, (
        ("argocd-server", "infra", "json", 2, "quay.io/argoproj/argocd:v2.13.2"),
        ("argocd-repo-server", "infra", "json", 2, "quay.io/argoproj/argocd:v2.13.2"),
        ("argocd-application-controller", "infra", "json", 1, "quay.io/argoproj/argocd:v2.13.2"),
    )),
    ("default", 1, 0.050, 0.00, (
        ("debug-shell", "tools", "python", 1, None),
    )),
)

# Apps whose pods (one per node) are named by a DaemonSet rather than a ReplicaSet.
_DAEMONSETS = frozenset({"kube-proxy", "aws-node", "node-exporter", "fluent-bit"})
# Alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_RESOURCES = (
    "orders", "items", "carts", "users", "sessions", "products", "invoices", "refunds",
    "payments", "shipments", "reviews", "tokens", "prices", "stock", "reports", "features",
)

_USER_NAMES = (
    # Latin scripts with diacritics
    "José Núñez", "Zoë Dupré", "Jürgen Müller", "Łukasz Wójcik", "Çağla Öztürk",
    "Søren Kierkegaard", "Björk Guðmundsdóttir", "François Lefèvre", "Nguyễn Văn An",
    "Ana Conceição", "Ólafur Arnalds", "Dvořák Antonín", "Mary O'Brien", "Li Wei",
    "Alex Smith", "Priya Patel", "Kwame Mensah", "Ngozi Okafor", "Sam Taylor",
    # Other scripts, including right-to-left
    "山田太郎", "王伟", "김민준", "Анна Иванова", "Νίκος Παπαδόπουλος", "محمد العلي",
    "דוד כהן", "अमित शर्मा", "สมชาย ใจดี", "Արամ Խաչատրյան",
    # Display names with emoji
    "alex 🚀", "🦊 renard", "dev_ops 👩‍💻",
)

_TAG_POOL = (
    "canary", "pci", "gdpr", "beta", "batch", "retry", "slow-request", "cache-miss",
    "eu-west-1", "blue", "green", "experiment:checkout-v2", "🔥hot-path", "sampled",
)

# Application log messages by level, shared by the json, java and python styles.
_APP_MESSAGES: dict[str, tuple[str, ...]] = {
    "DEBUG": (
        "cache hit key=cart:u-004211 ttl=300s",
        "SQL: SELECT id, status, total_cents FROM orders WHERE customer_id = $1 LIMIT 50",
        "decoded JWT claims sub=u-001234 scope=read:orders exp=1795000000",
        "span started name=HTTP GET parent=none sampled=true",
        "feature flag evaluated flag=new-checkout variant=treatment bucket=42",
        "kafka fetch partition=7 offset=1289345 records=64 bytes=48213",
        "clé de cache calculée pour l'utilisateur — région=été-2026",
    ),
    "INFO": (
        "request completed",
        "order placed 🎉",
        "cache warmed in 182 ms (12034 entries)",
        "consumer group rebalanced: 12 partitions assigned",
        "scheduled job finished: reconcile-ledger (processed=4821, skipped=3)",
        "connection pool resized: min=8 max=32 active=11",
        "published 48 events to topic orders.v2",
        "Commande confirmée ✅ — livraison prévue demain",
        "注文を受け付けました 🛒 (注文番号 A-20931)",
        "تم استلام الطلب بنجاح",
        "Zahlung bestätigt 💶 für Bestellung 77812",
        "user session refreshed",
        "rapport saisonnier généré: 1 204 lignes, durée 3,2 s",
    ),
    "WARN": (
        "retrying request to inventory-api (attempt 2/5) after 250ms",
        "slow query detected: 1843 ms for SELECT * FROM order_lines WHERE order_id = ANY($1)",
        "circuit breaker half-open for upstream fraud-scorer",
        "access token expires in 5 minutes, refreshing",
        "deprecated API version v1beta1 used by client mobile-ios/5.2.1",
        "Délai d'attente dépassé ⚠️, nouvelle tentative dans 2 s",
        "メモリ使用率が高い: 87% (閾値 85%)",
        "rate limit close to quota: 940/1000 requests per minute",
        "אזהרה: זמן תגובה איטי מהשרת",
    ),
    "ERROR": (
        "failed to reserve inventory: upstream timeout after 3000ms",
        "database connection refused: dial tcp 10.0.7.21:5432: connect: connection refused",
        "payment declined by issuer: insufficient_funds (code=51)",
        "unhandled exception in request handler",
        "Échec du paiement 💥 : carte refusée par la banque",
        "处理订单失败: 上游服务超时",
        "فشل الاتصال بقاعدة البيانات",
        "message processing failed, sending to dead-letter topic orders.v2.dlq",
        "could not render template: missing key 'shipping_address'",
    ),
}

# klog-formatted lines from control-plane style components.
_KLOG_MESSAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "DEBUG": (
        ("reflector.go:376", '"Listing and watching" type="*v1.Endpoints" reflector="pkg/mod/k8s.io/client-go@v0.31.4/tools/cache/reflector.go:243"'),
        ("round_trippers.go:553", '"Response" verb="GET" url="https://10.100.0.1:443/api/v1/nodes?resourceVersion=0" status="200 OK" milliseconds=4'),
    ),
    "INFO": (
        ("controller.go:224", '"Successfully synced" key="payments/payments-api-6d9f7c8b5d" duration="1.204ms"'),
        ("proxier.go:1504", '"Syncing iptables rules" ipFamily="IPv4" numServices=187 numEndpoints=402'),
        ("server.go:153", '"Reloading plugin" plugin="kubernetes" zone="cluster.local." serial=1732611842'),
        ("scrape.go:1242", '"Scrape completed" target="http://10.0.5.6:9100/metrics" samples=1843 duration="38ms"'),
        ("ipamd.go:712", '"Successfully increased IP pool" node="ip-10-0-12-34.eu-west-1.compute.internal" warmIPTarget=5'),
    ),
    "WARN": (
        ("reflector.go:561", '"Watch close - unexpected EOF" type="*v1.Pod" resourceVersion="48291734"'),
        ("scrape.go:1399", '"Append failed" target="http://10.0.9.14:8080/metrics" err="out of order sample"'),
        ("cache.go:102", '"Slow read from upstream" upstream="10.100.0.10:53" latency="1.204s" query="A payments-api.payments.svc.cluster.local."'),
    ),
    "ERROR": (
        ("controller.go:331", '"Reconciler error" err="Operation cannot be fulfilled on certificates.cert-manager.io \\"shop-tls\\": the object has been modified; please apply your changes to the latest version and try again"'),
        ("storage.go:482", '"Failed to write chunk" err="write /data/wal/00001843: no space left on device"'),
        ("ipamd.go:598", '"Failed to allocate a private IP address" err="InsufficientFreeAddressesInSubnet: subnet-0a1b2c3d4e5f has no free addresses"'),
        ("out_es.c:930", '"HTTP status=429 URI=/_bulk, response: es_rejected_execution_exception"'),
    ),
}

# nginx error-log messages, for ingress lines that are not HTTP accesses.
_NGINX_ERRORS: dict[str, tuple[str, ...]] = {
    "DEBUG": ("http keepalive handler",),
    "INFO": ("client closed keepalive connection", "reloading configuration: backends changed"),
    "WARN": (
        "an upstream response is buffered to a temporary file /tmp/nginx/proxy_temp/4/31/0000000314",
        "upstream server temporarily disabled while reading response header from upstream",
    ),
    "ERROR": (
        "upstream timed out (110: Connection timed out) while reading response header from upstream",
        "no live upstreams while connecting to upstream",
        "connect() failed (111: Connection refused) while connecting to upstream",
    ),
}

_JAVA_EXCEPTIONS = (
    "java.net.SocketTimeoutException: Read timed out\n"
    "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n"
    "\tat com.example.{pkg}.client.InventoryClient.reserve(InventoryClient.java:87)\n"
    "\t... 42 common frames omitted",
    "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection\n"
    "\tat com.example.{pkg}.repo.OrderRepository.save(OrderRepository.java:52)\n"
    "Caused by: com.zaxxer.hikari.pool.HikariPool$PoolInitializationException: timeout 30000ms",
    "java.lang.IllegalStateException: Ungültiger Zustand für Bestellung »A-77812«\n"
    "\tat com.example.{pkg}.domain.Order.transition(Order.java:133)",
    "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null\n"
    "\tat com.example.{pkg}.api.Controller.handle(Controller.java:61)",
)

_PYTHON_TRACEBACKS = (
    'Traceback (most recent call last):\n  File "/app/{pkg}/handlers.py", line 88, in handle\n'
    "    result = await client.post(url, json=payload)\n"
    "httpx.ReadTimeout: timed out",
    'Traceback (most recent call last):\n  File "/app/{pkg}/tasks.py", line 214, in run\n'
    "    rows = session.execute(stmt).all()\n"
    "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) server closed the connection",
    'Traceback (most recent call last):\n  File "/app/{pkg}/report.py", line 41, in render\n'
    "    ligne = modèle.format(**données)\n"
    "KeyError: 'température'",
)

_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "shop-android/5.2.1 (Pixel 8; Android 15)",
    "kube-probe/1.31",
    "curl/8.11.0",
)
_REFERERS = ("-", "https://shop.example.com/", "https://shop.example.com/checkout", "https://www.google.com/")

# strftime's %b would depend on the locale; nginx always writes English month names.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_METHOD_WEIGHTS = (("GET", 70), ("POST", 20), ("PUT", 5), ("DELETE", 3), ("PATCH", 2))
_STATUS_WEIGHTS: dict[str, tuple[tuple[int, int], ...]] = {
    "DEBUG": ((200, 90), (204, 5), (304, 5)),
    "INFO": ((200, 80), (201, 8), (204, 4), (301, 2), (304, 6)),
    "WARN": ((400, 30), (401, 15), (403, 10), (404, 30), (409, 5), (429, 10)),
    "ERROR": ((500, 45), (502, 20), (503, 20), (504, 15)),
}


_User = tuple[str, str, str]  # (id, name, name as a JSON string literal)


@dataclass(frozen=True, slots=True)
class _Pod:
    namespace_index: int
    style: str
    logger: str  # logger / package name that appears in the log lines
    kubernetes: dict[str, Any]  # template; copied into every document
    labels: dict[str, str]
    paths: tuple[str, ...]
    http_port: int


@dataclass(frozen=True, slots=True)
class _Pools:
    """Everything that does not depend on the day or seed, built once per process."""

    pods: tuple[_Pod, ...]
    pod_cumulative_weights: tuple[float, ...]
    users: tuple[_User, ...]
    tag_sets: tuple[tuple[str, ...], ...]
    methods: tuple[str, ...]
    statuses: dict[str, tuple[int, ...]]
    latencies: tuple[float, ...]
    slow_latencies: tuple[float, ...]
    sizes: tuple[int, ...]
    client_ips: tuple[str, ...]
    upstreams: tuple[str, ...]
    app_messages: dict[str, tuple[tuple[str, str], ...]]  # (message, as a JSON string literal)
    hms: tuple[str, ...]  # "HH:MM:SS" for every second of a day
    millis: tuple[str, ...]  # "000" .. "999"


@dataclass(frozen=True, slots=True)
class _Day:
    """What the renderers share for one generate_docs() call."""

    pools: _Pools
    rand: Callable[[], float]  # random() of the call's seeded Random
    iso: str  # the day as 2026-11-23
    nginx: str  # 23/Nov/2026
    slash: str  # 2026/11/23
    klog: str  # 1123

    def pick(self, values: Sequence[_T]) -> _T:
        return values[int(self.rand() * len(values))]


@dataclass(slots=True)
class _Event:
    """The values already drawn for one document, from which its log line is rendered."""

    time: str  # HH:MM:SS.mmm
    level: str
    pod: _Pod
    http: dict[str, Any] | None
    request_id: str  # ingress-nginx and the API server log one even for untraced requests
    trace_id: str | None
    user: _User | None


def _table(weights: Sequence[tuple[Any, float]]) -> tuple[Any, ...]:
    """Expand ``(value, weight)`` pairs into a ``_TABLE``-long tuple indexed by one uniform draw."""
    total = sum(w for _, w in weights)
    cumulative = list(accumulate(w for _, w in weights))
    values = [v for v, _ in weights]
    return tuple(
        values[bisect.bisect_right(cumulative, (i + 0.5) * total / _TABLE)] for i in range(_TABLE)
    )


def _name_suffix(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_NAME_ALPHABET) for _ in range(length))


def _ascii_slug(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _app_paths(rng: random.Random, app: str) -> tuple[str, ...]:
    resources = rng.sample(_RESOURCES, 3)
    paths = ["/healthz", "/metrics"]
    for res in resources:
        paths += [
            f"/api/v1/{res}",
            f"/api/v1/{res}/{rng.randrange(10_000, 99_999)}",
            f"/api/v1/{res}?page={rng.randrange(1, 20)}&limit=50",
        ]
    paths += [f"/{app}/recherche?q=caf%C3%A9", f"/{app}/search?q=東京 ラーメン"]
    return tuple(paths)


@functools.cache
def _pools() -> _Pools:
    # Fixed seed: the cluster (pods, users, value pools) is the same for every day and seed,
    # only the documents drawn from it vary.
    rng = random.Random("es_assets.demo.k8s_logs/cluster")
    hosts = [
        f"ip-10-0-{rng.randrange(0, 64)}-{rng.randrange(2, 255)}.eu-west-1.compute.internal"
        for _ in range(_NODE_COUNT)
    ]
    # Paths first: the ingress controller serves every in-cluster route.
    app_paths = {app[0]: _app_paths(rng, app[0]) for *_, apps in _CLUSTER for app in apps}
    all_paths = tuple(path for paths in app_paths.values() for path in paths)
    pods: list[_Pod] = []
    weights: list[float] = []
    upstreams: list[str] = []
    for ns_index, (namespace, share, _, _, apps) in enumerate(_CLUSTER):
        replicas_in_ns = sum(app[3] for app in apps)
        for app, tier, style, replicas, image in apps:
            labels = {"app": app, "tier": tier}
            if image is None:
                version = f"{rng.randrange(1, 4)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}"
                image = f"{_REGISTRY}/{_ascii_slug(namespace)}/{app}:{version}"
                labels["version"] = version
            paths = all_paths if style == "nginx" else app_paths[app]
            port = 8080 if style == "java" else 8000 if style == "python" else 3000
            if style != "nginx":
                upstreams.append(f"{namespace}-{app}-{port}")
            replicaset = _name_suffix(rng, 10)
            logger = app.replace("-", "_")
            for r in range(replicas):
                if app in _DAEMONSETS:
                    pod_name, host = f"{app}-{_name_suffix(rng, 5)}", hosts[r % _NODE_COUNT]
                else:
                    pod_name, host = f"{app}-{replicaset}-{_name_suffix(rng, 5)}", rng.choice(hosts)
                kubernetes = {
                    "pod_name": pod_name,
                    "namespace_name": namespace,
                    "pod_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "host": host,
                    "container_name": app,
                    "container_image": image,
                    "docker_id": f"{rng.getrandbits(256):064x}",
                }
                pods.append(_Pod(ns_index, style, logger, kubernetes, labels, paths, port))
                weights.append(share / replicas_in_ns)

    users = tuple(
        (f"u-{rng.randrange(1, 1_000_000):06d}", name, orjson.dumps(name).decode())
        for name in (rng.choice(_USER_NAMES) for _ in range(600))
    )
    tag_sets = tuple(tuple(rng.sample(_TAG_POOL, rng.choice((1, 1, 2, 3)))) for _ in range(256))
    # Log-normal latencies: most requests are quick, a long tail is not; errors are slow.
    latencies = tuple(round(rng.lognormvariate(math.log(25), 1.0), 3) for _ in range(4096))
    slow = tuple(round(rng.lognormvariate(math.log(900), 0.8), 3) for _ in range(4096))
    sizes = tuple(int(rng.lognormvariate(math.log(2048), 1.2)) for _ in range(4096))
    return _Pools(
        pods=tuple(pods),
        pod_cumulative_weights=tuple(accumulate(weights)),
        users=users,
        tag_sets=tag_sets,
        methods=_table(_METHOD_WEIGHTS),
        statuses={level: _table(w) for level, w in _STATUS_WEIGHTS.items()},
        latencies=latencies,
        slow_latencies=slow,
        sizes=sizes,
        client_ips=tuple(f"10.{rng.randrange(0, 4)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"
                         for _ in range(512)),
        upstreams=tuple(upstreams),
        app_messages={
            level: tuple((m, orjson.dumps(m).decode()) for m in msgs)
            for level, msgs in _APP_MESSAGES.items()
        },
        hms=tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)),
        millis=tuple(f"{m:03d}" for m in range(1000)),
    )


def _level_tables(rng: random.Random) -> list[tuple[str, ...]]:
    """Per-namespace level lookup tables for one day, one namespace having an incident."""
    incident = rng.randrange(len(_CLUSTER))
    tables = []
    for i, (_, _, error_rate, debug_rate, _) in enumerate(_CLUSTER):
        if i == incident:
            error_rate += _INCIDENT_ERROR_BOOST
        warn_rate = 0.04 + error_rate / 2
        tables.append(_table((
            ("ERROR", error_rate),
            ("WARN", warn_rate),
            ("DEBUG", debug_rate),
            ("INFO", 1.0 - error_rate - warn_rate - debug_rate),
        )))
    return tables


def generate_docs(day: dt.date, count: int, seed: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``count`` deterministic ``(doc_id, source)`` pairs for one UTC day.

    Ids are ``YYYYMMDD-NNNNNNNN``. ``@timestamp`` values are uniformly random over the day
    (so they are unrelated to id order, and a few collide to the millisecond), except that
    the first document is at 00:00:00.000 and the last at 23:59:59.999.
    """
    p = _pools()
    # A string seed is hashed with SHA-512, so it is stable across processes and platforms.
    rng = random.Random(f"es_assets.demo.k8s_logs/{day.isoformat()}/{seed}")
    rand, getrandbits = rng.random, rng.getrandbits
    level_tables = _level_tables(rng)
    pods, pod_weights = p.pods, p.pod_cumulative_weights
    weight_total = pod_weights[-1]
    users, n_users = p.users, len(p.users)
    tag_sets, n_tag_sets = p.tag_sets, len(p.tag_sets)
    methods, statuses = p.methods, p.statuses
    latencies, slow_latencies, sizes = p.latencies, p.slow_latencies, p.sizes
    n_latencies, n_sizes = len(latencies), len(sizes)
    hms_pool, millis = p.hms, p.millis
    iso_date = day.isoformat()
    d = _Day(
        pools=p,
        rand=rand,
        iso=iso_date,
        nginx=f"{day.day:02d}/{_MONTHS[day.month - 1]}/{day.year}",
        slash=f"{day:%Y/%m/%d}",
        klog=f"{day:%m%d}",
    )
    id_prefix = f"{day:%Y%m%d}-"
    last = count - 1

    for i in range(count):
        ms = 0 if i == 0 else _MS_PER_DAY - 1 if i == last else int(rand() * _MS_PER_DAY)
        hms, milli = hms_pool[ms // 1000], millis[ms % 1000]
        # bisect_left: rand() * total can round up to total, which is the last pod's bound.
        pod = pods[bisect.bisect_left(pod_weights, rand() * weight_total)]
        level = level_tables[pod.namespace_index][int(rand() * _TABLE)]

        http: dict[str, Any] | None = None
        if rand() < _P_HTTP:
            slow = level == "ERROR"
            http = {
                "method": methods[int(rand() * _TABLE)],
                "path": pod.paths[int(rand() * len(pod.paths))],
                "status": statuses[level][int(rand() * _TABLE)],
                "latency_ms": (slow_latencies if slow else latencies)[int(rand() * n_latencies)],
                "bytes": sizes[int(rand() * n_sizes)],
            }
        request_id = f"{getrandbits(128):032x}"
        trace_id = request_id if rand() < _P_TRACE else None
        user = users[int(rand() * n_users)] if rand() < _P_USER else None

        event = _Event(f"{hms}.{milli}", level, pod, http, request_id, trace_id, user)
        log, message = _RENDERERS[pod.style](d, event)
        kubernetes = pod.kubernetes.copy()
        kubernetes["labels"] = pod.labels.copy()
        source: dict[str, Any] = {
            "@timestamp": f"{iso_date}T{hms}.{milli}Z",
            "stream": "stderr" if level == "ERROR" or rand() < 0.05 else "stdout",
            "log": log,
            "level": level,
            "message": message,
            "kubernetes": kubernetes,
        }
        if http is not None:
            source["http"] = http
        if trace_id is not None:
            source["trace_id"] = trace_id
        if user is not None:
            source["user"] = {"id": user[0], "name": user[1]}
        r = rand()
        if r >= 0.15:  # 15% of documents have no "tags" at all, 20% an empty list
            source["tags"] = [] if r < 0.35 else list(tag_sets[int(rand() * n_tag_sets)])
        yield f"{id_prefix}{i:08d}", source


# --------------------------------------------------------------------------------------------
# Log line renderers, one per style: each returns ``(log, message)``, where ``log`` is the raw
# container line (150-400 bytes) and ``message`` what a Fluent Bit parser would extract.
# --------------------------------------------------------------------------------------------
def _render_json(d: _Day, e: _Event) -> tuple[str, str]:
    message, message_json = d.pick(d.pools.app_messages[e.level])
    # Escaped pool strings keep the line valid JSON, as a structured logger would write it.
    line = (f'{{"ts":"{d.iso}T{e.time}Z","level":"{e.level.lower()}",'
            f'"logger":"{e.pod.logger}.service","msg":{message_json}')
    if (http := e.http) is not None:
        line += (f',"method":"{http["method"]}","path":"{http["path"]}","status":{http["status"]}'
                 f',"duration_ms":{http["latency_ms"]},"bytes":{http["bytes"]}')
    if e.trace_id is not None:
        line += f',"trace_id":"{e.trace_id}"'
    if e.user is not None:
        line += f',"user_id":"{e.user[0]}","user_name":{e.user[2]}'
    return line + f',"pid":1,"hostname":"{e.pod.kubernetes["pod_name"]}"}}', message


def _render_nginx(d: _Day, e: _Event) -> tuple[str, str]:
    client, hms = d.pick(d.pools.client_ips), e.time[:8]
    if (http := e.http) is None:
        message = d.pick(_NGINX_ERRORS[e.level])
        line = (f"{d.slash} {hms} [{e.level.lower()}] 27#27: *{int(d.rand() * 9_000_000)} {message}, "
                f'client: {client}, server: shop.example.com, '
                f'request: "GET {d.pick(e.pod.paths)} HTTP/2.0", host: "shop.example.com"')
        return line, message
    method, path, status, size = http["method"], http["path"], http["status"], http["bytes"]
    seconds = round(http["latency_ms"] / 1000, 3)
    # ingress-nginx's default log-format-upstream
    line = (f'{client} - - [{d.nginx}:{hms} +0000] "{method} {path} HTTP/2.0" {status} {size} '
            f'"{d.pick(_REFERERS)}" "{d.pick(_USER_AGENTS)}" {int(d.rand() * 900) + 60} {seconds} '
            f"[{d.pick(d.pools.upstreams)}] [] {d.pick(d.pools.client_ips)}:8080 {size} {seconds} "
            f"{status} {e.request_id}")
    return line, f"{method} {path} {status}"


def _render_java(d: _Day, e: _Event) -> tuple[str, str]:
    pod, http = e.pod, e.http
    message = d.pick(d.pools.app_messages[e.level])[0]
    thread = "scheduling-1" if http is None else f"http-nio-{pod.http_port}-exec-{int(d.rand() * 200) + 1}"
    # Spring Boot's default console pattern, with the trace id from Micrometer tracing
    line = (f"{d.iso}T{e.time}Z {e.level:>5} 1 --- [{pod.kubernetes['container_name']}] [{thread}] "
            f"[{e.trace_id or ''}] c.e.{pod.logger}.service.Handler : {message}")
    if http is None:
        line += f" (job={pod.logger}-sync, elapsed={int(d.rand() * 5000)}ms, host={pod.kubernetes['host']})"
    else:
        line += f" [{http['method']} {http['path']} -> {http['status']} in {http['latency_ms']}ms]"
    if e.level == "ERROR":
        line += "\n" + d.pick(_JAVA_EXCEPTIONS).replace("{pkg}", pod.logger)
    return line, message


def _render_python(d: _Day, e: _Event) -> tuple[str, str]:
    pod, http = e.pod, e.http
    message = d.pick(d.pools.app_messages[e.level])[0]
    python_level = "WARNING" if e.level == "WARN" else e.level
    prefix = (f"{d.iso} {e.time.replace('.', ',')} {python_level:<8} [{pod.logger}] "
              f"[trace={e.trace_id or '-'}] ")
    if http is None:
        line = f"{prefix}{message} | task={pod.logger}.run_batch pid=1 host={pod.kubernetes['pod_name']}"
        if e.user is not None:
            line += f" user={e.user[0]} ({e.user[1]})"
    else:  # uvicorn's access line
        line = (f"{prefix}{d.pick(d.pools.client_ips)}:{int(d.rand() * 50_000) + 10_000} - "
                f'"{http["method"]} {http["path"]} HTTP/1.1" {http["status"]} '
                f"({http['latency_ms']} ms) {message}")
    if e.level == "ERROR":
        line += "\n" + d.pick(_PYTHON_TRACEBACKS).replace("{pkg}", pod.logger)
    return line, message


def _render_klog(d: _Day, e: _Event) -> tuple[str, str]:
    severity = "I" if e.level in ("INFO", "DEBUG") else e.level[0]
    prefix = f"{severity}{d.klog} {e.time}{int(d.rand() * 1000):03d}       1 "
    if (http := e.http) is None:
        source_line, message = d.pick(_KLOG_MESSAGES[e.level])
        pod = e.pod.kubernetes
        line = f'{prefix}{source_line}] {message} pod="{pod["namespace_name"]}/{pod["pod_name"]}"'
        return line, message
    line = (f'{prefix}httplog.go:134] "HTTP" verb="{http["method"]}" URI="{http["path"]}" '
            f'latency="{http["latency_ms"]}ms" userAgent="{d.pick(_USER_AGENTS)}" '
            f'audit-ID="{e.request_id}" '
            f'srcIP="{d.pick(d.pools.client_ips)}:{int(d.rand() * 50_000) + 10_000}" '
            f'resp={http["status"]}')
    return line, "HTTP"


_RENDERERS: dict[str, Callable[[_Day, _Event], tuple[str, str]]] = {
    "json": _render_json,
    "nginx": _render_nginx,
    "java": _render_java,
    "python": _render_python,
    "klog": _render_klog,
}


# --------------------------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------------------------
def _request(
    http: urllib3.PoolManager,
    method: str,
    url: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    ok: Sequence[int] = (200, 201),
) -> urllib3.BaseHTTPResponse:
    # Per-request headers replace the pool's, so merge them to keep e.g. Authorization.
    response = http.request(method, url, body=body, headers={**http.headers, "Content-Type": content_type})
    if response.status not in ok:
        raise RuntimeError(f"{method} {url} -> HTTP {response.status}: {response.data[:1000]!r}")
    return response


def _bulk(http: urllib3.PoolManager, base: str, index: str, lines: list[bytes]) -> None:
    response = _request(http, "POST", f"{base}/_bulk", b"\n".join(lines) + b"\n",
                        content_type="application/x-ndjson")
    result = orjson.loads(response.data)
    if result.get("errors"):
        # Each item is {"index": {..., "status": 400, "error": {...}}}.
        first = next((item for item in result["items"] if next(iter(item.values())).get("error")), None)
        raise RuntimeError(f"bulk indexing into {index} failed: {orjson.dumps(first).decode()}")


def load_days(base_url: str, days: Sequence[dt.date], docs_per_day: int, seed: int = 0,
              batch_size: int = 5000, headers: Mapping[str, str] | None = None,
              index_prefix: str = INDEX_PREFIX, shards: int = 2) -> dict[str, int]:
    """(Re)create one index per day and bulk-index ``generate_docs(day, docs_per_day, seed)``.

    Existing indices are deleted first, so a load is repeatable. Each index is refreshed at
    the end so the documents are searchable when this returns. ``headers`` are sent with
    every request (e.g. ``Authorization``); ``index_prefix`` lets tests keep their indices
    apart; ``shards`` is each index's number of primary shards. Returns ``{index_name: docs_indexed}``.
    """
    base = base_url.rstrip("/")
    counts: dict[str, int] = {}
    timeout = urllib3.Timeout(connect=10, read=300)
    with urllib3.PoolManager(headers=dict(headers or {}), timeout=timeout) as http:
        for day in days:
            index = index_name(day, index_prefix)
            _request(http, "DELETE", f"{base}/{index}", ok=(200, 404))
            _request(http, "PUT", f"{base}/{index}", orjson.dumps(index_mapping(shards)))
            lines: list[bytes] = []
            indexed = 0
            for doc_id, source in generate_docs(day, docs_per_day, seed):
                lines.append(orjson.dumps({"index": {"_index": index, "_id": doc_id}}))
                lines.append(orjson.dumps(source))
                if len(lines) == 2 * batch_size:
                    _bulk(http, base, index, lines)
                    indexed += batch_size
                    lines.clear()
            if lines:
                _bulk(http, base, index, lines)
                indexed += len(lines) // 2
            _request(http, "POST", f"{base}/{index}/_refresh")
            counts[index] = indexed
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description="Load synthetic Kubernetes logs into daily indices.")
    parser.add_argument("--url", default="http://127.0.0.1:9200", help="Elasticsearch base URL")
    parser.add_argument("--days", type=int, default=3, help="number of daily indices to load")
    parser.add_argument("--docs-per-day", type=int, default=34_000)
    parser.add_argument("--end-day", type=dt.date.fromisoformat,
                        help="last day to load, YYYY-MM-DD (default: yesterday, UTC)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=5000, help="documents per _bulk request")
    args = parser.parse_args(argv)

    end_day = args.end_day or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    days = [end_day - dt.timedelta(days=n) for n in reversed(range(args.days))]
    counts = load_days(args.url, days, args.docs_per_day, args.seed, args.batch_size)
    for index, count in counts.items():
        print(f"{index}\t{count}")


if __name__ == "__main__":
    main()
