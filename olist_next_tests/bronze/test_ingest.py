"""Contracts, rescued columns and quarantine on crafted source files (pure logic, no Dagster)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from olist_next_assets.lib.contracts import CONTRACTS, ORDER_ITEMS, ORDER_REVIEWS, ORDERS, pandera_schema
from olist_next_assets.lib.ingest import ContractViolation, ingest, read_source

BOUNDS = (dt.date(2016, 8, 29), dt.date(2018, 10, 22))
ORDERS_HEADER = (
    '"order_id","customer_id","order_status","order_purchase_timestamp","order_approved_at",'
    '"order_delivered_carrier_date","order_delivered_customer_date","order_estimated_delivery_date"'
)


def write(path: Path, *lines: str, newline: str = "\n") -> Path:
    path.write_text(newline.join(lines) + newline, encoding="utf-8")
    return path


def run(path: Path, contract=ORDERS, **kwargs):
    raw, header = read_source(path, contract)
    return ingest(raw, header, contract, path.name, partition_bounds=BOUNDS, **kwargs)


def test_good_rows_are_typed_and_placed_in_their_monday_week(tmp_path):
    path = write(
        tmp_path / "olist_orders_dataset.csv",
        ORDERS_HEADER,
        '"o1","c1",delivered,2017-10-02 10:56:33,2017-10-02 11:07:15,,,2017-10-18 00:00:00',
        '"o2","c2",shipped,2017-10-08 23:59:59,,,,2017-10-20 00:00:00',  # Sunday: same week
    )
    result = run(path)
    assert result.quarantine.is_empty()
    assert result.bronze["week"].to_list() == [dt.date(2017, 10, 2)] * 2
    assert result.bronze.schema["order_purchase_timestamp"] == pl.Datetime("us", "UTC")
    assert result.bronze["order_approved_at"].null_count() == 1
    pandera_schema(ORDERS).validate(result.bronze)


def test_bad_values_are_quarantined_with_line_column_and_reason(tmp_path):
    path = write(
        tmp_path / "olist_orders_dataset.csv",
        ORDERS_HEADER,
        '"o1","c1",delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00',
        '"o2","c2",delivered,not a date,,,,2017-10-18 00:00:00',
        '"o3",,delivered,2017-10-03 10:00:00,,,,2017-10-18 00:00:00',
        '"o4","c4",delivered,2031-01-01 00:00:00,,,,2031-01-18 00:00:00',
    )
    result = run(path)
    assert result.bronze["order_id"].to_list() == ["o1"]
    rows = {r["source_line"]: r for r in result.quarantine.iter_rows(named=True)}
    assert set(rows) == {3, 4, 5}
    assert "order_purchase_timestamp: cannot parse 'not a date'" in rows[3]["reason"]
    assert rows[3]["week"] is None  # unplaced: no trustworthy week
    assert rows[4]["reason"] == "customer_id: required value is missing"
    assert rows[4]["week"] == dt.date(2017, 10, 2)
    assert "outside the partitions" in rows[5]["reason"]
    assert rows[3]["raw_record"] == "o2,c2,delivered,not a date,,,,2017-10-18 00:00:00"
    assert result.accounted == result.source_records == 4


def test_unknown_columns_are_rescued_as_json_not_dropped(tmp_path):
    path = write(
        tmp_path / "olist_orders_dataset.csv",
        ORDERS_HEADER + ',"coupon_code"',
        '"o1","c1",delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00,BLACKFRIDAY',
        '"o2","c2",delivered,2017-10-02 11:00:00,,,,2017-10-18 00:00:00,',
    )
    result = run(path)
    assert result.header.extra == ["coupon_code"]
    rescued = result.bronze["_rescued_data"].to_list()
    assert json.loads(rescued[0]) == {"coupon_code": "BLACKFRIDAY"}
    assert rescued[1] is None


def test_missing_contract_column_is_a_violation_naming_file_and_column(tmp_path):
    header = ORDERS_HEADER.replace('"order_status",', "")
    path = write(tmp_path / "olist_orders_dataset.csv", header, '"o1","c1",2017-10-02 10:56:33,,,,2017-10-18 00:00:00')
    with pytest.raises(ContractViolation, match=r"olist_orders_dataset.csv: column\(s\) 'order_status'"):
        read_source(path, ORDERS)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(ContractViolation, match="empty"):
        read_source(write(tmp_path / "olist_orders_dataset.csv", ""), ORDERS)
    result = run(write(tmp_path / "olist_orders_dataset.csv", ORDERS_HEADER))
    assert result.source_records == 0 and result.bronze.is_empty() and result.quarantine.is_empty()


def test_duplicate_keys_keep_the_first_record(tmp_path):
    row = '"o1","c1",delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00'
    result = run(write(tmp_path / "olist_orders_dataset.csv", ORDERS_HEADER, row, row.replace("c1", "c9")))
    assert result.bronze["customer_id"].to_list() == ["c1"]
    assert result.quarantine["reason"].to_list() == ["duplicate primary key: (order_id=o1) first seen at line 2"]


def test_items_are_placed_by_their_order_and_orphans_are_quarantined_unplaced(tmp_path):
    path = write(
        tmp_path / "olist_order_items_dataset.csv",
        '"order_id","order_item_id","product_id","seller_id","shipping_limit_date","price","freight_value"',
        '"o1",1,"p1","s1",2017-10-05 10:00:00,58.90,13.29',
        '"o1",2,"p1","s1",2017-10-05 10:00:00,-1.00,13.29',
        '"zz",1,"p1","s1",2017-10-05 10:00:00,10.00,1.00',
    )
    orders = pl.DataFrame({"order_id": ["o1"], "week": [dt.date(2017, 10, 2)]})
    result = run(path, ORDER_ITEMS, order_weeks=orders, window=(dt.date(2017, 10, 2), dt.date(2017, 10, 9)))
    assert result.bronze.select("order_id", "order_item_id", "week").rows() == [("o1", 1, dt.date(2017, 10, 2))]
    reasons = dict(result.quarantine.select("source_line", "reason").iter_rows())
    assert reasons[3] == "price: -1.00 is below the minimum 0"
    assert reasons[4] == "order_id: 'zz' has no order in bronze orders (orphan)"
    assert result.quarantine.filter(pl.col("source_line") == 4)["week"].item() is None


def test_window_selects_rows_and_counts_the_rest(tmp_path):
    path = write(
        tmp_path / "olist_orders_dataset.csv",
        ORDERS_HEADER,
        '"o1","c1",delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00',
        '"o2","c2",delivered,2017-12-02 10:56:33,,,,2017-12-18 00:00:00',
        '"o3","c3",delivered,2017-12-03 10:56:33,,,,not a date',
    )
    result = run(path, window=(dt.date(2017, 10, 2), dt.date(2017, 10, 9)))
    assert result.bronze["order_id"].to_list() == ["o1"]
    assert (result.bronze_other_weeks, result.quarantined) == (1, 1)
    assert result.quarantine["source_line"].to_list() == [4]  # the quarantine holds every rejected record
    assert result.accounted == 3


def test_quoted_line_breaks_keep_text_and_physical_line_numbers(tmp_path):
    header = ",".join(f'"{c}"' for c in ORDER_REVIEWS.column_names)
    path = write(
        tmp_path / "olist_order_reviews_dataset.csv",
        header,
        '"r1","o1",5,,"Chegou antes do prazo.\r\nRecomendo, muito bom!",2018-03-23 00:00:00,2018-04-01 00:27:51',
        '"r2","o2",9,,"Nota ""dez""",2018-03-23 00:00:00,2018-04-01 00:27:51',
    )
    result = run(path, ORDER_REVIEWS)
    assert result.bronze["review_comment_message"].item() == "Chegou antes do prazo.\r\nRecomendo, muito bom!"
    bad = result.quarantine.row(0, named=True)
    assert bad["source_line"] == 4  # the first record spans lines 2-3
    assert bad["reason"] == "review_score: 9 is above the maximum 5"
    assert bad["raw_record"] == 'r2,o2,9,,"Nota ""dez""",2018-03-23 00:00:00,2018-04-01 00:27:51'


def test_bom_and_crlf_translation_file(tmp_path):
    path = tmp_path / "product_category_name_translation.csv"
    path.write_bytes("\ufeffproduct_category_name,product_category_name_english\r\nartes,art\r\nbebes,baby".encode())
    contract = CONTRACTS["category_translation"]
    raw, header = read_source(path, contract)
    result = ingest(raw, header, contract, path.name)
    assert result.bronze.select(contract.column_names).rows() == [("artes", "art"), ("bebes", "baby")]
    assert result.header.extra == []


def test_real_slices_ingest_without_crashing_and_count_every_row(real_dir):
    orders_raw, orders_header = read_source(real_dir / "head_slices/olist_orders_dataset.csv", ORDERS)
    orders = ingest(orders_raw, orders_header, ORDERS, "orders", partition_bounds=BOUNDS)
    assert orders.quarantine.is_empty()
    for contract in CONTRACTS.values():
        path = real_dir / "head_slices" / contract.source_file
        if not path.exists():
            continue
        raw, header = read_source(path, contract)
        result = ingest(raw, header, contract, path.name, partition_bounds=BOUNDS if contract.partitioned else None,
                        order_weeks=orders.bronze.select("order_id", "week"))
        assert result.accounted == result.source_records == raw.height
        reasons = set(result.reasons())
        assert reasons <= {"order_id"}, (contract.table, result.reasons())  # only orphans of the slices
