"""The same asset graph on both engines: real Dagster runs, landing zone to gold, on one release.

Every Delta table must come out identical (same schema and partition layout, same rows), every
check must pass on Spark too, and each engine must be able to extend the other's tables.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_tests.spark.parity import assert_same
from olist_next_tests.test_pipeline import run_graph

pytestmark = pytest.mark.slow

FEATURES = dg.define_asset_job("engine_parity", selection=dg.AssetSelection.groups("bronze", "silver", "gold"))
DERIVED = dg.define_asset_job("engine_parity_rerun", selection=dg.AssetSelection.groups("silver", "gold"))
RERUN = ("2017-06-05", "2017-07-31")


def tables(lake: Path) -> list[str]:
    return sorted(str(p.parent.relative_to(lake)) for p in lake.glob("*/*/_delta_log"))


@pytest.fixture(scope="module")
def lakes(small_landing, tmp_path_factory, spark):
    keys = weekly_partitions.get_partition_keys()
    built = {}
    for engine in ("polars", "spark"):
        lake = tmp_path_factory.mktemp(f"lake_{engine}")
        result = run_graph(lake, small_landing, dg.DagsterInstance.ephemeral(), keys[0], keys[-1], engine=engine,
                           job=FEATURES)
        assert result.success, engine
        built[engine] = (lake, result)
    return built, small_landing


def test_every_table_is_identical_on_both_engines(lakes):
    built, _ = lakes
    polars_lake, spark_lake = built["polars"][0], built["spark"][0]
    names = tables(polars_lake)
    assert names == tables(spark_lake)
    assert {"bronze/orders", "quarantine/orders", "silver/order_reviews", "gold/customer_360",
            "gold/churn_labels"} <= set(names)
    for name in names:
        left, right = DeltaTable(str(polars_lake / name)), DeltaTable(str(spark_lake / name))
        assert left.metadata().partition_columns == right.metadata().partition_columns, name
        assert_same(pl.read_delta(str(polars_lake / name)), pl.read_delta(str(spark_lake / name)), name)


def test_every_check_passes_on_spark(lakes):
    built, _ = lakes
    result = built["spark"][1]
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and [e.check_name for e in evaluations if not e.passed
                            and e.severity == dg.AssetCheckSeverity.ERROR] == []
    engines = {m.metadata["engine"].value for m in result.get_asset_materialization_events()
               for m in [m.materialization] if "engine" in m.metadata}
    assert engines == {"spark"}


@pytest.mark.parametrize(("lake_of", "engine"), [("polars", "spark"), ("spark", "polars")])
def test_each_engine_extends_the_other_engines_tables(lakes, lake_of, engine):
    """A rerun of a week range by the other engine reads the first engine's bronze and silver and
    replaces silver and gold for those weeks: nothing changes."""
    built, landing = lakes
    lake = built[lake_of][0]
    before = {name: pl.read_delta(str(lake / name)) for name in tables(lake)}
    result = run_graph(lake, landing, dg.DagsterInstance.ephemeral(), *RERUN, engine=engine, job=DERIVED)
    assert result.success
    for name, frame in before.items():
        assert_same(frame, pl.read_delta(str(lake / name)), f"{name} after a {engine} rerun")
