"""The top reasons behind a churn score, in words a retention specialist understands.

A reason is a feature whose contribution pushes the customer towards churn (positive
contribution to the churn log-odds), worded with the customer's own value.
"""

from __future__ import annotations

import numpy as np
import polars as pl

TOP_REASONS = 3


def _days(c: str) -> pl.Expr:
    return pl.col(c).round(0).cast(pl.Int64).cast(pl.String)


def _money(c: str) -> pl.Expr:
    return pl.format("R$ {}", pl.col(c).round(2).cast(pl.String))


def _pct(c: str) -> pl.Expr:
    return pl.format("{}%", (pl.col(c) * 100).round(0).cast(pl.Int64).cast(pl.String))


def _stars(c: str) -> pl.Expr:
    return pl.format("{} of 5", pl.col(c).round(1).cast(pl.String))


PHRASES: dict[str, pl.Expr] = {
    "recency_days": pl.format("No purchase for {} days", _days("recency_days")),
    "frequency": pl.format("Only {} order(s) so far", pl.col("frequency").cast(pl.String)),
    "monetary_total": pl.format("Total spend {}", _money("monetary_total")),
    "average_ticket": pl.format("Average order {}", _money("average_ticket")),
    "tenure_days": pl.format("First order {} days ago", _days("tenure_days")),
    "days_between_purchases": pl.format("{} days between orders", _days("days_between_purchases")),
    "completed_orders": pl.format("{} order(s) delivered", pl.col("completed_orders").cast(pl.String)),
    "open_orders": pl.format("{} order(s) not delivered yet", pl.col("open_orders").cast(pl.String)),
    "late_share": pl.format("{} of deliveries arrived late", _pct("late_share")),
    "mean_delay_days": pl.when(pl.col("mean_delay_days") > 0)
    .then(pl.format("Deliveries {} days later than promised", _days("mean_delay_days")))
    .otherwise(pl.format("Deliveries {} days earlier than promised", (-pl.col("mean_delay_days")).round(0).cast(pl.Int64).cast(pl.String))),
    "last_order_late": pl.when(pl.col("last_order_late")).then(pl.lit("Last delivery arrived late"))
    .otherwise(pl.lit("Last delivery on time")),
    "review_count": pl.format("{} review(s) written", pl.col("review_count").cast(pl.String)),
    "review_mean": pl.format("Average review {}", _stars("review_mean")),
    "review_min": pl.format("Lowest review {}", _stars("review_min")),
    "review_last": pl.format("Last review {}", _stars("review_last")),
    "has_commented": pl.when(pl.col("has_commented")).then(pl.lit("Wrote a review comment"))
    .otherwise(pl.lit("Never wrote a review comment")),
    "last_comment_sentiment": pl.when(pl.col("last_comment_sentiment") < -0.05).then(pl.lit("Last comment was negative"))
    .when(pl.col("last_comment_sentiment") > 0.05).then(pl.lit("Last comment was positive"))
    .otherwise(pl.lit("Last comment was neutral")),
    "mean_installments": pl.format("Pays in {} installments on average", pl.col("mean_installments").round(1).cast(pl.String)),
    "voucher_share": pl.format("Used a voucher on {} of orders", _pct("voucher_share")),
    "freight_share": pl.format("Freight was {} of the bill", _pct("freight_share")),
    "customer_state": pl.format("Lives in {}", pl.col("customer_state")),
    "favourite_category": pl.format("Favourite category: {}", pl.col("favourite_category")),
    "main_payment_type": pl.format("Usually pays by {}", pl.col("main_payment_type").str.replace_all("_", " ")),
}
MISSING: dict[str, str] = {
    "days_between_purchases": "Never ordered twice",
    "average_ticket": "No delivered order yet",
    "late_share": "No delivered order yet",
    "mean_delay_days": "No delivered order yet",
    "last_order_late": "No delivered order yet",
    "review_mean": "Never reviewed an order",
    "review_min": "Never reviewed an order",
    "review_last": "Never reviewed an order",
    "last_comment_sentiment": "Never wrote a review comment",
    "favourite_category": "No known favourite category",
    "main_payment_type": "Payment method unknown",
    "freight_share": "No delivered order yet",
    "mean_installments": "Payment method unknown",
}


def _phrase(feature: str) -> pl.Expr:
    phrase = PHRASES[feature]
    if feature in MISSING:
        phrase = pl.when(pl.col(feature).is_null()).then(pl.lit(MISSING[feature])).otherwise(phrase)
    return phrase


def top_reasons(frame: pl.DataFrame, features: list[str], contributions: np.ndarray, k: int = TOP_REASONS) -> pl.DataFrame:
    """``reason_1..k`` (words) and ``reason_feature_1..k`` for each row of ``frame``.

    ``contributions`` has one column per feature plus XGBoost's bias column (ignored). Only
    features pushing towards churn become reasons; a row with fewer has null reasons.
    """
    contrib = contributions[:, : len(features)]
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(contrib, order, axis=1)
    names = np.asarray(features, dtype=object)
    columns = {}
    for i in range(k):
        name = np.where(picked[:, i] > 0, names[order[:, i]], None)
        columns[f"reason_feature_{i + 1}"] = pl.Series(f"reason_feature_{i + 1}", name.tolist(), dtype=pl.String)
    phrased = frame.select(_phrase(f).alias(f"__{f}") for f in features).with_columns(**columns)
    worded = []
    for i in range(1, k + 1):
        col = f"reason_feature_{i}"
        expr = pl.lit(None, pl.String)
        for feature in features:
            expr = pl.when(pl.col(col) == feature).then(pl.col(f"__{feature}")).otherwise(expr)
        worded.append(expr.alias(f"reason_{i}"))
    return phrased.select(*worded, *columns)
