"""Synthetic Olist release: file format, determinism, integrity, calibration and planted signal.

Fast tests share one release of 2,000 customers. The slow test generates the default 96,096
customers once and checks the published figures of the real release (CALIBRATION.md, hard-coded
below). Real files are only read through OLIST_REAL_DIR, to compare headers and inferred dtypes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from olist_next_assets.lib.synthetic import GenerationReport, generate, true_return_probability
from olist_next_assets.lib.synthetic.truth import TIMING

SMALL = 2000
TABLE_FILES = {
    "customers": "olist_customers_dataset.csv",
    "geolocation": "olist_geolocation_dataset.csv",
    "order_items": "olist_order_items_dataset.csv",
    "order_payments": "olist_order_payments_dataset.csv",
    "order_reviews": "olist_order_reviews_dataset.csv",
    "orders": "olist_orders_dataset.csv",
    "products": "olist_products_dataset.csv",
    "sellers": "olist_sellers_dataset.csv",
    "product_category_name_translation": "product_category_name_translation.csv",
}
# Column names and the dtypes polars infers with default options, as in the real files.
S, I, F = pl.String, pl.Int64, pl.Float64
EXPECTED_SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    "customers": {
        "customer_id": S, "customer_unique_id": S, "customer_zip_code_prefix": I, "customer_city": S,
        "customer_state": S,
    },
    "geolocation": {
        "geolocation_zip_code_prefix": I, "geolocation_lat": F, "geolocation_lng": F, "geolocation_city": S,
        "geolocation_state": S,
    },
    "order_items": {
        "order_id": S, "order_item_id": I, "product_id": S, "seller_id": S, "shipping_limit_date": S, "price": F,
        "freight_value": F,
    },
    "order_payments": {
        "order_id": S, "payment_sequential": I, "payment_type": S, "payment_installments": I, "payment_value": F,
    },
    "order_reviews": {
        "review_id": S, "order_id": S, "review_score": I, "review_comment_title": S, "review_comment_message": S,
        "review_creation_date": S, "review_answer_timestamp": S,
    },
    "orders": {
        "order_id": S, "customer_id": S, "order_status": S, "order_purchase_timestamp": S, "order_approved_at": S,
        "order_delivered_carrier_date": S, "order_delivered_customer_date": S, "order_estimated_delivery_date": S,
    },
    "products": {
        "product_id": S, "product_category_name": S, "product_name_lenght": I, "product_description_lenght": I,
        "product_photos_qty": I, "product_weight_g": I, "product_length_cm": I, "product_height_cm": I,
        "product_width_cm": I,
    },
    "sellers": {"seller_id": S, "seller_zip_code_prefix": I, "seller_city": S, "seller_state": S},
    "product_category_name_translation": {"product_category_name": S, "product_category_name_english": S},
}
UNTRANSLATED = {"pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def read(report: GenerationReport, table: str, **options: object) -> pl.DataFrame:
    return pl.read_csv(report.paths[table], **options)


def digests(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = np.argsort(np.argsort(score, kind="stable")) + 1.0
    positives, negatives = label.sum(), (~label).sum()
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def customer_orders(report: GenerationReport) -> pl.DataFrame:
    """Orders with their unique customer and purchase time, as a downstream model sees them."""
    return (
        read(report, "orders")
        .join(read(report, "customers").select("customer_id", "customer_unique_id"), on="customer_id")
        .with_columns(pl.col("^order_.*(timestamp|_at|_date)$").str.to_datetime())
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate(tmp_path_factory.mktemp("synthetic") / "release", customers=SMALL, seed=11)


# ---------------------------------------------------------------------------------------------
# Files and CSV style


def test_writes_exactly_the_nine_files(small: GenerationReport) -> None:
    written = {p.name for p in small.out_dir.iterdir() if p.is_file()}
    assert written == set(TABLE_FILES.values())
    assert {name: path.name for name, path in small.paths.items()} == TABLE_FILES
    assert {p.name for p in small.out_dir.iterdir() if p.is_dir()} == {"_synthetic"}


@pytest.mark.parametrize("table", sorted(TABLE_FILES))
def test_columns_rows_and_inferred_dtypes(small: GenerationReport, table: str) -> None:
    as_text = read(small, table, infer_schema=False)
    assert as_text.height == small.rows[table]
    assert dict(read(small, table).schema) == EXPECTED_SCHEMAS[table]


@pytest.mark.parametrize("table", sorted(TABLE_FILES))
def test_expected_schemas_are_the_real_ones(real_dir: Path, table: str) -> None:
    candidates = [real_dir / folder / TABLE_FILES[table] for folder in ("kaggle_tables", "head_slices")]
    real = next((p for p in candidates if p.exists()), None)
    if real is None:
        pytest.skip(f"no real sample of {TABLE_FILES[table]} (geolocation is not in the samples)")
    assert dict(pl.read_csv(real).schema) == EXPECTED_SCHEMAS[table]


def test_headers_are_quoted_and_line_endings_follow_the_release(small: GenerationReport) -> None:
    for table, path in small.paths.items():
        raw = path.read_bytes()
        if table == "product_category_name_translation":
            continue
        header = ",".join(f'"{c}"' for c in EXPECTED_SCHEMAS[table])
        ending = b"\r\n" if table == "order_reviews" else b"\n"
        assert raw.startswith(header.encode() + ending), table
        assert raw.endswith(ending)
        if table != "order_reviews":
            assert b"\r" not in raw, table
    reviews = small.paths["order_reviews"].read_bytes()
    assert reviews.count(b"\n") == reviews.count(b"\r\n")


def test_translation_table_is_byte_styled_like_the_release(small: GenerationReport) -> None:
    raw = small.paths["product_category_name_translation"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfproduct_category_name,product_category_name_english\r\n")
    assert not raw.endswith(b"\n")
    assert raw.count(b"\n") == raw.count(b"\r\n") == 71
    translated = set(read(small, "product_category_name_translation")["product_category_name"])
    categories = set(read(small, "products")["product_category_name"].drop_nulls())
    assert len(categories) == 73
    assert categories - translated == UNTRANSLATED
    assert translated <= categories


def test_ids_zips_money_and_timestamps_are_formatted_like_the_release(small: GenerationReport) -> None:
    orders = small.paths["orders"].read_text().splitlines()[1:]
    for line in orders[:200]:
        for field in line.split(",")[:2]:
            hex_id = field.strip('"')
            assert re.fullmatch(r"[0-9a-f]{32}", hex_id)
            assert field.startswith('"') == hex_id[0].isdigit()  # quoted exactly when it starts with a digit
        assert all(TIMESTAMP.match(v) for v in line.split(",")[3:] if v)
    reviews = small.paths["order_reviews"].read_bytes().decode()
    records = re.findall(r'\r\n"[0-9a-f]{32}","[0-9a-f]{32}",[1-5],', reviews)  # both ids always quoted
    assert len(records) == small.rows["order_reviews"]
    for line in small.paths["customers"].read_text().splitlines()[1:200]:
        assert re.search(r',"\d{5}",[a-z -]+,[A-Z]{2}$', line)
    for line in small.paths["order_items"].read_text().splitlines()[1:200]:
        assert re.search(r",\d+\.\d{2},\d+\.\d{2}$", line)
    assert all(TIMESTAMP.match(v) for v in read(small, "order_reviews", infer_schema=False)["review_answer_timestamp"])


def test_comments_with_line_breaks_are_quoted_and_round_trip(small: GenerationReport) -> None:
    path = small.paths["order_reviews"]
    messages = read(small, "order_reviews")["review_comment_message"].drop_nulls()
    multiline = messages.filter(messages.str.contains("\r\n"))
    assert multiline.len() > 0
    raw = path.read_bytes().decode()
    sample = multiline[0]
    assert f'"{sample}"' in raw
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    assert len(rows) == small.rows["order_reviews"]
    assert sorted(r[4] for r in rows if r[4]) == sorted(messages.to_list())


def test_same_seed_same_bytes_other_seed_other_data(small: GenerationReport, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", customers=SMALL, seed=11)
    assert digests(again.out_dir) == digests(small.out_dir)
    other = generate(tmp_path / "other", customers=SMALL, seed=12)
    same = {name for name, digest in digests(other.out_dir).items() if digests(small.out_dir)[name] == digest}
    assert same == {TABLE_FILES["product_category_name_translation"]}


# ---------------------------------------------------------------------------------------------
# Integrity


def check_integrity(report: GenerationReport) -> None:
    orders = read(report, "orders")
    customers = read(report, "customers")
    products = read(report, "products")
    sellers = read(report, "sellers")
    items = read(report, "order_items")
    order_ids = set(orders["order_id"])
    assert orders["order_id"].is_unique().all() and customers["customer_id"].is_unique().all()
    assert set(orders["customer_id"]) == set(customers["customer_id"])
    for table in ("order_items", "order_payments", "order_reviews"):
        assert set(read(report, table)["order_id"]) <= order_ids, table
    assert set(items["product_id"]) == set(products["product_id"])  # every product is sold
    assert set(items["seller_id"]) == set(sellers["seller_id"])
    assert products["product_id"].is_unique().all() and sellers["seller_id"].is_unique().all()
    geo = set(read(report, "geolocation")["geolocation_zip_code_prefix"])
    assert set(customers["customer_zip_code_prefix"]) | set(sellers["seller_zip_code_prefix"]) <= geo
    assert customers["customer_unique_id"].n_unique() == report.customers
    window = orders["order_purchase_timestamp"]
    assert (window.min(), window.max()) == ("2016-09-04 21:15:19", "2018-10-17 17:30:18")


def test_referential_integrity(small: GenerationReport) -> None:
    check_integrity(small)


def test_chunked_generation_is_consistent(tmp_path: Path) -> None:
    report = generate(tmp_path / "chunked", customers=SMALL, seed=3, chunk_customers=700)
    check_integrity(report)


@pytest.mark.parametrize("customers", [1, 50])
def test_tiny_releases_are_complete(tmp_path: Path, customers: int) -> None:
    report = generate(tmp_path / "tiny", customers=customers, seed=1)
    for table in TABLE_FILES:
        assert read(report, table, infer_schema=False).height == report.rows[table]
    assert read(report, "customers")["customer_unique_id"].n_unique() == customers
    assert read(report, "products")["product_category_name"].drop_nulls().n_unique() == 73


def test_payments_add_up_to_price_plus_freight(small: GenerationReport) -> None:
    cents = pl.col("value").mul(100).round().cast(pl.Int64)
    totals = (
        read(small, "order_items")
        .group_by("order_id")
        .agg((pl.col("price").sum() + pl.col("freight_value").sum()).alias("value"))
        .with_columns(cents)
    )
    paid = (
        read(small, "order_payments")
        .group_by("order_id")
        .agg(pl.col("payment_value").sum().alias("value"))
        .with_columns(cents)
    )
    joined = totals.join(paid, on="order_id", suffix="_paid")
    assert joined.height == totals.height
    assert (joined["value"] == joined["value_paid"]).all()


def test_order_dates_follow_the_status(small: GenerationReport) -> None:
    orders = customer_orders(small)
    delivered = orders.filter(pl.col("order_status") == "delivered").drop_nulls()
    assert (delivered["order_approved_at"] >= delivered["order_purchase_timestamp"]).all()
    assert (delivered["order_delivered_carrier_date"] >= delivered["order_approved_at"]).all()
    assert (delivered["order_delivered_customer_date"] > delivered["order_delivered_carrier_date"]).all()
    assert (orders["order_estimated_delivery_date"].dt.time() == dt.time(0)).all()
    undelivered = orders.filter(~pl.col("order_status").is_in(["delivered", "canceled"]))
    assert undelivered["order_delivered_customer_date"].null_count() == undelivered.height
    reviews = read(small, "order_reviews").with_columns(pl.col("^review_.*(date|timestamp)$").str.to_datetime())
    assert (reviews["review_answer_timestamp"] > reviews["review_creation_date"]).all()


# ---------------------------------------------------------------------------------------------
# Truth side file and the planted signal


def test_truth_side_file(small: GenerationReport) -> None:
    truth = pl.read_parquet(small.truth_paths["order_propensity"])
    assert truth.columns == ["customer_unique_id", "order_id", "order_purchase_timestamp", "propensity"]
    orders = customer_orders(small)
    assert truth.height == orders.height
    joined = truth.join(orders, on="order_id")
    assert joined.height == truth.height
    assert (joined["customer_unique_id"] == joined["customer_unique_id_right"]).all()
    assert (joined["order_purchase_timestamp"] == joined["order_purchase_timestamp_right"]).all()
    assert truth["propensity"].is_between(0, 1, closed="none").all()
    for path in small.paths.values():  # the truth never leaks into the release
        assert "propensity" not in path.read_text(encoding="utf-8-sig").splitlines()[0]
    meta = json.loads(small.truth_paths["generation"].read_text())
    assert meta["seed"] == 11 and meta["customers"] == SMALL and meta["rows"] == small.rows
    assert set(meta["timing"]) == {"fast_weight", "fast_mean_days", "slow_scale_days", "slow_shape"}


def test_true_return_probability_is_the_conditional_timing_probability() -> None:
    p = np.array([0.0, 0.1, 0.5, 1.0])
    assert np.allclose(true_return_probability(p, 30.0, 0.0), 0.0)
    assert np.allclose(true_return_probability(0.3, 0.0, 1e9), 0.3)
    week, year = true_return_probability(p, 60.0, 7.0), true_return_probability(p, 60.0, 365.0)
    assert np.all(week <= year) and np.all(year <= 1.0)
    assert true_return_probability(0.3, 5000.0, 365.0) < 1e-3  # long gone
    rng = np.random.default_rng(0)
    buys = rng.random(400_000) < 0.4
    gap = TIMING.sample(rng, buys.size)
    still_possible = ~buys | (gap > 90)
    observed = (buys & (gap > 90) & (gap <= 270))[still_possible].mean()
    assert true_return_probability(0.4, 90.0, 180.0) == pytest.approx(observed, abs=0.004)


def test_small_release_is_roughly_calibrated(small: GenerationReport) -> None:
    orders = customer_orders(small)
    per_customer = orders.group_by("customer_unique_id").len()
    assert 0.015 < (per_customer["len"] > 1).mean() < 0.05
    assert 0.95 < (orders["order_status"] == "delivered").mean() < 0.99
    reviews = read(small, "order_reviews")
    assert reviews["review_score"].mean() == pytest.approx(4.09, abs=0.15)
    assert reviews["review_comment_title"].null_count() / reviews.height == pytest.approx(0.883, abs=0.03)
    assert reviews["review_comment_message"].null_count() / reviews.height == pytest.approx(0.587, abs=0.04)
    assert read(small, "customers")["customer_state"].n_unique() >= 20


def test_review_texts_follow_score_and_delivery(small: GenerationReport) -> None:
    orders = customer_orders(small).select(
        "order_id", late=pl.col("order_delivered_customer_date") > pl.col("order_estimated_delivery_date")
    )
    message = pl.col("review_comment_message").str.to_lowercase()
    folded = message.str.replace_many(["ã", "á", "é", "ç"], ["a", "a", "e", "c"])
    complaint = "nao|pessim|defeito|errad|vergonha|decepcion|inferior|faltando|fraco|quebrad|amassad"
    reviews = (
        read(small, "order_reviews")
        .drop_nulls("review_comment_message")
        .join(orders, on="order_id")
        .with_columns(
            negative=folded.str.contains(complaint),
            delay=folded.str.contains("atras|demor|depois do prazo|alem do prazo"),
        )
    )
    unhappy, happy = reviews.filter(pl.col("review_score") <= 2), reviews.filter(pl.col("review_score") >= 4)
    assert unhappy["negative"].mean() > 0.6 and happy["negative"].mean() < 0.1
    late, on_time = reviews.filter(pl.col("late")), reviews.filter(~pl.col("late").fill_null(True))
    assert late["delay"].mean() > 0.5 and on_time["delay"].mean() < 0.02


# ---------------------------------------------------------------------------------------------
# Default scale: the published calibration figures


PUBLISHED_ROWS = {
    "customers": 99_441, "geolocation": 1_000_163, "order_items": 112_650, "order_payments": 103_886,
    "order_reviews": 99_224, "orders": 99_441, "products": 32_951, "sellers": 3_095,
    "product_category_name_translation": 71,
}
PUBLISHED_SECOND_PURCHASE = {30: 0.0055, 60: 0.0089, 90: 0.0112, 180: 0.0175, 365: 0.0259}
PUBLISHED_MONTHS = {
    "2016-10": 324, "2017-01": 800, "2017-02": 1780, "2017-03": 2682, "2017-04": 2404, "2017-05": 3700,
    "2017-06": 3245, "2017-07": 4026, "2017-08": 4331, "2017-09": 4285, "2017-10": 4631, "2017-11": 7544,
    "2017-12": 5673, "2018-01": 7269, "2018-02": 6728, "2018-03": 7211, "2018-04": 6939, "2018-05": 6873,
    "2018-06": 6167, "2018-07": 6292, "2018-08": 6512,
}


def measure(report: GenerationReport) -> dict[str, float]:
    """The calibration figures of a release (also used for the table in docs/synthetic_data.md)."""
    orders = customer_orders(report)
    first_two = orders.sort("order_purchase_timestamp").group_by("customer_unique_id").agg(
        pl.len().alias("n"), pl.col("order_purchase_timestamp").head(2).alias("t")
    )
    gap = (first_two["t"].list.last() - first_two["t"].list.first()).dt.total_seconds() / 86_400
    unique = first_two.height
    reviews, payments = read(report, "order_reviews"), read(report, "order_payments")
    items, products = read(report, "order_items"), read(report, "products")
    customers, sellers = read(report, "customers"), read(report, "sellers")
    months = orders.group_by(pl.col("order_purchase_timestamp").dt.strftime("%Y-%m")).len()
    null_columns = ("order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date")
    per_order = items.group_by("order_id").len()["len"]
    pay_orders = payments.group_by("order_id").len()["len"]
    delivered = orders.drop_nulls("order_delivered_customer_date")
    late = delivered["order_delivered_customer_date"] > delivered["order_estimated_delivery_date"]
    repeat = first_two["n"] > 1
    m: dict[str, float] = {
        "repeat_share": float(repeat.mean()),
        **{f"second_within_{d}d": float((repeat & (gap <= d)).sum() / unique) for d in PUBLISHED_SECOND_PURCHASE},
        **{f"status_{k}": v / orders.height for k, v in orders["order_status"].value_counts().iter_rows()},
        **{f"month_{k}": v for k, v in months.iter_rows()},
        **{f"null_{c}": orders[c].null_count() / orders.height for c in null_columns},
        "late_share_delivered": float(late.mean()),
        **{f"score_{k}": v / reviews.height for k, v in reviews["review_score"].value_counts().iter_rows()},
        "score_mean": float(reviews["review_score"].mean()),
        "title_null": reviews["review_comment_title"].null_count() / reviews.height,
        "message_null": reviews["review_comment_message"].null_count() / reviews.height,
        "orders_without_review": 1 - reviews["order_id"].n_unique() / orders.height,
        "orders_with_2_reviews": (reviews.group_by("order_id").len()["len"] > 1).sum() / orders.height,
        "repeated_review_id_rows": reviews.height - reviews["review_id"].n_unique(),
        **{f"payment_{k}": v / payments.height for k, v in payments["payment_type"].value_counts().iter_rows()},
        "multi_payment_orders": (pay_orders > 1).sum() / pay_orders.len(),
        "max_payment_sequential": payments["payment_sequential"].max(),
        **{f"installments_{k}": (payments["payment_installments"] == k).mean() for k in (1, 2, 3, 4, 10)},
        "payment_median": payments["payment_value"].median(),
        "payment_mean": payments["payment_value"].mean(),
        "orders_with_items": per_order.len() / orders.height,
        **{f"items_ge{k}": (per_order >= k).mean() for k in (2, 3, 4)},
        "items_max": per_order.max(),
        **{f"price_p{q}": items["price"].quantile(q / 100, "linear") for q in (25, 50, 75, 95)},
        "freight_p50": items["freight_value"].median(),
        "categories": products["product_category_name"].drop_nulls().n_unique(),
        "null_category": products["product_category_name"].null_count(),
        "customer_states": customers["customer_state"].n_unique(),
        **{f"customer_{k}": v / customers.height for k, v in customers["customer_state"].value_counts().iter_rows()},
        **{f"seller_{k}": v / sellers.height for k, v in sellers["seller_state"].value_counts().iter_rows()},
    }
    return m


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate(tmp_path_factory.mktemp("synthetic_default") / "release")


@pytest.mark.slow
def test_default_scale_matches_the_published_figures(default: GenerationReport) -> None:
    assert default.seconds < 30  # about 3-4 s on 2 cores; a generous guard against regressions
    for table, rows in PUBLISHED_ROWS.items():
        assert default.rows[table] == pytest.approx(rows, rel=0.05), table
    m = measure(default)
    approx = pytest.approx
    assert m["repeat_share"] == approx(0.0312, abs=0.0035)
    for days, share in PUBLISHED_SECOND_PURCHASE.items():
        assert m[f"second_within_{days}d"] == approx(share, rel=0.15), days
    assert m["status_delivered"] == approx(96_478 / 99_441, abs=0.007)
    minor = {"shipped": 1107, "canceled": 625, "unavailable": 609, "invoiced": 314, "processing": 301}
    for status, count in minor.items():
        assert m[f"status_{status}"] == approx(count / 99_441, rel=0.25), status
    for month, count in PUBLISHED_MONTHS.items():
        assert m[f"month_{month}"] == approx(count, rel=0.08), month
    assert m.get("month_2016-11", 0) <= 5
    assert all(m.get(f"month_{k}", 0) <= 40 for k in ("2016-09", "2016-12", "2018-09", "2018-10"))
    assert m["null_order_approved_at"] == approx(0.0016, abs=0.001)
    assert m["null_order_delivered_carrier_date"] == approx(0.018, abs=0.003)
    assert m["null_order_delivered_customer_date"] == approx(0.0298, abs=0.004)
    for score, count in {5: 57_328, 4: 19_142, 3: 8_179, 2: 3_151, 1: 11_424}.items():
        assert m[f"score_{score}"] == approx(count / 99_224, abs=0.01), score
    assert m["score_mean"] == approx(4.09, abs=0.05)
    assert m["title_null"] == approx(0.883, abs=0.01)
    assert m["message_null"] == approx(0.587, abs=0.015)
    assert m["orders_without_review"] == approx(768 / 99_441, abs=0.003)
    assert m["orders_with_2_reviews"] == approx(551 / 99_441, abs=0.003)
    assert 0 < m["repeated_review_id_rows"] < 0.015 * default.rows["order_reviews"]
    for kind, count in {"credit_card": 76_795, "boleto": 19_784, "voucher": 5_775, "debit_card": 1_529}.items():
        assert m[f"payment_{kind}"] == approx(count / 103_886, rel=0.1), kind
    assert m["multi_payment_orders"] == approx(2_961 / 99_440, abs=0.004)
    assert m["max_payment_sequential"] >= 15
    for k, count in {1: 52_546, 2: 12_413, 3: 10_461, 4: 7_098, 10: 5_328}.items():
        assert m[f"installments_{k}"] == approx(count / 103_886, abs=0.012), k
    assert m["payment_median"] == approx(100.0, rel=0.07)
    assert m["payment_mean"] == approx(154.10, rel=0.1)
    assert m["orders_with_items"] == approx(98_666 / 99_441, abs=0.003)
    for k, count in {2: 9_803, 3: 2_287, 4: 965}.items():
        assert m[f"items_ge{k}"] == approx(count / 98_666, rel=0.15), k
    assert m["items_max"] >= 12
    for q, value in {25: 39.90, 50: 74.99, 75: 134.90, 95: 349.90}.items():
        assert m[f"price_p{q}"] == approx(value, rel=0.08), q
    assert m["freight_p50"] == approx(16.26, rel=0.08)
    assert (m["categories"], m["null_category"]) == (73, 610)
    assert m["customer_states"] == 27
    for state, count in {"SP": 41_746, "RJ": 12_852, "MG": 11_635, "RS": 5_466, "PR": 5_045}.items():
        assert m[f"customer_{state}"] == approx(count / 99_441, abs=0.01), state
    for state, count in {"SP": 1849, "PR": 349, "MG": 244, "SC": 190, "RJ": 171, "RS": 129}.items():
        assert m[f"seller_{state}"] == approx(count / 3095, abs=0.025), state


@pytest.mark.slow
def test_default_scale_plants_a_modest_repeat_signal(default: GenerationReport) -> None:
    truth = pl.read_parquet(default.truth_paths["order_propensity"]).with_columns(
        rank=pl.col("order_purchase_timestamp").rank("ordinal").over("customer_unique_id"),
        orders=pl.len().over("customer_unique_id"),
    )
    late_delivery = pl.col("order_delivered_customer_date") > pl.col("order_estimated_delivery_date")
    orders = customer_orders(default).select("order_id", late=late_delivery.fill_null(False))
    first = truth.filter(pl.col("rank") == 1).join(orders, on="order_id")
    by_late = first.group_by("late").agg(pl.col("propensity").mean(), (pl.col("orders") > 1).mean().alias("repeat"))
    late, on_time = (by_late.filter(pl.col("late") == flag).row(0, named=True) for flag in (True, False))
    assert late["propensity"] < 0.7 * on_time["propensity"]
    assert late["repeat"] < 0.75 * on_time["repeat"]

    # Best achievable churn score at a cutoff: true propensity of the last order, timed.
    cutoff, horizon = pl.datetime(2018, 3, 1), 180
    last = truth.filter(pl.col("order_purchase_timestamp") < cutoff).sort("order_purchase_timestamp").group_by(
        "customer_unique_id"
    ).agg(pl.col("propensity").last(), pl.col("order_purchase_timestamp").last())
    came_back = truth.filter(
        pl.col("order_purchase_timestamp").is_between(cutoff, cutoff + pl.duration(days=horizon), closed="left")
    ).select("customer_unique_id").unique().with_columns(label=pl.lit(True))
    frame = last.join(came_back, on="customer_unique_id", how="left").with_columns(
        pl.col("label").fill_null(False),
        days=(cutoff - pl.col("order_purchase_timestamp")).dt.total_seconds() / 86_400,
    )
    best = true_return_probability(frame["propensity"].to_numpy(), frame["days"].to_numpy(), horizon)
    assert 0.65 < roc_auc(best, frame["label"].to_numpy()) < 0.85
