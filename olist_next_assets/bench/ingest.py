"""``olist-next bench ingest``: generation and full bronze backfill at a given scale.

Each stage runs in a fresh Python process (imports and Dagster's own overhead included), timed
wall-clock, with its peak resident memory from the kernel's rusage. The backfill runs
``olist-next run --job bronze_job`` against a fresh DAGSTER_HOME with the project's
``dagster.yaml`` (SQLite storage), exactly as a user would. A bare polars read of the same CSVs
is the reference for what parsing alone costs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TARGETS = {"generate": (10.0, 2048), "bronze backfill": (15.0, 2048)}
BARE_READ = (
    "import sys, polars as pl, pathlib;"
    "[pl.read_csv(p, infer_schema=False) for p in pathlib.Path(sys.argv[1]).glob('*.csv')]"
)


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    peak_mb: float


def run_stage(name: str, argv: list[str], env: dict[str, str]) -> Stage:
    """Run one stage in a child process; its logs go to a file (a pipe could fill and block it)."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise SystemExit(f"stage {name!r} failed:\n{log.read().decode(errors='replace')[-3000:]}")
    return Stage(name, seconds, usage.ru_maxrss / 1024)


CLI = [sys.executable, "-m", "olist_next_assets.cli"]


@dataclass(frozen=True)
class Scratch:
    """A throw-away landing zone and DAGSTER_HOME (with the project's dagster.yaml)."""

    root: Path
    landing: Path
    home: Path
    env: dict[str, str]

    @classmethod
    def create(cls, prefix: str) -> Scratch:
        root = Path(tempfile.mkdtemp(prefix=prefix))
        landing, home = root / "landing", root / "dagster_home"
        home.mkdir()
        shutil.copy(Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(home), "OLIST_LANDING_DIR": str(landing),
               "OLIST_LAKE_ROOT": str(home / "lake")}
        return cls(root, landing, home, env)

    def generate(self, name: str, customers: int, seed: int) -> Stage:
        argv = [*CLI, "generate", "--out", str(self.landing), "--customers", str(customers), "--seed", str(seed)]
        return run_stage(name, argv, self.env)


def main(customers: int, seed: int, keep: bool = False) -> int:
    scratch = Scratch.create("olist-bench-")
    landing, home, env, cli = scratch.landing, scratch.home, scratch.env, CLI
    try:
        stages = [
            scratch.generate("generate", customers, seed),
            run_stage("bare polars read (reference)", [sys.executable, "-c", BARE_READ, str(landing)], env),
            run_stage("bronze backfill", [*cli, "run", "--job", "bronze_job"], env),
        ]
        rows = _source_rows(home / "lake")
    finally:
        if not keep:
            shutil.rmtree(scratch.root, ignore_errors=True)
    print(f"olist-next bench ingest: {customers:,} customers, seed {seed}, {os.cpu_count()} cores, "
          f"{rows:,} source rows in 9 files")
    print(f"| {'stage':<30} | {'seconds':>8} | {'rows/s':>10} | {'peak MB':>8} | {'target':>16} | ok |")
    print(f"|{'-' * 32}|{'-' * 10}|{'-' * 12}|{'-' * 10}|{'-' * 18}|----|")
    for stage in stages:
        target = TARGETS.get(stage.name)
        goal = f"<{target[0]:.0f} s, <{target[1] / 1024:.0f} GB" if target else ""
        ok = "" if not target else ("yes" if stage.seconds < target[0] and stage.peak_mb < target[1] else "NO")
        print(f"| {stage.name:<30} | {stage.seconds:>8.2f} | {rows / stage.seconds:>10,.0f} | "
              f"{stage.peak_mb:>8.0f} | {goal:>16} | {ok:>2} |")
    if keep:
        print(f"scratch kept in {scratch.root}")
    return 0


def _source_rows(lake: Path) -> int:
    import polars as pl

    return sum(
        pl.scan_delta(str(log.parent)).select(pl.len()).collect().item()
        for layer in ("bronze", "quarantine")
        for log in (lake / layer).glob("*/_delta_log")
    )
