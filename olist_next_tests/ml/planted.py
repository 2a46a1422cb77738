"""Weekly snapshots and labels with a planted, known signal, in the gold tables' shape.

Returning depends on review scores, late deliveries and the favourite category (not on recency),
so a working model must beat the recency rule; ``leak=True`` copies the label into a feature.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from olist_next_assets.lib.churn.features import CATEGORICAL, NUMERIC
from olist_next_assets.lib.snapshots import cutoff_of

FIRST_WEEK = dt.date(2017, 1, 2)
HORIZON_DAYS = 28


def planted(weeks: int = 40, customers: int = 3000, seed: int = 0, leak: bool = False,
            noise_after: dt.date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(snapshots, labels) for ``weeks`` weeks; labels after ``noise_after`` are coin flips."""
    rng = np.random.default_rng(seed)
    snaps, labels = [], []
    for w in range(weeks):
        week = FIRST_WEEK + dt.timedelta(weeks=w)
        n = customers
        review = rng.integers(1, 6, n).astype(float)
        late = rng.random(n) * (rng.random(n) < 0.3)
        category = rng.choice(["books", "toys", "garden", "auto"], n)
        logit = -3.2 + 0.9 * (review >= 4) - 1.5 * late + np.where(category == "toys", 1.0, 0.0)
        returned = rng.random(n) < 1 / (1 + np.exp(-logit))
        if noise_after is not None and week > noise_after:
            returned = rng.random(n) < returned.mean()
        frame = {name: rng.random(n) * 100 for name in NUMERIC}
        frame |= {"review_mean": review, "review_last": review, "late_share": late,
                  "frequency": rng.integers(1, 3, n).astype(float), "recency_days": rng.random(n) * 300}
        if leak:
            frame["voucher_share"] = (~returned).astype(float)
        frame |= {"has_commented": rng.random(n) < 0.4, "last_order_late": late > 0}
        frame |= {c: rng.integers(0, 3, n).astype(np.int32) for c in ("completed_orders", "open_orders", "review_count")}
        frame |= {c: rng.choice(["SP", "RJ", "MG"], n) for c in CATEGORICAL}
        frame["favourite_category"] = category
        ids = [f"c{w:03d}_{i:05d}" for i in range(n)]
        snaps.append(pl.DataFrame(frame).with_columns(
            pl.lit(week).alias("week"), pl.lit(cutoff_of(week)).alias("cutoff"), pl.Series("customer_unique_id", ids),
        ))
        labels.append(pl.DataFrame({
            "week": [week] * n, "customer_unique_id": ids, "horizon_days": [HORIZON_DAYS] * n,
            "churned": ~returned,
        }).with_columns(pl.col("horizon_days").cast(pl.Int32)))
    return pl.concat(snaps), pl.concat(labels)
