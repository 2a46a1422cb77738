"""Gold checks as plain functions: point-in-time correctness, feature sanity, label maturity.

Point-in-time is verified against the silver tables, independently of the code that built the
snapshots: for every snapshot row, the number of purchases, completed
deliveries and reviews strictly before the cutoff must equal the snapshot's counts, and no
timestamp in the snapshot may be at or after the cutoff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import polars as pl

from olist_next_assets.lib.contracts import WEEK_COLUMN

CUSTOMER = "customer_unique_id"
POINT_IN_TIME = "point_in_time"
FEATURE_SANITY = "feature_sanity"
LABEL_MATURITY = "label_maturity"
TIMESTAMP_FEATURES = ["first_purchase_at", "last_purchase_at", "last_delivery_at", "last_review_at"]


@dataclass(frozen=True)
class SilverFacts:
    """The silver facts the gold checks compare snapshots with, derived once per run (not per slice)."""

    events: pl.DataFrame
    """customer, time ``t`` and ``kind`` (frequency / completed_orders / review_count) of every event."""
    first_purchases: pl.Series
    """Each customer's first purchase time, sorted (how many customers exist at a cutoff)."""

    @classmethod
    def of(cls, orders: pl.DataFrame, reviews: pl.DataFrame) -> SilverFacts:
        known = pl.col(CUSTOMER).is_not_null()
        kinds = {
            "frequency": orders.filter(pl.col("counts_as_purchase") & known).select(CUSTOMER, t="purchased_at"),
            "completed_orders": orders.filter(pl.col("is_completed") & known).select(CUSTOMER, t="delivered_at"),
            "review_count": reviews.join(orders.select("order_id", CUSTOMER), on="order_id")
            .filter(known).select(CUSTOMER, t="created_at"),
        }
        events = pl.concat([f.select(CUSTOMER, "t", pl.lit(k).alias("kind")) for k, f in kinds.items()]).drop_nulls()
        purchases = orders.filter(pl.col("counts_as_purchase") & known)
        first = purchases.group_by(CUSTOMER).agg(pl.col("purchased_at").min())["purchased_at"].sort()
        return cls(events, first)


COUNTED = ("frequency", "completed_orders", "review_count")


def _counts_before_cutoff(snap: pl.DataFrame, facts: SilverFacts) -> pl.DataFrame:
    """For each snapshot row (same order): how many events of each kind precede its cutoff."""
    keys = snap.select(CUSTOMER, "cutoff").with_row_index("row")
    counted = (
        keys.join(facts.events, on=CUSTOMER)
        .filter(pl.col("t") < pl.col("cutoff"))
        .group_by("row")
        .agg([(pl.col("kind") == kind).sum().cast(pl.Int32).alias(kind) for kind in COUNTED])
    )
    return keys.select("row").join(counted, on="row", how="left").sort("row").fill_null(0)


def point_in_time(snap: pl.DataFrame, facts: SilverFacts) -> dg.AssetCheckResult:
    """Counts must match the silver facts strictly before each cutoff; no timestamp at or after it."""
    truth = _counts_before_cutoff(snap, facts)
    mismatch = {name: int((snap[name] != truth[name]).sum()) for name in COUNTED}
    future = {c: snap.filter(pl.col(c) >= pl.col("cutoff")).height for c in TIMESTAMP_FEATURES}
    passed = not any(mismatch.values()) and not any(future.values())
    return dg.AssetCheckResult(
        check_name=POINT_IN_TIME,
        passed=passed,
        description=None if passed else "Snapshot uses facts from at or after its cutoff (or misses earlier ones).",
        metadata={
            "rows_checked": snap.height,
            "count_mismatches": dg.MetadataValue.json(mismatch),
            "timestamps_at_or_after_cutoff": dg.MetadataValue.json(future),
        },
    )


def feature_sanity(snap: pl.DataFrame, facts: SilverFacts) -> dg.AssetCheckResult:
    """One row per customer and week; row count = customers with a purchase before the cutoff; ranges."""
    first = facts.first_purchases
    cutoffs = snap.select(WEEK_COLUMN, "cutoff").unique().sort(WEEK_COLUMN)
    expected = cutoffs.with_columns(
        pl.Series("len", first.search_sorted(cutoffs["cutoff"], side="left"), dtype=pl.UInt32)
    )
    actual = snap.group_by(WEEK_COLUMN).len().rename({"len": "len_snapshot"})
    counts = expected.join(actual, on=WEEK_COLUMN, how="left").fill_null(0)
    wrong_counts = counts.filter(pl.col("len") != pl.col("len_snapshot")).height
    duplicates = snap.select(WEEK_COLUMN, CUSTOMER).is_duplicated().sum()
    ranges = {
        "recency_days < 0": (pl.col("recency_days") < 0),
        "tenure_days < recency_days": (pl.col("tenure_days") < pl.col("recency_days")),
        "frequency < 1": (pl.col("frequency") < 1),
        "open_orders < 0": (pl.col("open_orders") < 0),
        "late_share outside [0, 1]": ~pl.col("late_share").is_between(0, 1),
        "review score outside [1, 5]": ~pl.col("review_mean").is_between(1, 5) | ~pl.col("review_min").is_between(1, 5),
        "sentiment outside [-1, 1]": ~pl.col("last_comment_sentiment").is_between(-1, 1),
        "voucher_share outside [0, 1]": ~pl.col("voucher_share").is_between(0, 1),
        "monetary_total < 0": (pl.col("monetary_total") < 0),
        "customer null": pl.col(CUSTOMER).is_null(),
    }
    violations = {name: snap.filter(expr.fill_null(False)).height for name, expr in ranges.items()}
    passed = wrong_counts == 0 and duplicates == 0 and not any(violations.values())
    return dg.AssetCheckResult(
        check_name=FEATURE_SANITY,
        passed=passed,
        metadata={
            "weeks_with_wrong_row_count": wrong_counts,
            "duplicate_customer_weeks": int(duplicates),
            "range_violations": dg.MetadataValue.json(violations),
            "null_share": dg.MetadataValue.json(
                {c: round(snap[c].null_count() / max(snap.height, 1), 4) for c in snap.columns if snap[c].null_count()}
            ),
        },
    )


def label_maturity(labels: pl.DataFrame | pl.LazyFrame, data_end: dt.datetime) -> dg.AssetCheckResult:
    """No label may exist for a window that the data does not fully cover (one streaming aggregate)."""
    stats = labels.lazy().select(
        leaking=(pl.col("churned").is_not_null() & (pl.col("label_window_end") > data_end)).sum(),
        inconsistent=(pl.col("is_mature") != (pl.col("label_window_end") <= data_end)).sum(),
        mature=pl.col("is_mature").sum(),
        churn_rate=pl.col("churned").mean(),
    ).collect(engine="streaming").row(0, named=True)
    leaking, inconsistent = int(stats["leaking"] or 0), int(stats["inconsistent"] or 0)
    return dg.AssetCheckResult(
        check_name=LABEL_MATURITY,
        passed=leaking == 0 and inconsistent == 0,
        metadata={
            "data_covered_until": str(data_end),
            "labels_past_data_end": leaking,
            "maturity_flag_wrong": inconsistent,
            "mature_rows": int(stats["mature"] or 0),
            "churn_rate_mature": dg.MetadataValue.float(float(stats["churn_rate"] or 0.0)),
        },
    )


def combine(results: list[dg.AssetCheckResult]) -> dg.AssetCheckResult:
    """One result from the same check run on consecutive slices: counts add up, any failure fails."""
    metadata: dict = {}
    for result in results:
        for name, value in result.metadata.items():
            raw = value.value
            if isinstance(raw, dict):
                merged = metadata.setdefault(name, {})
                for key, count in raw.items():
                    merged[key] = merged.get(key, 0) + count if isinstance(count, int) else count
            elif isinstance(raw, int):
                metadata[name] = metadata.get(name, 0) + raw
            else:
                metadata[name] = raw
    first = results[0]
    passed = all(r.passed for r in results)
    return dg.AssetCheckResult(
        check_name=first.check_name,
        passed=passed,
        description=next((r.description for r in results if not r.passed), first.description if passed else None),
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in metadata.items()},
    )
