"""Blocking checks on the weekly model records: quality gate, leakage canary, feature contract."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl

from olist_next_assets.lib.churn.features import check_feature_list

QUALITY_GATE = "beats_recency_baseline"
LEAKAGE_CANARY = "leakage_canary"
FEATURE_CONTRACT = "feature_contract"
SCORES_COMPLETE = "scores_complete"

MAX_PLAUSIBLE_ROC_AUC = 0.90
MAX_SHUFFLED_ROC_AUC = 0.55


def _with_model(records: pl.DataFrame) -> pl.DataFrame:
    return records.filter(pl.col("model_version").is_not_null())


def _weeks(frame: pl.DataFrame) -> str:
    return ", ".join(str(w) for w in frame["week"].to_list()[:5]) + (" ..." if frame.height > 5 else "")


def quality_gate(records: pl.DataFrame) -> dg.AssetCheckResult:
    """The model in use must beat the recency-only rule on ROC-AUC and PR-AUC, every week."""
    models = _with_model(records)
    failing = models.filter((pl.col("roc_auc") <= pl.col("recency_roc_auc")) | (pl.col("pr_auc") <= pl.col("recency_pr_auc")))
    return dg.AssetCheckResult(
        check_name=QUALITY_GATE,
        passed=failing.is_empty(),
        description=None if failing.is_empty() else
        f"The model does not beat the recency-only rule in weeks {_weeks(failing)}: retrain or investigate the features.",
        metadata={"weeks_with_model": models.height, "weeks_failing": failing.height,
                  "worst_roc_auc_margin": float((models["roc_auc"] - models["recency_roc_auc"]).min() or 0.0)},
    )


def leakage_canary(records: pl.DataFrame) -> dg.AssetCheckResult:
    """Too good to be true out of time, or learning from shuffled labels, means leakage."""
    models = _with_model(records)
    too_good = models.filter(pl.col("roc_auc") > MAX_PLAUSIBLE_ROC_AUC)
    shuffled = models.filter(pl.col("shuffled_roc_auc") > MAX_SHUFFLED_ROC_AUC)
    reasons = []
    if not too_good.is_empty():
        reasons.append(f"out-of-time ROC-AUC {too_good['roc_auc'].max():.3f} > {MAX_PLAUSIBLE_ROC_AUC} in weeks "
                       f"{_weeks(too_good)}: suspect a feature that encodes the label or post-cutoff data")
    if not shuffled.is_empty():
        reasons.append(f"a model trained on shuffled labels scores {shuffled['shuffled_roc_auc'].max():.3f} > "
                       f"{MAX_SHUFFLED_ROC_AUC} in weeks {_weeks(shuffled)}: suspect train/validation overlap "
                       "or a feature that identifies the validation period")
    return dg.AssetCheckResult(
        check_name=LEAKAGE_CANARY,
        passed=not reasons,
        description="; ".join(reasons) or None,
        metadata={"max_roc_auc": float(models["roc_auc"].max() or 0.0),
                  "max_shuffled_roc_auc": float(models["shuffled_roc_auc"].max() or 0.0)},
    )


def feature_contract(records: pl.DataFrame, snapshot_columns: list[str]) -> dg.AssetCheckResult:
    """The features of every model in use are the gold contract's, with no label or post-cutoff column."""
    problems: dict[str, list[str]] = {}
    for features in _with_model(records)["features"].unique().to_list():
        found = check_feature_list(json.loads(features), snapshot_columns)
        if found:
            problems[features] = found
    return dg.AssetCheckResult(
        check_name=FEATURE_CONTRACT,
        passed=not problems,
        description="; ".join(p for found in problems.values() for p in found) or None,
        metadata={"feature_lists_checked": _with_model(records)["features"].n_unique()},
    )


def scores_complete(scores: pl.DataFrame, snapshot_counts: pl.DataFrame, records: pl.DataFrame) -> dg.AssetCheckResult:
    """Every snapshot customer scored once by the week's model; probabilities in [0, 1]."""
    expected = snapshot_counts.join(_with_model(records).select("week", "model_version"), on="week")
    got = scores.group_by("week").agg(
        pl.len().alias("scored"), pl.col("customer_unique_id").n_unique().alias("distinct"),
        pl.col("model_version").unique().alias("versions"),
        ((pl.col("churn_probability") < 0) | (pl.col("churn_probability") > 1) | pl.col("churn_probability").is_nan())
        .sum().alias("out_of_range"),
    )
    joined = expected.join(got, on="week", how="left")
    bad = joined.filter(
        (pl.col("scored").fill_null(0) != pl.col("customers")) | (pl.col("distinct") != pl.col("customers"))
        | (pl.col("out_of_range") > 0) | (pl.col("versions").list.len() != 1)
        | (pl.col("versions").list.first() != pl.col("model_version"))
    )
    return dg.AssetCheckResult(
        check_name=SCORES_COMPLETE,
        passed=bad.is_empty(),
        description=None if bad.is_empty() else f"Scores incomplete or inconsistent in weeks {_weeks(bad)}.",
        metadata={"weeks_scored": expected.height, "weeks_failing": bad.height, "rows": scores.height},
    )
