"""Point-in-time Customer 360 snapshots and churn labels on Spark.

The specification is :mod:`olist_next_assets.lib.snapshots` (polars): the same rule, features,
tie-breaks, column names, order and types, so the gold Delta tables are the same whichever engine
wrote them. The plan scales out instead of looping over weeks:

* the requested weeks become a small ``(week, cutoff)`` frame, broadcast and joined to every event
  stream on ``event_at < cutoff`` (:func:`known_at`, THE point-in-time rule, stated once);
* every aggregate is then one group-by on ``(week, cutoff, customer)``; "last value" is the max
  of a struct ``(event_at, order_id, value)`` (Spark orders struct fields ascending, nulls first,
  exactly as polars ``_last``); the mode is the min of ``(-count, -latest, value)``;
* time-dependent features use :func:`days_between`, the bit-exact twin of the polars one.

Any set of weeks (consecutive or not) is computed in one job; no week depends on another, so
there is no incremental path to keep equal to a full recomputation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StructField, StructType, TimestampType

from olist_next_assets.lib import snapshots as spec
from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.silver import SECONDS_PER_DAY

EVENT_AT = spec.EVENT_AT
CUSTOMER = spec.CUSTOMER
KEYS = [WEEK_COLUMN, "cutoff", CUSTOMER]
MICROS_PER_SECOND = 1_000_000
DAY_FRACTION = 1.0 / SECONDS_PER_DAY  # polars divides a column by a scalar as a product with its reciprocal
ROUNDING = 1e6  # 1e-6 day, as polars ``round(6)``: (x * 1e6).round_ties_even() / 1e6
NAN = float("nan")
WEEKS_SCHEMA = StructType([StructField(WEEK_COLUMN, DateType(), False), StructField("cutoff", TimestampType(), False)])


@dataclass(frozen=True)
class SparkEvents:
    """The event streams of :class:`olist_next_assets.lib.snapshots.Events`, as Spark frames (unsorted)."""

    purchases: DataFrame  # one row per non-canceled order, at purchase time
    completions: DataFrame  # one row per delivered order, at delivery time
    reviews: DataFrame  # one row per review, at creation time
    lines: DataFrame  # one row per order item, at its order's purchase time


def build_events(orders: DataFrame, lines: DataFrame, payments: DataFrame, reviews: DataFrame) -> SparkEvents:
    """Event streams from the silver tables (orders without a known customer are left out)."""
    orders = orders.where(F.col(CUSTOMER).isNotNull())
    purchase_orders = orders.where(F.col("counts_as_purchase"))
    purchases = purchase_orders.join(
        payments.select("order_id", "main_payment_type", "installments", "used_voucher"), on="order_id", how="left"
    ).select(CUSTOMER, "order_id", F.col("purchased_at").alias(EVENT_AT), "customer_state",
             "main_payment_type", "installments", "used_voucher")
    item_totals = lines.groupBy("order_id").agg(
        _sum(F.col("price")).alias("items_value"), _sum(F.col("freight_value")).alias("freight_value")
    )
    completions = (
        orders.where(F.col("is_completed"))
        .join(payments.select("order_id", "payment_total"), on="order_id", how="left")
        .join(item_totals, on="order_id", how="left")
        .select(CUSTOMER, "order_id", F.col("delivered_at").alias(EVENT_AT),
                F.coalesce(F.col("payment_total"), F.col("items_value") + F.col("freight_value")).alias("spend"),
                "items_value", "freight_value", "delivery_delay_days", "is_late")
    )
    review_events = reviews.join(orders.select("order_id", CUSTOMER), on="order_id", how="inner").select(
        CUSTOMER, "order_id", "review_id", F.col("created_at").alias(EVENT_AT), "score", "has_comment",
        "comment_sentiment",
    )
    line_events = lines.join(
        purchase_orders.select("order_id", CUSTOMER, F.col("purchased_at").alias(EVENT_AT)), on="order_id", how="inner"
    ).select(CUSTOMER, "order_id", EVENT_AT, "category")
    return SparkEvents(purchases, completions, review_events, line_events)


def weeks_frame(spark, weeks: list[dt.date]) -> DataFrame:
    """``(week, cutoff)`` of the requested weeks (cutoffs from the polars :func:`cutoff_of`)."""
    rows = [(week, spec.cutoff_of(week)) for week in sorted(set(weeks))]
    return spark.createDataFrame(rows, WEEKS_SCHEMA)


def known_at(frame: DataFrame, weeks: DataFrame) -> DataFrame:
    """THE point-in-time rule: each event joins every week whose cutoff is strictly after it."""
    return frame.join(F.broadcast(weeks), F.col(EVENT_AT) < F.col("cutoff"), how="inner")


def days_between(later: Column, earlier: Column) -> Column:
    """Bit-exact twin of polars ``days_between``: ``total_seconds`` truncates toward zero, the
    division by 86,400 is a product with the reciprocal, ``round(6)`` rounds half to even."""
    micros = F.unix_micros(later) - F.unix_micros(earlier)
    seconds = (micros - micros % MICROS_PER_SECOND) / MICROS_PER_SECOND  # exact: a whole number of seconds
    return _round6(seconds * DAY_FRACTION)


def _round6(value: Column) -> Column:
    return F.rint(value * ROUNDING) / ROUNDING  # rint: IEEE round half to even, as Rust's round_ties_even


def _sum(column: Column) -> Column:
    """polars ``sum``: 0 (not null) for a group without a non-null value."""
    return F.coalesce(F.sum(column), F.lit(0.0))


def _divide(numerator: Column, denominator: Column) -> Column:
    """polars (IEEE) float division: x/0 is NaN or +-inf, not an ANSI error or null."""
    by_zero = (
        F.when(numerator.isNull(), F.lit(None).cast("double"))
        .when(F.isnan(numerator) | (numerator == 0), F.lit(NAN))
        .when(numerator > 0, F.lit(float("inf")))
        .otherwise(F.lit(float("-inf")))
    )
    return F.when(denominator == 0, by_zero).otherwise(F.try_divide(numerator.cast("double"), denominator))


def _last(value: str) -> Column:
    """polars ``_last``: value of the latest event, ties by order_id then value, nulls first."""
    return F.max(F.struct(F.col(EVENT_AT), F.col("order_id"), F.col(value).alias("v")))["v"]


def _mode(frame: DataFrame, column: str, name: str | None = None) -> DataFrame:
    """Most frequent value per (week, customer); ties go to the most recent, then alphabetical."""
    counted = frame.where(F.col(column).isNotNull()).groupBy(*KEYS, column).agg(
        F.count(F.lit(1)).alias("n"), F.max(EVENT_AT).alias("latest")
    )
    best = F.min(F.struct((-F.col("n")).alias("n"), (-F.unix_micros("latest")).alias("latest"), F.col(column).alias("v")))
    return counted.groupBy(*KEYS).agg(best["v"].alias(name or column))


def aggregate(events: SparkEvents, weeks: DataFrame) -> DataFrame:
    """Cumulative, time-independent aggregates per (week, customer) from events known at each cutoff."""
    purchases = known_at(events.purchases, weeks)
    completions = known_at(events.completions, weeks)
    reviews = known_at(events.reviews, weeks)
    lines = known_at(events.lines, weeks)

    base = purchases.groupBy(*KEYS).agg(
        F.count(F.lit(1)).cast("int").alias("frequency"),
        F.min(EVENT_AT).alias("first_purchase_at"),
        F.max(EVENT_AT).alias("last_purchase_at"),
        _last("customer_state").alias("customer_state"),
        F.avg("installments").alias("mean_installments"),
        F.avg(F.coalesce(F.col("used_voucher"), F.lit(False)).cast("double")).alias("voucher_share"),
    )
    payment_type = _mode(purchases, "main_payment_type")
    completed = completions.groupBy(*KEYS).agg(
        F.count(F.lit(1)).cast("int").alias("completed_orders"),
        _sum(F.col("spend")).alias("monetary_total"),
        _divide(_sum(F.col("freight_value")), _sum(F.col("items_value") + F.col("freight_value"))).alias("freight_share"),
        F.avg(F.col("is_late").cast("double")).alias("late_share"),
        F.avg("delivery_delay_days").alias("mean_delay_days"),
        _last("is_late").alias("last_order_late"),
        F.max(EVENT_AT).alias("last_delivery_at"),
    )
    # the latest commented review; ties by order_id, then review_id (as polars)
    commented = F.when(F.col("has_comment"), F.struct(F.col(EVENT_AT), F.col("order_id"), F.col("review_id"),
                                                     F.col("comment_sentiment").alias("v")))
    reviewed = reviews.groupBy(*KEYS).agg(
        F.count(F.lit(1)).cast("int").alias("review_count"),
        F.avg("score").alias("review_mean"),
        F.min("score").alias("review_min"),
        _last("score").alias("review_last"),
        F.coalesce(F.bool_or("has_comment"), F.lit(False)).alias("has_commented"),
        F.max(commented)["v"].alias("last_comment_sentiment"),
        F.max(EVENT_AT).alias("last_review_at"),
    )
    favourite = _mode(lines, "category", name="favourite_category")
    return (
        base.join(payment_type, on=KEYS, how="left")
        .join(completed, on=KEYS, how="left")
        .join(reviewed, on=KEYS, how="left")
        .join(favourite, on=KEYS, how="left")
        .withColumns({
            "completed_orders": F.coalesce(F.col("completed_orders"), F.lit(0)),
            "review_count": F.coalesce(F.col("review_count"), F.lit(0)),
            "monetary_total": F.coalesce(F.col("monetary_total"), F.lit(0.0)),
            "has_commented": F.coalesce(F.col("has_commented"), F.lit(False)),
        })
    )


def finish(aggregates: DataFrame) -> DataFrame:
    """Add the time-dependent features for each row's cutoff; columns in the polars ``finish`` order."""
    frequency = F.col("frequency")
    return aggregates.select(
        WEEK_COLUMN,
        "cutoff",
        CUSTOMER,
        "customer_state",
        days_between(F.col("cutoff"), F.col("last_purchase_at")).alias("recency_days"),
        "frequency",
        "monetary_total",
        _divide(F.col("monetary_total"), F.col("completed_orders")).alias("average_ticket"),
        days_between(F.col("cutoff"), F.col("first_purchase_at")).alias("tenure_days"),
        F.when(frequency > 1, _round6(
            F.try_divide(days_between(F.col("last_purchase_at"), F.col("first_purchase_at")), frequency - 1)
        )).alias("days_between_purchases"),
        "completed_orders",
        (frequency - F.col("completed_orders")).cast("int").alias("open_orders"),
        "late_share",
        "mean_delay_days",
        "last_order_late",
        "review_count",
        "review_mean",
        "review_min",
        "review_last",
        "has_commented",
        "last_comment_sentiment",
        "favourite_category",
        "main_payment_type",
        "mean_installments",
        "voucher_share",
        "freight_share",
        "first_purchase_at",
        "last_purchase_at",
        "last_delivery_at",
        "last_review_at",
    )


def snapshots(events: SparkEvents, weeks: list[dt.date]) -> DataFrame:
    """Every snapshot row of ``weeks``: for each week W, equal to polars ``snapshot(events, W)``."""
    return finish(aggregate(events, weeks_frame(events.purchases.sparkSession, weeks)))


def churn_labels(snapshot: DataFrame, purchases: DataFrame, horizon_days: int, data_end: dt.datetime) -> DataFrame:
    """Twin of polars ``churn_labels``: churned = no purchase in ``[cutoff, cutoff + H)``, null
    when immature (``cutoff + H > data_end``). The forward as-of join is a join on the customer
    with ``purchase >= cutoff`` and a min; ``purchases`` has ``customer_unique_id`` and ``event_at``."""
    rows = snapshot.select(*KEYS)
    upcoming = purchases.select(F.col(CUSTOMER).alias("__customer"), F.col(EVENT_AT).alias("__at"))
    labelled = (
        rows.join(upcoming, (F.col(CUSTOMER) == F.col("__customer")) & (F.col("__at") >= F.col("cutoff")), how="left")
        .groupBy(*KEYS)
        .agg(F.min("__at").alias("next_purchase_at"))
    )
    window_end = F.timestamp_micros(F.unix_micros("cutoff") + horizon_days * 86_400 * MICROS_PER_SECOND)
    mature = window_end <= F.lit(data_end)
    returned = F.col("next_purchase_at").isNotNull() & (F.col("next_purchase_at") < window_end)
    return labelled.select(
        WEEK_COLUMN,
        "cutoff",
        CUSTOMER,
        F.lit(horizon_days).cast("int").alias("horizon_days"),
        window_end.alias("label_window_end"),
        mature.alias("is_mature"),
        F.when(mature, ~returned).alias("churned"),
        F.when(mature & returned, days_between(F.col("next_purchase_at"), F.col("cutoff"))).alias("days_to_next_purchase"),
    )


def weekly_purchase_counts(orders: DataFrame, column: str = "purchased_at") -> pl.DataFrame:
    """Orders per week (Monday, UTC), collected: the small input of the polars coverage rule."""
    counts = orders.groupBy(F.to_date(F.date_trunc("week", F.col(column))).alias("week")).count().collect()
    return pl.DataFrame(
        {"week": [r["week"] for r in counts], "len": [r["count"] for r in counts]},
        schema={"week": pl.Date, "len": pl.UInt32},
    ).with_columns(pl.col("week").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")).sort("week")


def data_coverage_end(orders: DataFrame, column: str = "purchased_at", min_share_of_median: float = 0.1) -> dt.datetime:
    """The polars rule (:func:`olist_next_assets.lib.snapshots.coverage_end`) on Spark's weekly counts."""
    return spec.coverage_end(weekly_purchase_counts(orders, column), min_share_of_median)
