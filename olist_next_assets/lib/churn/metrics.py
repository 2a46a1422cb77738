"""Out-of-time metrics. The positive class is the minority: customers who *return*.

Scores are return probabilities (1 - churn probability), so PR-AUC and lift speak about finding
the customers who come back, which is what a 97%-churn problem makes hard.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "brier")


def top_decile_lift(returned: np.ndarray, p_return: np.ndarray) -> float:
    """Return rate among the 10% with the highest return probability, over the base rate."""
    n = max(1, len(p_return) // 10)
    top = np.argsort(-p_return, kind="stable")[:n]
    base = returned.mean()
    return float(returned[top].mean() / base) if base > 0 else float("nan")


def evaluate(returned: np.ndarray, p_return: np.ndarray) -> dict[str, float]:
    returned = returned.astype(np.int8)
    return {
        "roc_auc": float(roc_auc_score(returned, p_return)),
        "pr_auc": float(average_precision_score(returned, p_return)),
        "top_decile_lift": top_decile_lift(returned, p_return),
        "brier": float(brier_score_loss(returned, np.clip(p_return, 0, 1))),
        "base_rate": float(returned.mean()),
    }


def calibration_table(returned: np.ndarray, p_return: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Predicted vs observed return rate per decile of predicted probability."""
    frame = pl.DataFrame({"p": p_return, "y": returned.astype(np.float64)})
    return (
        frame.with_columns((pl.col("p").rank("ordinal") * bins / (frame.height + 1)).floor().cast(pl.Int32).alias("decile"))
        .group_by("decile")
        .agg(pl.len().alias("customers"), pl.col("p").mean().alias("predicted"), pl.col("y").mean().alias("observed"))
        .sort("decile")
        .with_columns(pl.col("decile") + 1)
    )
