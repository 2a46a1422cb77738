"""``olist-next bench crm``: how fast the CRM reads, on the lake ``olist-next run`` built.

Times the store calls behind each screen (the Streamlit rendering on top is the browser's):
the week's queue, and opening a customer (Customer 360, delivery history, reviews, current draft),
for 50 customers of the latest campaign week. Target: opening a customer under 1 s.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path


def main(lake: str | None = None, customers: int = 50) -> int:
    from olist_next_assets.crm.data import Store
    from olist_next_assets.defs.resources import dagster_home

    root = Path(lake or os.environ.get("OLIST_LAKE_ROOT") or dagster_home() / "lake")
    store = Store(root)
    weeks = store.weeks()
    if not weeks:
        raise SystemExit(f"No campaign in {root}: run `olist-next run` first.")
    week = weeks[0]
    started = time.perf_counter()
    queue = store.queue(week)
    queue_seconds = time.perf_counter() - started
    ids = queue.filter(queue["group"] == "email")["customer_unique_id"].to_list()[:customers]
    times = []
    for customer in ids:
        started = time.perf_counter()
        store.customer(week, customer)
        store.current_draft(week, customer)
        times.append(time.perf_counter() - started)
    snapshot_rows = store._scan("gold", "customer_360").select("week").collect().height
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"olist-next bench crm: lake {root} ({snapshot_rows:,} snapshot rows), week {week}, {queue.height:,} "
          f"targets, {len(ids)} customers opened")
    print(f"| {'read':<44} | {'seconds':>8} | {'target':>7} | ok |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 9}|----|")
    print(f"| {'the week queue (targets, drafts, decisions)':<44} | {queue_seconds:>8.3f} | {'':>7} |    |")
    print(f"| {'open a customer, median':<44} | {statistics.median(times):>8.3f} | {'<1 s':>7} | "
          f"{'yes' if statistics.median(times) < 1 else 'NO':>2} |")
    print(f"| {'open a customer, 95th percentile':<44} | {p95:>8.3f} | {'<1 s':>7} | {'yes' if p95 < 1 else 'NO':>2} |")
    return 0
