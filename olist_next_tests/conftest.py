"""Shared fixtures: isolated lake/landing folders, an ephemeral Dagster instance, real samples."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from olist_next_assets.defs.resources import LakeResource, LandingZone
from olist_next_assets.lib.delta_io import WeeklyDeltaPolarsIOManager


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """``../shared/olist_real`` through OLIST_REAL_DIR (set by .ci/run); skip when absent."""
    value = os.environ.get("OLIST_REAL_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("OLIST_REAL_DIR is not set to the real Olist samples (.ci/run sets it)")
    return Path(value)


def lake_resources(lake: Path, landing: Path) -> dict[str, object]:
    return {
        "delta_io_manager": WeeklyDeltaPolarsIOManager(root_uri=str(lake), storage_options={"local": {}}),
        "lake": LakeResource(root=str(lake)),
        "landing": LandingZone(root=str(landing)),
    }


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover a range of partitions (a single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


@pytest.fixture
def instance() -> dg.DagsterInstance:
    with dg.instance_for_test() as test_instance:
        yield test_instance
