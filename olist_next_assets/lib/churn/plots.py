"""Evaluation plots (matplotlib, headless): ROC, precision-recall, lift, calibration, importance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers, CI or the Dagster daemon

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve


def _figure(title: str) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig, ax


def roc(returned: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    fig, ax = _figure("ROC, out of time (positive = returns)")
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(returned, p)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend()
    return fig


def precision_recall(returned: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    fig, ax = _figure("Precision-recall, returning customers")
    for name, p in scores.items():
        precision, recall, _ = precision_recall_curve(returned, p)
        ax.plot(recall, precision, label=name)
    ax.axhline(returned.mean(), color="k", ls="--", lw=0.8, label="base rate")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend()
    return fig


def lift_curve(returned: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    fig, ax = _figure("Cumulative lift (share contacted vs return rate)")
    base = returned.mean()
    for name, p in scores.items():
        ranked = returned[np.argsort(-p, kind="stable")]
        share = np.arange(1, len(ranked) + 1) / len(ranked)
        lift = np.cumsum(ranked) / np.arange(1, len(ranked) + 1) / base
        step = max(1, len(ranked) // 500)
        ax.plot(share[::step], lift[::step], label=name)
    ax.axhline(1.0, color="k", ls="--", lw=0.8)
    ax.set_xlabel("share of customers, by predicted return probability")
    ax.set_ylabel("lift")
    ax.legend()
    return fig


def calibration(table: pl.DataFrame) -> Figure:
    fig, ax = _figure("Calibration by decile")
    ax.plot(table["predicted"], table["observed"], "o-", label="model")
    top = float(max(table["predicted"].max(), table["observed"].max()))
    ax.plot([0, top], [0, top], "k--", lw=0.8, label="perfect")
    ax.set_xlabel("predicted return probability")
    ax.set_ylabel("observed return rate")
    ax.legend()
    return fig


def importance(gain: dict[str, float]) -> Figure:
    fig, ax = _figure("Feature importance (total gain)")
    items = sorted(gain.items(), key=lambda kv: kv[1])
    ax.barh([k for k, _ in items], [v for _, v in items])
    fig.set_size_inches(6, 6)
    fig.tight_layout()
    return fig


def score_distribution(churn_probability: np.ndarray) -> Figure:
    fig, ax = _figure("Churn probability, this week's customers")
    ax.hist(churn_probability, bins=50)
    ax.set_xlabel("churn probability")
    ax.set_ylabel("customers")
    return fig
