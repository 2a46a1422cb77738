"""Portuguese review titles and comments whose sentiment follows the score and the delivery.

A comment is up to four phrases (lead, delivery, seller, recommendation) drawn from pools chosen
by sentiment (1-2 negative, 3 mixed, 4-5 positive) and delivery outcome (on time, late, not
delivered), joined by a random separator (sometimes a CRLF line break) and then varied the way
real customers write: lower-case start, no accents, all capitals. Vectorised: phrases are picked
by index into one flat pool and assembled with polars list/string expressions.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from . import vocab

ON_TIME, LATE, UNDELIVERED = 0, 1, 2

_POOLS: dict[str, tuple[str, ...]] = {
    "pos_product": vocab.POS_PRODUCT, "mixed_product": vocab.MIXED_PRODUCT, "neg_product": vocab.NEG_PRODUCT,
    "on_time": vocab.ONTIME_DELIVERY, "late_soft": vocab.LATE_SOFT, "late_hard": vocab.LATE_HARD,
    "not_delivered": vocab.NOT_DELIVERED,
    "pos_seller": vocab.POS_SELLER, "mixed_seller": vocab.MIXED_SELLER, "neg_seller": vocab.NEG_SELLER,
    "pos_recommend": vocab.POS_RECOMMEND, "mixed_recommend": vocab.MIXED_RECOMMEND, "neg_recommend": vocab.NEG_RECOMMEND,
    "pos_title": vocab.POS_TITLES, "mixed_title": vocab.MIXED_TITLES, "neg_title": vocab.NEG_TITLES,
    "late_title": vocab.LATE_TITLES, "not_delivered_title": vocab.NOT_DELIVERED_TITLES,
}
_P = {name: i for i, name in enumerate(_POOLS)}
_FLAT = pl.Series([phrase for pool in _POOLS.values() for phrase in pool] + [None], dtype=pl.String)
_SIZE = np.array([len(pool) for pool in _POOLS.values()])
_OFFSET = np.concatenate([[0], np.cumsum(_SIZE)[:-1]])
_ABSENT = len(_FLAT) - 1

_NOUN_LISTS = [c.nouns or vocab.GENERIC_NOUNS for c in vocab.CATEGORIES] + [vocab.GENERIC_NOUNS]
_NOUNS = np.array([noun for nouns in _NOUN_LISTS for noun in nouns])
_NOUN_SIZE = np.array([len(nouns) for nouns in _NOUN_LISTS])
_NOUN_OFFSET = np.concatenate([[0], np.cumsum(_NOUN_SIZE)[:-1]])
_GENERIC = len(_NOUN_LISTS) - 1

_SEPARATORS = (", ", ". ", " ", "! ", "\r\n", ". \r\n")
_SEPARATOR_P = (0.36, 0.34, 0.12, 0.1, 0.06, 0.02)
_ENDINGS = ("", ".", "!", "!!", " ", "\r\n")
_ENDING_P = (0.36, 0.3, 0.2, 0.05, 0.05, 0.04)


def _pick(rng: np.random.Generator, pool: NDArray[np.int64], present: NDArray[np.bool_]) -> pl.Series:
    """One phrase per row from pool ``pool[i]`` (or null where not ``present``)."""
    safe = np.maximum(pool, 0)
    idx = _OFFSET[safe] + (rng.random(pool.size) * _SIZE[safe]).astype(np.int64)
    return _FLAT.gather(np.where(present & (pool >= 0), idx, _ABSENT))


def _product_nouns(rng: np.random.Generator, category: NDArray[np.int64]) -> NDArray[np.str_]:
    """How the customer names the product: a category noun ("a toalha") or "o produto"."""
    group = np.where(rng.random(category.size) < 0.45, category, _GENERIC)
    return _NOUNS[_NOUN_OFFSET[group] + (rng.random(category.size) * _NOUN_SIZE[group]).astype(np.int64)]


def _days(n: NDArray[np.int64]) -> pl.Series:
    n = np.maximum(n, 1)
    return pl.Series(np.where(n == 1, "1 dia", np.char.add(n.astype(str), " dias")), dtype=pl.String)


def _vary(expr: pl.Expr, capitalise: pl.Expr, upper: pl.Expr, plain: pl.Expr) -> pl.Expr:
    """Capitalise the first letter, shout, or drop accents, per row."""
    capitalised = expr.str.slice(0, 1).str.to_uppercase() + expr.str.slice(1)
    text = pl.when(capitalise).then(capitalised).otherwise(expr)
    text = pl.when(upper).then(text.str.to_uppercase()).otherwise(text)
    return pl.when(plain).then(text.str.replace_many(list(vocab.ACCENTS), list(vocab.ACCENTS.values()))).otherwise(text)


def review_texts(
    rng: np.random.Generator,
    score: NDArray[np.int64],
    outcome: NDArray[np.int64],
    late_days: NDArray[np.int64],
    early_days: NDArray[np.int64],
    category: NDArray[np.int64],
    has_title: NDArray[np.bool_],
    has_message: NDArray[np.bool_],
) -> pl.DataFrame:
    """Columns ``title`` and ``message`` (null where absent), one row per review."""
    n = score.size
    neg, mixed, pos = score <= 2, score == 3, score >= 4
    late, undelivered = outcome == LATE, outcome == UNDELIVERED
    u = rng.random((4, n))

    hard_lead = neg & late & (u[0] < 0.7)
    lead_pool = np.select(
        [undelivered & ~pos, hard_lead, neg, mixed],
        [_P["not_delivered"], _P["late_hard"], _P["neg_product"], _P["mixed_product"]],
        default=_P["pos_product"],
    )
    lead = _pick(rng, lead_pool, ~pos | (u[1] < 0.75))
    delivery_pool = np.select(
        [neg & late & ~hard_lead, (mixed | pos) & late, (mixed | pos) & ~late & ~undelivered],
        [_P["late_hard"], _P["late_soft"], _P["on_time"]],
        default=-1,
    )
    delivery_p = np.where(neg, 0.6, np.where(late, 0.75, np.where(mixed, 0.3, 0.55)))
    delivery = _pick(rng, delivery_pool, u[2] < delivery_p)
    seller_pool = np.select([neg, mixed], [_P["neg_seller"], _P["mixed_seller"]], default=_P["pos_seller"])
    seller = _pick(rng, seller_pool, u[3] < np.where(neg, 0.3, 0.25))
    nothing_yet = lead.is_null().to_numpy() & delivery.is_null().to_numpy() & seller.is_null().to_numpy()
    rec_p = np.where(neg, 0.35, np.where(mixed, 0.25, 0.45))
    rec_pool = np.select([neg, mixed], [_P["neg_recommend"], _P["mixed_recommend"]], default=_P["pos_recommend"])
    recommend = _pick(rng, rec_pool, nothing_yet | (rng.random(n) < rec_p))

    title_pool = np.select(
        [undelivered & ~pos, late & (neg | mixed) & (rng.random(n) < 0.5), neg, mixed],
        [_P["not_delivered_title"], _P["late_title"], _P["neg_title"], _P["mixed_title"]],
        default=_P["pos_title"],
    )
    frame = pl.DataFrame(
        {
            "lead": lead,
            "delivery": delivery,
            "swap": rng.random(n) < 0.3,
            "seller": seller,
            "recommend": recommend,
            "title": _pick(rng, title_pool, has_title),
            "sep": pl.Series(_SEPARATORS).gather(rng.choice(len(_SEPARATORS), n, p=_SEPARATOR_P)),
            "end": pl.Series(_ENDINGS).gather(rng.choice(len(_ENDINGS), n, p=_ENDING_P)),
            "noun": pl.Series(_product_nouns(rng, category), dtype=pl.String),
            "late": _days(late_days),
            "early": _days(early_days),
            "has_message": has_message,
            "capitalise": rng.random(n) < 0.75,
            "upper": rng.random(n) < 0.04,
            "plain": rng.random(n) < 0.25,
            "title_lower": rng.random(n) < 0.25,
            "title_upper": rng.random(n) < 0.05,
            "title_plain": rng.random(n) < 0.2,
            "title_tail": pl.Series(["", " ", "!"]).gather(rng.choice(3, n, p=[0.82, 0.1, 0.08])),
        }
    )
    # Materialise the body first: polars refuses a column-valued replace inside when/then on
    # one-row frames.
    frame = frame.with_columns(
        body=pl.concat_list(
            pl.when("swap").then("delivery").otherwise("lead"),
            pl.when("swap").then("lead").otherwise("delivery"),
            "seller",
            "recommend",
        ).list.drop_nulls().list.join(pl.col("sep"))
        + pl.col("end")
    ).with_columns(
        body=pl.col("body")
        .str.replace_all("{p}", pl.col("noun"), literal=True)
        .str.replace_all("{d}", pl.col("late"), literal=True)
        .str.replace_all("{e}", pl.col("early"), literal=True)
    )
    title = pl.when(pl.col("title_lower")).then(pl.col("title").str.to_lowercase()).otherwise(pl.col("title"))
    return frame.select(
        title=_vary(title, pl.lit(False), pl.col("title_upper"), pl.col("title_plain")) + pl.col("title_tail"),
        message=pl.when(pl.col("has_message")).then(
            _vary(pl.col("body"), pl.col("capitalise"), pl.col("upper"), pl.col("plain"))
        ),
    )
