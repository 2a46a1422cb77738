"""The bronze assets in real Dagster runs over real Delta tables on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from olist_next_assets.lib.contracts import CONTRACTS
from olist_next_tests.conftest import run_bronze

TABLES = list(CONTRACTS)


def read(lake: Path, layer: str, table: str) -> pl.DataFrame:
    frame = pl.read_delta(str(lake / layer / table))
    return frame.sort(frame.columns)


def snapshot(lake: Path) -> dict[str, pl.DataFrame]:
    return {f"{layer}/{t}": read(lake, layer, t) for layer in ("bronze", "quarantine") for t in TABLES}


def failed_checks(result) -> dict[tuple[str, str], object]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}


@pytest.fixture
def landing(small_landing, tmp_path) -> Path:
    """A private copy of the small synthetic release that a test may corrupt."""
    copy = tmp_path / "landing"
    shutil.copytree(small_landing, copy)
    return copy


def test_full_history_in_one_run_lands_every_record_and_passes_every_check(small_landing, tmp_path, instance):
    lake = tmp_path / "lake"
    result = run_bronze(lake, small_landing, instance)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} >= {"contract_conformance", "row_reconciliation", "primary_key_unique",
                                                   "source_schema_drift"}
    assert not {k: v for k, v in failed_checks(result).items() if v.severity.value == "ERROR"}
    for table, contract in CONTRACTS.items():
        source_rows = pl.read_csv(small_landing / contract.source_file, infer_schema=False).height
        landed = read(lake, "bronze", table).height + read(lake, "quarantine", table).height
        assert landed == source_rows, table
    materialization = result.asset_materializations_for_node("bronze_orders")[0]
    assert {"dagster/row_count", "dagster/column_schema", "preview", "rows_quarantined"} <= set(materialization.metadata)


def test_rerun_and_single_run_backfill_over_existing_tables_change_nothing(small_landing, tmp_path, instance):
    lake = tmp_path / "lake"
    assert run_bronze(lake, small_landing, instance).success
    before = snapshot(lake)
    assert run_bronze(lake, small_landing, instance).success  # whole history again
    assert run_bronze(lake, small_landing, instance, first="2017-11-20", last="2018-01-01").success  # a range
    assert run_bronze(lake, small_landing, instance, first="2017-11-27", last="2017-11-27").success  # one week
    after = snapshot(lake)
    for name, frame in before.items():
        assert after[name].equals(frame), name


def test_bad_rows_go_to_quarantine_with_reason_and_the_rest_to_bronze(landing, tmp_path, instance):
    orders = landing / CONTRACTS["orders"].source_file
    lines = orders.read_text().splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[3], "32/13/2017 25:61")  # purchase timestamp
    orders.write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    result = run_bronze(lake, landing, instance, tables=["customers", "orders"])
    assert result.success
    quarantine = read(lake, "quarantine", "orders")
    assert quarantine.select("source_line", "week").row(0) == (2, None)
    assert "order_purchase_timestamp: cannot parse '32/13/2017 25:61'" in quarantine["reason"].item()
    assert read(lake, "bronze", "orders").height == len(lines) - 2
    assert not failed_checks(result).get(("bronze/orders", "row_reconciliation"))


def test_new_source_column_is_rescued_and_reported_as_drift(landing, tmp_path, instance):
    lake = tmp_path / "lake"
    assert run_bronze(lake, landing, instance, tables=["sellers"]).success
    sellers = landing / CONTRACTS["sellers"].source_file
    lines = sellers.read_text().splitlines()
    sellers.write_text("\n".join([lines[0] + ',"seller_rating"'] + [line + ",4.5" for line in lines[1:]]) + "\n")

    result = run_bronze(lake, landing, instance, tables=["sellers"])
    assert result.success
    drift = failed_checks(result)[("bronze/sellers", "source_schema_drift")]
    assert drift.severity.value == "WARN" and "seller_rating" in drift.description
    assert set(read(lake, "bronze", "sellers")["_rescued_data"].unique()) == {'{"seller_rating":"4.5"}'}


def test_missing_contract_column_blocks_with_the_column_named_and_writes_nothing(landing, tmp_path, instance):
    lake = tmp_path / "lake"
    assert run_bronze(lake, landing, instance, tables=["sellers"]).success
    version = DeltaTable(str(lake / "bronze" / "sellers")).version()
    sellers = landing / CONTRACTS["sellers"].source_file
    frame = pl.read_csv(sellers, infer_schema=False).drop("seller_city")
    frame.write_csv(sellers)

    result = run_bronze(lake, landing, instance, tables=["sellers"])
    assert not result.success
    drift = failed_checks(result)[("bronze/sellers", "source_schema_drift")]
    assert drift.severity.value == "ERROR" and "seller_city" in drift.description
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "seller_city" in str(failure)
    assert DeltaTable(str(lake / "bronze" / "sellers")).version() == version


def test_real_full_tables_ingest_with_zero_quarantined_rows(real_dir, landing, tmp_path, instance):
    """Payments, products, sellers and translation of the real release; orders made to match."""
    for name in ("olist_order_payments_dataset.csv", "olist_products_dataset.csv",
                 "olist_sellers_dataset.csv", "product_category_name_translation.csv"):
        shutil.copy(real_dir / "kaggle_tables" / name, landing / name)
    payments = pl.read_csv(landing / "olist_order_payments_dataset.csv", infer_schema=False)
    orders_path = landing / "olist_orders_dataset.csv"
    extra = payments.select(pl.col("order_id").unique().sort()).with_columns(
        customer_id=pl.lit("real-payments-customer"), order_status=pl.lit("delivered"),
        order_purchase_timestamp=pl.lit("2017-06-01 12:00:00"), order_approved_at=pl.lit(None, pl.String),
        order_delivered_carrier_date=pl.lit(None, pl.String), order_delivered_customer_date=pl.lit(None, pl.String),
        order_estimated_delivery_date=pl.lit("2017-06-20 00:00:00"),
    )
    with orders_path.open("a") as handle:
        extra.write_csv(handle, include_header=False)

    lake = tmp_path / "lake"
    result = run_bronze(lake, landing, instance)
    assert result.success
    expected = {"order_payments": 103_886, "products": 32_951, "sellers": 3_095, "category_translation": 71}
    for table, rows in expected.items():
        assert read(lake, "quarantine", table).is_empty(), table
        assert read(lake, "bronze", table).height == rows, table


def test_real_head_slices_ingest_with_orphans_reported_not_crashing(real_dir, tmp_path, instance):
    """The real slices hardly join up: orphans are quarantined with a reason or reported by a check."""
    landing = tmp_path / "landing"
    shutil.copytree(real_dir / "head_slices", landing)
    # geolocation is not among the samples: a one-row file stands in for it
    (landing / "olist_geolocation_dataset.csv").write_text(
        '"geolocation_zip_code_prefix","geolocation_lat","geolocation_lng","geolocation_city","geolocation_state"\n'
        '"01037",-23.54,-46.63,sao paulo,SP\n'
    )
    lake = tmp_path / "lake"
    result = run_bronze(lake, landing, instance)
    assert result.success
    items = read(lake, "quarantine", "order_items")
    assert items.height > 0 and items["reason"].str.contains("orphan").all()
    orphans = failed_checks(result)[("bronze/orders", "referential_integrity")]
    assert orphans.severity.value == "WARN" and orphans.metadata["orphans: customer_id -> customers"].value > 0
    assert not [k for k, v in failed_checks(result).items() if v.severity.value == "ERROR"]
    for table, contract in CONTRACTS.items():
        source_rows = pl.read_csv(landing / contract.source_file, infer_schema=False).height
        assert read(lake, "bronze", table).height + read(lake, "quarantine", table).height == source_rows, table
