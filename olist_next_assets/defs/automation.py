"""Running it every week: the Monday schedule and the landing-zone sensor.

* ``weekly_schedule``: every Monday at 06:00 (``OLIST_SCHEDULE_TIMEZONE``, default
  America/Sao_Paulo) it runs ``olist_next_job`` for the week that just closed (weeks are UTC, and
  06:00 in Sao Paulo is after midnight UTC). The churn model inside that run retrains on its own
  4-week cadence and carries the model in between; the hyperparameter search is ``tuning_job``.
* ``landing_sensor``: when a new version of an export lands (a complete drop, or a settled file
  in the landing root), it requests ``olist_next_job`` for exactly the weeks the changed files
  touch, as single-run backfills of contiguous ranges. Its cursor holds the file versions already
  requested, so a daemon restart neither re-ingests nor skips.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from olist_next_assets.defs.jobs import main_job
from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_assets.defs.resources import LakeResource, LandingZone
from olist_next_assets.lib import landing as landing_lib

SCHEDULE_TIMEZONE = os.environ.get("OLIST_SCHEDULE_TIMEZONE", "America/Sao_Paulo")
SETTLE_SECONDS = float(os.environ.get("OLIST_LANDING_SETTLE_SECONDS", "60"))


def closed_week(at: dt.datetime) -> dt.date:
    """The Monday of the last full UTC week before ``at``."""
    day = at.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday() + 7)


@dg.schedule(
    name="weekly_schedule",
    cron_schedule="0 6 * * 1",
    execution_timezone=SCHEDULE_TIMEZONE,
    job=main_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every Monday 06:00: the whole graph for the week that just closed.",
)
def weekly_schedule(context: dg.ScheduleEvaluationContext):
    week = closed_week(context.scheduled_execution_time)
    key = week.isoformat()
    if not weekly_partitions.has_partition_key(key):
        return dg.SkipReason(
            f"Week {key} is outside the partitions ({weekly_partitions.get_first_partition_key()} to "
            f"{weekly_partitions.get_last_partition_key()}); set OLIST_END_WEEK=open to keep adding weeks."
        )
    return dg.RunRequest(run_key=key, partition_key=key)


def _range_request(first: dt.date, last: dt.date, versions: dict[str, str]) -> dg.RunRequest:
    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"landing-{first}-{last}-{digest}",
        tags={ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
              "olist/trigger": "landing"},
    )


@dg.sensor(
    name="landing_sensor",
    job=main_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New exports in the landing zone: runs the graph for exactly the weeks they touch, once per file "
                "version (complete drops only; root files once settled).",
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone, lake: LakeResource):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = landing_lib.current_files(Path(landing.root), SETTLE_SECONDS, time.time())
    versions = {name: landing_lib.version(path) for name, path in files.items()}
    changed = {name: files[name] for name, v in versions.items() if seen.get(name) != v}
    if not changed:
        return dg.SensorResult(skip_reason=dg.SkipReason("No new file versions in the landing zone."))
    orders = lake.scan(dg.AssetKey(["bronze", "orders"]))
    orders_weeks = orders.select("order_id", "week").collect() if orders is not None else None
    weeks = landing_lib.affected_weeks(changed, orders_weeks)
    keys = [dt.date.fromisoformat(k) for k in weekly_partitions.get_partition_keys()]
    weeks = keys if weeks is None else [w for w in weeks if w in set(keys)]
    requests = [_range_request(first, last, versions) for first, last in landing_lib.contiguous_ranges(weeks)]
    context.log.info(f"{len(changed)} changed files ({', '.join(sorted(changed))}): {len(weeks)} weeks, "
                     f"{len(requests)} runs")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps({**seen, **versions}, sort_keys=True))
