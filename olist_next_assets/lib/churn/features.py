"""The model's features: which Customer 360 columns it may use and how they become a matrix.

The feature list is a contract: every feature is a column of ``gold/customer_360`` and none is a
label column, an identifier or an absolute timestamp (a timestamp lets a model learn *when* a
snapshot was taken, which is how time leaks in). ``check_feature_list`` enforces it; the
``feature_contract`` asset check runs it on every model.

Categorical columns are encoded with a vocabulary learned from the training rows and stored
with the model; values unseen in training become missing (XGBoost sends them down the learned
default branch) instead of failing, as XGBoost's own category re-coding does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import polars as pl

NUMERIC = [
    "recency_days", "frequency", "monetary_total", "average_ticket", "tenure_days", "days_between_purchases",
    "completed_orders", "open_orders", "late_share", "mean_delay_days", "last_order_late", "review_count",
    "review_mean", "review_min", "review_last", "has_commented", "last_comment_sentiment", "mean_installments",
    "voucher_share", "freight_share",
]
CATEGORICAL = ["customer_state", "favourite_category", "main_payment_type"]
FEATURES = NUMERIC + CATEGORICAL

LABEL_COLUMNS = {"churned", "is_mature", "label_window_end", "days_to_next_purchase", "horizon_days", "next_purchase_at"}
IDENTIFIERS = {"week", "cutoff", "customer_unique_id"}
TIMESTAMPS = {"first_purchase_at", "last_purchase_at", "last_delivery_at", "last_review_at"}
FORBIDDEN = LABEL_COLUMNS | IDENTIFIERS | TIMESTAMPS


def check_feature_list(features: list[str], snapshot_columns: list[str]) -> list[str]:
    """Problems with a feature list (empty when it is sound)."""
    problems = []
    if len(set(features)) != len(features):
        problems.append("duplicated features")
    for name in features:
        if name in LABEL_COLUMNS:
            problems.append(f"{name} is derived from the label")
        elif name in IDENTIFIERS | TIMESTAMPS:
            problems.append(f"{name} is an identifier or absolute time (post-cutoff leakage risk)")
        elif name not in snapshot_columns:
            problems.append(f"{name} is not a column of gold/customer_360")
    missing = sorted(set(FEATURES) - set(features))
    if missing:
        problems.append(f"contract features missing: {', '.join(missing)}")
    return problems


@dataclass(frozen=True)
class FeatureEncoder:
    """Turns Customer 360 rows into the float32 matrix the booster reads."""

    features: tuple[str, ...]
    vocabularies: dict[str, list[str]]

    @classmethod
    def fit(cls, frame: pl.DataFrame, features: list[str] = FEATURES) -> FeatureEncoder:
        vocab = {
            c: sorted(frame.get_column(c).drop_nulls().unique().to_list()) for c in features if c in CATEGORICAL
        }
        return cls(tuple(features), vocab)

    @property
    def feature_types(self) -> list[str]:
        return ["c" if f in self.vocabularies else "q" for f in self.features]

    def expressions(self) -> list[pl.Expr]:
        exprs = []
        for name in self.features:
            if name in self.vocabularies:
                codes = {v: i for i, v in enumerate(self.vocabularies[name])}
                exprs.append(pl.col(name).replace_strict(codes, default=None, return_dtype=pl.Float32).alias(name))
            else:
                exprs.append(pl.col(name).cast(pl.Float32))
        return exprs

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        return frame.select(self.expressions()).to_numpy().astype(np.float32, copy=False)

    def to_json(self) -> str:
        return json.dumps({"features": list(self.features), "vocabularies": self.vocabularies})

    @classmethod
    def from_json(cls, text: str) -> FeatureEncoder:
        data = json.loads(text)
        return cls(tuple(data["features"]), data["vocabularies"])
