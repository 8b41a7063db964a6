"""The sensor on new indices: it requests a run for every complete day not yet in the lake, and
re-runs recent days whose document count grew since they were extracted (late data). A day
whose count fell is left alone: its run would be refused, as a smaller day needs a user's say-so.

Run keys carry the day's count (``<src>/<day>/<count>``), so repeated ticks never request the
same run twice, and a changed count is a new key. The cursor keeps what was last requested, so
a restarted daemon carries on where it was; the lake's manifests say what is really published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import dagster as dg

from es_assets.config import SourceSettings
from es_assets.defs.assets import ALLOW_SMALLER_DAY_TAG
from es_assets.defs.resources import ElasticsearchResource, LakeResource
from es_assets.source.cluster import DayWindow
from es_assets.source.discovery import day_counts, discover_days

# A sensor asks for at most this many days a tick (newest first); a long gap is a backfill's job.
MAX_RUNS_PER_TICK = 31


@dataclasses.dataclass(frozen=True)
class DayDecision:
    day: dt.date
    count: int
    reason: str  # "new" | "late data: N → M"


def decide_runs(
    source: SourceSettings,
    found: dict[dt.date, str],
    counts: dict[dt.date, int],
    published_rows: dict[dt.date, int],
    requested: dict[str, int],
    now: dt.datetime,
) -> tuple[list[DayDecision], list[str]]:
    """Which days need a run now, and notes on the days that do not (for the skip reason).

    ``requested`` (the cursor) maps days to the count a run was last requested for: such a day
    is not asked again until its count changes, whether that run is still queued or failed.
    """
    settle = dt.timedelta(minutes=source.settle_minutes)
    today = now.astimezone(source.tz).date()
    decisions, notes = [], []
    for day in sorted(found, reverse=True):
        ready_at = DayWindow.of(day, source.timezone).end + settle
        if ready_at > now:
            notes.append(f"{day} is not complete until {ready_at:%Y-%m-%d %H:%M %Z}")
            continue
        count = counts.get(day)
        if count is None:
            continue  # published and outside the late-data window: left alone
        if requested.get(str(day)) == count and published_rows.get(day) != count:
            notes.append(f"{day} was requested already for {count} documents")
            continue
        if day not in published_rows:
            decisions.append(DayDecision(day, count, "new"))
        elif (today - day).days <= source.late_data_days:
            if count > published_rows[day]:
                decisions.append(DayDecision(day, count, f"late data: {published_rows[day]} → {count} documents"))
            elif count < published_rows[day]:
                notes.append(f"{day} has {count} documents, fewer than the lake's {published_rows[day]}: a smaller "
                             f"day is published only by a run tagged {ALLOW_SMALLER_DAY_TAG}")
    return decisions, notes


def build_new_indices_sensor(source: SourceSettings, job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    name = source.name

    @dg.sensor(
        name=f"{name}_new_indices",
        job=job,
        minimum_interval_seconds=source.sensor_interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if source.automation == "sensor" else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            f"Polls `{source.index}` for days that are complete ({source.settle_minutes} min after midnight, "
            f"{source.timezone}) and not yet in the lake, and re-runs the last {source.late_data_days} days "
            "when their document count grows."
        ),
    )
    def new_indices_sensor(
        context: dg.SensorEvaluationContext, elasticsearch: ElasticsearchResource, lake: LakeResource
    ) -> dg.SensorResult | dg.SkipReason:
        the_lake = lake.lake()
        now = dt.datetime.now(dt.timezone.utc)
        today = now.astimezone(source.tz).date()
        published = set(the_lake.published_days(name))
        with elasticsearch.connect(connections=2) as (http, _):
            found = discover_days(http, source, since=source.start_date)
            to_count = [
                day for day in found
                if day < today and (day not in published or (today - day).days <= source.late_data_days)
            ]
            counts = day_counts(http, source, sorted(to_count, reverse=True)[:MAX_RUNS_PER_TICK * 2])
        published_rows = {
            day: int(manifest["rows"])  # type: ignore[call-overload]
            for day in published if day in counts and (manifest := the_lake.manifest(name, day)) is not None
        }
        cursor = json.loads(context.cursor) if context.cursor else {}
        decisions, notes = decide_runs(source, found, counts, published_rows, cursor, now)
        decisions = decisions[:MAX_RUNS_PER_TICK]
        if not decisions:
            seen = f"{len(found)} days in {source.index}, {len(published)} in the lake"
            return dg.SkipReason(
                f"{seen}; every complete day is extracted and unchanged" + (f"; {'; '.join(notes[:3])}" if notes else "")
            )
        for decision in decisions:
            cursor[str(decision.day)] = decision.count
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{name}/{d.day}/{d.count}",
                    partition_key=d.day.isoformat(),
                    tags={"es_assets/source": name, "es_assets/reason": d.reason},
                )
                for d in decisions
            ],
            cursor=json.dumps(dict(sorted(cursor.items())[-400:])),
        )

    return new_indices_sensor
