"""Shared fixtures: isolated lake/landing folders, an ephemeral Dagster instance, real samples."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from olist_next_assets.defs.resources import CouponSigner, LakeResource, LandingZone, LLMResource, MLflowResource
from olist_next_assets.lib.engine import ComputeEngine, LakeIOManager, SparkResource


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """``../shared/olist_real`` through OLIST_REAL_DIR (set by .ci/run); skip when absent."""
    value = os.environ.get("OLIST_REAL_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("OLIST_REAL_DIR is not set to the real Olist samples (.ci/run sets it)")
    return Path(value)


def lake_resources(lake: Path, landing: Path, engine: str = "polars") -> dict[str, object]:
    compute = ComputeEngine(name=engine, spark=SparkResource(master="local[2]", spark_config={"spark.driver.memory": "2g"}))
    return {
        "delta_io_manager": LakeIOManager(root_uri=str(lake), storage_options={"local": {}}, compute=compute),
        "compute": compute,
        "lake": LakeResource(root=str(lake)),
        "landing": LandingZone(root=str(landing)),
        "mlflow": MLflowResource(tracking_uri=f"sqlite:///{lake.parent / (lake.name + '_mlflow.db')}",
                                 artifact_root=str(lake.parent / (lake.name + "_mlflow_artifacts"))),
        "llm": LLMResource(cache_dir=str(lake.parent / (lake.name + "_llm_cache"))),
        "coupons": CouponSigner(secret="test-secret"),
    }


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover a range of partitions (a single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """An in-memory instance: real runs and event log, without SQLite's per-event cost."""
    return dg.DagsterInstance.ephemeral()


def run_bronze(
    lake: Path,
    landing: Path,
    instance: dg.DagsterInstance,
    first: str | None = None,
    last: str | None = None,
    tables: list[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run the real bronze job (assets + checks) over a week range, against test folders."""
    from olist_next_assets.defs import bronze
    from olist_next_assets.defs.partitions import weekly_partitions

    keys = weekly_partitions.get_partition_keys()
    selection = dg.AssetSelection.groups("bronze")
    if tables is not None:
        selection = dg.AssetSelection.assets(*[["bronze", t] for t in tables], *[["quarantine", t] for t in tables])
    subset = dg.define_asset_job("bronze_subset", selection=selection)
    definitions = dg.Definitions.merge(
        bronze.defs, dg.Definitions(jobs=[subset], resources=lake_resources(lake, landing))
    )
    job = definitions.resolve_job_def("bronze_subset")
    return job.execute_in_process(
        instance=instance, tags=range_tags(first or keys[0], last or keys[-1]), raise_on_error=False
    )


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> Path:
    """The synthetic release at 2,000 customers (about a second to generate), shared read-only."""
    from olist_next_assets.lib.synthetic import generate

    landing = tmp_path_factory.mktemp("landing")
    generate(landing, customers=2000, seed=7)
    return landing


MODEL_CONFIG = {"ops": {
    "ml__churn_model": {"config": {"min_train_positives": 100}},
    "outreach__campaign_targets": {"config": {"budget": 150}},
}}


@pytest.fixture(scope="session")
def built_graph(tmp_path_factory):
    """The whole graph, landing zone to e-mails, on 30,000 generated customers (about a minute),
    shared by the end-to-end tests: (lake, landing, instance, result, MLflow tracker)."""
    from olist_next_assets.defs.partitions import weekly_partitions
    from olist_next_assets.lib.churn.tracking import Tracker
    from olist_next_assets.lib.synthetic import generate
    from olist_next_tests.test_pipeline import run_graph

    landing = tmp_path_factory.mktemp("landing")
    generate(landing, customers=30_000, seed=11)
    lake = tmp_path_factory.mktemp("lake")
    instance = dg.DagsterInstance.ephemeral()
    keys = weekly_partitions.get_partition_keys()
    result = run_graph(lake, landing, instance, keys[0], keys[-1], run_config=MODEL_CONFIG)
    tracker = Tracker(f"sqlite:///{lake.parent / (lake.name + '_mlflow.db')}", "olist_next_churn", "olist_next_churn")
    return lake, landing, instance, result, tracker
