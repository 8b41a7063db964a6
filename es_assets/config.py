"""Load and validate ``es_assets.yaml`` into typed settings.

Every problem is reported as one :class:`ConfigError` that names the offending field
(``sources[0].start_date``), so a user can fix the file without reading code. Secrets are only
accepted as ``${ENV_VAR}`` references and are resolved here, never logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from es_assets.errors import ConfigError

CONFIG_ENV_VAR = "ES_ASSETS_CONFIG"
DEFAULT_CONFIG_PATH = "es_assets.yaml"

# ${VAR} or ${VAR:-default}; the whole value must be one reference for secret fields.
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # \Z, not $: $ also matches before a trailing newline
# One part of an index expression: a letter or digit first, then letters, digits, . _ - + and *.
_INDEX_PART = re.compile(r"[^\W_][\w.+*-]*")
_COMPRESSIONS = ("zstd", "snappy", "gzip", "lz4", "none")
_AUTOMATIONS = ("sensor", "schedule", "none")


@dataclasses.dataclass(frozen=True)
class Secret:
    """A resolved secret whose repr never shows the value."""

    env_var: str
    value: str = dataclasses.field(repr=False)

    def __str__(self) -> str:
        return f"${{{self.env_var}}}"


@dataclasses.dataclass(frozen=True)
class ElasticsearchSettings:
    hosts: tuple[str, ...]
    api_key: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout_s: float = 120.0
    # Total time one request may spend retrying transient errors (429, 503, time-outs).
    retry_budget_s: float = 300.0


@dataclasses.dataclass(frozen=True)
class LakeSettings:
    uri: str  # file:///abs/path or s3://bucket/prefix
    compression: str = "zstd"
    # A Parquet file is closed after this many rows or bytes, keeping files large but bounded.
    target_file_rows: int = 5_000_000
    target_file_bytes: int = 256 * 1024 * 1024
    # S3 only: an S3-compatible endpoint (MinIO, moto), the region, server-side encryption.
    endpoint_url: str | None = None
    region: str | None = None
    sse: str = "none"  # none | s3 | kms
    kms_key_id: str | None = None
    # hive (versioned day directories) | iceberg (an Apache Iceberg table); see IcebergSettings below.
    table_format: str = "hive"
    iceberg: "IcebergSettings | None" = None

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")


# --- lake.table_format: iceberg (issue 15) ------------------------------------------------------
# Its keys live in one block so they carry over as one unit. YAML:
#   lake: {table_format: iceberg, iceberg: {catalog_path: ..., snapshot_retention_hours: 168}}
# The catalog itself follows `catalog.kind`: duckdb -> pyiceberg's SQL catalog on SQLite (file lakes),
# athena -> the Glue Data Catalog (s3 lakes), whose database/region/endpoint are copied in here.
@dataclasses.dataclass(frozen=True)
class IcebergSettings:
    catalog_path: str | None = None  # the local SQL catalog (SQLite); default <lake>/_iceberg_catalog.db
    glue_database: str | None = None  # from catalog.database when catalog.kind is athena
    glue_region: str | None = None
    glue_endpoint_url: str | None = None
    snapshot_retention_hours: int = 168  # older snapshots expire (the current one always stays)


_TABLE_FORMATS = ("hive", "iceberg")


def _iceberg_settings(reader: "_Reader", lake: "LakeSettings", raw: Any, catalog: "CatalogSettings") -> "LakeSettings":
    """Validate ``lake.iceberg`` and tie the Iceberg catalog to ``catalog.kind``."""
    where = "lake.iceberg"
    section = reader.mapping(raw if raw is not None else {}, where, required=set(),
                             optional={"catalog_path", "snapshot_retention_hours"})
    if lake.table_format != "iceberg":
        if section:
            raise ConfigError(f"{where}: only applies to lake.table_format: iceberg")
        return lake
    if lake.is_s3 != (catalog.kind == "athena"):
        raise ConfigError("lake.table_format: iceberg keeps an s3:// lake in Glue (catalog.kind: athena) and a "
                          "file:// lake in a local SQL catalog (catalog.kind: duckdb)")
    if "catalog_path" in section and lake.is_s3:
        raise ConfigError(f"{where}.catalog_path: only applies to file:// lakes (S3 lakes use Glue)")
    default_path = str(Path(lake.uri.removeprefix("file://")) / "_iceberg_catalog.db")
    return dataclasses.replace(lake, iceberg=IcebergSettings(
        catalog_path=None if lake.is_s3 else (
            reader.owned_path(section["catalog_path"], f"{where}.catalog_path") if "catalog_path" in section
            else default_path),
        glue_database=catalog.database,
        glue_region=catalog.region or lake.region,
        glue_endpoint_url=catalog.endpoint_url,
        snapshot_retention_hours=reader.positive_int(section.get("snapshot_retention_hours", 168),
                                                     f"{where}.snapshot_retention_hours"),
    ))
# --- end of the iceberg block ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CatalogSettings:
    kind: str = "duckdb"  # duckdb | athena
    duckdb_path: str | None = None
    # Athena: the Glue database, the workgroup and where query results go.
    database: str | None = None
    workgroup: str = "primary"
    output_location: str | None = None
    region: str | None = None
    endpoint_url: str | None = None  # an Athena/Glue-compatible endpoint (moto in tests)
    partition_projection: bool = False


@dataclasses.dataclass(frozen=True)
class SourceSettings:
    name: str
    index: str
    timestamp_field: str
    start_date: dt.date
    timezone: str = "UTC"
    page_size: int = 10_000
    slices: int | None = None  # None: derived from shard and CPU counts
    array_fields: tuple[str, ...] = ()
    source_includes: tuple[str, ...] = ()
    source_excludes: tuple[str, ...] = ()
    pit_keep_alive: str = "5m"
    # Which automation starts running: the sensor on new indices, the daily schedule, or none.
    automation: str = "sensor"
    sensor_interval_seconds: int = 300
    settle_minutes: int = 30  # a day is complete this long after its midnight
    late_data_days: int = 3  # re-run days this recent whose count changed
    schedule_hour: int = 1
    # Backfills: one run for the whole range (one machine), or runs of N days each (a cluster).
    backfill: str = "single_run"  # single_run | multi_run
    days_per_run: int = 1

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclasses.dataclass(frozen=True)
class Settings:
    elasticsearch: ElasticsearchSettings
    lake: LakeSettings
    catalog: CatalogSettings
    sources: tuple[SourceSettings, ...]
    path: Path | None = None

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"sources: no source named {name!r}")


def config_path_from_env() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH))


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, resolve and validate the config file (``$ES_ASSETS_CONFIG`` when no path is given)."""
    config_path = Path(path) if path is not None else config_path_from_env()
    if not config_path.is_file():
        raise ConfigError(
            f"config file {str(config_path)!r} not found; set {CONFIG_ENV_VAR} to the path of your es_assets.yaml"
        )
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from None
    return parse_settings(raw, base_dir=config_path.resolve().parent, env=env, path=config_path)


def parse_settings(
    raw: Any, base_dir: Path, env: Mapping[str, str] | None = None, path: Path | None = None
) -> Settings:
    reader = _Reader(env if env is not None else os.environ, base_dir)
    top = reader.mapping(raw, "", required={"elasticsearch", "lake", "sources"}, optional={"catalog"})
    catalog = reader.catalog(top.get("catalog", {"kind": "duckdb", "duckdb_path": "./data/catalog.duckdb"}))
    settings = Settings(
        elasticsearch=reader.elasticsearch(top["elasticsearch"]),
        lake=_iceberg_settings(reader, reader.lake(top["lake"]), (top["lake"] or {}).get("iceberg"), catalog),
        catalog=catalog,
        sources=reader.sources(top["sources"]),
        path=path,
    )
    if settings.catalog.kind == "athena" and not settings.lake.is_s3:
        raise ConfigError("catalog.kind: athena reads the lake from S3; set lake.uri to s3://bucket/prefix")
    return settings


class _Reader:
    """Walks the raw YAML, checking each field and naming it in every error."""

    def __init__(self, env: Mapping[str, str], base_dir: Path) -> None:
        self.env = env
        self.base_dir = base_dir

    # -- generic checks ---------------------------------------------------------------------
    def mapping(self, raw: Any, where: str, required: set[str], optional: set[str]) -> dict[str, Any]:
        label = where or "the config file"
        if not isinstance(raw, dict):
            raise ConfigError(f"{label}: expected a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - required - optional)
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise ConfigError(f"{_join(where, unknown[0])}: unknown key (allowed here: {allowed})")
        missing = sorted(required - set(raw))
        if missing:
            raise ConfigError(f"{_join(where, missing[0])}: required field is missing")
        return raw

    def string(self, raw: Any, where: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{where}: expected a non-empty string, got {raw!r}")
        return self.expand(raw, where)

    def expand(self, value: str, where: str) -> str:
        """Substitute ``${VAR}`` / ``${VAR:-default}`` references from the environment."""

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            raise ConfigError(f"{where}: environment variable {name} is not set")

        return _ENV_REF.sub(substitute, value)

    def secret(self, raw: Any, where: str) -> Secret:
        match = _ENV_REF.fullmatch(raw) if isinstance(raw, str) else None
        if match is None or match.group(2) is not None:
            raise ConfigError(
                f"{where}: secrets must be an environment reference such as ${{ES_API_KEY}}, "
                "not a literal value; move the value into an environment variable"
            )
        name = match.group(1)
        value = self.env.get(name)
        if not value:
            raise ConfigError(f"{where}: environment variable {name} is not set (or empty)")
        return Secret(env_var=name, value=value)

    def positive_int(self, raw: Any, where: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            raise ConfigError(f"{where}: expected a positive integer, got {raw!r}")
        return raw

    def non_negative_int(self, raw: Any, where: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ConfigError(f"{where}: expected a whole number >= 0, got {raw!r}")
        return raw

    def boolean(self, raw: Any, where: str) -> bool:
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: expected true or false, got {raw!r}")
        return raw

    def string_list(self, raw: Any, where: str) -> tuple[str, ...]:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise ConfigError(f"{where}: expected a list of strings, got {raw!r}")
        return tuple(self.string(item, f"{where}[{i}]") for i, item in enumerate(raw))

    def path(self, raw: Any, where: str) -> str:
        value = Path(self.string(raw, where)).expanduser()
        return str(value if value.is_absolute() else (self.base_dir / value).resolve())

    def owned_path(self, raw: Any, where: str) -> str:
        """A local path es_assets writes to: no '..' (a relative path stays under this file's directory), not '/'."""
        if ".." in Path(self.string(raw, where)).parts:
            raise ConfigError(
                f"{where}: '..' is not allowed in {raw!r}; write an absolute path for a place outside this file's directory"
            )
        path = self.path(raw, where)
        if Path(path) == Path(path).parent:
            raise ConfigError(f"{where}: {raw!r} is the filesystem root; give es_assets a directory of its own")
        return path

    # -- sections ---------------------------------------------------------------------------
    def elasticsearch(self, raw: Any) -> ElasticsearchSettings:
        where = "elasticsearch"
        section = self.mapping(
            raw,
            where,
            required={"hosts"},
            optional={
                "api_key", "username", "password", "ca_certs", "verify_certs",
                "request_timeout_seconds", "retry_budget_seconds",
            },
        )
        hosts = self.string_list(section["hosts"], f"{where}.hosts")
        if not hosts:
            raise ConfigError(f"{where}.hosts: at least one host is required")
        for i, host in enumerate(hosts):
            parsed = urlparse(host)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ConfigError(f"{where}.hosts[{i}]: {host!r} is not an http(s)://host:port URL")
            if parsed.username or parsed.password:
                raise ConfigError(
                    f"{where}.hosts[{i}]: credentials in the URL are not allowed; use username/password or api_key"
                )
        api_key = self.secret(section["api_key"], f"{where}.api_key") if "api_key" in section else None
        username = self.string(section["username"], f"{where}.username") if "username" in section else None
        password = self.secret(section["password"], f"{where}.password") if "password" in section else None
        if (username is None) != (password is None):
            raise ConfigError(f"{where}: username and password go together; set both or neither")
        if api_key is not None and username is not None:
            raise ConfigError(f"{where}: set either api_key or username/password, not both")
        return ElasticsearchSettings(
            hosts=hosts,
            api_key=api_key,
            username=username,
            password=password,
            ca_certs=self.ca_file(section["ca_certs"], f"{where}.ca_certs") if "ca_certs" in section else None,
            verify_certs=self.boolean(section.get("verify_certs", True), f"{where}.verify_certs"),
            request_timeout_s=self.positive_int(
                section.get("request_timeout_seconds", 120), f"{where}.request_timeout_seconds"
            ),
            retry_budget_s=self.positive_int(section.get("retry_budget_seconds", 300), f"{where}.retry_budget_seconds"),
        )

    def lake(self, raw: Any) -> LakeSettings:
        where = "lake"
        section = self.mapping(
            raw, where, required={"uri"},
            optional={"compression", "target_file_rows", "target_file_bytes", "endpoint_url", "region", "sse",
                      "kms_key_id", "table_format", "iceberg"},
        )
        table_format = section.get("table_format", "hive")
        if table_format not in _TABLE_FORMATS:
            raise ConfigError(f"{where}.table_format: {table_format!r} is not one of {', '.join(_TABLE_FORMATS)}")
        uri = self.string(section["uri"], f"{where}.uri")
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            if parsed.params or parsed.query or parsed.fragment:
                raise ConfigError(f"{where}.uri: {uri!r} must be a plain file:// path (no query or fragment)")
            local = (parsed.netloc + parsed.path) or "."
            uri = "file://" + self.owned_path(local, f"{where}.uri")
        elif parsed.scheme == "s3":
            if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", parsed.netloc):
                raise ConfigError(f"{where}.uri: {parsed.netloc!r} is not a valid S3 bucket name")
            if ".." in parsed.path.split("/"):
                raise ConfigError(f"{where}.uri: '..' is not allowed in the lake prefix")
            uri = f"s3://{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
        else:
            raise ConfigError(f"{where}.uri: {uri!r} must start with file:// or s3://")
        s3_only = sorted({"endpoint_url", "region", "sse", "kms_key_id"} & set(section))
        if s3_only and parsed.scheme != "s3":
            raise ConfigError(f"{where}.{s3_only[0]}: only applies to s3:// lakes")
        compression = section.get("compression", "zstd")
        if compression not in _COMPRESSIONS:
            raise ConfigError(f"{where}.compression: {compression!r} is not one of {', '.join(_COMPRESSIONS)}")
        sse = section.get("sse", "none")
        if sse not in ("none", "s3", "kms"):
            raise ConfigError(f"{where}.sse: {sse!r} is not one of none, s3, kms")
        if sse == "kms" and "kms_key_id" not in section:
            raise ConfigError(f"{where}.kms_key_id: required when sse is kms")
        return LakeSettings(
            uri=uri,
            compression=compression,
            target_file_rows=self.positive_int(section.get("target_file_rows", 5_000_000), f"{where}.target_file_rows"),
            target_file_bytes=self.positive_int(
                section.get("target_file_bytes", 256 * 1024 * 1024), f"{where}.target_file_bytes"
            ),
            endpoint_url=self.url(section["endpoint_url"], f"{where}.endpoint_url") if "endpoint_url" in section else None,
            region=self.string(section["region"], f"{where}.region") if "region" in section else None,
            sse=sse,
            kms_key_id=self.string(section["kms_key_id"], f"{where}.kms_key_id") if "kms_key_id" in section else None,
            table_format=table_format,
        )

    def catalog(self, raw: Any) -> CatalogSettings:
        where = "catalog"
        section = self.mapping(
            raw, where, required={"kind"},
            optional={"duckdb_path", "database", "workgroup", "output_location", "region", "endpoint_url",
                      "partition_projection"},
        )
        kind = section["kind"]
        if kind == "duckdb":
            athena_only = sorted(set(section) - {"kind", "duckdb_path"})
            if athena_only:
                raise ConfigError(f"{where}.{athena_only[0]}: only applies to kind athena")
            if "duckdb_path" not in section:
                raise ConfigError(f"{where}.duckdb_path: required field is missing for kind duckdb")
            duckdb_path = self.string(section["duckdb_path"], f"{where}.duckdb_path")
            if re.match(r"\w*:", duckdb_path):  # :memory:, md:..., s3://... would silently become oddly named local files
                raise ConfigError(f"{where}.duckdb_path: {duckdb_path!r} must be a local file path")
            return CatalogSettings(kind=kind, duckdb_path=self.owned_path(duckdb_path, f"{where}.duckdb_path"))
        if kind != "athena":
            raise ConfigError(f"{where}.kind: {kind!r} is not supported; use duckdb or athena")
        if "duckdb_path" in section:
            raise ConfigError(f"{where}.duckdb_path: only applies to kind duckdb")
        for required in ("database", "output_location"):
            if required not in section:
                raise ConfigError(f"{where}.{required}: required field is missing for kind athena")
        database = self.string(section["database"], f"{where}.database")
        if not _SOURCE_NAME.match(database):
            raise ConfigError(f"{where}.database: {database!r} must be lower-case letters, digits and underscores")
        output = self.string(section["output_location"], f"{where}.output_location")
        if not output.startswith("s3://"):
            raise ConfigError(f"{where}.output_location: {output!r} must be an s3:// URI")
        return CatalogSettings(
            kind=kind,
            database=database,
            workgroup=self.string(section.get("workgroup", "primary"), f"{where}.workgroup"),
            output_location=output,
            region=self.string(section["region"], f"{where}.region") if "region" in section else None,
            endpoint_url=self.url(section["endpoint_url"], f"{where}.endpoint_url") if "endpoint_url" in section else None,
            partition_projection=self.boolean(section.get("partition_projection", False),
                                              f"{where}.partition_projection"),
        )

    def ca_file(self, raw: Any, where: str) -> str:
        path = self.path(raw, where)
        if not Path(path).is_file():
            raise ConfigError(f"{where}: no such file {path!r}; point it at the PEM certificate of the cluster's CA")
        return path

    def url(self, raw: Any, where: str) -> str:
        value = self.string(raw, where)
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"{where}: {value!r} is not an http(s):// URL")
        return value

    def sources(self, raw: Any) -> tuple[SourceSettings, ...]:
        if not isinstance(raw, list) or not raw:
            raise ConfigError("sources: expected a non-empty list of sources")
        sources = tuple(self.source(item, f"sources[{i}]") for i, item in enumerate(raw))
        names = [source.name for source in sources]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"sources[{i}].name: {name!r} is used by another source")
        return sources

    def source(self, raw: Any, where: str) -> SourceSettings:
        section = self.mapping(
            raw,
            where,
            required={"name", "index", "timestamp_field", "start_date"},
            optional={
                "timezone", "page_size", "slices", "array_fields", "source_includes",
                "source_excludes", "pit_keep_alive", "automation", "sensor_interval_seconds",
                "settle_minutes", "late_data_days", "schedule_hour", "backfill", "days_per_run",
            },
        )
        name = self.string(section["name"], f"{where}.name")
        if not _SOURCE_NAME.match(name):
            raise ConfigError(
                f"{where}.name: {name!r} must be lower-case letters, digits and underscores, starting with a letter"
            )
        index = self.string(section["index"], f"{where}.index")
        _check_index_pattern(index, f"{where}.index")
        timezone = self.string(section.get("timezone", "UTC"), f"{where}.timezone")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}.timezone: {timezone!r} is not an IANA time zone such as UTC or Europe/Paris")
        page_size = self.positive_int(section.get("page_size", 10_000), f"{where}.page_size")
        if page_size > 10_000:
            raise ConfigError(f"{where}.page_size: {page_size} exceeds Elasticsearch's index.max_result_window (10000)")
        slices = section.get("slices", "auto")
        keep_alive = self.string(section.get("pit_keep_alive", "5m"), f"{where}.pit_keep_alive")
        if not re.fullmatch(r"\d+[smh]", keep_alive):
            raise ConfigError(f"{where}.pit_keep_alive: {keep_alive!r} must look like 90s, 5m or 1h")
        automation = section.get("automation", "sensor")
        if automation not in _AUTOMATIONS:
            raise ConfigError(f"{where}.automation: {automation!r} is not one of {', '.join(_AUTOMATIONS)}")
        schedule_hour = section.get("schedule_hour", 1)
        if isinstance(schedule_hour, bool) or not isinstance(schedule_hour, int) or not 0 <= schedule_hour <= 23:
            raise ConfigError(f"{where}.schedule_hour: expected an hour from 0 to 23, got {schedule_hour!r}")
        backfill = section.get("backfill", "single_run")
        if backfill not in ("single_run", "multi_run"):
            raise ConfigError(f"{where}.backfill: {backfill!r} is not one of single_run, multi_run")
        if "days_per_run" in section and backfill != "multi_run":
            raise ConfigError(f"{where}.days_per_run: only applies to backfill: multi_run")
        return SourceSettings(
            name=name,
            index=index,
            timestamp_field=self.string(section["timestamp_field"], f"{where}.timestamp_field"),
            start_date=_date(section["start_date"], f"{where}.start_date"),
            timezone=timezone,
            page_size=page_size,
            slices=None if slices == "auto" else self.positive_int(slices, f"{where}.slices"),
            array_fields=self.string_list(section.get("array_fields", []), f"{where}.array_fields"),
            source_includes=self.string_list(section.get("source_includes", []), f"{where}.source_includes"),
            source_excludes=self.string_list(section.get("source_excludes", []), f"{where}.source_excludes"),
            pit_keep_alive=keep_alive,
            automation=automation,
            sensor_interval_seconds=self.positive_int(
                section.get("sensor_interval_seconds", 300), f"{where}.sensor_interval_seconds"
            ),
            settle_minutes=self.non_negative_int(section.get("settle_minutes", 30), f"{where}.settle_minutes"),
            late_data_days=self.non_negative_int(section.get("late_data_days", 3), f"{where}.late_data_days"),
            schedule_hour=schedule_hour,
            backfill=backfill,
            days_per_run=self.positive_int(section.get("days_per_run", 1), f"{where}.days_per_run"),
        )


def _check_index_pattern(index: str, where: str) -> None:
    """Refuse patterns that reach beyond one source's indices."""
    for part in index.split(","):
        part = part.strip()
        if part == "_all" or not part.strip("*") or part.startswith("-"):
            raise ConfigError(f"{where}: {index!r} reaches beyond one source; name an index, alias or pattern like logs-*")
        if ":" in part:
            raise ConfigError(f"{where}: remote-cluster pattern {part!r} is not allowed")
        if part.startswith("."):
            raise ConfigError(
                f"{where}: {part!r} names system or hidden indices (a leading '.'); name the source's own indices, "
                "alias or data stream"
            )
        if not _INDEX_PART.fullmatch(part):
            raise ConfigError(
                f"{where}: {part!r} is not an index, alias or pattern: start with a letter or digit and use only "
                "letters, digits, '.', '_', '-', '+' and '*'"
            )


def _date(raw: Any, where: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD, got a timestamp {raw!r}")
    if isinstance(raw, dt.date):  # YAML parses unquoted dates itself
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ConfigError(f"{where}: {raw!r} is not a date in the form YYYY-MM-DD")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else str(key)
