"""One round of orders: what was bought, how it was paid, delivered and reviewed, and the propensity.

``simulate_orders`` takes a batch of purchases (one per customer) and returns the rows of every
order-level table plus the propensity after each order, fully vectorised. The generator calls it
once per order rank (first orders, then second orders, ...), so a customer's later orders can
depend on the experience of the earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from numpy.typing import NDArray

from . import calibration as cal
from .catalog import CATEGORY_REPEAT, Catalog
from .geography import World
from .text import LATE, ON_TIME, UNDELIVERED
from .truth import PROPENSITY

DELIVERED, SHIPPED, CANCELED, UNAVAILABLE, INVOICED, PROCESSING, CREATED, APPROVED = range(8)
PAYMENT_TYPES = ("credit_card", "boleto", "voucher", "debit_card", "not_defined")
CARD, VOUCHER = PAYMENT_TYPES.index("credit_card"), PAYMENT_TYPES.index("voucher")
_MODE = {name: i for i, name in enumerate(cal.PAYMENT_MODES)}
# "not_defined" (3 in the release) is only given to canceled orders that show no items.
_MODE_P = np.array([0.0 if m == "not_defined" else v for m, v in cal.PAYMENT_MODES.items()], float)
# Type of each mode's first row; the multi-row modes get their vouchers below.
_MODE_TYPE = np.array([PAYMENT_TYPES.index(m) if m in PAYMENT_TYPES else CARD for m in cal.PAYMENT_MODES])
_ITEM_K = np.array(list(cal.ITEMS_PER_ORDER))
_ITEM_P = np.array(list(cal.ITEMS_PER_ORDER.values()), float)
_INSTALLMENT_K = np.array(list(cal.CARD_INSTALLMENTS))
_INSTALLMENT_CDF = np.cumsum(list(cal.CARD_INSTALLMENTS.values())) / sum(cal.CARD_INSTALLMENTS.values())
_SCORE_PMF = np.stack([cal.SCORE_PMF_ON_TIME, cal.SCORE_PMF_LATE, cal.SCORE_PMF_UNDELIVERED])
_SLOW_SEASONS = (("2017-11-24", "2017-12-20"), ("2018-02-10", "2018-03-25"))
DAY = cal.DAY


@dataclass(frozen=True)
class Purchases:
    """A batch of purchases, one per customer, and what is known from the previous order."""

    customer: NDArray[np.int64]  # chunk-local customer index
    state: NDArray[np.int64]
    latent: NDArray[np.float64]
    time: NDArray[np.int64]  # epoch seconds
    rank: NDArray[np.int64]  # 1 for a first order
    first_time: NDArray[np.int64]
    days_since_previous: NDArray[np.float64]  # inf for a first order
    previous_review: NDArray[np.int64]  # review key of the previous order, -1 if none
    previous_score: NDArray[np.int64]  # 0 if none


@dataclass(frozen=True)
class OrderRound:
    """Raw rows of one round; ``order`` / ``review_key`` columns are chunk-local indices."""

    orders: pl.DataFrame
    items: pl.DataFrame
    payments: pl.DataFrame
    review_rows: pl.DataFrame  # review_key, order
    reviews: pl.DataFrame  # one row per new review key
    propensity: NDArray[np.float64]
    review_key: NDArray[np.int64]  # the order's (first) review, -1 if none
    score: NDArray[np.int64]


def _by_order(order: NDArray[np.int64], values: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    return np.bincount(order, weights=values, minlength=m)


def _ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Uniform (0, 1) ranks: a Gaussian copula without a normal CDF."""
    return (np.argsort(np.argsort(values, kind="stable"), kind="stable") + 0.5) / max(values.size, 1)


@cache
def _season_bounds() -> NDArray[np.int64]:
    return np.array([[cal.epoch(a + "T00:00:00"), cal.epoch(b + "T00:00:00")] for a, b in _SLOW_SEASONS])


def _nullable(values: NDArray[np.float64]) -> pl.Series:
    return pl.Series(values).fill_nan(None).cast(pl.Int64)


def _items(
    rng: np.random.Generator,
    cat: Catalog,
    world: World,
    p: Purchases,
    has_items: NDArray[np.bool_],
    cover: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Item rows for every order (also phantom ones for orders shown without items).

    The first item sets the order's category; later items repeat it (same product bought twice)
    or add another product. ``cover`` products are forced onto distinct item rows so each of
    them is sold at least once.
    """
    m = p.customer.size
    n_items = rng.choice(_ITEM_K, m, p=_ITEM_P / _ITEM_P.sum())
    order = np.repeat(np.arange(m), n_items)
    position = np.arange(order.size) - np.repeat(np.cumsum(n_items) - n_items, n_items) + 1
    base = cat.sample_products(rng, m)
    same = (position == 1) | (rng.random(order.size) < 0.6)
    product = np.where(same, base[order], cat.sample_products(rng, order.size))
    if cover.size:
        visible = np.flatnonzero(has_items[order])
        rows = rng.choice(visible, min(cover.size, visible.size), replace=False)
        product[rows] = rng.permutation(cover)[: rows.size]
    seller = cat.product_seller[product]
    distance = world.state_distance(cat.seller_state[seller], p.state[order])
    freight_brl = (7.3 + 4.6 * np.sqrt(cat.product_weight_g[product] / 1000.0)) * (1.0 + distance / 12.0)
    freight = np.rint(freight_brl * np.exp(rng.normal(0.0, 0.25, order.size)) * 100).astype(np.int64)
    freight[rng.random(order.size) < 0.0034] = 0
    return order, position, product, freight, seller


def _payments(
    rng: np.random.Generator, total: NDArray[np.int64], canceled_empty: NDArray[np.bool_]
) -> tuple[pl.DataFrame, NDArray[np.int64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Payment rows summing exactly to each order's total, with card installments that grow
    with the amount. Returns the rows, the order's installments, voucher use and boleto use."""
    m = total.size
    mode = rng.choice(len(_MODE), m, p=_MODE_P / _MODE_P.sum())
    mode[canceled_empty & (rng.random(m) < 0.02)] = _MODE["not_defined"]
    card_voucher = mode == _MODE["credit_card+vouchers"]
    vouchers_only = mode == _MODE["vouchers"]
    two_cards = mode == _MODE["credit_card+credit_card"]
    rows = np.ones(m, dtype=np.int64)
    rows[card_voucher] = 1 + np.minimum(rng.zipf(3.0, card_voucher.sum()), 28)
    rows[vouchers_only] = 1 + np.minimum(rng.zipf(2.3, vouchers_only.sum()), 28)
    rows[two_cards] = 2

    order = np.repeat(np.arange(m), rows)
    seq = np.arange(order.size) - np.repeat(np.cumsum(rows) - rows, rows) + 1
    kind = _MODE_TYPE[mode][order]
    kind[(card_voucher[order] & (seq > 1)) | vouchers_only[order]] = VOUCHER

    # Shares: a card + vouchers order puts a Beta share on the vouchers, split at random.
    weight = rng.gamma(1.0, 1.0, order.size)
    voucher_share = rng.beta(2.0, 1.2, m)
    is_cv_voucher = card_voucher[order] & (seq > 1)
    pool = np.where(is_cv_voucher, weight, 0.0)
    share = np.where(
        is_cv_voucher,
        voucher_share[order] * weight / np.maximum(_by_order(order, pool, m)[order], 1e-12),
        np.where(card_voucher[order], 1.0 - voucher_share[order], weight / _by_order(order, weight, m)[order]),
    )
    value = np.floor(share * total[order]).astype(np.int64)
    value[seq == 1] += total - np.rint(_by_order(order, value.astype(float), m)).astype(np.int64)

    installments = np.ones(order.size, dtype=np.int64)
    card = kind == CARD
    affinity = 0.7 * np.log(np.maximum(total[order][card], 1)) + 0.5 * rng.normal(0.0, 1.0, card.sum())
    installments[card] = _INSTALLMENT_K[np.searchsorted(_INSTALLMENT_CDF, _ranks(affinity), side="right")]
    frame = pl.DataFrame(
        {
            "order": order,
            "payment_sequential": seq,
            "payment_type": np.array(PAYMENT_TYPES)[kind],
            "payment_installments": installments,
            "payment_value": value,
        }
    )
    per_order_installments = np.maximum.reduceat(installments, np.cumsum(rows) - rows)
    voucher = card_voucher | vouchers_only | (mode == _MODE["voucher"])
    boleto = mode == _MODE["boleto"]
    return frame, per_order_installments, voucher, boleto


def _scores(rng: np.random.Generator, outcome: NDArray[np.int64]) -> NDArray[np.int64]:
    """Review scores 1..5 from the score distribution of each order's delivery outcome."""
    return 1 + (rng.random(outcome.size)[:, None] > np.cumsum(_SCORE_PMF[outcome], axis=1)).sum(axis=1)


def _timeline(
    rng: np.random.Generator, world: World, p: Purchases, status: NDArray[np.int64], boleto: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Approved, carrier, delivered (NaN where the release shows none) and estimated dates.

    Boleto takes a day or two to approve; transit depends on the customer's state and is slower
    around Black Friday and in the February-March 2018 peak, so late deliveries cluster there.
    Delivered orders that would arrive after the extraction are shown as shipped (``status``
    is updated in place).
    """
    m = p.customer.size
    t = p.time.astype(np.float64)
    approved = t + np.where(boleto, rng.lognormal(np.log(1.2 * DAY), 0.8, m), rng.lognormal(np.log(900), 1.3, m))
    days = world.state_delivery_days[p.state]
    bounds = _season_bounds()
    slow = ((p.time[:, None] >= bounds[:, 0]) & (p.time[:, None] < bounds[:, 1])).any(axis=1)
    transit = np.maximum(days / 1.16 * np.exp(rng.normal(0.0, 0.55, m)) * np.where(slow, 1.35, 1.0), 0.8)
    delivered = np.rint(approved + transit * DAY)
    carrier = np.rint(approved + np.minimum(rng.lognormal(np.log(2.3 * DAY), 0.7, m), 0.6 * (delivered - approved)))
    approved = np.rint(approved)
    promise = np.ceil(days * world.state_promise[p.state] * np.exp(rng.normal(0.0, 0.15, m)))
    estimated = (np.floor(t / DAY) + promise) * DAY

    overdue = delivered > cal.EXTRACTION_END
    status[(status == DELIVERED) & overdue] = SHIPPED
    u = rng.random((3, m))
    no_approval = (
        (status == CREATED) | ((status == CANCELED) & (u[0] < 0.225)) | ((status == DELIVERED) & (u[0] < 1.5e-4))
    )
    no_carrier = (
        np.isin(status, [UNAVAILABLE, INVOICED, PROCESSING, CREATED, APPROVED])
        | ((status == CANCELED) & (u[1] < 0.88))
        | ((status == DELIVERED) & (u[1] < 2e-5))
        | (carrier > cal.EXTRACTION_END)
    )
    no_delivery = ((status != DELIVERED) & ~((status == CANCELED) & ~no_carrier & (u[2] < 0.08))) | (
        (status == DELIVERED) & (u[2] < 8e-5)
    )
    approved[no_approval] = np.nan
    carrier[no_carrier] = np.nan
    delivered[no_delivery | overdue] = np.nan
    return approved, carrier, delivered, estimated


def _reviews(
    rng: np.random.Generator,
    p: Purchases,
    outcome: NDArray[np.int64],
    delay: NDArray[np.float64],
    delivered: NDArray[np.float64],
    estimated: NDArray[np.float64],
    category: NDArray[np.int64],
    order_offset: int,
    review_offset: int,
) -> tuple[pl.DataFrame, pl.DataFrame, NDArray[np.int64], NDArray[np.int64]]:
    """New reviews (one row per key), review rows (key, order), each order's key and score.

    Almost every order gets a review the day after delivery (or around the promised date when
    it never arrived); a few get a second one later; a repeat order placed within a week of the
    previous one usually shares that order's review (same review_id, as in the release).
    """
    m = p.customer.size
    has_review = rng.random(m) >= cal.ORDERS_WITHOUT_REVIEW
    shared = has_review & (p.previous_review >= 0) & (p.days_since_previous < 7) & (rng.random(m) < 0.8)
    own = has_review & ~shared
    own_score = _scores(rng, outcome)
    review_key = np.where(own, review_offset + np.cumsum(own) - 1, np.where(shared, p.previous_review, -1))
    score = np.where(own, own_score, np.where(shared, p.previous_score, 0))

    second = own & (rng.random(m) < cal.ORDERS_WITH_SECOND_REVIEW)
    second_score = np.where(rng.random(m) < 0.6, own_score, _scores(rng, outcome))
    promised = np.maximum(p.time + 2 * DAY, estimated - rng.integers(0, 11, m) * DAY)
    created = (np.floor(np.where(np.isnan(delivered), promised, delivered) / DAY) + 1) * DAY
    second_created = created + rng.integers(1, 31, m) * DAY
    order = np.concatenate([np.flatnonzero(own), np.flatnonzero(second)])
    scores = np.concatenate([own_score[own], second_score[second]])
    creation = np.concatenate([created[own], second_created[second]]).astype(np.int64)
    answer = creation + np.maximum(rng.lognormal(np.log(30 * 3600), 1.0, scores.size), 3600).astype(np.int64)
    keys = np.arange(review_offset, review_offset + scores.size)
    reviews = pl.DataFrame(
        {
            "review_key": keys,
            "review_score": scores,
            "outcome": outcome[order],
            "late_days": np.ceil(np.nan_to_num(delay[order])).astype(np.int64),
            "early_days": np.floor(np.nan_to_num(-delay[order])).astype(np.int64),
            "category": category[order],
            "review_creation_date": creation,
            "review_answer_timestamp": answer,
        }
    )
    shared_orders = np.flatnonzero(shared)
    rows = pl.DataFrame(
        {
            "review_key": np.concatenate([keys, p.previous_review[shared_orders]]),
            "order": order_offset + np.concatenate([order, shared_orders]),
        }
    )
    return reviews, rows, review_key, score


def simulate_orders(
    rng: np.random.Generator,
    cat: Catalog,
    world: World,
    p: Purchases,
    order_offset: int,
    review_offset: int,
    cover: NDArray[np.int64],
) -> OrderRound:
    """Orders for a batch of purchases: items, payments, timeline, reviews, then propensity.

    ``order_offset`` / ``review_offset`` number this round's orders and new reviews after the
    previous rounds'; ``cover`` lists products that must be sold in this round.
    """
    m = p.customer.size
    status = rng.choice(8, m, p=cal.STATUS_COUNTS / cal.STATUS_COUNTS.sum())
    status[p.time >= cal.REPEAT_CUTOFF] = CANCELED
    canceled_empty = (status == CANCELED) & (rng.random(m) < cal.CANCELED_WITHOUT_ITEMS)
    has_items = ~((status == UNAVAILABLE) | (status == CREATED) | canceled_empty)

    item_order, position, product, freight, seller = _items(rng, cat, world, p, has_items, cover)
    price = cat.product_price[product]
    total = np.rint(_by_order(item_order, (price + freight).astype(float), m)).astype(np.int64)
    category = cat.product_category[product[position == 1]]
    payments, installments, voucher, boleto = _payments(rng, total, canceled_empty)
    approved, carrier, delivered, estimated = _timeline(rng, world, p, status, boleto)

    got_it = ~np.isnan(delivered)
    delay = (delivered - estimated) / DAY
    late = got_it & (delay > 0)
    outcome = np.where(~got_it, UNDELIVERED, np.where(late, LATE, ON_TIME))
    reviews, review_rows, review_key, score = _reviews(
        rng, p, outcome, delay, delivered, estimated, category, order_offset, review_offset
    )

    logit = PROPENSITY.logit(
        score=score,
        late=late,
        delay_days=np.nan_to_num(delay),
        delivered=got_it,
        category_effect=CATEGORY_REPEAT[category],
        state_effect=world.state_repeat[p.state],
        total_cents=total,
        installments=installments,
        voucher=voucher,
        orders_so_far=p.rank,
        tenure_days=(p.time - p.first_time) / DAY,
        latent=p.latent,
    )
    shipping_base = np.where(np.isnan(approved), p.time, approved)[item_order]
    visible = has_items[item_order]
    orders = pl.DataFrame(
        {
            "order": order_offset + np.arange(m),
            "customer": p.customer,
            "status": status,
            "order_purchase_timestamp": p.time,
            "order_approved_at": _nullable(approved),
            "order_delivered_carrier_date": _nullable(carrier),
            "order_delivered_customer_date": _nullable(delivered),
            "order_estimated_delivery_date": estimated.astype(np.int64),
        }
    )
    items = pl.DataFrame(
        {
            "order": order_offset + item_order[visible],
            "order_item_id": position[visible],
            "product": product[visible],
            "seller": seller[visible],
            "shipping_limit_date": (shipping_base + rng.uniform(2, 8, item_order.size) * DAY).astype(np.int64)[visible],
            "price": price[visible],
            "freight_value": freight[visible],
        }
    )
    return OrderRound(
        orders=orders,
        items=items,
        payments=payments.with_columns(pl.col("order") + order_offset),
        review_rows=review_rows,
        reviews=reviews,
        propensity=1.0 / (1.0 + np.exp(-logit)),
        review_key=review_key,
        score=score,
    )
