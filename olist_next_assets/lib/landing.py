"""The landing zone as a sequence of drops (the local analogue of Auto Loader).

A drop is a folder under ``<landing>/drops/`` (a dated name such as ``2018-10-22`` sorts in
arrival order) holding any of the nine exports, complete when its ``_SUCCESS`` marker exists:
the uploader writes the marker last, so a half-written drop is never read. Each table is read
from the latest complete drop that has it, else from the landing root (where ``olist-next
generate`` and a manual download put the files). A file version is its drop, name, size and
modification time: the sensor's cursor remembers the versions it has requested runs for.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from olist_next_assets.lib.contracts import CONTRACTS, SOURCE_FILES

DROPS_DIR = "drops"
MARKER = "_SUCCESS"
EVENT_TABLES_BY_FILE = {c.source_file: name for name, c in CONTRACTS.items() if c.partitioned}


def complete_drops(root: Path) -> list[Path]:
    drops = root / DROPS_DIR
    if not drops.is_dir():
        return []
    return sorted(d for d in drops.iterdir() if d.is_dir() and (d / MARKER).is_file())


def resolve(root: Path, source_file: str) -> Path:
    """The file a table is read from: the latest complete drop that has it, else the root."""
    for drop in reversed(complete_drops(root)):
        if (drop / source_file).is_file():
            return drop / source_file
    return root / source_file


def version(path: Path) -> str:
    stat = path.stat()
    return f"{path.parent.name}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def current_files(root: Path, settle_seconds: float, now: float) -> dict[str, Path]:
    """The file each table would be read from now, if it is settled: files in complete drops
    always; files in the root only when untouched for ``settle_seconds`` (still being copied
    otherwise)."""
    files = {}
    for name in SOURCE_FILES:
        path = resolve(root, name)
        if not path.is_file():
            continue
        if path.parent == root and now - path.stat().st_mtime < settle_seconds:
            continue
        files[name] = path
    return files


def affected_weeks(changed: dict[str, Path], orders_weeks: pl.DataFrame | None) -> list[dt.date] | None:
    """The weekly partitions a set of changed files touches; None means every week.

    Event rows belong to their order's purchase week: the weeks of the orders file itself, and
    for items, payments and reviews the weeks of the orders they reference (looked up in
    ``orders_weeks``: order_id -> week, from bronze). A changed dimension table (customers,
    products, sellers, geolocation, categories) feeds every week, so it affects them all.
    """
    if any(name not in EVENT_TABLES_BY_FILE for name in changed):
        return None
    try:
        return _event_weeks(changed, orders_weeks)
    except pl.exceptions.PolarsError:
        # A file polars cannot scan as it is (bytes that are not UTF-8, broken quoting, a renamed
        # column): run every week; the bronze assets quarantine or refuse it with the reason.
        return None


def _event_weeks(changed: dict[str, Path], orders_weeks: pl.DataFrame | None) -> list[dt.date] | None:
    weeks: set[dt.date] = set()
    for name, path in changed.items():
        if EVENT_TABLES_BY_FILE[name] == "orders":
            purchased = pl.scan_csv(path, infer_schema=False).select(
                pl.col("order_purchase_timestamp").str.to_datetime(strict=False).dt.truncate("1w").dt.date()
            ).drop_nulls().unique().collect()
            weeks |= set(purchased.to_series().to_list())
        else:
            if orders_weeks is None:
                return None
            ids = pl.scan_csv(path, infer_schema=False).select("order_id").unique()
            found = ids.join(orders_weeks.lazy(), on="order_id").select("week").unique().collect()
            weeks |= set(found.to_series().to_list())
    return sorted(weeks)


def contiguous_ranges(weeks: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive weeks grouped into (first, last) ranges: one single-run backfill each."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for week in weeks:
        if ranges and week - ranges[-1][1] == dt.timedelta(weeks=1):
            ranges[-1] = (ranges[-1][0], week)
        else:
            ranges.append((week, week))
    return ranges
