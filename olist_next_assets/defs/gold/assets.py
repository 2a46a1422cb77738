"""Gold: weekly point-in-time Customer 360 snapshots and their churn labels.

Partition W is the snapshot as of the end of week W (see :mod:`olist_next_assets.lib.snapshots`
for the point-in-time rule). A run over a week range computes the weeks in order, each from the
previous one, starting from the stored snapshot of the week before the range when there is one.
"""

import itertools
from typing import Any

import dagster as dg
import polars as pl

from olist_next_assets.defs.common import delta_asset, upstream, week_dates
from olist_next_assets.defs.gold import checks
from olist_next_assets.defs.resources import LakeResource
from olist_next_assets.lib import snapshots
from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.delta_io import FrameStream, window_filter
from olist_next_assets.lib.engine import is_spark

CUSTOMER_360 = dg.AssetKey(["gold", "customer_360"])
CHURN_LABELS = dg.AssetKey(["gold", "churn_labels"])
REVIEW_COLUMNS = ["review_id", "order_id", "score", "has_comment", "comment_sentiment", "created_at"]
SILVER_INPUTS = {
    "orders": upstream(["silver", "orders"], all_weeks=True, engine=True),
    "lines": upstream(["silver", "order_lines"], all_weeks=True, engine=True,
                      columns=["order_id", "price", "freight_value", "category"]),
    "payments": upstream(["silver", "order_payments"], all_weeks=True, engine=True),
    "reviews": upstream(["silver", "order_reviews"], all_weeks=True, engine=True, columns=REVIEW_COLUMNS),
}
SILVER_ORDERS = dg.AssetKey(["silver", "orders"])
SILVER_REVIEWS = dg.AssetKey(["silver", "order_reviews"])


ROWS_PER_SLICE = 1_000_000
"""Snapshot rows a check or label slice holds at once (bounded memory whatever the scale)."""


def weeks_per_slice(customers: int) -> int:
    """Weeks per slice so that one slice holds about ROWS_PER_SLICE snapshot rows (1 to 16)."""
    return max(1, min(16, ROWS_PER_SLICE // max(customers, 1)))


class LabelConfig(dg.Config):
    horizon_days: int = 180
    """Churned = no purchase within this many days after the cutoff."""



@delta_asset(
    CUSTOMER_360.path,
    weekly=True,
    ins=SILVER_INPUTS,
    extra_kinds={"spark"},
    check_specs=[
        dg.AssetCheckSpec(checks.POINT_IN_TIME, asset=CUSTOMER_360, blocking=True,
                          description="Every count and timestamp agrees with silver facts strictly before the cutoff."),
        dg.AssetCheckSpec(checks.FEATURE_SANITY, asset=CUSTOMER_360, blocking=True,
                          description="One row per customer with a purchase before the cutoff; values in range."),
    ],
    description="Customer 360 as of the end of week W: RFM, tenure, delivery experience, reviews and "
                "sentiment, favourite category, state, payment behaviour; only facts known before the cutoff.",
)
def customer_360(context: dg.AssetExecutionContext, lake: LakeResource, orders: Any, lines: Any, payments: Any,
                 reviews: Any):
    weeks = week_dates(context)
    if is_spark(orders):  # every week of the range in one plan (no week-to-week dependency on Spark)
        from olist_next_assets.lib.spark import snapshots as spark_snapshots

        events = spark_snapshots.build_events(orders, lines, payments, reviews)
        yield dg.Output(spark_snapshots.snapshots(events, weeks), metadata={"weeks": len(weeks), "engine": "spark"})
        silver_orders = lake.read(SILVER_ORDERS)
        silver_reviews = lake.read(SILVER_REVIEWS).select(REVIEW_COLUMNS)
    else:
        silver_orders, silver_reviews = pl.collect_all([orders, reviews])  # read once: events and checks
        events = snapshots.build_events(silver_orders.lazy(), lines, payments, silver_reviews.lazy())
        previous = lake.read(CUSTOMER_360, (weeks[0] - snapshots.WEEK, weeks[0]))
        weekly = snapshots.snapshots(events, weeks, previous if not previous.is_empty() else None)
        first = next(weekly)  # the stream's schema; the other weeks are computed while they are written
        yield dg.Output(
            FrameStream(first.schema, itertools.chain([first], weekly)),
            metadata={"weeks": len(weeks), "started_from_stored_snapshot": not previous.is_empty(),
                      "engine": "polars"},
        )
    point_in_time, sanity = [], []
    facts = checks.SilverFacts.of(silver_orders, silver_reviews)
    del silver_orders, silver_reviews
    step = weeks_per_slice(facts.first_purchases.len())
    for start in range(0, len(weeks), step):  # bounded memory on long backfills
        chunk = weeks[start:start + step]
        written = lake.read(CUSTOMER_360, (chunk[0], chunk[-1] + snapshots.WEEK))
        point_in_time.append(checks.point_in_time(written, facts))
        sanity.append(checks.feature_sanity(written, facts))
    yield checks.combine(point_in_time)
    yield checks.combine(sanity)


@delta_asset(
    CHURN_LABELS.path,
    weekly=True,
    ins={
        "snapshot": upstream(["gold", "customer_360"], columns=[WEEK_COLUMN, "cutoff", "customer_unique_id"],
                             engine=True),
        "orders": upstream(["silver", "orders"], all_weeks=True, engine=True,
                           columns=["customer_unique_id", "counts_as_purchase", "purchased_at"]),
    },
    extra_kinds={"spark"},
    check_specs=[dg.AssetCheckSpec(checks.LABEL_MATURITY, asset=CHURN_LABELS, blocking=True,
                                   description="No label for a window the data does not fully cover.")],
    description="Churn label per snapshot row: no purchase within `horizon_days` (default 180) after "
                "the cutoff. Null (immature) when the data does not cover the whole window.",
)
def churn_labels(context: dg.AssetExecutionContext, config: LabelConfig, lake: LakeResource,
                 snapshot: Any, orders: Any):
    weeks = week_dates(context)
    if is_spark(orders):
        from pyspark.sql import functions as F

        from olist_next_assets.lib.spark import snapshots as spark_snapshots

        purchases = orders.where(F.col("counts_as_purchase") & F.col("customer_unique_id").isNotNull()).select(
            "customer_unique_id", F.col("purchased_at").alias(snapshots.EVENT_AT))
        data_end = spark_snapshots.data_coverage_end(orders)
        yield dg.Output(
            spark_snapshots.churn_labels(snapshot, purchases, config.horizon_days, data_end),
            metadata={"data_covered_until": str(data_end), "horizon_days": config.horizon_days, "engine": "spark"},
        )
        yield checks.label_maturity(_written_labels(lake, weeks), data_end)
        return
    silver_orders = orders.collect()
    purchases = silver_orders.filter(pl.col("counts_as_purchase") & pl.col("customer_unique_id").is_not_null()).select(
        "customer_unique_id", pl.col("purchased_at").alias(snapshots.EVENT_AT)
    )
    data_end = snapshots.data_coverage_end(silver_orders["purchased_at"])
    step = weeks_per_slice(purchases["customer_unique_id"].n_unique())
    frames = (  # a few weeks at a time (read lazily from Delta): bounded memory, one as-of join per slice
        snapshots.churn_labels(
            snapshot.filter(pl.col(WEEK_COLUMN).is_in(weeks[i:i + step])).collect(),
            purchases, config.horizon_days, data_end,
        )
        for i in range(0, len(weeks), step)
    )
    yield dg.Output(
        FrameStream(snapshots.LABEL_SCHEMA, frames),
        metadata={"data_covered_until": str(data_end), "horizon_days": config.horizon_days, "engine": "polars"},
    )
    yield checks.label_maturity(_written_labels(lake, weeks), data_end)


def _written_labels(lake: LakeResource, weeks: list) -> pl.LazyFrame:
    """The labels of the run's weeks as written, scanned lazily (the check aggregates them in one pass)."""
    return lake.scan(CHURN_LABELS).filter(window_filter(WEEK_COLUMN, weeks[0], weeks[-1] + snapshots.WEEK))


gold_assets = [customer_360, churn_labels]
