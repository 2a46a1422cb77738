"""Offline sentiment of Brazilian Portuguese review comments, in [-1, 1] (null for blank text).

A lexicon of general Portuguese and e-commerce words and phrases (``lexicon_ptbr.tsv``) plus
VADER-style rules, run as polars expressions: deterministic, no network, no model files.
See ``docs/sentiment.md`` for the method and its measured agreement with star ratings.
"""

from __future__ import annotations

import polars as pl

from olist_next_assets.lib.sentiment.engine import Lexicon, Rules, default_lexicon, fold, parse_lexicon, score_series

__all__ = [
    "Lexicon",
    "Rules",
    "default_lexicon",
    "fold",
    "parse_lexicon",
    "score_series",
    "score_text",
    "sentiment_expr",
]


def score_text(text: str | None) -> float | None:
    """Score one comment; None when it is None or blank.

    Runs the same pipeline as :func:`score_series` (so both always agree), which costs ~10 ms
    per call: score columns with :func:`sentiment_expr` or :func:`score_series` instead.
    """
    if text is None or not text.strip():
        return None
    return score_series(pl.Series([text], dtype=pl.String)).item()


def sentiment_expr(column: str) -> pl.Expr:
    """``pl.col(column)`` scored, for ``with_columns``/``select`` (row-wise, so streamable)."""
    return pl.col(column).map_batches(score_series, return_dtype=pl.Float64, is_elementwise=True)
