"""``olist-next bench engines``: landing zone to gold for the whole history, polars vs Spark, at 1x and 10x.

For each scale the synthetic release is generated once (1x = 96,096 customers, the size of the
public Olist release; 10x = 960,960). Then, for each engine, ``olist-next run --job lake_job``
(bronze, quarantine, silver, gold with every check) runs in a fresh process on a fresh
DAGSTER_HOME, exactly as a user would run it. Wall time is the process's; peak memory is the
highest total resident memory of the process *tree*, sampled every 0.2 s (Spark's JVM is a child
process, so the kernel's rusage of the Python process would miss it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from olist_next_assets.bench.ingest import CLI, Scratch
from olist_next_assets.pipeline import DEFAULT_CUSTOMERS

TARGET_10X = {"polars": (300.0, 6144.0)}  # 5 minutes, 6 GB on 2 cores


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float
    snapshot_rows: int = 0


def measure(argv: list[str], env: dict[str, str]) -> Measure:
    """Run a command; wall seconds and the peak resident memory of its whole process tree."""
    peak = [0]
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            parent = psutil.Process(process.pid)
            while not done.is_set():
                try:
                    tree = [parent, *parent.children(recursive=True)]
                    peak[0] = max(peak[0], sum(_rss(p) for p in tree))
                except psutil.NoSuchProcess:
                    return
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        if code != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed:\n{log.read().decode(errors='replace')[-4000:]}")
    return Measure(seconds, peak[0] / 2**20)


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def run_scale(scale: int, engines: list[str], seed: int, keep: bool) -> tuple[Measure, dict[str, Measure]]:
    customers = DEFAULT_CUSTOMERS * scale
    scratch = Scratch.create(f"olist-bench-engines-{scale}x-")
    try:
        generation = measure([*CLI, "generate", "--out", str(scratch.landing), "--customers", str(customers),
                              "--seed", str(seed)], scratch.env)
        results = {}
        for engine in engines:
            home = scratch.root / f"home_{engine}"
            home.mkdir()
            shutil.copy(scratch.home / "dagster.yaml", home / "dagster.yaml")
            env = {**scratch.env, "DAGSTER_HOME": str(home), "OLIST_LAKE_ROOT": str(home / "lake"),
                   "OLIST_ENGINE": engine}
            result = measure([*CLI, "run", "--job", "lake_job"], env)
            results[engine] = Measure(result.seconds, result.peak_mb, _rows(home / "lake" / "gold" / "customer_360"))
            # progress on stderr as each run ends (the table comes at the end; a 10x Spark run is long)
            print(f"{scale}x {engine}: {result.seconds:.1f} s, peak {result.peak_mb:.0f} MB", file=sys.stderr, flush=True)
        return generation, results
    finally:
        if keep:
            print(f"scratch kept in {scratch.root}", file=sys.stderr)
        else:
            shutil.rmtree(scratch.root, ignore_errors=True)


def _rows(table: Path) -> int:
    import polars as pl

    return pl.scan_delta(str(table)).select(pl.len()).collect().item()


def main(scales: list[int], engines: list[str], seed: int = 42, keep: bool = False) -> int:
    results = {}
    for scale in scales:
        results[scale] = run_scale(scale, engines, seed, keep)
    print(f"olist-next bench engines: landing zone to gold (lake_job: bronze, quarantine, silver, gold, all "
          f"checks), whole history, seed {seed}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB")
    print(f"| {'scale':<5} | {'customers':>9} | {'generate s':>10} | {'engine':<6} | {'snapshot rows':>13} | "
          f"{'seconds':>8} | {'peak MB':>8} | {'vs polars':>9} | {'target':>13} |")
    print(f"|{'-' * 7}|{'-' * 11}|{'-' * 12}|{'-' * 8}|{'-' * 15}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 15}|")
    for scale, (generation, by_engine) in results.items():
        base = by_engine.get("polars")
        for engine, m in by_engine.items():
            ratio = f"{m.seconds / base.seconds:.2f}x" if base else ""
            target = ""
            if scale == 10 and engine in TARGET_10X:
                seconds, mb = TARGET_10X[engine]
                ok = m.seconds < seconds and m.peak_mb < mb
                target = f"<{seconds / 60:.0f} min <{mb / 1024:.0f} GB {'ok' if ok else 'NO'}"
            print(f"| {scale:>4}x | {DEFAULT_CUSTOMERS * scale:>9,} | {generation.seconds:>10.1f} | {engine:<6} | "
                  f"{m.snapshot_rows:>13,} | {m.seconds:>8.1f} | {m.peak_mb:>8.0f} | {ratio:>9} | {target:>13} |")
    if len(results) > 1:
        low, high = min(results), max(results)
        print()
        for engine in engines:
            a, b = results[low][1][engine], results[high][1][engine]
            growth = b.seconds / a.seconds
            print(f"{engine}: {high // low}x the data took {growth:.1f}x the time "
                  f"({growth / (high / low):.2f} of linear), {b.peak_mb / a.peak_mb:.1f}x the memory")
    return 0
