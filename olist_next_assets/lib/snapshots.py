"""Point-in-time Customer 360 snapshots and churn labels. Pure polars.

THE RULE (stated once, applied everywhere through :func:`known_at`): a snapshot at ``cutoff``
may use an event only if the event happened strictly before the cutoff. Every fact is an event
with its own time (``event_at``):

* a purchase is known at its purchase timestamp (with what was bought and how it was paid);
* a delivery outcome (completed order, spend, delay, late) is known when it was delivered;
* a review is known when it was created.

So an order bought before the cutoff but delivered after it counts as a purchase and as an open
order, not as a completed one; a review written after the cutoff does not exist yet.

Incremental: the snapshot at week W is the snapshot at W-1 for customers with no event during
week W, and a recomputation from their own history for the customers who had one; only the
time-dependent features (recency, tenure) are refreshed for everybody. The result equals a
full recomputation (tested), at the cost of one week of events plus the previous snapshot.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from olist_next_assets.lib.contracts import TIMESTAMP, WEEK_COLUMN
from olist_next_assets.lib.silver import days_between

EVENT_AT = "event_at"
CUSTOMER = "customer_unique_id"
WEEK = dt.timedelta(days=7)


def known_at(frame: pl.LazyFrame | pl.DataFrame, cutoff: dt.datetime):
    """THE point-in-time rule: keep only events that happened strictly before the cutoff."""
    return frame.filter(pl.col(EVENT_AT) < cutoff)


def cutoff_of(week_start: dt.date) -> dt.datetime:
    """The cutoff of partition W is the end of week W (next Monday 00:00 UTC)."""
    return dt.datetime.combine(week_start + WEEK, dt.time(), tzinfo=dt.UTC)


@dataclass(frozen=True)
class Events:
    """The three event streams every feature is computed from (each has ``event_at``).

    Each frame is sorted by ``event_at``, so a week of events is a slice found by binary search.
    """

    purchases: pl.DataFrame  # one row per non-canceled order, at purchase time
    completions: pl.DataFrame  # one row per delivered order, at delivery time
    reviews: pl.DataFrame  # one row per review, at creation time
    lines: pl.DataFrame  # one row per order item, at its order's purchase time

    def touched_between(self, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """Customers with any event in ``[start, end)`` (one column, unique)."""
        frames = []
        for frame in (self.purchases, self.completions, self.reviews):
            times = frame[EVENT_AT]
            first, last = (int(times.search_sorted(t, side="left")) for t in (start, end))
            frames.append(frame.slice(first, last - first).select(CUSTOMER))
        return pl.concat(frames).unique()

    def for_customers(self, customers: pl.DataFrame) -> Events:
        frames = (self.purchases, self.completions, self.reviews, self.lines)
        return Events(*(f.join(customers, on=CUSTOMER, how="semi", maintain_order="left") for f in frames))


def build_events(orders: pl.LazyFrame, lines: pl.LazyFrame, payments: pl.LazyFrame, reviews: pl.LazyFrame) -> Events:
    """Event streams from the silver tables (orders without a known customer are left out)."""
    orders = orders.filter(pl.col(CUSTOMER).is_not_null())
    purchases = (
        orders.filter(pl.col("counts_as_purchase"))
        .join(payments.select("order_id", "main_payment_type", "installments", "used_voucher"), on="order_id", how="left")
        .select(CUSTOMER, "order_id", pl.col("purchased_at").alias(EVENT_AT), "customer_state",
                "main_payment_type", "installments", "used_voucher")
    )
    item_totals = lines.group_by("order_id").agg(
        pl.col("price").sum().alias("items_value"), pl.col("freight_value").sum().alias("freight_value")
    )
    completions = (
        orders.filter(pl.col("is_completed"))
        .join(payments.select("order_id", "payment_total"), on="order_id", how="left")
        .join(item_totals, on="order_id", how="left")
        .select(CUSTOMER, "order_id", pl.col("delivered_at").alias(EVENT_AT),
                pl.coalesce("payment_total", pl.col("items_value") + pl.col("freight_value")).alias("spend"),
                "items_value", "freight_value", "delivery_delay_days", "is_late")
    )
    review_events = reviews.join(orders.select("order_id", CUSTOMER), on="order_id", how="inner").select(
        CUSTOMER, "order_id", "review_id", pl.col("created_at").alias(EVENT_AT), "score", "has_comment",
        "comment_sentiment",
    )
    line_events = lines.join(
        orders.filter(pl.col("counts_as_purchase")).select("order_id", CUSTOMER, pl.col("purchased_at").alias(EVENT_AT)),
        on="order_id",
        how="inner",
    ).select(CUSTOMER, "order_id", EVENT_AT, "category")
    streams = [purchases, completions, review_events, line_events]
    collected = pl.collect_all([s.sort(EVENT_AT, CUSTOMER, "order_id", maintain_order=True) for s in streams])
    return Events(*collected)


def _last(value: str) -> pl.Expr:
    """Value of the latest event (ties broken by order_id, then value, for determinism)."""
    return pl.col(value).sort_by([EVENT_AT, "order_id", value], nulls_last=False).last()


def aggregate(events: Events, cutoff: dt.datetime) -> pl.DataFrame:
    """Cumulative, time-independent aggregates per customer from events known at the cutoff."""
    purchases = known_at(events.purchases, cutoff)
    completions = known_at(events.completions, cutoff)
    reviews = known_at(events.reviews, cutoff)
    lines = known_at(events.lines, cutoff)

    base = purchases.group_by(CUSTOMER).agg(
        pl.len().cast(pl.Int32).alias("frequency"),
        pl.col(EVENT_AT).min().alias("first_purchase_at"),
        pl.col(EVENT_AT).max().alias("last_purchase_at"),
        _last("customer_state").alias("customer_state"),
        pl.col("installments").mean().alias("mean_installments"),
        pl.col("used_voucher").fill_null(False).mean().alias("voucher_share"),
    )
    payment_type = _mode(purchases.drop_nulls("main_payment_type"), "main_payment_type")
    completed = completions.group_by(CUSTOMER).agg(
        pl.len().cast(pl.Int32).alias("completed_orders"),
        pl.col("spend").sum().alias("monetary_total"),
        (pl.col("freight_value").sum() / (pl.col("items_value") + pl.col("freight_value")).sum()).alias("freight_share"),
        pl.col("is_late").cast(pl.Float64).mean().alias("late_share"),
        pl.col("delivery_delay_days").mean().alias("mean_delay_days"),
        _last("is_late").alias("last_order_late"),
        pl.col(EVENT_AT).max().alias("last_delivery_at"),
    )
    reviewed = reviews.group_by(CUSTOMER).agg(
        pl.len().cast(pl.Int32).alias("review_count"),
        pl.col("score").mean().alias("review_mean"),
        pl.col("score").min().alias("review_min"),
        _last("score").alias("review_last"),
        pl.col("has_comment").any().alias("has_commented"),
        pl.col("comment_sentiment").filter(pl.col("has_comment")).sort_by(  # ties: order, then review
            [pl.col(c).filter(pl.col("has_comment")) for c in (EVENT_AT, "order_id", "review_id")]
        ).last().alias("last_comment_sentiment"),
        pl.col(EVENT_AT).max().alias("last_review_at"),
    )
    favourite = _mode(lines.drop_nulls("category"), "category", name="favourite_category")
    return (
        base.join(payment_type, on=CUSTOMER, how="left")
        .join(completed, on=CUSTOMER, how="left")
        .join(reviewed, on=CUSTOMER, how="left")
        .join(favourite, on=CUSTOMER, how="left")
        .with_columns(
            pl.col("completed_orders", "review_count").fill_null(0),
            pl.col("monetary_total").fill_null(0.0),
            pl.col("has_commented").fill_null(False),
        )
    )


def _mode(frame: pl.DataFrame, column: str, name: str | None = None) -> pl.DataFrame:
    """Most frequent value per customer; ties go to the most recent, then alphabetical."""
    return (
        frame.group_by(CUSTOMER, column)
        .agg(pl.len().alias("n"), pl.col(EVENT_AT).max().alias("latest"))
        .sort([CUSTOMER, "n", "latest", column], descending=[False, True, True, False])
        .group_by(CUSTOMER, maintain_order=True)
        .agg(pl.col(column).first().alias(name or column))
    )


def finish(aggregates: pl.DataFrame, week_start: dt.date) -> pl.DataFrame:
    """Add the time-dependent features for the cutoff and put columns in their final order."""
    cutoff = cutoff_of(week_start)
    at_cutoff = pl.lit(cutoff, TIMESTAMP)
    return aggregates.select(
        pl.lit(week_start).alias(WEEK_COLUMN),
        pl.lit(cutoff, TIMESTAMP).alias("cutoff"),
        CUSTOMER,
        "customer_state",
        days_between(at_cutoff, pl.col("last_purchase_at")).alias("recency_days"),
        "frequency",
        "monetary_total",
        (pl.col("monetary_total") / pl.col("completed_orders")).alias("average_ticket"),
        days_between(at_cutoff, pl.col("first_purchase_at")).alias("tenure_days"),
        pl.when(pl.col("frequency") > 1)
        .then((days_between(pl.col("last_purchase_at"), pl.col("first_purchase_at")) / (pl.col("frequency") - 1)).round(6))
        .alias("days_between_purchases"),
        "completed_orders",
        (pl.col("frequency") - pl.col("completed_orders")).alias("open_orders"),
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
    ).sort(CUSTOMER)


def snapshot(events: Events, week_start: dt.date) -> pl.DataFrame:
    """The full (non-incremental) snapshot of week W: the reference the incremental path must equal."""
    return finish(aggregate(events, cutoff_of(week_start)), week_start)


def snapshots(events: Events, weeks: list[dt.date], previous: pl.DataFrame | None = None) -> Iterator[pl.DataFrame]:
    """Snapshots for consecutive weeks, each from the one before (see module docstring)."""
    gaps = [b for a, b in itertools.pairwise(weeks) if b - a != WEEK]
    if gaps:
        raise ValueError(f"snapshots() computes consecutive weeks only; the week list jumps to {gaps[0]}.")
    aggregates_prev: pl.DataFrame | None = None
    if previous is not None:
        aggregates_prev = previous.select(AGGREGATE_COLUMNS)
    for week_start in weeks:
        cutoff = cutoff_of(week_start)
        if aggregates_prev is None:
            current = aggregate(events, cutoff)
        else:
            touched = events.touched_between(cutoff - WEEK, cutoff)
            fresh = aggregate(events.for_customers(touched), cutoff)
            kept = aggregates_prev.join(touched, on=CUSTOMER, how="anti", maintain_order="left")
            current = pl.concat([kept, fresh.select(kept.columns)])
        aggregates_prev = current
        yield finish(current, week_start)


AGGREGATE_COLUMNS = [
    CUSTOMER, "frequency", "first_purchase_at", "last_purchase_at", "customer_state", "mean_installments",
    "voucher_share", "main_payment_type", "completed_orders", "monetary_total", "freight_share", "late_share",
    "mean_delay_days", "last_order_late", "last_delivery_at", "review_count", "review_mean", "review_min",
    "review_last", "has_commented", "last_comment_sentiment", "last_review_at", "favourite_category",
]


def churn_labels(snapshot_frame: pl.DataFrame, purchases: pl.DataFrame, horizon_days: int, data_end: dt.datetime) -> pl.DataFrame:
    """Label each snapshot row: churned = no purchase in ``[cutoff, cutoff + H)``.

    A label is mature only when the data covers the whole window (``cutoff + H <= data_end``);
    immature labels are null, so they can never reach training. Works on any number of weeks
    at once: the next purchase comes from one forward as-of join.
    """
    if snapshot_frame.is_empty():
        return _empty_labels()
    horizon = dt.timedelta(days=horizon_days)
    upcoming = purchases.select(CUSTOMER, pl.col(EVENT_AT).alias("next_purchase_at")).sort("next_purchase_at")
    labelled = (
        snapshot_frame.select(WEEK_COLUMN, "cutoff", CUSTOMER)
        .with_row_index("__row")
        .sort("cutoff")
        .join_asof(upcoming, left_on="cutoff", right_on="next_purchase_at", by=CUSTOMER, strategy="forward",
                   check_sortedness=False)
        .sort("__row")
    )
    window_end = pl.col("cutoff") + horizon
    mature = window_end <= data_end
    returned = pl.col("next_purchase_at").is_not_null() & (pl.col("next_purchase_at") < window_end)
    return labelled.select(
        WEEK_COLUMN,
        "cutoff",
        CUSTOMER,
        pl.lit(horizon_days, pl.Int32).alias("horizon_days"),
        window_end.alias("label_window_end"),
        mature.alias("is_mature"),
        pl.when(mature).then(~returned).alias("churned"),
        pl.when(mature & returned).then(days_between(pl.col("next_purchase_at"), pl.col("cutoff")))
        .alias("days_to_next_purchase"),
    )


LABEL_SCHEMA = pl.Schema(
    {WEEK_COLUMN: pl.Date, "cutoff": TIMESTAMP, CUSTOMER: pl.String, "horizon_days": pl.Int32,
     "label_window_end": TIMESTAMP, "is_mature": pl.Boolean, "churned": pl.Boolean,
     "days_to_next_purchase": pl.Float64}
)


def _empty_labels() -> pl.DataFrame:
    return pl.DataFrame(schema=LABEL_SCHEMA)


def data_coverage_end(purchase_times: pl.Series, min_share_of_median: float = 0.1) -> dt.datetime:
    """End of the last week whose order volume looks complete.

    The public release trails off (16 orders in 2018-09, 4 in 2018-10, against ~1,500 a week
    before): a label window reaching into that tail would call customers churned for lack of
    data. Coverage ends after the last week with at least 10% of the median weekly volume.
    """
    return coverage_end(weekly_purchase_counts(purchase_times), min_share_of_median)


def weekly_purchase_counts(purchase_times: pl.Series) -> pl.DataFrame:
    """Orders per week (``week``: Monday 00:00 UTC, ``len``), sorted: one small row a week."""
    return (
        pl.DataFrame({"t": purchase_times})
        .select(pl.col("t").dt.truncate("1w").alias("week"))
        .group_by("week")
        .len()
        .sort("week")
    )


def coverage_end(weeks: pl.DataFrame, min_share_of_median: float = 0.1) -> dt.datetime:
    """The rule of :func:`data_coverage_end` on weekly counts (shared by both engines)."""
    if weeks.is_empty():
        raise ValueError("No purchases: the data covers nothing.")
    threshold = weeks["len"].median() * min_share_of_median
    last_full = weeks.filter(pl.col("len") >= threshold)["week"].max()
    return last_full + WEEK
