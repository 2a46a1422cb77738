"""The model of each week, in week order: train on cadence, otherwise carry the model in use.

This is the logic of the weekly ``ml/churn_model`` partitions (one record per week): what the
system could have known and decided at week W's cutoff, so a backfill is a true backtest.

* No model until enough labels have matured (the record says why).
* A retrain week (every ``cadence_weeks`` weeks from the first partition, or the first week a
  model is possible) trains a challenger on its windows. It is registered in MLflow either way.
* The quality gate: a model may be in use only if it beats the recency-only rule on ROC-AUC and
  PR-AUC on the latest validation window. The challenger replaces the incumbent if it passes and
  beats it on the *same* window (ROC-AUC; a tie keeps the incumbent). If neither passes, no
  model is in use that week (no scores, so no campaign on a model no better than recency).
  Both scores and the decision are recorded.
* Any other week carries the previous week's decision forward, and says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from olist_next_assets.lib.churn import plots
from olist_next_assets.lib.churn.ceiling import best_achievable_roc_auc
from olist_next_assets.lib.churn.features import FEATURES
from olist_next_assets.lib.churn.metrics import evaluate
from olist_next_assets.lib.churn.tracking import Tracker
from olist_next_assets.lib.churn.training import DEFAULT_PARAMS, evaluate_all, fit, labelled, sample_majority
from olist_next_assets.lib.churn.windows import NoModel, Windows, model_windows
from olist_next_assets.lib.contracts import TIMESTAMP, WEEK_COLUMN
from olist_next_assets.lib.snapshots import cutoff_of

NO_MODEL, TRAINED, CARRIED = "no_model", "trained", "carried"

RECORD_SCHEMA = pl.Schema({
    WEEK_COLUMN: pl.Date, "cutoff": TIMESTAMP, "status": pl.String, "model_version": pl.Int64,
    "model_trained_week": pl.Date, "mlflow_run_id": pl.String, "challenger_version": pl.Int64,
    "challenger_roc_auc": pl.Float64, "incumbent_roc_auc": pl.Float64, "decision": pl.String,
    "train_from": pl.Date, "train_to": pl.Date, "validation_from": pl.Date, "validation_to": pl.Date,
    "train_rows": pl.Int64, "validation_rows": pl.Int64, "roc_auc": pl.Float64, "pr_auc": pl.Float64,
    "top_decile_lift": pl.Float64, "brier": pl.Float64, "recency_roc_auc": pl.Float64, "recency_pr_auc": pl.Float64,
    "rfm_roc_auc": pl.Float64, "rfm_pr_auc": pl.Float64, "shuffled_roc_auc": pl.Float64,
    "best_achievable_roc_auc": pl.Float64, "share_of_best": pl.Float64, "features": pl.String, "params": pl.String,
    "params_source": pl.String, "train_seconds": pl.Float64, "note": pl.String,
})


@dataclass(frozen=True)
class BacktestConfig:
    cadence_weeks: int = 4
    validation_weeks: int = 4
    negatives_per_positive: float = 20.0
    min_train_positives: int = 300
    min_validation_positives: int = 20
    seed: int = 42
    threads: int | None = None


@dataclass
class WeekInputs:
    """What every week's decision reads (the lazy gold tables and their context)."""

    snapshots: pl.LazyFrame
    labels: pl.LazyFrame
    label_summary: pl.DataFrame
    first_partition: dt.date
    truth_file: Path | None
    tuned: pl.DataFrame | None = None  # rows of ml/churn_tuning (as_of_week, params)
    run_tags: dict[str, str] = field(default_factory=dict)  # dagster run id, data versions


def is_retrain_week(week: dt.date, first_partition: dt.date, cadence_weeks: int) -> bool:
    return ((week - first_partition).days // 7) % cadence_weeks == 0


def params_for(week: dt.date, tuned: pl.DataFrame | None) -> tuple[dict[str, Any], str]:
    """The latest tuning done as of ``week`` (never a later one: that would be hindsight)."""
    if tuned is not None and not tuned.is_empty():
        usable = tuned.filter(pl.col("as_of_week") <= week).sort("as_of_week")
        if not usable.is_empty():
            row = usable.row(-1, named=True)
            return {**DEFAULT_PARAMS, **json.loads(row["params"])}, f"tuned as of {row['as_of_week']}"
    return dict(DEFAULT_PARAMS), "defaults"


def _empty_record(week: dt.date) -> dict[str, Any]:
    record = dict.fromkeys(RECORD_SCHEMA.names())
    record.update({WEEK_COLUMN: week, "cutoff": cutoff_of(week)})
    return record


def _carry(week: dt.date, previous: dict[str, Any], note: str) -> dict[str, Any]:
    keep = {k: previous[k] for k in RECORD_SCHEMA.names() if k not in (WEEK_COLUMN, "cutoff")}
    status = CARRIED if previous["model_version"] is not None else NO_MODEL
    return {**_empty_record(week), **keep, "status": status, "challenger_version": None, "challenger_roc_auc": None,
            "incumbent_roc_auc": None, "decision": None, "note": note}


def passes_gate(metrics: dict[str, float], recency: dict[str, float]) -> bool:
    """The quality gate: better than the recency-only rule on both ROC-AUC and PR-AUC."""
    return metrics["roc_auc"] > recency["roc_auc"] and metrics["pr_auc"] > recency["pr_auc"]


def weekly_models(weeks: list[dt.date], previous: dict[str, Any] | None, inputs: WeekInputs, tracker: Tracker,
                  config: BacktestConfig) -> Iterator[dict[str, Any]]:
    """One record per week, in order; ``previous`` is the stored record of the week before."""
    for week in weeks:
        windows = model_windows(
            week, inputs.label_summary, validation_weeks=config.validation_weeks,
            min_train_positives=config.min_train_positives, min_validation_positives=config.min_validation_positives,
        )
        trained_before = previous is not None and previous["train_to"] is not None
        if isinstance(windows, NoModel):
            record = _carry(week, previous, f"carried: {windows.reason}") if trained_before else \
                {**_empty_record(week), "status": NO_MODEL, "note": f"no model: {windows.reason}"}
        elif trained_before and not is_retrain_week(week, inputs.first_partition, config.cadence_weeks):
            record = _carry(week, previous, f"carried: next retrain on the {config.cadence_weeks}-week cadence")
        elif trained_before and (previous["train_to"], previous["validation_to"]) == (windows.train_to, windows.validation_to):
            record = _carry(week, previous, "carried: no labels matured since the last training")
        else:
            has_model = previous is not None and previous["model_version"] is not None
            record = train_week(week, windows, previous if has_model else None, inputs, tracker, config)
        previous = record
        yield record


RECORD_FILE = "weekly_record.json"


def fingerprint(week: dt.date, windows: Windows, params: dict[str, Any], config: BacktestConfig,
                incumbent: dict[str, Any] | None, summary: pl.DataFrame) -> str:
    """What a training week's outcome depends on: rerunning with the same inputs reuses the
    registered model instead of registering a duplicate (so reruns leave the tables identical)."""
    labels = summary.filter(pl.col(WEEK_COLUMN).is_between(windows.train_from, windows.validation_to))
    payload = {
        "week": week, "windows": windows.as_dict(), "params": params,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "threads"},
        "incumbent": incumbent["model_version"] if incumbent else None,
        "labels": labels.select(WEEK_COLUMN, "rows", "positives").rows(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _record_from_json(text: str) -> dict[str, Any]:
    record = json.loads(text)
    for name, dtype in RECORD_SCHEMA.items():
        if dtype == pl.Date and record.get(name):
            record[name] = dt.date.fromisoformat(record[name])
    record["cutoff"] = cutoff_of(record[WEEK_COLUMN])
    return record


def train_week(week: dt.date, windows: Windows, incumbent: dict[str, Any] | None, inputs: WeekInputs,
               tracker: Tracker, config: BacktestConfig) -> dict[str, Any]:
    started = time.monotonic()
    params, params_source = params_for(week, inputs.tuned)
    key = fingerprint(week, windows, params, config, incumbent, inputs.label_summary)
    stored = tracker.find_text({"fingerprint": key}, RECORD_FILE)
    if stored is not None:
        return _record_from_json(stored)
    extra = ["cutoff"]
    train = sample_majority(
        labelled(inputs.snapshots, inputs.labels, windows.train_from, windows.train_to), config.negatives_per_positive,
        config.seed,
    )
    validation = labelled(inputs.snapshots, inputs.labels, windows.validation_from, windows.validation_to,
                          features=[*FEATURES, *extra]).collect()
    model = fit(train, params, seed=config.seed, threads=config.threads)
    train_seconds = time.monotonic() - started
    ev = evaluate_all(model, train, validation, config.seed)
    horizon = int(inputs.label_summary["horizon_days"][0])
    ceiling = best_achievable_roc_auc(validation, inputs.truth_file, horizon) if inputs.truth_file else None

    incumbent_metrics = None
    if incumbent is not None:
        old = tracker.load(incumbent["model_version"])
        incumbent_metrics = evaluate(ev.returned, 1 - old.churn_probability(validation))
    in_use, decision = _decide(ev, incumbent, incumbent_metrics)
    promoted = in_use == "challenger"
    metrics = incumbent_metrics if in_use == "incumbent" else ev.model

    run_id = tracker.start_run(f"churn_model {week}", {"week": str(week), **inputs.run_tags})
    tracker.log(
        run_id,
        params={**{f"xgb_{k}": v for k, v in model.params.items()}, "params_source": params_source,
                **{f"window_{k}": v for k, v in windows.as_dict().items()}, "horizon_days": horizon,
                "negatives_per_positive": config.negatives_per_positive, "seed": config.seed,
                "train_rows": train.height, "validation_rows": validation.height, "features": ",".join(FEATURES)},
        metrics={**{f"val_{k}": v for k, v in ev.model.items()}, **{f"recency_{k}": v for k, v in ev.recency.items()},
                 **{f"rfm_{k}": v for k, v in ev.rfm.items()}, "shuffled_label_roc_auc": ev.shuffled_roc_auc,
                 "train_seconds": train_seconds,
                 **({"best_achievable_roc_auc": ceiling, "share_of_best": ev.model["roc_auc"] / ceiling} if ceiling else {}),
                 **({f"incumbent_{k}": v for k, v in incumbent_metrics.items()} if incumbent_metrics else {})},
        tags={"decision": decision},
    )
    tracker.log_text(run_id, json.dumps(FEATURES, indent=1), "features.json")
    tracker.log_table(run_id, ev.calibration, "calibration.csv")
    scores = {"xgboost": ev.p_return, "recency rule": ev.baseline_p_return["recency"],
              "RFM logistic": ev.baseline_p_return["rfm"]}
    tracker.log_figures(run_id, {
        "roc": plots.roc(ev.returned, scores), "precision_recall": plots.precision_recall(ev.returned, scores),
        "lift": plots.lift_curve(ev.returned, scores), "calibration": plots.calibration(ev.calibration),
        "feature_importance": plots.importance(model.booster.get_score(importance_type="total_gain")),
    })
    version = tracker.log_model(run_id, model, validation.head(5), tags={
        "week": str(week), "roc_auc": f"{ev.model['roc_auc']:.6f}", "params": json.dumps(model.params),
        "promoted": str(promoted).lower(),
    })
    tracker.tag_version(version, {"decision": decision})
    if promoted:
        current = tracker.champion()
        if current is None or current.week <= str(week):  # a backfill of old weeks never moves the alias back
            tracker.set_champion(version)

    kept = incumbent if in_use == "incumbent" else dict.fromkeys(("model_version", "model_trained_week", "mlflow_run_id"))
    record = {
        **_empty_record(week),
        "status": TRAINED,
        "model_version": version if promoted else kept["model_version"],
        "model_trained_week": week if promoted else kept["model_trained_week"],
        "mlflow_run_id": run_id if promoted else kept["mlflow_run_id"],
        "challenger_version": version,
        "challenger_roc_auc": ev.model["roc_auc"],
        "incumbent_roc_auc": incumbent_metrics["roc_auc"] if incumbent_metrics else None,
        "decision": decision,
        "train_from": windows.train_from, "train_to": windows.train_to,
        "validation_from": windows.validation_from, "validation_to": windows.validation_to,
        "train_rows": train.height, "validation_rows": validation.height,
        **{k: metrics[k] for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier")},
        "recency_roc_auc": ev.recency["roc_auc"], "recency_pr_auc": ev.recency["pr_auc"],
        "rfm_roc_auc": ev.rfm["roc_auc"], "rfm_pr_auc": ev.rfm["pr_auc"],
        "shuffled_roc_auc": ev.shuffled_roc_auc,
        "best_achievable_roc_auc": ceiling,
        "share_of_best": metrics["roc_auc"] / ceiling if ceiling else None,
        "features": json.dumps(list((old if in_use == "incumbent" else model).encoder.features)),
        "params": json.dumps((old if in_use == "incumbent" else model).params),
        "params_source": (incumbent or {}).get("params_source") if in_use == "incumbent" else params_source,
        "train_seconds": train_seconds,
        "note": decision,
    }
    # stored with the run, and the run marked complete last: a crash before this line means retrain
    tracker.log_text(run_id, json.dumps({k: v for k, v in record.items() if k != "cutoff"}, default=str), RECORD_FILE)
    tracker.log(run_id, tags={"fingerprint": key})
    return record


def _decide(ev: Any, incumbent: dict[str, Any] | None, incumbent_metrics: dict[str, float] | None) -> tuple[str, str]:
    """Which model is in use after a training week ("challenger", "incumbent" or "none"), and why."""
    challenger, recency = ev.model, ev.recency
    gate = f"recency rule ROC-AUC {recency['roc_auc']:.4f} / PR-AUC {recency['pr_auc']:.4f}"
    challenger_ok = passes_gate(challenger, recency)
    if incumbent is None:
        if challenger_ok:
            return "challenger", f"promoted: first model to beat the {gate}"
        return "none", (f"no model in use: challenger ROC-AUC {challenger['roc_auc']:.4f} / PR-AUC "
                        f"{challenger['pr_auc']:.4f} does not beat the {gate}")
    name = f"v{incumbent['model_version']}"
    incumbent_ok = passes_gate(incumbent_metrics, recency)
    if challenger_ok and (not incumbent_ok or challenger["roc_auc"] > incumbent_metrics["roc_auc"]):
        return "challenger", (f"promoted: challenger ROC-AUC {challenger['roc_auc']:.4f} vs incumbent {name} "
                              f"{incumbent_metrics['roc_auc']:.4f} on the same window; beats the {gate}")
    if incumbent_ok:
        return "incumbent", (f"kept {name}: challenger ROC-AUC {challenger['roc_auc']:.4f} <= incumbent "
                             f"{incumbent_metrics['roc_auc']:.4f} on the same window, or fails the {gate}")
    return "none", f"no model in use: neither the challenger nor {name} beats the {gate} on the latest window"


def records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.from_dicts(records, schema=RECORD_SCHEMA) if records else pl.DataFrame(schema=RECORD_SCHEMA)

