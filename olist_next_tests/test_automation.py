"""The Monday schedule and the landing sensor, evaluated on an ephemeral instance."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from olist_next_assets.defs.automation import closed_week, landing_sensor, weekly_schedule
from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_assets.defs.resources import LakeResource, LandingZone
from olist_next_assets.lib.landing import MARKER, contiguous_ranges
from olist_next_tests.conftest import run_bronze

ORDERS = "olist_orders_dataset.csv"
ITEMS = "olist_order_items_dataset.csv"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def test_the_schedule_runs_every_monday_morning_for_the_week_that_just_closed():
    assert weekly_schedule.cron_schedule == "0 6 * * 1"
    assert weekly_schedule.execution_timezone == "America/Sao_Paulo"
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2018, 10, 22, 6, tzinfo=SAO_PAULO))
    request = weekly_schedule(context)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2018-10-15"
    assert request.run_key == "2018-10-15"  # the same tick twice never runs twice
    late = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 23, 6, tzinfo=SAO_PAULO))
    skipped = weekly_schedule(late)
    assert isinstance(skipped, dg.SkipReason) and "OLIST_END_WEEK=open" in skipped.skip_message
    assert closed_week(dt.datetime(2018, 1, 8, 6, tzinfo=SAO_PAULO)) == dt.date(2018, 1, 1)


@pytest.fixture
def zone(small_landing, tmp_path):
    """A landing zone (settled files) and a lake with bronze orders, for the sensor."""
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    past = time.time() - 3600
    for path in landing.glob("*.csv"):
        os.utime(path, (past, past))
    lake = tmp_path / "lake"
    assert run_bronze(lake, landing, dg.DagsterInstance.ephemeral(), tables=["customers", "orders"]).success
    return landing, lake


def evaluate(landing: Path, lake: Path, cursor: str | None):
    context = dg.build_sensor_context(
        cursor=cursor, instance=dg.DagsterInstance.ephemeral(),
        resources={"landing": LandingZone(root=str(landing)), "lake": LakeResource(root=str(lake))},
    )
    return landing_sensor(context)


def ranges(result) -> list[tuple[str, str]]:
    return [(r.tags[ASSET_PARTITION_RANGE_START_TAG], r.tags[ASSET_PARTITION_RANGE_END_TAG]) for r in result.run_requests]


def _drop(landing: Path, name: str, files: dict[str, pl.DataFrame], complete: bool) -> Path:
    drop = landing / "drops" / name
    drop.mkdir(parents=True)
    for file, frame in files.items():
        frame.write_csv(drop / file)
    if complete:
        (drop / MARKER).touch()
    return drop


def test_sensor_requests_exactly_the_affected_weeks_once_per_file_version(zone):
    landing, lake = zone
    first = evaluate(landing, lake, None)
    keys = weekly_partitions.get_partition_keys()
    assert ranges(first) == [(keys[0], keys[-1])]  # first sight: dimensions too, so every week, one run
    assert evaluate(landing, lake, first.cursor).run_requests in (None, [])  # nothing new: nothing requested

    orders = pl.read_csv(landing / ORDERS, infer_schema=False)
    weeks = orders.select(pl.col("order_purchase_timestamp").str.to_datetime().dt.truncate("1w").dt.date().alias("w"))
    chosen = orders.filter(weeks["w"].is_in([dt.date(2017, 11, 20), dt.date(2017, 11, 27), dt.date(2018, 3, 5)]))
    drop = _drop(landing, "2018-10-22", {ORDERS: chosen}, complete=False)
    assert evaluate(landing, lake, first.cursor).run_requests in (None, [])  # half-written: no marker yet

    (drop / MARKER).touch()
    second = evaluate(landing, lake, first.cursor)
    assert ranges(second) == [("2017-11-20", "2017-11-27"), ("2018-03-05", "2018-03-05")]
    assert evaluate(landing, lake, second.cursor).run_requests in (None, [])  # a restart resumes from the cursor

    items = pl.read_csv(landing / ITEMS, infer_schema=False)
    june = orders.filter(weeks["w"] == dt.date(2018, 6, 4))["order_id"]
    _drop(landing, "2018-10-29", {ITEMS: items.filter(pl.col("order_id").is_in(june.to_list()))}, complete=True)
    third = evaluate(landing, lake, second.cursor)
    assert ranges(third) == [("2018-06-04", "2018-06-04")]  # items belong to their order's purchase week
    assert json.loads(third.cursor)[ITEMS].startswith("2018-10-29/")


def test_a_file_still_being_written_in_the_root_waits_until_it_settles(zone):
    landing, lake = zone
    first = evaluate(landing, lake, None)
    (landing / ORDERS).write_text((landing / ORDERS).read_text())  # rewritten just now
    assert evaluate(landing, lake, first.cursor).run_requests in (None, [])
    past = time.time() - 3600
    os.utime(landing / ORDERS, (past, past))
    assert len(evaluate(landing, lake, first.cursor).run_requests) >= 1


def test_week_ranges_group_consecutive_weeks():
    d = dt.date
    assert contiguous_ranges([d(2018, 1, 1), d(2018, 1, 8), d(2018, 1, 22)]) == [
        (d(2018, 1, 1), d(2018, 1, 8)), (d(2018, 1, 22), d(2018, 1, 22))]


def test_backfill_refuses_weeks_that_are_not_partitions():
    from olist_next_assets.cli import main

    with pytest.raises(SystemExit, match="not a weekly partition"):
        main(["backfill", "--from", "2018-01-02", "--to", "2018-01-08"])
    with pytest.raises(SystemExit, match="is after"):
        main(["backfill", "--from", "2018-02-05", "--to", "2018-01-08"])
