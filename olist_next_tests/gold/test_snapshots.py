"""Point-in-time snapshots and labels on a hand-built history where every value is known."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from olist_next_assets.defs.gold import checks
from olist_next_assets.lib import silver, snapshots
from olist_next_assets.lib.contracts import TIMESTAMP


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


W1, W2, W3 = dt.date(2018, 1, 1), dt.date(2018, 1, 8), dt.date(2018, 1, 15)  # Mondays
ORDERS = [
    # order, customer_unique_id, status, purchased, delivered, estimated
    ("o1", "A", "delivered", "2018-01-02 10:00:00", "2018-01-10 12:00:00", "2018-01-08 00:00:00"),
    ("o2", "A", "delivered", "2018-01-15 00:00:00", "2018-01-18 00:00:00", "2018-01-25 00:00:00"),  # at W2 cutoff
    ("o3", "B", "canceled", "2018-01-03 09:00:00", None, "2018-01-20 00:00:00"),
    ("o4", "B", "delivered", "2018-01-04 09:00:00", "2018-01-20 00:00:00", "2018-01-22 00:00:00"),
    ("o5", "C", "delivered", "2017-12-28 08:00:00", "2018-01-03 08:00:00", "2018-01-05 00:00:00"),
    ("o6", "C", "delivered", "2018-01-05 08:00:00", "2018-01-07 08:00:00", "2018-01-06 00:00:00"),
    ("o7", "D", "canceled", "2018-01-02 08:00:00", None, "2018-01-06 00:00:00"),  # never a purchase
]


def silver_frames() -> dict[str, pl.LazyFrame]:
    """Bronze-shaped orders (one customer_id per order, as in Olist) through the real silver step."""
    raw = pl.DataFrame(ORDERS, schema=["order_id", "person", "order_status", "p", "d", "e"], orient="row")
    raw = raw.with_columns(pl.col("p", "d", "e").str.to_datetime(time_zone="UTC", time_unit="us"))
    bronze_orders = raw.select(
        "order_id",
        ("cid-" + pl.col("order_id")).alias("customer_id"),  # C's two orders: two customer_ids, one person
        "order_status",
        pl.col("p").alias("order_purchase_timestamp"),
        pl.col("p").alias("order_approved_at"),
        pl.lit(None, TIMESTAMP).alias("order_delivered_carrier_date"),
        pl.col("d").alias("order_delivered_customer_date"),
        pl.col("e").alias("order_estimated_delivery_date"),
        pl.col("p").dt.truncate("1w").dt.date().alias("week"),
    )
    bronze_customers = raw.select(
        ("cid-" + pl.col("order_id")).alias("customer_id"),
        pl.col("person").alias("customer_unique_id"),
        pl.lit("SP").alias("customer_state"),
    )
    orders = silver.silver_orders(bronze_orders.lazy(), bronze_customers.lazy()).collect()
    lines = pl.DataFrame({
        "order_id": ["o1", "o2", "o4", "o5", "o5", "o6"],
        "price": [100.0, 50.0, 30.0, 10.0, 10.0, 80.0],
        "freight_value": [10.0, 5.0, 3.0, 1.0, 1.0, 8.0],
        "category": ["toys", "toys", "garden", "bed_bath_table", "bed_bath_table", "toys"],
    })
    payments = pl.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
        "payment_total": [110.0, 55.0, 99.0, 33.0, 22.0, 88.0],
        "main_payment_type": ["credit_card", "voucher", "boleto", "boleto", "credit_card", "credit_card"],
        "installments": [3, 1, 1, 1, 2, 4],
        "used_voucher": [False, True, False, False, False, False],
    })
    reviews = pl.DataFrame({
        "review_id": ["r1", "r5", "r4"],
        "order_id": ["o1", "o5", "o4"],
        "score": [2, 5, 4],
        "has_comment": [True, False, True],
        "comment_sentiment": [-0.5, None, 0.6],
        "created_at": [ts("2018-01-11 00:00:00"), ts("2018-01-04 00:00:00"), ts("2018-01-21 00:00:00")],
    })
    return {"orders": orders.lazy(), "lines": lines.lazy(), "payments": payments.lazy(), "reviews": reviews.lazy()}


@pytest.fixture
def events() -> snapshots.Events:
    return snapshots.build_events(**silver_frames())


def row(snapshot: pl.DataFrame, customer: str) -> dict:
    return snapshot.filter(pl.col("customer_unique_id") == customer).row(0, named=True)


def test_cutoff_is_the_end_of_the_week():
    assert snapshots.cutoff_of(W1) == ts("2018-01-08 00:00:00")


def test_first_week_open_orders_canceled_and_several_orders(events):
    snap = snapshots.snapshot(events, W1)
    assert snap["customer_unique_id"].to_list() == ["A", "B", "C"]  # D only canceled: no purchase
    a, b, c = row(snap, "A"), row(snap, "B"), row(snap, "C")
    assert (a["frequency"], a["completed_orders"], a["open_orders"]) == (1, 0, 1)  # delivered after the cutoff
    assert a["recency_days"] == pytest.approx(5 + 14 / 24)
    assert a["late_share"] is None and a["last_order_late"] is None and a["monetary_total"] == 0.0
    assert (b["frequency"], b["open_orders"], b["main_payment_type"]) == (1, 1, "boleto")  # canceled o3 ignored
    assert (c["frequency"], c["completed_orders"], c["open_orders"]) == (2, 2, 0)
    assert c["days_between_purchases"] == pytest.approx(8.0)
    assert c["tenure_days"] == pytest.approx(10 + 16 / 24)
    assert c["monetary_total"] == pytest.approx(110.0) and c["average_ticket"] == pytest.approx(55.0)
    assert c["favourite_category"] == "bed_bath_table"  # 2 items against 1
    assert c["late_share"] == pytest.approx(0.5) and c["last_order_late"] is True  # o6 delivered late, last
    assert c["freight_share"] == pytest.approx(10 / 110)
    assert c["review_count"] == 1 and c["has_commented"] is False and c["last_comment_sentiment"] is None
    assert c["mean_installments"] == pytest.approx(3.0)


def test_second_week_sees_the_delivery_and_review_but_not_a_purchase_at_the_cutoff(events):
    a = row(snapshots.snapshot(events, W2), "A")
    assert a["frequency"] == 1  # o2 was bought exactly at the cutoff: not before it
    assert (a["completed_orders"], a["open_orders"], a["late_share"], a["last_order_late"]) == (1, 0, 1.0, True)
    assert a["mean_delay_days"] == pytest.approx(2.5)
    assert (a["review_count"], a["review_last"], a["review_min"], a["last_comment_sentiment"]) == (1, 2, 2, -0.5)
    assert a["has_commented"] is True and a["monetary_total"] == pytest.approx(110.0)


def test_third_week(events):
    snap = snapshots.snapshot(events, W3)
    a, b = row(snap, "A"), row(snap, "B")
    assert a["frequency"] == 2 and a["recency_days"] == pytest.approx(7.0)
    assert a["favourite_category"] == "toys" and a["voucher_share"] == pytest.approx(0.5)
    assert a["main_payment_type"] == "voucher"  # 1-1 tie: the most recent wins
    assert (b["completed_orders"], b["review_count"], b["open_orders"]) == (1, 1, 0)  # delivered 01-20, reviewed 01-21
    b_before = row(snapshots.snapshot(events, W2), "B")
    assert (b_before["completed_orders"], b_before["review_count"], b_before["open_orders"]) == (0, 0, 1)


def test_incremental_snapshots_equal_full_recomputation(events):
    weeks = [W1 - dt.timedelta(days=7), W1, W2, W3, W3 + dt.timedelta(days=7)]
    incremental = list(snapshots.snapshots(events, weeks))
    for week, frame in zip(weeks, incremental, strict=True):
        assert frame.equals(snapshots.snapshot(events, week)), week
    resumed = list(snapshots.snapshots(events, weeks[3:], previous=incremental[2]))
    assert all(a.equals(b) for a, b in zip(resumed, incremental[3:], strict=True))


def test_labels_use_the_window_after_the_cutoff_and_null_when_immature(events):
    purchases = events.purchases
    snap = snapshots.snapshot(events, W2)
    labels = snapshots.churn_labels(snap, purchases, horizon_days=7, data_end=ts("2018-02-01 00:00:00"))
    churned = dict(labels.select("customer_unique_id", "churned").iter_rows())
    assert churned == {"A": False, "B": True, "C": True}  # A buys o2 exactly at the cutoff: inside the window
    immature = snapshots.churn_labels(snap, purchases, horizon_days=30, data_end=ts("2018-02-01 00:00:00"))
    assert immature["churned"].null_count() == immature.height and not immature["is_mature"].any()
    assert checks.label_maturity(immature, ts("2018-02-01 00:00:00")).passed
    leaked = immature.with_columns(pl.lit(True).alias("churned"))
    assert not checks.label_maturity(leaked, ts("2018-02-01 00:00:00")).passed


def test_point_in_time_check_passes_on_snapshots_and_catches_a_planted_leak(events):
    frames = silver_frames()
    orders, reviews = frames["orders"].collect(), frames["reviews"].collect()
    good = pl.concat(list(snapshots.snapshots(events, [W1, W2, W3])))
    assert checks.point_in_time(good, checks.SilverFacts.of(orders, reviews)).passed
    assert checks.feature_sanity(good, checks.SilverFacts.of(orders, reviews)).passed
    # A snapshot built with a week of future facts but labelled as week W1.
    leaked = snapshots.finish(snapshots.aggregate(events, snapshots.cutoff_of(W2)), W1)
    result = checks.point_in_time(leaked, checks.SilverFacts.of(orders, reviews))
    assert not result.passed
    assert result.metadata["count_mismatches"].value["completed_orders"] >= 1


def test_coverage_ends_after_the_last_full_week():
    times = [ts("2018-01-01 10:00:00")] * 20 + [ts("2018-01-08 10:00:00")] * 20 + [ts("2018-03-05 10:00:00")]
    assert snapshots.data_coverage_end(pl.Series(times, dtype=TIMESTAMP)) == ts("2018-01-15 00:00:00")
