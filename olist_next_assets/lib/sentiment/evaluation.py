"""How well a scorer's polarity agrees with star ratings on real Olist reviews.

Shared by ``olist-next bench sentiment`` and the tests, so both report the same figures:
* reviews are split by a hash of ``review_id`` into a development half (used to build and tune
  the lexicon) and a held-out half (only ever measured), so the held-out figure is honest;
* ROC-AUC separates 1-2 stars from 4-5 stars (3 stars are left out: they are neither), computed
  from ranks with numpy (ties count one half), no scikit-learn needed;
* the sign of the score is read as a polarity (0 = no opinion found, counted as a miss), and
  its agreement with the stars beyond chance is Cohen's kappa.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

REVIEWS_FILE = Path("head_slices") / "olist_order_reviews_dataset.csv"
TEXT, STARS, SPLIT = "review_comment_message", "review_score", "split"
DEV, HELD_OUT = "dev", "held-out"


def split_of(review_id: str) -> str:
    """Deterministic half of a review: the parity of the first 32 bits of SHA-256(review_id)."""
    return DEV if int(hashlib.sha256(review_id.encode()).hexdigest()[:8], 16) % 2 == 0 else HELD_OUT


def load_comments(real_dir: Path) -> pl.DataFrame:
    """Non-blank comments of the real reviews sample with stars (1-5) and split."""
    reviews = pl.read_csv(real_dir / REVIEWS_FILE, infer_schema=False)
    comments = reviews.filter(pl.col(TEXT).str.strip_chars().str.len_chars() > 0)
    return comments.select(
        "review_id",
        TEXT,
        pl.col(STARS).cast(pl.Int8),
        pl.col("review_id").map_elements(split_of, return_dtype=pl.String).alias(SPLIT),
    )


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (Mann-Whitney U / n+ n-)."""
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs both classes")
    order = np.argsort(scores, kind="mergesort")
    _, inverse, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0  # average 1-based rank of each tie group
    ranks = np.empty(len(scores))
    ranks[order] = mid_ranks[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def cohen_kappa(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Agreement beyond chance between two labelings (any hashable labels)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    labels = np.union1d(truth, predicted)
    observed = float(np.mean(truth == predicted))
    expected = float(sum(np.mean(truth == label) * np.mean(predicted == label) for label in labels))
    return 1.0 if expected == 1.0 else (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class Agreement:
    """Scores vs stars on the polar reviews (1-2 vs 4-5 stars) of one split."""

    n: int
    roc_auc: float
    accuracy: float  # sign(score) == star polarity; a 0 score counts as a miss
    kappa: float  # Cohen's kappa of sign(score) in {-1, 0, 1} vs polarity in {-1, 1}
    zero_share: float  # comments where the scorer found no opinion at all


def agreement(scores: np.ndarray, stars: np.ndarray) -> Agreement:
    """Measure one scorer on one set of comments (3-star reviews are left out)."""
    scores, stars = np.asarray(scores, dtype=float), np.asarray(stars)
    polar = stars != 3
    scores, positive = scores[polar], stars[polar] >= 4
    truth, sign = np.where(positive, 1, -1), np.sign(scores)
    return Agreement(
        n=int(polar.sum()),
        roc_auc=roc_auc(scores, positive),
        accuracy=float(np.mean(sign == truth)),
        kappa=cohen_kappa(truth, sign),
        zero_share=float(np.mean(sign == 0)),
    )
