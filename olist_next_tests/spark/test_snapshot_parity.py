"""Gold on both engines: Customer 360 snapshots and churn labels, polars (the specification) vs Spark.

One generated release goes through polars bronze and silver; a handful of customers with planted
point-in-time, tie and label edge cases are added to silver; the silver frames are written as
Delta tables and each engine reads the same tables. Spark's snapshots are written as Delta by
Spark and read back by polars, as the engines share the gold tables.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
import pytest

from olist_next_assets.defs.gold import checks
from olist_next_assets.defs.partitions import partition_bounds
from olist_next_assets.lib import ingest, silver, snapshots
from olist_next_assets.lib.contracts import CONTRACTS, WEEK_COLUMN, Placement
from olist_next_assets.lib.sentiment import sentiment_expr
from olist_next_assets.lib.spark import snapshots as spark_snapshots
from olist_next_assets.lib.synthetic import generate
from olist_next_tests.spark.parity import assert_same

RANGE_START = dt.date(2017, 6, 5)  # the planted events sit around the cutoffs of this range
RANGE = [RANGE_START + i * snapshots.WEEK for i in range(4)]
C1, C2 = snapshots.cutoff_of(RANGE[0]), snapshots.cutoff_of(RANGE[1])
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
HORIZON = 28


# Planted orders: (order_id, person, status, purchased, delivered, is_late, state, payment type, categories)
T = C1 - 3 * DAY + dt.timedelta(microseconds=123_457)  # sub-second: seconds truncate, as in polars
PLANTED_ORDERS = [
    ("e-open", "edge-open", "delivered", C1 - HOUR, C1 + 2 * DAY, False, "SP", "boleto", ["toys"]),
    ("e-rev", "edge-review-at-cutoff", "delivered", C1 - 5 * DAY, C1 - 2 * DAY, False, "SP", "boleto", ["toys"]),
    ("e-buy1", "edge-buy-at-cutoff", "delivered", C1 - 6 * DAY, C1 - 4 * DAY, True, "MG", "voucher", ["garden"]),
    ("e-buy2", "edge-buy-at-cutoff", "shipped", C1, None, None, "MG", "voucher", ["garden"]),  # exactly at C1
    ("e-tie-a", "edge-ties", "delivered", T, C1 - DAY, True, "SP", "credit_card", ["toys"]),
    ("e-tie-b", "edge-ties", "delivered", T, C1 - DAY, False, "RJ", "boleto", ["garden"]),  # same instants
    ("e-latest-a", "edge-mode-latest", "delivered", T - 2 * DAY, T, False, "BA", "boleto", ["toys", "toys"]),
    ("e-latest-b", "edge-mode-latest", "delivered", T - DAY, T, False, "BA", "credit_card", ["garden"]),
    ("e-rt-a", "edge-review-ties", "delivered", T - 9 * DAY, T - 5 * DAY, False, "SP", "boleto", ["toys"]),
    ("e-rt-b", "edge-review-ties", "delivered", T - 8 * DAY, T - 4 * DAY, False, "SP", "boleto", ["toys"]),
    ("e-ct-a", "edge-comment-ties", "delivered", T - 9 * DAY, T - 5 * DAY, False, "SP", "boleto", ["toys"]),
    ("e-ct-b", "edge-comment-ties", "delivered", T - 8 * DAY, T - 4 * DAY, False, "SP", "boleto", ["toys"]),
    ("e-zero", "edge-no-lines-no-payment", "delivered", T - DAY, T, False, "PR", None, []),
    ("e-h1", "edge-horizon", "delivered", C1 - 2 * DAY, C1 - DAY, False, "SP", "boleto", ["toys"]),
    ("e-h2", "edge-horizon", "delivered", C1 + HORIZON * DAY, C1 + (HORIZON + 3) * DAY, False, "SP", "boleto",
     ["toys"]),  # exactly at C1 + horizon: outside week RANGE[0]'s window, inside RANGE[1]'s
    ("e-nobody", None, "delivered", T, T + DAY, False, None, "boleto", ["toys"]),  # unknown customer
]
# Planted reviews: (review_id, order_id, score, has_comment, sentiment, created)
PLANTED_REVIEWS = [
    ("r-at-cutoff", "e-rev", 4, True, 0.5, C1),  # created exactly at the cutoff: unknown at C1
    ("r-rt-a1", "e-rt-a", None, True, 0.25, T),  # same order, same instant: score null sorts first
    ("r-rt-a2", "e-rt-a", 5, False, None, T),
    ("r-rt-b", "e-rt-b", 1, True, -0.75, T - HOUR),
    ("r-ct-a", "e-ct-a", 2, True, 0.5, T),  # two comments at one instant: order_id breaks the tie
    ("r-ct-b", "e-ct-b", 3, True, -0.5, T),
]


def _bronze(landing: Path) -> dict[str, pl.DataFrame]:
    bounds = partition_bounds()

    def table(name: str, order_weeks: pl.DataFrame | None = None) -> pl.DataFrame:
        contract = CONTRACTS[name]
        raw, header = ingest.read_source(landing / contract.source_file, contract)
        placed_by_order = order_weeks if contract.placement is Placement.PARENT_ORDER else None
        return ingest.ingest(raw, header, contract, contract.source_file,
                             partition_bounds=bounds if contract.partitioned else None,
                             order_weeks=placed_by_order).bronze

    orders = table("orders")
    order_weeks = orders.select("order_id", WEEK_COLUMN)
    names = ["order_items", "order_payments", "order_reviews", "customers", "products", "category_translation"]
    return {"orders": orders, **{name: table(name, order_weeks) for name in names}}


def _silver(landing: Path) -> dict[str, pl.DataFrame]:
    b = _bronze(landing)
    return {
        "orders": silver.silver_orders(b["orders"].lazy(), b["customers"].lazy()).collect(),
        "lines": silver.silver_order_lines(b["order_items"].lazy(), b["products"].lazy(),
                                           b["category_translation"].lazy()).collect(),
        "payments": silver.silver_payments(b["order_payments"].lazy()).collect(),
        "reviews": silver.silver_reviews(b["order_reviews"].lazy(), sentiment_expr("review_comment_message")).collect(),
    }


def _append(frame: pl.DataFrame, rows: list[dict]) -> pl.DataFrame:
    extra = pl.DataFrame(rows, schema={k: frame.schema[k] for k in rows[0]})
    return pl.concat([frame, extra], how="diagonal").select(frame.columns)


def _week_of(moment: dt.datetime) -> dt.date:
    return moment.date() - dt.timedelta(days=moment.weekday())


def _plant(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    orders, lines, payments = [], [], []
    for order_id, person, status, bought, delivered, late, state, paid_by, categories in PLANTED_ORDERS:
        completed = delivered is not None and status == "delivered"
        orders.append({"order_id": order_id, "customer_id": f"cid-{order_id}", "customer_unique_id": person,
                       "customer_state": state, "order_status": status, "purchased_at": bought,
                       "delivered_at": delivered, "estimated_delivery_at": bought + 10 * DAY,
                       "counts_as_purchase": True, "is_completed": completed,
                       "delivery_delay_days": (1.5 if late else -2.25) if completed else None,
                       "is_late": late if completed else None, WEEK_COLUMN: _week_of(bought)})
        lines += [{"order_id": order_id, "order_item_id": i + 1, "price": 20.0 + i, "freight_value": 3.5,
                   "category": c, WEEK_COLUMN: _week_of(bought)} for i, c in enumerate(categories)]
        if paid_by is not None:
            payments.append({"order_id": order_id, "payment_total": 30.25, "payment_count": 1,
                             "main_payment_type": paid_by, "installments": 2, "used_voucher": paid_by == "voucher",
                             WEEK_COLUMN: _week_of(bought)})
    reviews = [{"review_id": r, "order_id": o, "score": s, "has_comment": c, "comment_sentiment": v,
                "created_at": t, WEEK_COLUMN: _week_of(t)} for r, o, s, c, v, t in PLANTED_REVIEWS]
    return {"orders": _append(frames["orders"], orders), "lines": _append(frames["lines"], lines),
            "payments": _append(frames["payments"], payments), "reviews": _append(frames["reviews"], reviews)}


class Engines(NamedTuple):
    polars_events: snapshots.Events
    spark_events: spark_snapshots.SparkEvents
    frames: dict[str, pl.DataFrame]  # silver, as polars frames
    spark_frames: dict[str, Any]  # the same silver, read by Spark from Delta
    weeks: list[dt.date]  # every week of the release, consecutive
    root: Path


@pytest.fixture(scope="module")
def engines(spark, tmp_path_factory) -> Engines:
    root = tmp_path_factory.mktemp("gold_parity")
    generate(root / "landing", customers=2000, seed=7)
    frames = _plant(_silver(root / "landing"))
    spark_frames = {}
    for name, frame in frames.items():
        frame.write_delta(str(root / "silver" / name))
        spark_frames[name] = spark.read.format("delta").load(str(root / "silver" / name))
    polars_events = snapshots.build_events(*(frames[n].lazy() for n in ("orders", "lines", "payments", "reviews")))
    spark_events = spark_snapshots.build_events(*(spark_frames[n] for n in ("orders", "lines", "payments", "reviews")))
    first, last = frames["orders"][WEEK_COLUMN].min(), frames["orders"][WEEK_COLUMN].max()
    weeks = [first + i * snapshots.WEEK for i in range((last - first).days // 7 + 1)]  # consecutive, as partitions
    return Engines(polars_events, spark_events, frames, spark_frames, weeks, root)


def _spread_weeks(weeks: list[dt.date]) -> list[dt.date]:
    """First weeks, a few spread over the history, the last week, and the consecutive planted range."""
    spread = [weeks[0], weeks[1], weeks[len(weeks) // 3], weeks[len(weeks) // 2], weeks[-2], weeks[-1]]
    return sorted(set(spread) | set(RANGE))


@pytest.fixture(scope="module")
def spread(engines):
    """(weeks, polars snapshots, Spark snapshots written as Delta by Spark) for the spread weeks."""
    chosen = _spread_weeks(engines.weeks)
    expected = pl.concat([snapshots.snapshot(engines.polars_events, w) for w in chosen])
    path = str(engines.root / "gold" / "customer_360")
    spark_snapshots.snapshots(engines.spark_events, chosen).write.format("delta").mode("overwrite").save(path)
    return chosen, expected, path


def row(frame: pl.DataFrame, week: dt.date, person: str) -> dict:
    return frame.filter((pl.col(WEEK_COLUMN) == week) & (pl.col("customer_unique_id") == person)).row(0, named=True)


def test_snapshots_equal_polars_on_spread_weeks_and_a_range(engines, spread):
    chosen, expected, path = spread
    assert engines.weeks[0] in chosen and engines.weeks[-1] in chosen and len(chosen) >= 9
    result = pl.read_delta(path)  # written by Spark
    assert result.height == expected.height > 0
    assert_same(expected, result, "customer_360")
    assert result.select(pl.col(WEEK_COLUMN).unique().sort()).to_series().to_list() == chosen

    # The planted edge cases, as Spark computed them (equal to polars, above).
    w0, w1 = RANGE[0], RANGE[1]
    before, after = row(result, w0, "edge-open"), row(result, w1, "edge-open")
    assert (before["frequency"], before["completed_orders"], before["open_orders"]) == (1, 0, 1)  # delivered later
    assert before["last_delivery_at"] is None and before["recency_days"] == 0.041667  # 1 h, to 1e-6 day
    assert (after["completed_orders"], after["open_orders"]) == (1, 0)
    assert row(result, w0, "edge-review-at-cutoff")["review_count"] == 0  # created exactly at the cutoff
    assert row(result, w1, "edge-review-at-cutoff")["review_count"] == 1
    assert row(result, w0, "edge-buy-at-cutoff")["frequency"] == 1  # bought exactly at the cutoff
    assert row(result, w1, "edge-buy-at-cutoff")["frequency"] == 2
    ties = row(result, w0, "edge-ties")
    assert (ties["customer_state"], ties["last_order_late"]) == ("RJ", False)  # same instant: last order_id
    assert (ties["main_payment_type"], ties["favourite_category"]) == ("boleto", "garden")  # 1-1, same time: a-z
    assert ties["days_between_purchases"] == 0.0
    latest = row(result, w0, "edge-mode-latest")
    assert (latest["main_payment_type"], latest["favourite_category"]) == ("credit_card", "toys")
    reviewed = row(result, w0, "edge-review-ties")
    assert (reviewed["review_last"], reviewed["review_min"], reviewed["last_comment_sentiment"]) == (5, 1, 0.25)
    assert row(result, w0, "edge-comment-ties")["last_comment_sentiment"] == -0.5
    empty = row(result, w0, "edge-no-lines-no-payment")
    assert (empty["monetary_total"], empty["main_payment_type"], empty["favourite_category"]) == (0.0, None, None)
    assert empty["freight_share"] != empty["freight_share"] and empty["voucher_share"] == 0.0  # NaN, as polars
    assert result.filter(pl.col("average_ticket").is_nan()).height > 0  # no completed order yet: 0/0
    assert not result["customer_unique_id"].is_null().any()


def test_labels_equal_polars_including_the_window_edges_and_maturity(engines, spread):
    polars_events, spark_events = engines.polars_events, engines.spark_events
    _, snapshot, path = spread
    spark_snapshot = spark_events.purchases.sparkSession.read.format("delta").load(path)  # as the labels asset
    spark_purchases = spark_events.purchases.select("customer_unique_id", snapshots.EVENT_AT)
    cases = [
        (HORIZON, C2 + HORIZON * DAY),  # RANGE[1]'s window ends exactly at data_end: mature; later weeks are not
        (180, snapshots.data_coverage_end(engines.frames["orders"]["purchased_at"])),
    ]
    results = {}
    for horizon, data_end in cases:
        expected = snapshots.churn_labels(snapshot, polars_events.purchases, horizon, data_end)
        result = pl.from_arrow(spark_snapshots.churn_labels(spark_snapshot, spark_purchases, horizon, data_end).toArrow())
        assert result.schema == snapshots.LABEL_SCHEMA
        assert_same(expected, result, f"churn_labels, horizon {horizon}")
        assert checks.label_maturity(result, data_end).passed
        results[horizon] = result

    labels = results[HORIZON]
    at_cutoff = row(labels, RANGE[0], "edge-buy-at-cutoff")  # next purchase exactly at the cutoff: inside
    assert (at_cutoff["churned"], at_cutoff["days_to_next_purchase"]) == (False, 0.0)
    at_end = row(labels, RANGE[0], "edge-horizon")  # next purchase exactly at cutoff + horizon: outside
    assert (at_end["churned"], at_end["days_to_next_purchase"]) == (True, None)
    assert row(labels, RANGE[1], "edge-horizon")["days_to_next_purchase"] == 21.0
    by_week = {w: (mature, nulls, n) for w, mature, nulls, n in labels.group_by(WEEK_COLUMN).agg(
        pl.col("is_mature").all(), pl.col("churned").null_count(), pl.len()).iter_rows()}
    assert by_week[RANGE[1]][:2] == (True, 0)  # window end == data_end: mature
    assert by_week[RANGE[2]][0] is False and by_week[RANGE[2]][1] == by_week[RANGE[2]][2]  # immature: all null


def test_coverage_end_uses_the_polars_rule_on_sparks_weekly_counts(engines):
    times, orders = engines.frames["orders"]["purchased_at"], engines.spark_frames["orders"]
    assert spark_snapshots.weekly_purchase_counts(orders).equals(snapshots.weekly_purchase_counts(times))
    assert spark_snapshots.data_coverage_end(orders) == snapshots.data_coverage_end(times)


def test_every_week_of_the_release_equals_the_polars_incremental_path(engines, capsys):
    """All weeks in one Spark plan against the polars week-by-week path (timings are printed)."""
    polars_events, spark_events, weeks = engines.polars_events, engines.spark_events, engines.weeks
    started = time.perf_counter()
    expected = pl.concat(list(snapshots.snapshots(polars_events, weeks)))
    polars_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = pl.from_arrow(spark_snapshots.snapshots(spark_events, weeks).toArrow())
    spark_seconds = time.perf_counter() - started
    assert_same(expected, result, "customer_360, every week")
    with capsys.disabled():
        print(f"\n{len(weeks)} weeks, {expected.height} snapshot rows: polars {polars_seconds:.2f} s, "
              f"Spark {spark_seconds:.2f} s")
