"""Which snapshots the model of week W may learn from and be judged on: a true backtest.

With a label horizon H, the label of the snapshot at cutoff c is known at c + H. So the model of
week W (cutoff C) may only use snapshots with c + H <= C (labels matured before W's cutoff).
Of those, the last ``validation_weeks`` are the out-of-time validation set, and training takes
only snapshots whose label window had closed before the first validation cutoff: no training
label window overlaps any validation customer-week.

    training cutoffs c_t:   c_t + H <= v_first
    validation cutoffs v:   v_first <= v <= v_last,  v_last + H <= C
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from olist_next_assets.lib.snapshots import WEEK, cutoff_of


@dataclass(frozen=True)
class Windows:
    train_from: dt.date
    train_to: dt.date
    validation_from: dt.date
    validation_to: dt.date
    train_positives: int
    validation_positives: int

    def as_dict(self) -> dict[str, str | int]:
        return {k: str(v) if isinstance(v, dt.date) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class NoModel:
    reason: str


def label_summary(labels: pl.LazyFrame) -> pl.DataFrame:
    """Per snapshot week with mature labels: rows and returners (the minority class)."""
    return (
        labels.filter(pl.col("churned").is_not_null())
        .group_by("week")
        .agg(pl.len().alias("rows"), (~pl.col("churned")).sum().alias("positives"), pl.col("horizon_days").first())
        .sort("week")
        .collect()
    )


def model_windows(
    week: dt.date, summary: pl.DataFrame, *, validation_weeks: int = 4, min_train_positives: int = 50,
    min_validation_positives: int = 20,
) -> Windows | NoModel:
    """The training and validation windows of the model of ``week``, or why there is none."""
    if summary.is_empty():
        return NoModel("no mature labels yet")
    horizon = dt.timedelta(days=int(summary["horizon_days"][0]))
    cutoff = cutoff_of(week).date()
    matured = summary.filter(pl.col("week") + WEEK + horizon <= cutoff)
    if matured.height < validation_weeks + 1:
        return NoModel(f"only {matured.height} weeks of labels had matured by {cutoff} (horizon {horizon.days} days)")
    validation = matured.tail(validation_weeks)
    v_first = validation["week"][0] + WEEK
    train = matured.filter(pl.col("week") + WEEK + horizon <= v_first)
    train_pos, val_pos = int(train["positives"].sum()), int(validation["positives"].sum())
    if train.is_empty() or train_pos < min_train_positives:
        return NoModel(f"{train_pos} returning customers in the training window; {min_train_positives} needed")
    if val_pos < min_validation_positives:
        return NoModel(f"{val_pos} returning customers in the validation window; {min_validation_positives} needed")
    return Windows(train["week"].min(), train["week"].max(), validation["week"][0], validation["week"][-1],
                   train_pos, val_pos)
