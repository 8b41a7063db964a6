"""The benchmark's corpora: what each day's indices hold and how they are mapped.

* ``k8s``: the demo's container logs (:mod:`es_assets.demo.k8s_logs`), one index.
* ``nginx``: web access logs in the shape Filebeat's nginx module writes (nested ``nginx.access.*``,
  ``geoip.location`` a ``geo_point`` sent as ``{"lat", "lon"}``, ``remote_ip`` an ``ip``, a
  one-element ``remote_ip_list``, user-agent fields, ECS ``agent``/``host``/``event`` fields with
  Filebeat's arrays), indexed with dynamic templates that map strings to ``keyword``; one index.
* ``awkward``: what a day of a real index holds that a mapping as written does not: a mid-day
  rollover into a second index whose mapping conflicts with the first (``status`` ``long`` then
  ``keyword``, ``duration`` ``long`` then ``double``), and, in a minority of documents, arrays of
  two or more values in scalar fields, numbers sent as strings, ``geo_point`` in its other forms,
  epoch-millisecond and offset timestamps, and fields a ``dynamic: false`` mapping leaves out.
  Every document carries a flattened-like object and most a ``binary``.

Product-aware, to fit the servers the benchmark runs on (``es_assets_tests/distributions.py``):
OpenSearch 3.8 has ``unsigned_long`` and ``flat_object``; the trimmed Elasticsearch integ-test
zips have no ``unsigned_long`` (its field there is a ``long``, its values in a long's range) but
``flattened``. Each corpus gives the ``PUT /<index>`` bodies and deterministic documents; tests use
the same generators (with :func:`indexed_mapping`, the mapping a server returns once they are
indexed).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import random
from typing import Any, Callable, Iterator

import orjson
import urllib3

from es_assets.demo import k8s_logs

SHARDS = 2  # primary shards of every benchmark index
KEYWORD = {"type": "keyword"}
_STRING_AS_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_STRINGS_AS_KEYWORD = [{"strings_as_keyword": {"match_mapping_type": "string", "mapping": _STRING_AS_KEYWORD}}]
_SETTINGS = {"number_of_shards": SHARDS, "number_of_replicas": 0}

# (index name, PUT body) for each index that holds the day, given the day and the product.
Indices = Callable[[dt.date, str], list[tuple[str, dict[str, Any]]]]
# (day, count, product, seed) -> (id, _source) in index order: the first run of documents goes to
# the first index, and so on.
Generator = Callable[[dt.date, int, str, int], Iterator[tuple[str, dict[str, Any]]]]


@dataclasses.dataclass(frozen=True)
class Corpus:
    name: str
    index_pattern: str  # what a user would configure as the source's index
    indices: Indices
    generate: Generator

    def documents(self, day: dt.date, count: int, product: str, seed: int = 0
                  ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(index, id, _source): the day's documents spread over its indices in equal runs."""
        names = [name for name, _ in self.indices(day, product)]
        run = -(-count // len(names))
        for i, (doc_id, source) in enumerate(self.generate(day, count, product, seed)):
            yield names[i // run], doc_id, source

    def load(self, base_url: str, day: dt.date, count: int, product: str, batch_size: int = 5000) -> int:
        """(Re)create the day's indices and bulk-index its documents; return how many were indexed."""
        base = base_url.rstrip("/")
        indexed = 0
        with urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=300)) as http:
            for index, body in self.indices(day, product):
                k8s_logs._request(http, "DELETE", f"{base}/{index}", ok=(200, 404))
                k8s_logs._request(http, "PUT", f"{base}/{index}", orjson.dumps(body))
            lines: list[bytes] = []
            for index, doc_id, source in self.documents(day, count, product):
                lines += [orjson.dumps({"index": {"_index": index, "_id": doc_id}}), orjson.dumps(source)]
                if len(lines) == 2 * batch_size:
                    k8s_logs._bulk(http, base, self.index_pattern, lines)
                    indexed += batch_size
                    lines.clear()
            if lines:
                k8s_logs._bulk(http, base, self.index_pattern, lines)
                indexed += len(lines) // 2
            k8s_logs._request(http, "POST", f"{base}/{self.index_pattern}/_refresh")
        return indexed

    def delete(self, base_url: str, day: dt.date, product: str) -> None:
        """Remove the day's indices (the next corpus is measured on a server that holds only its own)."""
        with urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=300)) as http:
            for index, _ in self.indices(day, product):
                k8s_logs._request(http, "DELETE", f"{base_url.rstrip('/')}/{index}", ok=(200, 404))


def indexed_mapping(body: dict[str, Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``GET <index>/_mapping`` body a server returns after indexing ``sources`` under ``body``:
    its properties plus the fields dynamic mapping adds (strings keyword, as the templates say)."""
    mappings = body["mappings"]
    properties = _copy(mappings.get("properties") or {})
    if mappings.get("dynamic", True) not in (False, "false"):
        for source in sources:
            _add_dynamic(properties, source)
    return {"mappings": {**mappings, "properties": properties}}


def _copy(value: Any) -> Any:
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def _add_dynamic(properties: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        while isinstance(value, list) and value:
            value = value[0]
        if value is None or value == []:
            continue
        spec = properties.get(key)
        if isinstance(value, dict):
            if spec is None:
                spec = properties[key] = {"properties": {}}
            if "properties" in spec:
                _add_dynamic(spec["properties"], value)
        elif spec is None:
            properties[key] = ({"type": "boolean"} if isinstance(value, bool) else {"type": "long"}
                               if isinstance(value, int) else {"type": "float"} if isinstance(value, float)
                               else dict(_STRING_AS_KEYWORD))


def _iso_ms(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- k8s -----------------------------------------------------------------------------------------

K8S = Corpus(
    name="k8s",
    index_pattern=k8s_logs.INDEX_PREFIX + "*",
    indices=lambda day, product: [(k8s_logs.index_name(day), k8s_logs.index_mapping(SHARDS))],
    generate=lambda day, count, product, seed: k8s_logs.generate_docs(day, count, seed),
)


# -- nginx (Filebeat) ----------------------------------------------------------------------------

def _nginx_body() -> dict[str, Any]:
    return {
        "settings": _SETTINGS,
        "mappings": {
            "dynamic_templates": _STRINGS_AS_KEYWORD,
            "properties": {
                "@timestamp": {"type": "date"},
                "message": {"type": "text"},
                "log": {"properties": {"offset": {"type": "long"}}},
                "nginx": {"properties": {"access": {"properties": {
                    "remote_ip": {"type": "ip"},
                    "remote_ip_list": {"type": "ip"},
                    "response_code": {"type": "long"},
                    "body_sent": {"properties": {"bytes": {"type": "long"}}},
                    "geoip": {"properties": {"location": {"type": "geo_point"}}},
                }}}},
            },
        },
    }


_PATHS = ["/", "/index.html", "/api/v1/cart", "/api/v1/products?page=2", "/static/app.4f3a9c.js",
          "/static/style.css", "/login", "/checkout", "/api/v1/orders/1842", "/favicon.ico", "/healthz"]
_AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "120", "0", "Windows", "Other"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.2 Mobile/15E148 Safari/604.1", "Mobile Safari", "17", "2", "iOS", "iPhone"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "121", "0", "Linux",
     "Other"),
    ("curl/8.4.0", "curl", "8", "4", "Other", "Other"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "2", "1", "Other",
     "Spider"),
]
_PLACES = [("Europe", "DE", "Hesse", "Frankfurt am Main", 50.1109, 8.6821),
           ("North America", "US", "Virginia", "Ashburn", 39.0438, -77.4874),
           ("Asia", "JP", "Tokyo", "Tokyo", 35.6895, 139.6917),
           ("Europe", "FR", "Île-de-France", "Paris", 48.8566, 2.3522),
           ("South America", "BR", "São Paulo", "São Paulo", -23.5505, -46.6333)]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _nginx_docs(day: dt.date, count: int, product: str, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    rng = random.Random(f"benchmarks.corpora.nginx/{day.isoformat()}/{seed}")
    hosts = [(f"web-{i}", f"{rng.getrandbits(128):032x}", f"10.0.{i}.{rng.randint(2, 250)}") for i in range(6)]
    clients = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
               for _ in range(2000)]
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    for i in range(count):
        moment = midnight + dt.timedelta(milliseconds=int(rng.random() * 86_400_000))
        host, agent_id, host_ip = hosts[rng.randrange(len(hosts))]
        ip = clients[int(rng.random() ** 2 * len(clients))]
        agent, browser, major, minor, os_name, device = _AGENTS[rng.randrange(len(_AGENTS))]
        continent, country, region, city, lat, lon = _PLACES[rng.randrange(len(_PLACES))]
        method = "GET" if rng.random() < 0.85 else rng.choice(["POST", "PUT", "DELETE", "HEAD"])
        path = rng.choice(_PATHS)
        status = rng.choices([200, 304, 301, 404, 500, 502], [80, 8, 3, 6, 2, 1])[0]
        size = 0 if status == 304 else rng.randint(120, 250_000)
        referrer = "-" if rng.random() < 0.4 else f"https://shop.example.com{rng.choice(_PATHS)}"
        stamp = f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} +0000"
        message = f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "{referrer}" "{agent}"'
        source = {
            "@timestamp": _iso_ms(moment),
            "agent": {"hostname": host, "id": agent_id, "type": "filebeat", "version": "7.17.18",
                      "ephemeral_id": agent_id[::-1]},
            "ecs": {"version": "1.12.0"},
            "event": {"dataset": "nginx.access", "module": "nginx", "category": ["web"], "type": ["access"],
                      "outcome": "success" if status < 400 else "failure", "timezone": "+00:00"},
            "fileset": {"name": "access"},
            "host": {"name": host, "hostname": host, "architecture": "x86_64", "ip": [host_ip, "fe80::1"],
                     "os": {"family": "debian", "name": "Ubuntu", "kernel": "5.15.0-91-generic",
                            "version": "22.04.3 LTS (Jammy Jellyfish)"}},
            "input": {"type": "log"},
            "log": {"file": {"path": "/var/log/nginx/access.log"}, "offset": i * 230},
            "service": {"type": "nginx"},
            "message": message,
            "nginx": {"access": {
                "remote_ip_list": [ip],
                "remote_ip": ip,
                "user_name": "-",
                "method": method,
                "url": path,
                "http_version": "1.1",
                "response_code": status,
                "body_sent": {"bytes": size},
                "referrer": referrer,
                "agent": agent,
                "user_agent": {"original": agent, "name": browser, "major": major, "minor": minor,
                               "os": os_name, "os_name": os_name, "device": device},
                "geoip": {"continent_name": continent, "country_iso_code": country, "region_name": region,
                          "city_name": city, "location": {"lat": lat, "lon": lon}},
            }},
        }
        yield f"{day:%Y%m%d}-{i:08d}", source


NGINX = Corpus(
    name="nginx",
    index_pattern="filebeat-nginx-*",
    indices=lambda day, product: [(f"filebeat-nginx-{day:%Y.%m.%d}", _nginx_body())],
    generate=_nginx_docs,
)


# -- awkward -------------------------------------------------------------------------------------

def _awkward_bodies(day: dt.date, product: str) -> list[tuple[str, dict[str, Any]]]:
    """The morning's index and, after the mid-day rollover, the afternoon's, whose template changed
    two types (``status`` became ``keyword``, ``duration`` ``double``)."""
    opensearch = product == "opensearch"
    morning = {
        "@timestamp": {"type": "date"},
        "status": {"type": "long"},
        "duration": {"type": "long"},
        # The trimmed Elasticsearch zips have no unsigned_long (an x-pack plugin) and no flat_object.
        "bytes_total": {"type": "unsigned_long" if opensearch else "long"},
        "tags": KEYWORD,
        "labels": {"type": "flat_object" if opensearch else "flattened"},
        "payload": {"type": "binary"},
        "location": {"type": "geo_point"},
        "client": {"properties": {"ip": {"type": "ip"}, "port": {"type": "integer"}}},
        "user": {"properties": {"id": KEYWORD, "name": KEYWORD}},
        "ok": {"type": "boolean"},
        "message": {"type": "text"},
    }
    afternoon = {**morning, "status": KEYWORD, "duration": {"type": "double"}}
    return [(f"awkward-{day:%Y.%m.%d}-00000{n}", {"settings": _SETTINGS,
                                                  "mappings": {"dynamic": False, "properties": properties}})
            for n, properties in ((1, morning), (2, afternoon))]


_WORDS = ["alpha", "beta", "gamma", "delta", "prod", "canary", "eu-west-1", "us-east-2", "batch", "web"]
_GEOHASHES = ["u0yjjd6jk0zj", "dqcjqcp84c6e", "xn76urx6600r", "u09tvw0f64r7", "6gyf4bf8m0uh"]


def _awkward_docs(day: dt.date, count: int, product: str, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Documents in time order (the first half lands in the morning's index); the odd values in a
    minority of them, as a few producers or an old client would send them."""
    rng = random.Random(f"benchmarks.corpora.awkward/{day.isoformat()}/{seed}")
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    step_ms = 86_400_000 / max(count, 1)
    big_bytes = product == "opensearch"  # only an unsigned_long holds 2**63 and up
    for i in range(count):
        moment = midnight + dt.timedelta(milliseconds=int((i + rng.random()) * step_ms))
        afternoon = i >= -(-count // 2)
        roll = rng.random()
        timestamp: Any = (_iso_ms(moment) if roll < 0.8
                          else int(moment.timestamp() * 1000) if roll < 0.9  # epoch milliseconds
                          else moment.astimezone(dt.timezone(dt.timedelta(hours=rng.choice([-8, 2, 5, 9]))))
                          .isoformat(timespec="milliseconds"))  # the same instant, another zone
        status = rng.choices([200, 201, 204, 301, 404, 500, 503], [70, 5, 5, 3, 10, 5, 2])[0]
        # The morning's service wrote milliseconds; the afternoon's, seconds with a fraction.
        duration: Any = round(rng.uniform(0.001, 5), 3) if afternoon else rng.randint(1, 5000)
        if rng.random() < 0.05:
            duration = str(duration)
        bytes_total: Any = rng.randint(0, 2**40)
        if big_bytes and rng.random() < 0.01:
            bytes_total = 2**64 - 1 - rng.randint(0, 2**32)
        elif rng.random() < 0.03:
            bytes_total = str(bytes_total)
        lat, lon = round(rng.uniform(-80, 80), 5), round(rng.uniform(-179, 179), 5)
        form = rng.random()
        location: Any = ({"lat": lat, "lon": lon} if form < 0.75 else f"{lat},{lon}" if form < 0.85
                         else [lon, lat] if form < 0.92 else f"POINT ({lon} {lat})" if form < 0.97
                         else rng.choice(_GEOHASHES))
        tag_count = rng.choices([0, 1, 2, 3], [10, 75, 10, 5])[0]  # [] is null, [x] one value, 2+ kept aside
        client_ip: Any = (f"192.0.2.{rng.randint(1, 254)}" if rng.random() < 0.9
                          else f"2001:db8::{rng.randint(1, 0xffff):x}")
        if rng.random() < 0.02:  # a proxy's X-Forwarded-For chain
            client_ip = [client_ip, f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}"]
        port: Any = rng.randint(1024, 65535)
        user: Any = {"id": f"u{rng.randint(1, 500)}", "name": rng.choice(_WORDS)}
        ok: Any = status < 400
        source: dict[str, Any] = {
            "@timestamp": timestamp,
            "status": str(status) if rng.random() < 0.08 else status,  # a number as a string
            "duration": duration,
            "bytes_total": bytes_total,
            "tags": rng.sample(_WORDS, tag_count),
            "labels": {"team": rng.choice(_WORDS), "cost": {"centre": rng.randint(100, 999)},
                       "ratio": round(rng.random(), 4)},
            "location": location,
            "client": {"ip": client_ip, "port": str(port) if rng.random() < 0.05 else port},
            "user": [user] if rng.random() < 0.1 else user,  # one element in an array
            "ok": str(ok).lower() if rng.random() < 0.05 else ok,
            "message": f"{status} in {duration} after {rng.randint(1, 900)} retries",
        }
        if rng.random() < 0.7:
            source["payload"] = base64.b64encode(rng.randbytes(rng.randint(1, 24))).decode()
        if rng.random() < 0.1:  # dynamic: false — kept in _source, not in the mapping
            source["debug"] = {"trace": [rng.randint(0, 9) for _ in range(3)], "host": rng.choice(_WORDS)}
        yield f"{day:%Y%m%d}-{i:08d}", source


AWKWARD = Corpus(name="awkward", index_pattern="awkward-*", indices=_awkward_bodies, generate=_awkward_docs)

CORPORA = {corpus.name: corpus for corpus in (K8S, NGINX, AWKWARD)}
