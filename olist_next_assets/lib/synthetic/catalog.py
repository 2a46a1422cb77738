"""Sellers and products: the catalogue every customer chunk buys from.

Its size scales with the number of customers (the release's ratios), with floors so a small
release still has every one of the 73 categories and a few dozen sellers. Every seller gets at
least one product; the order simulation makes sure every product is sold at least once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from .calibration import NULL_CATEGORY_PRODUCTS, NULL_DIMENSION_PRODUCTS, REFERENCE_ROWS
from .geography import World
from .vocab import CATEGORIES

MIN_SELLERS = 30
CATEGORY_WEIGHT = np.array([c.products for c in CATEGORIES], dtype=np.float64)
CATEGORY_PRICE = np.array([c.price for c in CATEGORIES])
CATEGORY_WEIGHT_G = np.array([c.weight_g for c in CATEGORIES])
CATEGORY_REPEAT = np.array([c.repeat for c in CATEGORIES])
CATEGORY_NAME = np.array([c.name for c in CATEGORIES])
# Photos per product (1..20), as in the release.
_PHOTOS_P = np.array([16489, 6263, 3860, 2428, 1484, 968, 343, 192, 105, 95, 46, 35, 20, 10, 8, 5, 3, 2, 1, 2], float)


def hex_ids(rng: np.random.Generator, n: int) -> NDArray[np.str_]:
    """n random 32-character lowercase hex ids (128 bits: collisions are not a concern)."""
    return np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype="S32").astype("U32")


@dataclass(frozen=True)
class Catalog:
    """What customers can buy: arrays for the simulation plus the raw rows of the two files."""

    seller_id: NDArray[np.str_]
    seller_state: NDArray[np.int64]
    product_id: NDArray[np.str_]
    product_category: NDArray[np.int64]  # the true category, also for products published without one
    product_seller: NDArray[np.int64]
    product_price: NDArray[np.int64]  # cents
    product_weight_g: NDArray[np.float64]
    product_cdf: NDArray[np.float64]  # cumulative popularity, for sampling what customers buy
    sellers: pl.DataFrame  # raw rows for the sellers file
    products: pl.DataFrame  # raw rows for the products file

    def sample_products(self, rng: np.random.Generator, n: int) -> NDArray[np.int64]:
        return np.searchsorted(self.product_cdf, rng.random(n) * self.product_cdf[-1], side="right")


def _prices(rng: np.random.Generator, median_brl: NDArray[np.float64]) -> NDArray[np.int64]:
    """Lognormal prices with shop-window endings (x.90, x.99, x.00 ...), in cents."""
    reais = np.floor(median_brl * np.exp(rng.normal(0.0, 0.84, median_brl.size)))
    endings = np.array([90, 99, 0, 50, -1])
    cents = endings[rng.choice(endings.size, median_brl.size, p=[0.42, 0.2, 0.18, 0.05, 0.15])]
    cents = np.where(cents < 0, rng.integers(0, 100, median_brl.size), cents)
    return np.clip(reais.astype(np.int64) * 100 + cents, 85, 673_500)


def build_catalog(rng: np.random.Generator, world: World, scale: float) -> Catalog:
    """Sellers (state by the real seller counts) and products; ``scale`` = customers / 96,096."""
    n_sellers = max(round(REFERENCE_ROWS["sellers"] * scale), MIN_SELLERS)
    n_products = max(round(REFERENCE_ROWS["products"] * scale), 2 * len(CATEGORIES))

    seller_state, seller_city, seller_zip = world.sample_addresses(rng, world.state_seller_p, n_sellers)
    seller_id = hex_ids(rng, n_sellers)
    seller_popularity = rng.lognormal(0.0, 1.4, n_sellers)

    # The first 73 products cover every category; the published file hides some categories.
    n_cat = len(CATEGORIES)
    drawn = rng.choice(n_cat, n_products - n_cat, p=CATEGORY_WEIGHT / CATEGORY_WEIGHT.sum())
    category = np.concatenate([np.arange(n_cat), drawn])
    hidden = np.zeros(n_products, dtype=bool)
    n_hidden = round(NULL_CATEGORY_PRODUCTS * scale)
    hidden[n_cat + rng.choice(n_products - n_cat, n_hidden, replace=False)] = True
    no_dimensions = np.zeros(n_products, dtype=bool)
    no_dimensions[rng.choice(np.flatnonzero(~hidden), round(NULL_DIMENSION_PRODUCTS * scale), replace=False)] = True
    order = rng.permutation(n_products)
    category, hidden, no_dimensions = category[order], hidden[order], no_dimensions[order]

    every_seller = rng.permutation(n_sellers)
    popular = rng.choice(n_sellers, n_products - n_sellers, p=seller_popularity / seller_popularity.sum())
    product_seller = np.concatenate([every_seller, popular])
    price = _prices(rng, CATEGORY_PRICE[category])
    weight = np.clip(np.rint(CATEGORY_WEIGHT_G[category] * np.exp(rng.normal(0.0, 1.0, n_products))), 0, 40_425)
    side = np.cbrt(np.maximum(weight, 50.0))
    length = np.clip(np.rint(2.8 * side * np.exp(rng.normal(0, 0.3, n_products))), 7, 105)
    height = np.clip(np.rint(1.45 * side * np.exp(rng.normal(0, 0.45, n_products))), 2, 105)
    width = np.clip(np.rint(2.25 * side * np.exp(rng.normal(0, 0.3, n_products))), 6, 118)
    product_id = hex_ids(rng, n_products)

    def masked(values: NDArray[np.float64], mask: NDArray[np.bool_]) -> pl.Series:
        return pl.Series(values.astype(np.int64)).scatter(np.flatnonzero(mask), None)

    products = pl.DataFrame(
        {
            "product_id": product_id,
            "product_category_name": pl.Series(CATEGORY_NAME[category]).scatter(np.flatnonzero(hidden), None),
            "product_name_lenght": masked(np.clip(np.rint(rng.normal(48.5, 10.0, n_products)), 5, 76), hidden),
            "product_description_lenght": masked(
                np.clip(np.rint(rng.lognormal(np.log(600), 0.75, n_products)), 4, 3992), hidden
            ),
            "product_photos_qty": masked(1 + rng.choice(20, n_products, p=_PHOTOS_P / _PHOTOS_P.sum()), hidden),
            "product_weight_g": masked(weight, no_dimensions),
            "product_length_cm": masked(length, no_dimensions),
            "product_height_cm": masked(height, no_dimensions),
            "product_width_cm": masked(width, no_dimensions),
        }
    )
    sellers = pl.DataFrame(
        {
            "seller_id": seller_id,
            "seller_zip_code_prefix": seller_zip,
            "seller_city": world.city_name[seller_city],
            "seller_state": world.state_code[seller_state],
        }
    )
    popularity = rng.lognormal(0.0, 1.3, n_products)
    return Catalog(
        seller_id=seller_id,
        seller_state=seller_state,
        product_id=product_id,
        product_category=category,
        product_seller=product_seller,
        product_price=price,
        product_weight_g=weight,
        product_cdf=np.cumsum(popularity),
        sellers=sellers,
        products=products,
    )
