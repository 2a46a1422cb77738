"""``olist-next bench features``: silver plus every weekly Customer 360 snapshot, and the cost of one week.

Stages run in fresh processes (timed wall-clock, peak memory from rusage) on a fresh
DAGSTER_HOME with the project's ``dagster.yaml``:

* setup (not a target): generate the release and backfill bronze;
* ``features_job`` through Dagster (silver + all snapshots + labels, checks, SQLite event log);
* the same transformations and Delta writes without Dagster, to separate our cost from the
  orchestrator's (Dagster logs one event per asset and week).

Then, in this process, the incremental cost: computing week W from the stored week W-1 for the
first week, a mid-history week and the last week, against a full recomputation of the last week.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from olist_next_assets.bench.ingest import CLI, Scratch, Stage, run_stage

DIRECT = "from olist_next_assets.bench.features import direct; direct()"


def direct() -> None:
    """Silver + gold snapshots + labels with plain function calls and Delta writes (no Dagster)."""
    import polars as pl
    from deltalake import write_deltalake

    from olist_next_assets.defs.partitions import weekly_partitions
    from olist_next_assets.lib import silver, snapshots
    from olist_next_assets.lib.delta_io import arrow_stream
    from olist_next_assets.lib.sentiment import sentiment_expr

    lake = Path(os.environ["OLIST_LAKE_ROOT"])
    out = lake.parent / "direct"
    bronze = {t: pl.scan_delta(str(lake / "bronze" / t)) for t in
              ("orders", "customers", "order_items", "products", "category_translation", "order_payments",
               "order_reviews")}
    tables = {
        "orders": silver.silver_orders(bronze["orders"], bronze["customers"]),
        "order_lines": silver.silver_order_lines(bronze["order_items"], bronze["products"],
                                                 bronze["category_translation"]),
        "order_payments": silver.silver_payments(bronze["order_payments"]),
        "order_reviews": silver.silver_reviews(bronze["order_reviews"], sentiment_expr("review_comment_message")),
    }
    frames = dict(zip(tables, pl.collect_all(list(tables.values())), strict=True))
    frames["completed_orders"] = silver.completed_orders(frames["orders"].lazy(), frames["order_payments"].lazy()).collect()
    for name, frame in frames.items():
        write_deltalake(str(out / "silver" / name), frame.to_arrow(), mode="overwrite", partition_by=["week"])
    events = snapshots.build_events(*(frames[n].lazy() for n in ("orders", "order_lines", "order_payments", "order_reviews")))
    weeks = [dt.date.fromisoformat(k) for k in weekly_partitions.get_partition_keys()]
    weekly = snapshots.snapshots(events, weeks)
    first = next(weekly)
    write_deltalake(str(out / "gold" / "customer_360"), arrow_stream(first.schema, itertools.chain([first], weekly), [0]),
                    mode="overwrite", partition_by=["week"])
    snap = pl.scan_delta(str(out / "gold" / "customer_360")).select("week", "cutoff", "customer_unique_id").collect()
    data_end = snapshots.data_coverage_end(frames["orders"]["purchased_at"])
    labels = [snapshots.churn_labels(snap, events.purchases, 180, data_end)]
    write_deltalake(str(out / "gold" / "churn_labels"), arrow_stream(snapshots.LABEL_SCHEMA, labels, [0]),
                    mode="overwrite", partition_by=["week"])


def incremental_costs(lake: Path) -> list[tuple[str, float, int]]:
    """Seconds to compute one week from the stored previous week (median of 5), and rows out."""
    import polars as pl

    from olist_next_assets.defs.partitions import weekly_partitions
    from olist_next_assets.lib import snapshots

    silver = {n: pl.scan_delta(str(lake / "silver" / n)) for n in ("orders", "order_lines", "order_payments", "order_reviews")}
    events = snapshots.build_events(silver["orders"], silver["order_lines"], silver["order_payments"], silver["order_reviews"])
    stored = pl.read_delta(str(lake / "gold" / "customer_360"))
    keys = weekly_partitions.get_partition_keys()
    weeks = {"first week": keys[1], "mid-history week": keys[len(keys) // 2], "last week": keys[-1]}
    results = []
    for label, key in weeks.items():
        week = dt.date.fromisoformat(key)
        previous = stored.filter(pl.col("week") == week - snapshots.WEEK)
        times, rows = [], 0
        for _ in range(5):
            started = time.perf_counter()
            (frame,) = snapshots.snapshots(events, [week], previous=previous)
            times.append(time.perf_counter() - started)
            rows = frame.height
        results.append((f"{label} {key}, from stored W-1", statistics.median(times), rows))
    last = dt.date.fromisoformat(keys[-1])
    times = []
    for _ in range(5):
        started = time.perf_counter()
        frame = snapshots.snapshot(events, last)
        times.append(time.perf_counter() - started)
    results.append((f"last week {keys[-1]}, full recomputation", statistics.median(times), frame.height))
    return results


def main(customers: int, seed: int, keep: bool = False) -> int:
    scratch = Scratch.create("olist-bench-features-")
    home, env, cli = scratch.home, scratch.env, CLI
    try:
        scratch.generate("setup: generate", customers, seed)
        run_stage("setup: bronze", [*cli, "run", "--job", "bronze_job"], env)
        stages: list[Stage] = [
            run_stage("features_job through Dagster", [*cli, "run", "--job", "features_job"], env),
            run_stage("same work without Dagster", [sys.executable, "-c", DIRECT], env),
        ]
        weekly = incremental_costs(home / "lake")
        import polars as pl

        snapshot_rows = pl.scan_delta(str(home / "lake" / "gold" / "customer_360")).select(pl.len()).collect().item()
    finally:
        if not keep:
            shutil.rmtree(scratch.root, ignore_errors=True)
    print(f"olist-next bench features: {customers:,} customers, seed {seed}, {os.cpu_count()} cores, "
          f"{snapshot_rows:,} snapshot rows over all weeks")
    print(f"| {'silver + all weekly snapshots + labels':<40} | {'seconds':>8} | {'peak MB':>8} | {'target':>16} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 10}|{'-' * 18}|")
    for stage in stages:
        print(f"| {stage.name:<40} | {stage.seconds:>8.2f} | {stage.peak_mb:>8.0f} | {'<20 s, <3 GB':>16} |")
    print()
    print(f"| {'one snapshot week (compute only)':<48} | {'seconds':>8} | {'rows':>8} |")
    print(f"|{'-' * 50}|{'-' * 10}|{'-' * 10}|")
    for label, seconds, rows in weekly:
        print(f"| {label:<48} | {seconds:>8.3f} | {rows:>8,} |")
    mid, last = weekly[1][1], weekly[2][1]
    print(f"\nlast week / mid-history week = {last / mid:.2f} (target: within 2x)")
    return 0
