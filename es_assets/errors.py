"""The errors es_assets raises on purpose: each says what went wrong and what to fix."""


class EsAssetsError(Exception):
    """Base class: an error es_assets understood and explained."""


class ConfigError(EsAssetsError):
    """The configuration is invalid: one ``<field>: <what to fix>`` line per problem, all at once."""

    def __init__(self, message: str, problems: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else (message,)

    @classmethod
    def of(cls, problems: list[str]) -> "ConfigError":
        return cls("\n".join(problems), tuple(problems))


class ClusterError(EsAssetsError):
    """Elasticsearch/OpenSearch answered with a permanent error (or not at all)."""


class ClusterUnreachable(ClusterError):
    """No configured host could be reached within the retry budget."""


class AuthenticationError(ClusterError):
    """HTTP 401/403: the credentials are wrong or lack a privilege."""


class MissingIndexError(ClusterError):
    """The source's index pattern matches nothing the cluster can search."""


class ContextLost(ClusterError):
    """A point-in-time or scroll context expired or vanished; the slice must restart."""


class IncompleteExtraction(EsAssetsError):
    """A page or a whole day came back short: failed shards, time-outs, or a count mismatch."""


class SchemaError(EsAssetsError):
    """The mappings cannot be turned into one Athena-safe schema."""


class PartitionBusy(EsAssetsError):
    """Another run is writing (or has just published) the same day."""


class TruncatedResponse(IncompleteExtraction):
    """A response body that is not whole JSON: cut off in transit (any framing), so worth asking again."""


class SmallerDayRefused(EsAssetsError):
    """Re-extracting a day would publish fewer rows than the lake already holds for it."""

    def __init__(self, message: str, lake_rows: int, cluster_rows: int, vanished_indices: tuple[str, ...]) -> None:
        super().__init__(message)
        self.lake_rows, self.cluster_rows, self.vanished_indices = lake_rows, cluster_rows, vanished_indices
