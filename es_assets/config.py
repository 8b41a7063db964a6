"""The configuration as one typed model: ``es_assets.yaml`` (or a component's ``defs.yaml``) → :class:`Settings`.

Every problem of a file is reported at once, in one :class:`ConfigError` with one line per
problem naming its field (``sources[0].start_date: ...``), so a user can fix the file without
reading code. Secrets are only accepted as ``${ENV_VAR}`` references, resolved here into
:class:`Secret` values that never show in reprs or logs. Relative paths resolve against the
directory of the file (``base_dir``) and ``${VAR}`` references against ``env``, both passed to
pydantic as validation context.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping, Union
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    PrivateAttr,
    SecretStr,
    Strict,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from es_assets.errors import ConfigError

CONFIG_ENV_VAR = "ES_ASSETS_CONFIG"
DEFAULT_CONFIG_PATH = "es_assets.yaml"

# ${VAR} or ${VAR:-default}; the whole value must be one reference for secret fields.
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # \Z, not $: $ also matches before a trailing newline
# One part of an index expression: a letter or digit first, then letters, digits, . _ - + and *.
_INDEX_PART = re.compile(r"[^\W_][\w.+*-]*")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
MAX_PAGE_SIZE = 10_000  # Elasticsearch's default index.max_result_window


def _problem(message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error whose text is ours; ``field`` names a key below the failing model."""
    return PydanticCustomError("es_assets", "{message}", {"message": message, "field": field})


# -- field types ------------------------------------------------------------------------------


def _env(info: ValidationInfo) -> Mapping[str, str]:
    return (info.context or {}).get("env", os.environ)


def _base_dir(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("base_dir", Path.cwd()))


def _text(raw: Any, info: ValidationInfo) -> str:
    """A non-empty string, with ``${VAR}`` / ``${VAR:-default}`` substituted from the environment."""
    if not isinstance(raw, str) or not raw.strip():
        raise _problem(f"expected a non-empty string, got {raw!r}")
    env = _env(info)

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise _problem(f"environment variable {name} is not set")

    return _ENV_REF.sub(substitute, raw)


def _text_list(raw: Any) -> Any:
    return [raw] if isinstance(raw, str) else raw


def _http_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise _problem(f"{raw!r} is not an http(s):// URL")
    return raw


def _host(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise _problem(f"{raw!r} is not an http(s)://host:port URL")
    if parsed.username or parsed.password:
        raise _problem("credentials in the URL are not allowed; use username/password or api_key")
    return raw


def _local_path(raw: str, info: ValidationInfo) -> str:
    value = Path(raw).expanduser()
    return str(value if value.is_absolute() else (_base_dir(info) / value).resolve())


def _owned_path(raw: str, info: ValidationInfo) -> str:
    """A local path es_assets writes to: no '..' (a relative path stays under this file's directory), not '/'."""
    if ".." in Path(raw).parts:
        raise _problem(f"'..' is not allowed in {raw!r}; write an absolute path for a place outside this file's directory")
    path = _local_path(raw, info)
    if Path(path) == Path(path).parent:
        raise _problem(f"{raw!r} is the filesystem root; give es_assets a directory of its own")
    return path


def _ca_file(raw: str, info: ValidationInfo) -> str:
    path = _local_path(raw, info)
    if not Path(path).is_file():
        raise _problem(f"no such file {path!r}; point it at the PEM certificate of the cluster's CA")
    return path


def _identifier(raw: str) -> str:
    if not SOURCE_NAME.match(raw):
        raise _problem(f"{raw!r} must be lower-case letters, digits and underscores, starting with a letter")
    return raw


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise _problem(f"expected a date YYYY-MM-DD, got a timestamp {raw!r}")
    if isinstance(raw, dt.date):  # YAML parses unquoted dates itself
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise _problem(f"{raw!r} is not a date in the form YYYY-MM-DD")


class Secret(SecretStr):
    """A secret resolved from ``${env_var}``: pydantic's SecretStr (masked in reprs), plus where it came from."""

    def __init__(self, value: str, env_var: str | None = None) -> None:
        super().__init__(value)
        self.env_var = env_var

    @property
    def value(self) -> str:
        return self.get_secret_value()

    def __str__(self) -> str:
        return f"${{{self.env_var}}}" if self.env_var else super().__str__()


def _secret(raw: Any, info: ValidationInfo) -> Secret:
    if isinstance(raw, Secret):  # already resolved (settings rebuilt from a resource)
        return raw
    match = _ENV_REF.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or match.group(2) is not None:
        raise _problem(
            "secrets must be an environment reference such as ${ES_API_KEY}, not a literal value; "
            "move the value into an environment variable"
        )
    name = match.group(1)
    value = _env(info).get(name)
    if not value:
        raise _problem(f"environment variable {name} is not set (or empty)")
    return Secret(value, env_var=name)


Text = Annotated[str, PlainValidator(_text)]
TextList = Annotated[tuple[Text, ...], BeforeValidator(_text_list)]
HttpUrl = Annotated[str, PlainValidator(lambda raw, info: _http_url(_text(raw, info)))]
Host = Annotated[str, PlainValidator(lambda raw, info: _host(_text(raw, info)))]
OwnedPath = Annotated[str, PlainValidator(lambda raw, info: _owned_path(_text(raw, info), info))]
Identifier = Annotated[str, PlainValidator(lambda raw, info: _identifier(_text(raw, info)))]
Day = Annotated[dt.date, PlainValidator(_date)]
SecretRef = Annotated[Secret, PlainValidator(_secret)]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
WholeNumber = Annotated[int, Strict(), Field(ge=0)]
PositiveSeconds = Annotated[float, Strict(), Field(gt=0)]
Flag = Annotated[bool, Strict()]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- sections ---------------------------------------------------------------------------------


class ElasticsearchSettings(_Section):
    hosts: Annotated[tuple[Host, ...], BeforeValidator(_text_list)]
    api_key: SecretRef | None = None
    username: Text | None = None
    password: SecretRef | None = None
    ca_certs: Annotated[str, PlainValidator(lambda raw, info: _ca_file(_text(raw, info), info))] | None = None
    verify_certs: Flag = True
    request_timeout_s: PositiveSeconds = Field(120.0, alias="request_timeout_seconds")
    # Total time one request may spend retrying transient errors (429, 503, time-outs).
    retry_budget_s: PositiveSeconds = Field(300.0, alias="retry_budget_seconds")

    @field_validator("hosts")
    @classmethod
    def _at_least_one(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        # Not Field(min_length=1): pydantic would also report it when a host is invalid.
        if not hosts:
            raise _problem("at least one host is required")
        return hosts

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> "ElasticsearchSettings":
        if (self.username is None) != (self.password is None):
            raise _problem("username and password go together; set both or neither")
        if self.api_key is not None and self.username is not None:
            raise _problem("set either api_key or username/password, not both")
        return self


Compression = Literal["zstd", "snappy", "gzip", "lz4", "none"]


# --- lake.table_format: iceberg (issue 15) ------------------------------------------------------
# YAML: lake: {table_format: iceberg, iceberg: {catalog_path: ..., snapshot_retention_hours: 168}}.
# The Iceberg catalog follows `catalog.kind`: duckdb -> pyiceberg's SQL catalog on SQLite (file://
# lakes), athena -> the Glue Data Catalog (s3:// lakes), whose database/region/endpoint Settings copies in.
class IcebergSettings(_Section):
    catalog_path: OwnedPath | None = None  # the local SQL catalog (SQLite); default <lake>/_iceberg_catalog.db
    snapshot_retention_hours: PositiveInt = 168  # older snapshots expire (the current one always stays)
    # Derived, not for the file: Settings._iceberg_catalog copies them from the catalog (kind athena)
    # and overwrites anything written here; they are fields so that the lake resource round-trips them.
    glue_database: str | None = None
    glue_region: str | None = None
    glue_endpoint_url: str | None = None


def _iceberg_catalog(settings: "Settings") -> "Settings":
    """Tie an Iceberg lake to its catalog: SQLite beside a file:// lake, Glue for an s3:// one."""
    lake, catalog = settings.lake, settings.catalog
    if lake.table_format != "iceberg":
        if lake.iceberg is not None:
            raise _problem("only applies to lake.table_format: iceberg", field="lake.iceberg")
        return settings
    if lake.is_s3 != (catalog.kind == "athena"):
        raise _problem("iceberg keeps an s3:// lake in Glue (catalog.kind: athena) and a file:// lake in a local "
                       "SQL catalog (catalog.kind: duckdb)", field="lake.table_format")
    iceberg = lake.iceberg or IcebergSettings()
    if lake.is_s3:
        if iceberg.catalog_path is not None:
            raise _problem("only applies to file:// lakes (S3 lakes use Glue)", field="lake.iceberg.catalog_path")
        update = {"glue_database": catalog.database, "glue_region": catalog.region or lake.region,
                  "glue_endpoint_url": catalog.endpoint_url and str(catalog.endpoint_url)}
    else:
        update = {"catalog_path": iceberg.catalog_path
                  or str(Path(lake.uri.removeprefix("file://")) / "_iceberg_catalog.db")}
    return settings.model_copy(update={"lake": lake.model_copy(update={"iceberg": iceberg.model_copy(update=update)})})
# --- end of the iceberg block ---------------------------------------------------------------------


class _LakeBase(_Section):
    uri: Text  # file:///abs/path or s3://bucket/prefix
    compression: Compression = "zstd"
    # A Parquet file is closed after this many rows or bytes, keeping files large but bounded.
    target_file_rows: PositiveInt = 5_000_000
    target_file_bytes: PositiveInt = 256 * 1024 * 1024
    # hive (versioned day directories) | iceberg (an Apache Iceberg table): see IcebergSettings.
    table_format: Literal["hive", "iceberg"] = "hive"
    iceberg: IcebergSettings | None = None

    kind: ClassVar[str]  # the URI's scheme, never a key of the file (see _lake_kind)

    @property
    def is_s3(self) -> bool:
        return self.kind == "s3"


class LocalLakeSettings(_LakeBase):
    """A lake in a local (or mounted) directory: ``file://./data/lake`` or ``file:///srv/lake``."""

    kind: ClassVar[str] = "file"

    @field_validator("uri")
    @classmethod
    def _directory(cls, uri: str, info: ValidationInfo) -> str:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise _problem(f"{uri!r} must start with file:// or s3://")
        if parsed.params or parsed.query or parsed.fragment:
            raise _problem(f"{uri!r} must be a plain file:// path (no query or fragment)")
        return "file://" + _owned_path((parsed.netloc + parsed.path) or ".", info)


class S3LakeSettings(_LakeBase):
    """A lake under an S3 prefix (or an S3-compatible store: MinIO, moto)."""

    kind: ClassVar[str] = "s3"
    endpoint_url: HttpUrl | None = None
    region: Text | None = None
    sse: Literal["none", "s3", "kms"] = "none"
    kms_key_id: Text | None = None

    @field_validator("uri")
    @classmethod
    def _bucket_and_prefix(cls, uri: str) -> str:
        parsed = urlparse(uri)
        if not _BUCKET.fullmatch(parsed.netloc):
            raise _problem(f"{parsed.netloc!r} is not a valid S3 bucket name")
        if ".." in parsed.path.split("/"):
            raise _problem("'..' is not allowed in the lake prefix")
        return f"s3://{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")

    @model_validator(mode="after")
    def _kms_needs_a_key(self) -> "S3LakeSettings":
        if self.sse == "kms" and self.kms_key_id is None:
            raise _problem("required when sse is kms", field="kms_key_id")
        return self


def _lake_kind(raw: Any) -> str:
    """The lake's kind is the scheme of its URI; anything but s3:// is checked as a local lake."""
    uri = raw.get("uri") if isinstance(raw, dict) else getattr(raw, "uri", None)
    return "s3" if isinstance(uri, str) and uri.startswith("s3://") else "file"


LakeSettings = Annotated[
    Union[Annotated[LocalLakeSettings, Tag("file")], Annotated[S3LakeSettings, Tag("s3")]],
    Discriminator(_lake_kind),
]


class DuckDBCatalogSettings(_Section):
    """A DuckDB file with one view per source, over the lake's Parquet."""

    kind: Literal["duckdb"]
    duckdb_path: OwnedPath

    @field_validator("duckdb_path", mode="before")
    @classmethod
    def _a_file(cls, raw: Any) -> Any:
        # :memory:, md:..., s3://... would silently become oddly named local files.
        if isinstance(raw, str) and re.match(r"\w*:", raw):
            raise _problem(f"{raw!r} must be a local file path")
        return raw


class AthenaCatalogSettings(_Section):
    """A Glue table per source, queried with Athena: the database, the workgroup and where results go."""

    # `glue` is the same catalog seen from the Iceberg side (a Glue table that Athena reads): one kind in code.
    kind: Literal["athena", "glue"]
    database: Identifier
    workgroup: Text = "primary"
    output_location: Text
    region: Text | None = None
    endpoint_url: HttpUrl | None = None  # an Athena/Glue-compatible endpoint (moto in tests)
    partition_projection: Flag = False

    @field_validator("kind")
    @classmethod
    def _one_name(cls, kind: str) -> str:
        return "athena"

    @field_validator("output_location")
    @classmethod
    def _on_s3(cls, output: str) -> str:
        if not output.startswith("s3://"):
            raise _problem(f"{output!r} must be an s3:// URI")
        return output


CatalogSettings = Annotated[
    Union[DuckDBCatalogSettings, AthenaCatalogSettings],
    Field(discriminator="kind"),
]
DEFAULT_CATALOG = {"kind": "duckdb", "duckdb_path": "./data/catalog.duckdb"}


class SourceSettings(_Section):
    name: Identifier
    index: Text
    timestamp_field: Text
    start_date: Day
    timezone: Text = "UTC"
    page_size: PositiveInt = MAX_PAGE_SIZE
    slices: Annotated[PositiveInt | None, BeforeValidator(lambda raw: None if raw == "auto" else raw)] = None
    array_fields: TextList = ()
    source_includes: TextList = ()
    source_excludes: TextList = ()
    pit_keep_alive: Text = "5m"
    # Which automation starts running: the sensor on new indices, the daily schedule, or none.
    automation: Literal["sensor", "schedule", "none"] = "sensor"
    sensor_interval_seconds: PositiveInt = 300
    settle_minutes: WholeNumber = 30  # a day is complete this long after its midnight
    late_data_days: WholeNumber = 3  # re-run days this recent whose count changed
    schedule_hour: Annotated[int, Strict(), Field(ge=0, le=23)] = 1
    # Backfills: one run for the whole range (one machine), or runs of N days each (a cluster).
    backfill: Literal["single_run", "multi_run"] = "single_run"
    days_per_run: PositiveInt = 1

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @field_validator("index")
    @classmethod
    def _one_sources_indices(cls, index: str) -> str:
        _check_index_pattern(index)
        return index

    @field_validator("timezone")
    @classmethod
    def _iana(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _problem(f"{timezone!r} is not an IANA time zone such as UTC or Europe/Paris") from None
        return timezone

    @field_validator("page_size")
    @classmethod
    def _within_result_window(cls, page_size: int) -> int:
        if page_size > MAX_PAGE_SIZE:
            raise _problem(f"{page_size} exceeds Elasticsearch's index.max_result_window ({MAX_PAGE_SIZE})")
        return page_size

    @field_validator("pit_keep_alive")
    @classmethod
    def _duration(cls, keep_alive: str) -> str:
        if not re.fullmatch(r"\d+[smh]", keep_alive):
            raise _problem(f"{keep_alive!r} must look like 90s, 5m or 1h")
        return keep_alive

    @model_validator(mode="after")
    def _days_per_run_for_multi_run(self) -> "SourceSettings":
        if "days_per_run" in self.model_fields_set and self.backfill != "multi_run":
            raise _problem("only applies to backfill: multi_run", field="days_per_run")
        return self


class Settings(_Section):
    elasticsearch: ElasticsearchSettings
    lake: LakeSettings
    catalog: CatalogSettings = Field(DEFAULT_CATALOG, validate_default=True)  # type: ignore[assignment]
    sources: tuple[SourceSettings, ...]
    _path: Path | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        """The file these settings were read from, if any."""
        return self._path

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"sources: no source named {name!r}")

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: tuple[SourceSettings, ...]) -> tuple[SourceSettings, ...]:
        if not sources:
            raise _problem("expected a non-empty list of sources")
        names = [source.name for source in sources]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _problem(f"{name!r} is used by another source", field=f"{i}.name")
        return sources

    @model_validator(mode="after")
    def _athena_reads_s3(self) -> "Settings":
        if self.catalog.kind == "athena" and not self.lake.is_s3:
            raise _problem("athena reads the lake from S3; set lake.uri to s3://bucket/prefix", field="catalog.kind")
        return self

    @model_validator(mode="after")
    def _iceberg_catalog(self) -> "Settings":
        return _iceberg_catalog(self)


def _check_index_pattern(index: str) -> None:
    """Refuse patterns that reach beyond one source's indices."""
    for part in index.split(","):
        part = part.strip()
        if part == "_all" or not part.strip("*") or part.startswith("-"):
            raise _problem(f"{index!r} reaches beyond one source; name an index, alias or pattern like logs-*")
        if ":" in part:
            raise _problem(f"remote-cluster pattern {part!r} is not allowed")
        if part.startswith("."):
            raise _problem(
                f"{part!r} names system or hidden indices (a leading '.'); name the source's own indices, "
                "alias or data stream"
            )
        if not _INDEX_PART.fullmatch(part):
            raise _problem(
                f"{part!r} is not an index, alias or pattern: start with a letter or digit and use only "
                "letters, digits, '.', '_', '-', '+' and '*'"
            )


# -- loading ----------------------------------------------------------------------------------


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
    """Validate raw YAML data; every problem is one line of the :class:`ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"the config file: expected a mapping, got {type(raw).__name__}")
    context = {"env": env if env is not None else os.environ, "base_dir": base_dir}
    try:
        settings = Settings.model_validate(raw, context=context)
    except ValidationError as exc:
        raise ConfigError.of(describe_errors(exc)) from None
    settings._path = path
    return settings


_TAGS = {"file", "s3", "duckdb", "athena", "glue"}  # pydantic adds a union member's tag to the location
# The models a location's first key leads to, for "unknown key (allowed here: ...)".
_SECTIONS: dict[str | None, tuple[type[BaseModel], ...]] = {
    None: (Settings,),
    "elasticsearch": (ElasticsearchSettings,),
    "lake": (LocalLakeSettings, S3LakeSettings),
    "catalog": (DuckDBCatalogSettings, AthenaCatalogSettings),
    "sources": (SourceSettings,),
}


def describe_errors(exc: ValidationError) -> list[str]:
    """One ``<location>: <what to fix>`` line per problem, in the file's order; never a secret's value."""
    return [_describe(error) for error in exc.errors(include_url=False)]


def _describe(error: Any) -> str:
    parts = [part for i, part in enumerate(error["loc"]) if not (i == 1 and part in _TAGS)]
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "es_assets":
        if ctx.get("field"):
            parts += [int(p) if p.isdigit() else p for p in ctx["field"].split(".")]
        message = ctx["message"]
    elif kind == "extra_forbidden":
        message = _unknown_key(parts)
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "literal_error":
        message = f"{error['input']!r} is not one of {ctx['expected'].replace(' or ', ', ')}"
    elif kind == "union_tag_invalid":
        parts.append(ctx["discriminator"].strip("'"))
        message = f"{ctx['tag']!r} is not supported; use {ctx['expected_tags'].replace(chr(39), '')}"
    elif kind == "union_tag_not_found":
        parts.append(ctx["discriminator"].strip("'"))
        message = "required field is missing"
    elif kind in ("tuple_type", "list_type"):
        message = f"expected a list, got {_short(error['input'])}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"expected a mapping, got {type(error['input']).__name__}"
    else:  # pydantic's own words, with what was given
        message = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {_short(error['input'])}"
    return f"{_location(parts) or 'the config file'}: {message}"


def _keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def _unknown_key(parts: list[Any]) -> str:
    models = _SECTIONS.get(parts[0] if len(parts) > 1 else None, ())
    key = parts[-1]
    if parts[0] == "lake" and key in _keys(S3LakeSettings):
        return "only applies to s3:// lakes"
    if parts[0] == "catalog":
        for model, kind in ((DuckDBCatalogSettings, "duckdb"), (AthenaCatalogSettings, "athena")):
            if key in _keys(model):
                return f"only applies to kind {kind}"
    allowed = sorted(set().union(*map(_keys, models)))
    return f"unknown key (allowed here: {', '.join(allowed)})" if allowed else "unknown key"


def _location(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
