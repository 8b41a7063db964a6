"""The es_assets Component: ``dg scaffold defs es_assets.ElasticsearchLakeComponent my_logs``.

Its ``defs.yaml`` holds, under ``attributes``, exactly what ``es_assets.yaml`` holds (the same
:class:`~es_assets.config.Settings` model validates both, with the same messages, all problems at
once), and it builds the same definitions as the ``workspace.yaml`` code location. Relative paths
resolve against the dg project's root; ``${VAR}`` references against the environment.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any, Optional

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field

from es_assets.config import SOURCE_NAME, Settings, parse_settings
from es_assets.defs.definitions import build_definitions
from es_assets.errors import ConfigError


class ElasticsearchLakeAttributes(BaseModel):
    """The shape of ``attributes``; :class:`~es_assets.config.Settings` checks every value when the component loads."""

    model_config = ConfigDict(extra="forbid")

    elasticsearch: dict[str, Any] = Field(description="hosts, api_key: ${ENV_VAR}, ca_certs, ... (README: configuration)")
    lake: dict[str, Any] = Field(description="uri: file://./data/lake or s3://bucket/prefix, compression, ...")
    catalog: Optional[dict[str, Any]] = Field(None, description="kind: duckdb (duckdb_path) or athena (database, ...)")
    sources: list[dict[str, Any]] = Field(description="name, index, timestamp_field, start_date, ... per source")


class ElasticsearchLakeScaffolder(dg.Scaffolder):
    """Writes a ``defs.yaml`` with one source named after the component's folder, for the user to edit."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        name = request.target_path.name.replace("-", "_").lower()
        if not SOURCE_NAME.match(name):
            name = "logs"
        request.target_path.mkdir(parents=True, exist_ok=True)
        start = dt.date.today() - dt.timedelta(days=30)
        (request.target_path / "defs.yaml").write_text(textwrap.dedent(f"""\
            type: {request.type_name}

            # The same keys as es_assets.yaml (see the es_assets README, "Configuration").
            # Secrets only as environment references: api_key: ${{ES_API_KEY}}.
            attributes:
              elasticsearch:
                hosts: ["${{ES_URL:-http://127.0.0.1:9200}}"]
              lake:
                uri: file://./data/{name}/lake
              catalog:
                kind: duckdb
                duckdb_path: ./data/{name}/catalog.duckdb
              sources:
                - name: {name}
                  index: "{name.replace('_', '-')}-*"
                  timestamp_field: "@timestamp"
                  start_date: "{start.isoformat()}"
            """))


@dg.scaffold_with(ElasticsearchLakeScaffolder)
class ElasticsearchLakeComponent(dg.Component):
    """Elasticsearch/OpenSearch indices into a daily-partitioned Parquet lake and a DuckDB or Athena table.

    Per source: the assets ``elasticsearch/<src>`` → ``parquet/<src>`` → ``athena/<src>``, their
    checks, a job, the sensor on new indices and the daily schedule.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def get_model_cls(cls) -> type[BaseModel]:
        return ElasticsearchLakeAttributes

    @classmethod
    def load(cls, attributes: Optional[BaseModel], context: dg.ComponentLoadContext) -> "ElasticsearchLakeComponent":
        raw = attributes.model_dump(exclude_none=True) if attributes is not None else {}
        try:
            return cls(parse_settings(raw, base_dir=context.project_root))
        except ConfigError as exc:
            where = context.path / "defs.yaml"
            raise ConfigError.of([f"{where}: attributes." + problem for problem in exc.problems]) from None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_definitions(self.settings)
