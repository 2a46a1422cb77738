"""Where customers and sellers live: states, cities, 5-digit CEP prefixes and their coordinates.

The map is fixed (it does not depend on the seed): each state owns its real CEP range, split
into contiguous city blocks (capital first, blocks sized by city weight), and every prefix has a
fixed point near its city. Addresses and geolocation rows are then sampled from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from numpy.typing import NDArray

from .vocab import CAPITAL_COORDS, STATES

N_PREFIXES = 100_000
ACTIVE_SHARE = 0.17  # addresses use the first sixth of each city block (its urban core), denser at its start
_MAP_SEED = 20_180_901  # the map is part of the vocabulary, identical for every seed


@dataclass(frozen=True)
class World:
    """Arrays over states (27), cities (ordered by state) and all 100,000 CEP prefixes."""

    state_code: NDArray[np.str_]
    state_lat: NDArray[np.float64]
    state_lng: NDArray[np.float64]
    state_customer_p: NDArray[np.float64]
    state_seller_p: NDArray[np.float64]
    state_delivery_days: NDArray[np.float64]
    state_promise: NDArray[np.float64]
    state_repeat: NDArray[np.float64]
    city_name: NDArray[np.str_]
    city_state: NDArray[np.int64]
    city_key: NDArray[np.float64]  # state index + cumulative city probability within the state
    city_zip_lo: NDArray[np.int64]
    city_zip_size: NDArray[np.int64]
    prefix_city: NDArray[np.int64]  # -1 outside every state range
    prefix_lat: NDArray[np.float64]
    prefix_lng: NDArray[np.float64]

    def sample_addresses(
        self, rng: np.random.Generator, state_p: NDArray[np.float64], n: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """(state, city, zip prefix) for n addresses, in the first (urban) part of each city block."""
        state = rng.choice(len(state_p), size=n, p=state_p)
        city = np.searchsorted(self.city_key, state + rng.random(n), side="right")
        active = np.ceil(self.city_zip_size[city] * ACTIVE_SHARE)
        zip_prefix = self.city_zip_lo[city] + (active * rng.random(n) ** 2).astype(np.int64)
        return state, city, zip_prefix

    def state_distance(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
        """Rough distance in degrees between state centres: drives freight and delivery time."""
        return np.hypot(self.state_lat[a] - self.state_lat[b], self.state_lng[a] - self.state_lng[b])


@cache
def world() -> World:
    rng = np.random.default_rng(_MAP_SEED)
    names: list[str] = []
    city_state: list[int] = []
    keys: list[NDArray[np.float64]] = []
    lo: list[NDArray[np.int64]] = []
    size: list[NDArray[np.int64]] = []
    lat: list[NDArray[np.float64]] = []
    lng: list[NDArray[np.float64]] = []
    for s, state in enumerate(STATES):
        n = len(state.cities)
        rest = 1.0 / np.arange(2, n + 1, dtype=np.float64)
        w = np.concatenate([[state.capital_share], (1 - state.capital_share) * rest / rest.sum()])
        keys.append(s + np.minimum(np.cumsum(w), 1.0))
        keys[-1][-1] = s + 1.0
        span = state.zip_hi - state.zip_lo + 1
        blocks = np.maximum((span * w**0.6 / (w**0.6).sum()).astype(np.int64), 5)
        blocks[-1] = span - blocks[:-1].sum()
        lo.append(state.zip_lo + np.concatenate([[0], np.cumsum(blocks[:-1])]))
        size.append(blocks)
        c_lat = state.lat + state.spread * rng.uniform(-1, 1, n)
        c_lng = state.lng + state.spread * rng.uniform(-1, 1, n)
        c_lat[0], c_lng[0] = CAPITAL_COORDS[state.code]
        lat.append(c_lat)
        lng.append(c_lng)
        names.extend(state.cities)
        city_state.extend([s] * n)
    city_zip_lo = np.concatenate(lo)
    city_zip_size = np.concatenate(size)
    prefix_city = np.full(N_PREFIXES, -1, dtype=np.int64)
    for c in range(len(names)):
        prefix_city[city_zip_lo[c] : city_zip_lo[c] + city_zip_size[c]] = c
    inside = prefix_city >= 0
    city_lat, city_lng = np.concatenate(lat), np.concatenate(lng)
    # A prefix sits within ~0.1 degree of its city (further for the first, largest blocks).
    prefix_lat = np.where(inside, city_lat[prefix_city] + rng.normal(0, 0.05, N_PREFIXES), np.nan)
    prefix_lng = np.where(inside, city_lng[prefix_city] + rng.normal(0, 0.05, N_PREFIXES), np.nan)
    return World(
        state_code=np.array([s.code for s in STATES]),
        state_lat=np.array([s.lat for s in STATES]),
        state_lng=np.array([s.lng for s in STATES]),
        state_customer_p=_normalise([s.customers for s in STATES]),
        state_seller_p=_normalise([s.sellers for s in STATES]),
        state_delivery_days=np.array([s.delivery_days for s in STATES]),
        state_promise=np.array([s.promise for s in STATES]),
        state_repeat=np.array([s.repeat for s in STATES]),
        city_name=np.array(names),
        city_state=np.array(city_state, dtype=np.int64),
        city_key=np.concatenate(keys),
        city_zip_lo=city_zip_lo,
        city_zip_size=city_zip_size,
        prefix_city=prefix_city,
        prefix_lat=prefix_lat,
        prefix_lng=prefix_lng,
    )


def _normalise(values: list[int]) -> NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()


def geolocation_blocks(
    rng: np.random.Generator, used: NDArray[np.int64], n_rows: int, n_prefixes: int, block_rows: int = 2_000_000
) -> Iterator[pl.DataFrame]:
    """Geolocation rows in zip order: every used prefix plus unused ones up to ``n_prefixes``.

    ``used`` counts addresses per prefix (length 100,000). Busy prefixes get more rows (the
    real file has 1 to over 1,000 points per prefix); points scatter around the prefix location.
    Yields blocks of at most ~``block_rows`` rows so a large release stays in bounded memory.
    """
    w = world()
    inside = w.prefix_city >= 0
    chosen = used > 0
    spare = np.flatnonzero(inside & ~chosen)
    extra = max(n_prefixes - int(chosen.sum()), 0)
    chosen[rng.choice(spare, size=min(extra, spare.size), replace=False)] = True
    prefixes = np.flatnonzero(chosen)
    weight = (1.0 + used[prefixes]) ** 0.6 * rng.gamma(0.7, 1.0, prefixes.size)
    per_prefix = 1 + rng.multinomial(max(n_rows - prefixes.size, 0), weight / weight.sum())
    ends = np.cumsum(per_prefix)
    cuts = np.searchsorted(ends, np.arange(block_rows, ends[-1], block_rows), side="right")
    for block in np.split(np.arange(prefixes.size), cuts):
        if block.size == 0:
            continue
        zips = np.repeat(prefixes[block], per_prefix[block])
        city = w.prefix_city[zips]
        yield pl.DataFrame(
            {
                "zip_prefix": zips,
                "lat": w.prefix_lat[zips] + rng.normal(0, 0.01, zips.size),
                "lng": w.prefix_lng[zips] + rng.normal(0, 0.01, zips.size),
                "city": pl.Series(w.city_name).gather(city),
                "state": pl.Series(w.state_code).gather(w.city_state[city]),
            }
        )
