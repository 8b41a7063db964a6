"""Which days a source's indices hold, and how many documents each day has now.

Daily indices carry their day in the name (``logs-2026.11.25``, ``logstash-2026-11-25``), so
they are read without touching the data. Indices without a date (rollover ``logs-000007``, data
stream backing indices, whose date is the rollover's, not the data's) are asked with a date
histogram of the timestamp field.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable
from urllib.parse import quote

from es_assets.config import SourceSettings
from es_assets.source.cluster import DayWindow
from es_assets.source.http import EsHttp

_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})[.\-_]?(\d{2})[.\-_]?(\d{2})(?!\d)")


def day_in_index_name(index: str) -> dt.date | None:
    """The day a daily index is named after, or None (data stream backing indices never count)."""
    if index.startswith(".ds-"):
        return None
    matches = _DATE_IN_NAME.findall(index)
    if not matches:
        return None
    year, month, day = (int(part) for part in matches[-1])
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def discover_days(http: EsHttp, source: SourceSettings, since: dt.date) -> dict[dt.date, str]:
    """Days from ``since`` on that the source's indices hold, each with how it was found."""
    rows = http.json(
        "GET", f"/_cat/indices/{quote(source.index, safe='*,-')}",
        params={"format": "json", "h": "index,docs.count", "expand_wildcards": "open"},
    )
    days: dict[dt.date, str] = {}
    undated = []
    for row in rows:
        if int(row.get("docs.count") or 0) == 0:
            continue
        day = day_in_index_name(row["index"])
        if day is None:
            undated.append(row["index"])
        elif day >= since:
            days[day] = f"index name {row['index']}"
    if undated:
        for day in _histogram_days(http, source, undated, since):
            days.setdefault(day, "date histogram of " + ", ".join(sorted(undated)[:3]) + ("…" if len(undated) > 3 else ""))
    return days


def _histogram_days(http: EsHttp, source: SourceSettings, indices: list[str], since: dt.date) -> list[dt.date]:
    start = DayWindow.of(since, source.timezone).start
    response = http.json(
        "POST",
        f"/{quote(','.join(sorted(indices)), safe=',')}/_search",
        body={
            "size": 0,
            "query": {"range": {source.timestamp_field: {"gte": start.isoformat()}}},
            "aggs": {
                "days": {
                    "date_histogram": {
                        "field": source.timestamp_field,
                        "calendar_interval": "day",
                        "time_zone": source.timezone,
                        "min_doc_count": 1,
                        "format": "yyyy-MM-dd",
                    }
                }
            },
        },
        params={"filter_path": "aggregations.days.buckets.key_as_string,_shards"},
    )
    buckets = ((response.get("aggregations") or {}).get("days") or {}).get("buckets") or []
    return [dt.date.fromisoformat(bucket["key_as_string"][:10]) for bucket in buckets]


def day_counts(http: EsHttp, source: SourceSettings, days: Iterable[dt.date]) -> dict[dt.date, int]:
    """The exact number of documents of each day, as extraction would count them."""
    path = f"/{quote(source.index, safe='*,-')}/_count"
    return {
        day: int(http.json("POST", path, body={"query": DayWindow.of(day, source.timezone).query(source.timestamp_field)},
                           params={"ignore_unavailable": "true"})["count"])
        for day in days
    }
