"""The best ROC-AUC any model could reach on synthetic data, from the generator's truth.

The generator writes every order's true repeat propensity (``_synthetic/order_propensity.parquet``,
outside the nine tables). For a validation customer-week, the true probability of returning
within the horizon follows from the propensity of their last order before the cutoff and the
time already waited (:func:`true_return_probability`). Ranking customers by it is the ceiling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from olist_next_assets.lib.churn.metrics import evaluate
from olist_next_assets.lib.snapshots import CUSTOMER
from olist_next_assets.lib.synthetic.generator import PROPENSITY_FILE, TRUTH_DIR
from olist_next_assets.lib.synthetic.truth import true_return_probability


def truth_path(landing_root: str | Path) -> Path:
    return Path(landing_root) / TRUTH_DIR / PROPENSITY_FILE


def true_return_probabilities(validation: pl.DataFrame, truth: pl.DataFrame, horizon_days: int) -> np.ndarray:
    """One probability per validation row (same order); rows the truth does not cover get 0."""
    orders = truth.select(
        CUSTOMER, pl.col("order_purchase_timestamp").dt.replace_time_zone("UTC").cast(validation["cutoff"].dtype).alias("t"),
        "propensity",
    ).sort("t")
    last = (
        validation.select(CUSTOMER, "cutoff", "recency_days").with_row_index("row").sort("cutoff")
        .join_asof(orders, left_on="cutoff", right_on="t", by=CUSTOMER, strategy="backward", allow_exact_matches=False,
                   check_sortedness=False)
        .sort("row")
    )
    p = true_return_probability(last["propensity"].fill_null(0.0).to_numpy(), last["recency_days"].to_numpy(),
                                horizon_days)
    return np.nan_to_num(p)


def best_achievable_roc_auc(validation: pl.DataFrame, truth_file: Path, horizon_days: int) -> float | None:
    """ROC-AUC of the true probabilities on the validation rows; None without a truth file (real data)."""
    if not truth_file.is_file():
        return None
    truth = pl.read_parquet(truth_file)
    p = true_return_probabilities(validation, truth, horizon_days)
    return evaluate((~validation["churned"]).to_numpy(), p)["roc_auc"]
