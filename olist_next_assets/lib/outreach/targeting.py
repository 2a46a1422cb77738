"""Whom to contact this week: value at risk, exclusions, a budget and a stable holdout.

* **Expected value** (BRL, next 12 months if the customer stays): average order value x
  expected orders a year (their orders per year of tenure, counting at least a year, so two
  orders on one day do not make a monthly buyer; between 1 and 12). **Value at
  risk** = churn probability x expected value; **predicted CLV** = (1 - churn probability) x
  expected value. **Expected next order** = last purchase + the customer's own gap between
  orders (or the median gap of repeat customers). Transparent heuristics a retention team can
  check by hand; a BG/NBD model would be the next step.
* Excluded: customers with an order still open (not delivered yet) and customers targeted (e-mail
  or holdout) in the last ``cooldown_weeks`` weeks.
* Ranked by value at risk. The holdout is a stable hash of (campaign, customer): the same
  customer is in the same group on every rerun. Customers are taken in rank order until
  ``budget`` of them are in the e-mail group, so the holdout is about ``holdout_share`` of all
  targets and the e-mail count is the budget.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import polars as pl

from olist_next_assets.lib.contracts import TIMESTAMP, WEEK_COLUMN
from olist_next_assets.lib.snapshots import CUSTOMER

EMAIL, HOLDOUT = "email", "holdout"
DEFAULT_GAP_DAYS = 90.0

TARGET_SCHEMA = pl.Schema({
    WEEK_COLUMN: pl.Date, "campaign_id": pl.String, CUSTOMER: pl.String, "rank": pl.Int32, "group": pl.String,
    "churn_probability": pl.Float64, "risk_band": pl.String, "avg_order_value_brl": pl.Float64,
    "expected_orders_per_year": pl.Float64, "predicted_clv_brl": pl.Float64, "value_at_risk_brl": pl.Float64,
    "expected_next_order_at": TIMESTAMP, "reason_1": pl.String, "reason_2": pl.String, "reason_3": pl.String,
    "model_version": pl.Int64,
})


@dataclass(frozen=True)
class TargetingConfig:
    budget: int = 1000
    holdout_share: float = 0.10
    cooldown_weeks: int = 8


def campaign_id(week: dt.date) -> str:
    return f"retention-{week.isoformat()}"


def in_holdout(campaign: str, customer: str, share: float) -> bool:
    """Stable across runs, machines and library versions (SHA-256, not a library hash)."""
    digest = hashlib.sha256(f"{campaign}:{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def value_columns(snapshot: pl.DataFrame) -> pl.DataFrame:
    """Average order value, expected orders a year, expected next order date per customer."""
    repeat_gaps = snapshot["days_between_purchases"].drop_nulls()
    median_gap = float(repeat_gaps.median()) if repeat_gaps.len() else DEFAULT_GAP_DAYS
    median_aov = snapshot.select((pl.col("monetary_total") / pl.col("completed_orders")).median()).item() or 0.0
    gap = pl.col("days_between_purchases").fill_null(median_gap).clip(lower_bound=1.0)
    return snapshot.select(
        CUSTOMER,
        pl.when(pl.col("completed_orders") > 0).then(pl.col("monetary_total") / pl.col("completed_orders"))
        .otherwise(median_aov).alias("avg_order_value_brl"),
        (pl.col("frequency") * 365.0 / pl.col("tenure_days").clip(lower_bound=365.0)).clip(1.0, 12.0)
        .alias("expected_orders_per_year"),
        (pl.col("last_purchase_at") + pl.duration(days=1) * gap).alias("expected_next_order_at"),
    )


def select_targets(week: dt.date, scores: pl.DataFrame, snapshot: pl.DataFrame, recently_targeted: pl.DataFrame,
                   config: TargetingConfig) -> pl.DataFrame:
    """This week's targets (e-mail and holdout), in rank order."""
    if scores.is_empty():
        return pl.DataFrame(schema=TARGET_SCHEMA)
    campaign = campaign_id(week)
    eligible = snapshot.filter(pl.col("open_orders") == 0).select(CUSTOMER, "monetary_total", "completed_orders",
                                                                 "frequency", "days_between_purchases",
                                                                 "tenure_days", "last_purchase_at")
    ranked = (
        scores.join(eligible, on=CUSTOMER, how="inner")
        .join(recently_targeted.select(CUSTOMER).unique(), on=CUSTOMER, how="anti")
    )
    ranked = ranked.join(value_columns(ranked), on=CUSTOMER).with_columns(
        (pl.col("avg_order_value_brl") * pl.col("expected_orders_per_year")).alias("expected_value"),
    ).with_columns(
        (pl.col("churn_probability") * pl.col("expected_value")).alias("value_at_risk_brl"),
        ((1 - pl.col("churn_probability")) * pl.col("expected_value")).alias("predicted_clv_brl"),
    ).sort(["value_at_risk_brl", CUSTOMER], descending=[True, False])
    # enough candidates for the budget plus the holdout drawn among them
    head = ranked.head(int(config.budget / max(1e-9, 1 - config.holdout_share)) + 200)
    holdout = pl.Series([in_holdout(campaign, c, config.holdout_share) for c in head[CUSTOMER]], dtype=pl.Boolean)
    emails_before = (~holdout).cast(pl.Int32).cum_sum() - (~holdout).cast(pl.Int32)
    chosen = head.with_columns(holdout.alias("_holdout"), emails_before.alias("_before")).filter(
        pl.col("_before") < config.budget
    )
    return chosen.with_columns(
        pl.lit(week).alias(WEEK_COLUMN),
        pl.lit(campaign).alias("campaign_id"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"),
        pl.when(pl.col("_holdout")).then(pl.lit(HOLDOUT)).otherwise(pl.lit(EMAIL)).alias("group"),
    ).select(TARGET_SCHEMA.names()).cast(dict(TARGET_SCHEMA))
