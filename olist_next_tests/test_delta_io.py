"""Regression tests for the Delta IO manager's week-range semantics.

dagster-deltalake-polars 0.29.x returned only the first week of a multi-week read, failed a
single-run backfill over an existing table, and lost table statistics. These pin the fix.
"""


import datetime as dt

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from olist_next_assets.lib.delta_io import FrameStream, WeeklyDeltaPolarsIOManager
from olist_next_tests.conftest import range_tags

WEEKS = dg.WeeklyPartitionsDefinition(start_date="2018-01-01", end_date="2018-03-05", day_offset=1)


def _week_rows(window: dg.TimeWindow, tag: str) -> pl.DataFrame:
    """Three rows per week in the window, labelled with the run that wrote them."""
    weeks, day = [], window.start.date()
    while day < window.end.date():
        weeks += [day] * 3
        day += dt.timedelta(days=7)
    return pl.DataFrame({"week": weeks, "n": list(range(len(weeks))), "writer": [tag] * len(weeks)})


class Writer(dg.Config):
    tag: str = "default"


@dg.asset(partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta",
          backfill_policy=dg.BackfillPolicy.single_run())
def events(context: dg.AssetExecutionContext, config: Writer) -> pl.DataFrame:
    return _week_rows(context.partition_time_window, config.tag)


@dg.asset  # unpartitioned downstream: loads every week of `events`
def all_weeks_seen(events: pl.DataFrame) -> pl.DataFrame:
    return events.select(pl.col("week").n_unique().alias("weeks"), pl.len().alias("rows"))


@pytest.fixture
def delta(tmp_path) -> WeeklyDeltaPolarsIOManager:
    return WeeklyDeltaPolarsIOManager(root_uri=str(tmp_path), storage_options={"local": {}})


def _run(delta, instance, tag: str, first: str, last: str, assets=(events,)) -> dg.ExecuteInProcessResult:
    return dg.materialize(list(assets), resources={"delta": delta}, instance=instance,
                          tags=range_tags(first, last), selection=[a.key for a in assets],
                          run_config={"ops": {"events": {"config": {"tag": tag}}}})


def _table(tmp_path) -> pl.DataFrame:
    return pl.read_delta(str(tmp_path / "public" / "events")).sort("week", "n")


def test_range_write_then_multi_week_read_returns_every_week(delta, instance, tmp_path):
    assert _run(delta, instance, "a", "2018-01-01", "2018-02-26").success
    loaded = dg.materialize([events, all_weeks_seen], resources={"delta": delta}, instance=instance,
                            selection=[all_weeks_seen.key])
    seen = loaded.output_for_node("all_weeks_seen")
    assert seen.row(0) == (9, 27)  # the 0.29.x handler returned 1 week / 3 rows here


def test_single_run_backfill_over_existing_table_replaces_exactly_its_range(delta, instance, tmp_path):
    assert _run(delta, instance, "first", "2018-01-01", "2018-02-26").success
    assert _run(delta, instance, "second", "2018-01-15", "2018-01-29").success

    table = _table(tmp_path)
    assert table.height == 27  # no duplicates, nothing lost
    by_week = dict(table.group_by("week").agg(pl.col("writer").unique().first()).iter_rows())
    rewritten = {dt.date(2018, 1, 15), dt.date(2018, 1, 22), dt.date(2018, 1, 29)}
    assert {w for w, writer in by_week.items() if writer == "second"} == rewritten
    assert all(writer == "first" for w, writer in by_week.items() if w not in rewritten)


def test_rerun_of_one_partition_is_idempotent(delta, instance, tmp_path):
    assert _run(delta, instance, "x", "2018-01-08", "2018-01-08").success
    before = _table(tmp_path)
    assert _run(delta, instance, "x", "2018-01-08", "2018-01-08").success
    assert _table(tmp_path).equals(before)
    assert before.height == 3


def test_materialization_reports_row_count_schema_and_version(delta, instance, tmp_path):
    result = _run(delta, instance, "a", "2018-01-01", "2018-01-15")
    metadata = result.asset_materializations_for_node("events")[0].metadata
    assert metadata["dagster/row_count"].value == 9
    assert [c.name for c in metadata["dagster/column_schema"].value.columns] == ["week", "n", "writer"]
    assert metadata["delta_version"].value == DeltaTable(str(tmp_path / "public" / "events")).version()


@dg.asset(partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta")
def string_weeks(context: dg.AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"week": [context.partition_key]})


@dg.asset(partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta")
def misplaced(context: dg.AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"week": [dt.date(2017, 1, 2)]})


@pytest.mark.parametrize(("asset", "message"), [(string_weeks, "must be pl.Date"), (misplaced, "outside the partition window")])
def test_bad_partition_column_fails_with_a_clear_message(delta, instance, asset, message):
    result = dg.materialize([asset], resources={"delta": delta}, instance=instance,
                            partition_key="2018-01-08", raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert message in str(failure)


@dg.asset(partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta",
          backfill_policy=dg.BackfillPolicy.single_run())
def streamed(context: dg.AssetExecutionContext) -> FrameStream:
    frame = _week_rows(context.partition_time_window, "stream")
    weekly = (week for _, week in frame.group_by("week", maintain_order=True))
    return FrameStream(frame.schema, weekly)


def test_a_stream_of_weekly_frames_is_written_in_one_transaction(delta, instance, tmp_path):
    result = dg.materialize([streamed], resources={"delta": delta}, instance=instance,
                            tags=range_tags("2018-01-01", "2018-01-29"))
    table = DeltaTable(str(tmp_path / "public" / "streamed"))
    assert table.version() == 0 and len(table.history()) == 1
    assert pl.read_delta(str(tmp_path / "public" / "streamed")).height == 15
    assert result.asset_materializations_for_node("streamed")[0].metadata["dagster/row_count"].value == 15
