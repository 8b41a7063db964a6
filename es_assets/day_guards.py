"""The two decisions that keep a short day out of the lake, as pure functions.

* **An independent count.** The day is counted outside the point in time (the plan's exact
  count, taken just before the PIT is opened), and what the PIT gave must reach it. Documents
  indexed into the day in between are late data: more rows than counted, reported, never a
  failure. Fewer rows mean the PIT missed documents that its own totals cannot show (a PIT
  opened on some shards only reports those shards' totals), so the day fails.
* **No smaller day without being told.** A re-extraction never replaces a published day with
  fewer rows (0 included) unless the run allows it: the lake usually outlives the cluster's
  retention, and keeping that history is why it exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Collection, Mapping

from es_assets.errors import IncompleteExtraction, SmallerDayRefused


def late_documents(source: str, day: dt.date, counted: int, written: int) -> int:
    """How many documents arrived in the day after it was counted; fail if fewer were written."""
    if written < counted:
        raise IncompleteExtraction(
            f"{source} {day}: wrote {written:,} documents but the day counted {counted:,} just before it was read "
            f"({counted - written:,} missing): the point in time did not hold every shard or document; "
            "the previously published day was left in place (if documents were deleted meanwhile, run the day again)"
        )
    return written - counted


def refuse_smaller_day(
    source: str,
    day: dt.date,
    published: Mapping[str, Any] | None,
    cluster_rows: int,
    pattern_indices: Collection[str],
    allow_smaller: bool,
) -> None:
    """Raise :class:`SmallerDayRefused` if ``cluster_rows`` would replace a published day that holds more.

    ``published`` is the published day's manifest (``rows``, and the ``indices`` it was read from);
    ``pattern_indices`` are the indices the source's pattern matches now.
    """
    if published is None or allow_smaller:
        return
    lake_rows = int(published["rows"])
    if cluster_rows >= lake_rows:
        return
    vanished = tuple(sorted(set(published.get("indices") or ()) - set(pattern_indices)))
    if vanished and cluster_rows == 0:
        names = ", ".join(vanished)
        what = f"the index holding {day} ({names}) no longer exists" if len(vanished) == 1 else (
            f"the indices holding {day} ({names}) no longer exist"
        )
        message = f"{source} {day}: {what}; the lake keeps its copy ({lake_rows:,} rows)"
    else:
        gone = f" ({', '.join(vanished)} no longer {'exists' if len(vanished) == 1 else 'exist'})" if vanished else ""
        message = (
            f"{source} {day}: the lake holds {lake_rows:,} rows for the day, the cluster now has {cluster_rows:,}{gone}; "
            "the published day was left in place"
        )
    raise SmallerDayRefused(message, lake_rows=lake_rows, cluster_rows=cluster_rows, vanished_indices=vanished)
