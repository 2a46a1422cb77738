"""Generate a synthetic Olist release: the 9 CSV files plus a truth side file.

Customers are simulated in chunks (a fixed number per chunk, each with its own random stream, so
the output depends only on ``customers`` and ``seed``). Within a chunk, orders are generated
rank by rank: every customer's first order, then, for those the propensity model sends back
before the cut, their second order, and so on. The catalogue (sellers, products) and the map are
shared; geolocation rows are written last, for every zip prefix customers and sellers use.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from numpy.typing import NDArray

from . import calibration as cal
from .catalog import Catalog, build_catalog, hex_ids
from .geography import N_PREFIXES, World, geolocation_blocks, world
from .orders import OrderRound, Purchases, simulate_orders
from .text import review_texts
from .truth import PROPENSITY, TIMING
from .vocab import CATEGORIES
from .writer import TABLES, CsvTable, write_translation

CHUNK_CUSTOMERS = 100_000
TRUTH_DIR = "_synthetic"
PROPENSITY_FILE = "order_propensity.parquet"
GENERATION_FILE = "generation.json"
_DAY = cal.DAY
_HOUR_P = cal.HOUR_WEIGHTS / cal.HOUR_WEIGHTS.sum()
_STATUS_NAMES = np.array(cal.STATUSES)


@dataclass(frozen=True)
class GenerationReport:
    """What ``generate`` wrote: rows and path per table (keys as in ``calibration.REFERENCE_ROWS``)."""

    out_dir: Path
    customers: int
    seed: int
    rows: dict[str, int]
    paths: dict[str, Path]
    truth_paths: dict[str, Path]
    seconds: float


@dataclass(frozen=True)
class _Chunk:
    tables: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    zip_usage: NDArray[np.int64]


def generate(
    out_dir: Path, customers: int = cal.REFERENCE_CUSTOMERS, seed: int = 42, *, chunk_customers: int = CHUNK_CUSTOMERS
) -> GenerationReport:
    """Write the release for ``customers`` unique customers into ``out_dir`` (deterministic per
    seed and chunk size), plus ``_synthetic/order_propensity.parquet`` and ``generation.json``."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    truth_dir = out_dir / TRUTH_DIR
    truth_dir.mkdir(parents=True, exist_ok=True)
    n_chunks = max(-(-customers // chunk_customers), 1)
    catalog_seed, geo_seed, *chunk_seeds = np.random.SeedSequence(seed).spawn(2 + n_chunks)
    scale = customers / cal.REFERENCE_CUSTOMERS
    w = world()
    cat = build_catalog(np.random.default_rng(catalog_seed), w, scale)
    used = np.bincount(cat.sellers["seller_zip_code_prefix"].to_numpy(), minlength=N_PREFIXES)
    bounds = np.linspace(0, customers, n_chunks + 1).astype(np.int64)
    covers = np.array_split(np.arange(cat.product_id.size), n_chunks)
    truth_path = truth_dir / PROPENSITY_FILE

    with ExitStack() as stack:
        files = {name: stack.enter_context(CsvTable(out_dir, spec)) for name, spec in TABLES.items()}
        truth_writer: pq.ParquetWriter | None = None
        for c in range(n_chunks):
            chunk = _simulate_chunk(
                np.random.default_rng(chunk_seeds[c]), cat, w, int(bounds[c + 1] - bounds[c]), covers[c],
                pin_first=c == 0, pin_last=c == n_chunks - 1,
            )
            for name, frame in chunk.tables.items():
                files[name].append(frame)
            truth = chunk.truth.to_arrow()
            if truth_writer is None:
                truth_writer = stack.enter_context(pq.ParquetWriter(truth_path, truth.schema))
            truth_writer.write_table(truth)
            used += chunk.zip_usage
        files["products"].append(cat.products)
        files["sellers"].append(cat.sellers)
        geo_rows = round(cal.REFERENCE_ROWS["geolocation"] * scale)
        geo_prefixes = round(cal.GEOLOCATION_PREFIXES * scale)
        for block in geolocation_blocks(np.random.default_rng(geo_seed), used, geo_rows, geo_prefixes):
            files["geolocation"].append(block.rename(dict(zip(block.columns, TABLES["geolocation"].header))))
    pairs = [(c.name, c.english) for c in CATEGORIES if c.english is not None]
    paths = {name: f.path for name, f in files.items()}
    paths["product_category_name_translation"] = write_translation(out_dir, pairs)
    rows = {name: f.rows for name, f in files.items()} | {"product_category_name_translation": len(pairs)}

    generation_path = truth_dir / GENERATION_FILE
    generation = {
        "seed": seed,
        "customers": customers,
        "chunk_customers": chunk_customers,
        "repeat_cutoff": "2018-09-01 00:00:00",
        "timing": asdict(TIMING),
        "propensity": PROPENSITY.as_dict(),
        "rows": rows,
        "files": {name: path.name for name, path in paths.items()} | {"truth": f"{TRUTH_DIR}/{PROPENSITY_FILE}"},
    }
    generation_path.write_text(json.dumps(generation, indent=2) + "\n")
    return GenerationReport(
        out_dir=out_dir,
        customers=customers,
        seed=seed,
        rows=rows,
        paths=paths,
        truth_paths={"order_propensity": truth_path, "generation": generation_path},
        seconds=time.perf_counter() - started,
    )


@cache
def _day_distribution() -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Purchase-day probabilities: monthly totals of the release, weekday shape, Black Friday."""
    days = np.arange(cal.FIRST_PURCHASE // _DAY, cal.LAST_PURCHASE // _DAY + 1)
    month_names = days.astype("datetime64[D]").astype("datetime64[M]").astype(str)
    months, month = np.unique(month_names, return_inverse=True)
    weight = cal.WEEKDAY_WEIGHTS[(days + 3) % 7]  # 1970-01-01 was a Thursday
    black_friday = days == cal.epoch(cal.BLACK_FRIDAY + "T00:00:00") // _DAY
    november = month == month[black_friday][0]
    weight[november & ~black_friday] *= (1 - cal.BLACK_FRIDAY_SHARE) / weight[november & ~black_friday].sum()
    weight[black_friday] = cal.BLACK_FRIDAY_SHARE
    target = np.array([cal.MONTHLY_ORDERS[m] for m in months], dtype=np.float64)
    weight *= target[month] / np.bincount(month, weights=weight)[month]
    return days, weight / weight.sum()


def _time_of_day(rng: np.random.Generator, day: NDArray[np.int64]) -> NDArray[np.int64]:
    hour = rng.choice(24, day.size, p=_HOUR_P)
    return day * _DAY + hour * 3600 + rng.integers(0, 3600, day.size)


def _first_purchases(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    days, p = _day_distribution()
    return np.clip(_time_of_day(rng, rng.choice(days, n, p=p)), cal.FIRST_PURCHASE, cal.LAST_PURCHASE)


def _simulate_chunk(
    rng: np.random.Generator,
    cat: Catalog,
    w: World,
    n: int,
    cover: NDArray[np.int64],
    *,
    pin_first: bool,
    pin_last: bool,
) -> _Chunk:
    state, city, zip_prefix = w.sample_addresses(rng, w.state_customer_p, n)
    first = _first_purchases(rng, n)
    if pin_first:  # the release's exact window, whatever the scale
        first[0] = cal.FIRST_PURCHASE
    if pin_last:
        first[-1] = cal.LAST_PURCHASE
    batch = Purchases(
        customer=np.arange(n),
        state=state,
        latent=rng.normal(0.0, PROPENSITY.latent_sd, n),
        time=first,
        rank=np.ones(n, dtype=np.int64),
        first_time=first,
        days_since_previous=np.full(n, np.inf),
        previous_review=np.full(n, -1, dtype=np.int64),
        previous_score=np.zeros(n, dtype=np.int64),
    )
    rounds: list[OrderRound] = []
    n_orders = n_reviews = 0
    while batch.customer.size:
        r = simulate_orders(rng, cat, w, batch, n_orders, n_reviews, cover if not rounds else cover[:0])
        rounds.append(r)
        n_orders += batch.customer.size
        n_reviews += r.reviews.height
        # Does the customer come back, and when? Later purchases are cut at the release's end.
        gap = TIMING.sample(rng, batch.customer.size)
        day = (batch.time + np.rint(gap * _DAY).astype(np.int64)) // _DAY
        nxt = np.maximum(_time_of_day(rng, day), batch.time + 60)
        back = (rng.random(batch.customer.size) < r.propensity) & (nxt < cal.REPEAT_CUTOFF)
        batch = Purchases(
            customer=batch.customer[back],
            state=batch.state[back],
            latent=batch.latent[back],
            time=nxt[back],
            rank=batch.rank[back] + 1,
            first_time=batch.first_time[back],
            days_since_previous=(nxt[back] - batch.time[back]) / _DAY,
            previous_review=r.review_key[back],
            previous_score=r.score[back],
        )

    orders = pl.concat([r.orders for r in rounds])
    propensity = np.concatenate([r.propensity for r in rounds])
    order_id = hex_ids(rng, n_orders)
    customer_id = hex_ids(rng, n_orders)
    unique_id = hex_ids(rng, n)
    review_id = hex_ids(rng, n_reviews)
    o = orders["order"].to_numpy()
    cust = orders["customer"].to_numpy()
    timestamps = [c for c in orders.columns if c.startswith("order_") and c != "order_id"]

    orders_out = orders.select(
        order_id=pl.Series(order_id[o]),
        customer_id=pl.Series(customer_id[o]),
        order_status=pl.Series(_STATUS_NAMES[orders["status"].to_numpy()]),
        *timestamps,
    )
    customers_out = pl.DataFrame(
        {
            "customer_id": customer_id[o],
            "customer_unique_id": unique_id[cust],
            "customer_zip_code_prefix": zip_prefix[cust],
            "customer_city": w.city_name[city[cust]],
            "customer_state": w.state_code[state[cust]],
        }
    )
    items = pl.concat([r.items for r in rounds])
    items_out = items.select(
        order_id=pl.Series(order_id[items["order"].to_numpy()]),
        order_item_id="order_item_id",
        product_id=pl.Series(cat.product_id[items["product"].to_numpy()]),
        seller_id=pl.Series(cat.seller_id[items["seller"].to_numpy()]),
        shipping_limit_date="shipping_limit_date",
        price="price",
        freight_value="freight_value",
    ).sort("order_id", "order_item_id")
    payments = pl.concat([r.payments for r in rounds])
    payments_out = payments.select(
        pl.Series("order_id", order_id[payments["order"].to_numpy()]), *TABLES["order_payments"].header[1:]
    )
    reviews = pl.concat([r.reviews for r in rounds])
    texts = review_texts(
        rng,
        score=reviews["review_score"].to_numpy(),
        outcome=reviews["outcome"].to_numpy(),
        late_days=reviews["late_days"].to_numpy(),
        early_days=reviews["early_days"].to_numpy(),
        category=reviews["category"].to_numpy(),
        has_title=rng.random(reviews.height) < cal.TITLE_RATE[reviews["review_score"].to_numpy() - 1],
        has_message=rng.random(reviews.height) < cal.MESSAGE_RATE[reviews["review_score"].to_numpy() - 1],
    )
    review_rows = pl.concat([r.review_rows for r in rounds])
    keyed = reviews.select(
        "review_key",
        "review_score",
        review_comment_title=texts["title"],
        review_comment_message=texts["message"],
        review_creation_date="review_creation_date",
        review_answer_timestamp="review_answer_timestamp",
    )
    reviews_out = review_rows.join(keyed, on="review_key", how="left", maintain_order="left").select(
        review_id=pl.Series(review_id[review_rows["review_key"].to_numpy()]),
        order_id=pl.Series(order_id[review_rows["order"].to_numpy()]),
        *TABLES["order_reviews"].header[2:],
    )
    truth = pl.DataFrame(
        {
            "customer_unique_id": unique_id[cust],
            "order_id": order_id[o],
            "order_purchase_timestamp": pl.from_epoch(orders["order_purchase_timestamp"], time_unit="s"),
            "propensity": propensity,
        }
    ).sort("customer_unique_id", "order_purchase_timestamp")

    def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
        return frame[rng.permutation(frame.height)]

    return _Chunk(
        tables={
            "customers": shuffled(customers_out),
            "orders": shuffled(orders_out),
            "order_items": items_out,
            "order_payments": shuffled(payments_out),
            "order_reviews": shuffled(reviews_out),
        },
        truth=truth,
        zip_usage=np.bincount(zip_prefix, minlength=N_PREFIXES),
    )
