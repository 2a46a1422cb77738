"""Running the asset graph from Python: the code behind ``olist-next run`` and the benchmarks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from olist_next_assets.lib.contracts import SOURCE_FILES

DEFAULT_CUSTOMERS = 96_096


@dataclass(frozen=True)
class TableSummary:
    name: str
    rows: int
    version: int
    uri: str


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME must be absolute; default to the repository's ``dagster_home/``."""
    from olist_next_assets.defs.resources import dagster_home

    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def landing_dir() -> Path:
    return Path(os.environ.get("OLIST_LANDING_DIR") or ensure_dagster_home() / "landing").resolve()


def missing_sources(landing: Path) -> list[str]:
    return [name for name in SOURCE_FILES if not (landing / name).is_file()]


def ensure_landing(landing: Path, customers: int, seed: int) -> str:
    """Generate the synthetic release into an empty landing zone; never touch real drops."""
    missing = missing_sources(landing)
    if not missing:
        return "existing files"
    if landing.exists() and any(landing.glob("*.csv")):
        raise SystemExit(
            f"The landing zone {landing} is incomplete: missing {', '.join(missing)}. "
            "Add the missing exports or empty the folder to generate synthetic data."
        )
    from olist_next_assets.lib.synthetic import generate

    generate(landing, customers=customers, seed=seed)
    return f"generated ({customers:,} customers, seed {seed})"


def run_all(job_name: str = "olist_next_job", instance: dg.DagsterInstance | None = None,
            first: str | None = None, last: str | None = None) -> dg.ExecuteInProcessResult:
    """Materialize a job's assets for every week (or ``first..last``) in one run (single-run backfill).

    Dagster's SQLite event log costs about 12 ms per event, and by default a single-run backfill
    logs one "planned" event per asset and partition before it starts (~5 s for bronze alone).
    DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS makes it one event per asset (Dagster's own
    switch; the trade-off is that a failed run does not mark each planned partition as failed).
    """
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    from olist_next_assets.definitions import defs
    from olist_next_assets.defs.partitions import weekly_partitions

    keys = weekly_partitions.get_partition_keys()
    first, last = first or keys[0], last or keys[-1]
    for key in (first, last):
        if key not in keys:
            raise SystemExit(f"{key} is not a weekly partition (Mondays from {keys[0]} to {keys[-1]}).")
    if first > last:
        raise SystemExit(f"--from {first} is after --to {last}.")
    job = defs.resolve_job_def(job_name)
    weekly = job.partitions_def is not None
    return job.execute_in_process(
        instance=instance or dg.DagsterInstance.get(),
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last} if weekly else None,
        # the console shows what the assets say and what fails, not every event (the UI has those)
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("OLIST_LOG_LEVEL", "INFO")}}}},
        raise_on_error=False,
    )


def model_summary(lake_root: str) -> list[str]:
    """Lines about the latest weekly model and its scores, for the end of ``olist-next run``."""
    import polars as pl

    records_path, scores_path = Path(lake_root, "ml", "churn_model"), Path(lake_root, "ml", "churn_scores")
    if not (records_path / "_delta_log").exists():
        return []
    records = pl.read_delta(str(records_path)).sort("week")
    in_use = records.drop_nulls("model_version")
    first = in_use["week"].min() if in_use.height else "none"
    trained = records.filter(pl.col("status") == "trained").height
    lines = [(f"Churn model: {trained} training weeks, {in_use.height} of {records.height} weeks with a model in use "
              f"(first: {first}).")]
    if in_use.height:
        r = in_use.row(-1, named=True)
        ceiling = f", best achievable {r['best_achievable_roc_auc']:.3f}" if r["best_achievable_roc_auc"] else ""
        lines.append(
            f"  model v{r['model_version']} (week {r['week']}): out-of-time ROC-AUC {r['roc_auc']:.3f} "
            f"(recency rule {r['recency_roc_auc']:.3f}, RFM logistic {r['rfm_roc_auc']:.3f}{ceiling}), "
            f"PR-AUC {r['pr_auc']:.4f} (recency {r['recency_pr_auc']:.4f}), top-decile lift {r['top_decile_lift']:.2f}"
        )
    if (scores_path / "_delta_log").exists():
        scores = pl.scan_delta(str(scores_path))
        n, weeks = scores.select(pl.len(), pl.col("week").n_unique()).collect().row(0)
        lines.append(f"  {n:,} customer scores over {weeks} weeks (ml/churn_scores)")
    emails_path = Path(lake_root, "outreach", "retention_emails")
    if (emails_path / "_delta_log").exists():
        emails = pl.read_delta(str(emails_path), columns=["week", "group", "status", "needs_review", "model"])
        sent = emails.filter(pl.col("group") == "email")
        lines.append(
            f"Retention e-mails: {sent.height:,} written over {sent['week'].n_unique()} campaign weeks by "
            f"{', '.join(sorted(sent['model'].drop_nulls().unique()))}; {int(sent['needs_review'].sum()):,} need review; "
            f"{emails.height - sent.height:,} customers held out (outreach/retention_emails)"
        )
    return lines


def table_summaries(lake_root: str, layers: tuple[str, ...] = ("bronze", "quarantine", "silver", "gold", "ml", "outreach")) -> list[TableSummary]:
    import polars as pl
    from deltalake import DeltaTable

    summaries = []
    for layer in layers:
        for path in sorted(Path(lake_root, layer).glob("*/_delta_log")):
            table = DeltaTable(str(path.parent))
            rows = pl.scan_delta(str(path.parent)).select(pl.len()).collect().item()
            summaries.append(TableSummary(f"{layer}/{path.parent.name}", rows, table.version(), str(path.parent)))
    return summaries
