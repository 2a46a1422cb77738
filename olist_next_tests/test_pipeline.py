"""The whole graph, landing zone to gold, in real Dagster runs on the small synthetic release."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from olist_next_assets.defs import bronze, gold, ml, outreach, silver
from olist_next_assets.defs.jobs import main_job
from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_tests.conftest import lake_resources


def run_graph(lake: Path, landing: Path, instance, first: str, last: str, run_config=None, engine: str = "polars",
              job: dg.UnresolvedAssetJobDefinition = main_job):
    definitions = dg.Definitions.merge(
        bronze.defs, silver.defs, gold.defs, ml.defs, outreach.defs,
        dg.Definitions(jobs=[job], resources=lake_resources(lake, landing, engine)),
    )
    return definitions.resolve_job_def(job.name).execute_in_process(
        instance=instance, raise_on_error=False, run_config=run_config,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )


@pytest.fixture(scope="module")
def built(small_landing, tmp_path_factory):
    lake = tmp_path_factory.mktemp("lake")
    keys = weekly_partitions.get_partition_keys()
    instance = dg.DagsterInstance.ephemeral()
    result = run_graph(lake, small_landing, instance, keys[0], keys[-1])
    return lake, small_landing, instance, result


def test_whole_history_passes_every_blocking_check(built):
    _, _, _, result = built
    assert result.success
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed == []
    names = {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()}
    assert {("gold/customer_360", "point_in_time"), ("gold/customer_360", "feature_sanity"),
            ("gold/churn_labels", "label_maturity")} <= names


def test_snapshots_cover_every_week_and_labels_mature_only_inside_the_data(built):
    lake, _, _, _ = built
    snap = pl.read_delta(str(lake / "gold" / "customer_360"))
    labels = pl.read_delta(str(lake / "gold" / "churn_labels"))
    assert snap.select("week", "customer_unique_id").is_duplicated().sum() == 0
    assert snap.height == labels.height
    weekly = snap.group_by("week").len().sort("week")["len"]
    assert weekly.is_sorted()  # customers only accumulate
    mature = labels.filter(pl.col("is_mature"))
    assert mature.height > 0 and labels.filter(~pl.col("is_mature"))["churned"].null_count() == labels.filter(
        ~pl.col("is_mature")).height
    assert 0.9 < mature["churned"].mean() < 1.0  # most buyers never come back


def test_rerunning_a_range_of_gold_and_silver_changes_nothing(built):
    lake, landing, instance, _ = built
    tables = ["silver/orders", "silver/order_reviews", "gold/customer_360", "gold/churn_labels"]
    before = {t: pl.read_delta(str(lake / t)).sort("week", pl.all()) for t in tables}
    assert run_graph(lake, landing, instance, "2017-06-05", "2017-07-31").success  # resumes from stored week
    for table in tables:
        assert pl.read_delta(str(lake / table)).sort("week", pl.all()).equals(before[table]), table


def test_label_horizon_is_run_config(built, tmp_path):
    lake, landing, instance, _ = built
    config = {"ops": {"gold__churn_labels": {"config": {"horizon_days": 90}}}}
    result = run_graph(lake, landing, instance, "2017-06-05", "2017-06-05", run_config=config)
    assert result.success
    labels = pl.read_delta(str(lake / "gold" / "churn_labels")).filter(pl.col("week") == pl.date(2017, 6, 5))
    assert labels["horizon_days"].unique().to_list() == [90]
