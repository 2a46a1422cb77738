"""ML: hyperparameter tuning (on demand), the weekly churn model records, and weekly scores.

``ml/churn_model`` partition W is the model as of week W: a row saying which registry version is
in use, whether it was trained, carried or refused promotion, and its out-of-time report. The
model itself lives in the MLflow registry (``olist_next_churn``). See
:mod:`olist_next_assets.lib.churn.backtest` for the rules.
"""

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from olist_next_assets.defs.common import delta_asset, output_metadata, upstream, week_dates
from olist_next_assets.defs.ml import checks
from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_assets.defs.resources import LakeResource, LandingZone, MLflowResource
from olist_next_assets.lib.churn.windows import NoModel, label_summary, model_windows
from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.delta_io import FrameStream, window_filter
from olist_next_assets.lib.engine import is_spark
from olist_next_assets.lib.snapshots import WEEK

CUSTOMER_360 = dg.AssetKey(["gold", "customer_360"])
CHURN_LABELS = dg.AssetKey(["gold", "churn_labels"])
CHURN_TUNING = dg.AssetKey(["ml", "churn_tuning"])
CHURN_MODEL = dg.AssetKey(["ml", "churn_model"])
CHURN_SCORES = dg.AssetKey(["ml", "churn_scores"])
ML_KINDS = {"xgboost", "mlflow"}


class TuningConfig(dg.Config):
    budget_seconds: float = 90.0
    """Stop starting new trials after this long (the running trial finishes)."""
    max_trials: int = 60
    as_of_week: str | None = None
    """Tune on the training window of this week's model (default: the latest week)."""
    negatives_per_positive: float = 20.0
    seed: int = 42


class ModelConfig(dg.Config):
    cadence_weeks: int = 4
    """Retrain every this many weeks (counted from the first partition); carry the model between."""
    validation_weeks: int = 4
    """Out-of-time validation: the last this many weeks of matured labels."""
    negatives_per_positive: float = 20.0
    """Churned rows kept per returning customer in training (weighted back by 1 / rate)."""
    min_train_positives: int = 300
    """Returning customers the training window needs before a model is attempted."""
    min_validation_positives: int = 20
    seed: int = 42


class ScoringConfig(dg.Config):
    high_risk_share: float = 0.2
    """The riskiest share of each week's customers is the ``high`` band."""
    low_risk_share: float = 0.4
    """The least risky share is ``low``; the rest ``medium``."""



def _first_partition() -> dt.date:
    return dt.date.fromisoformat(weekly_partitions.get_first_partition_key())


def _truth(landing: LandingZone) -> Path | None:
    from olist_next_assets.lib.churn.ceiling import truth_path

    path = truth_path(landing.root)
    return path if path.is_file() else None


ML_INPUTS = {
    "snapshots": upstream(["gold", "customer_360"], all_weeks=True),
    "labels": upstream(["gold", "churn_labels"], all_weeks=True,
                       columns=[WEEK_COLUMN, "customer_unique_id", "horizon_days", "churned"]),
}


@delta_asset(
    CHURN_TUNING.path,
    weekly=False,
    ins=ML_INPUTS,
    extra_kinds={"xgboost", "optuna", "mlflow"},
    description="Hyperparameter search (Optuna, seeded, within a time budget) on one week's training window. "
                "On demand (`tuning_job`); each run appends a row, and week W's model uses the latest tuning "
                "done as of W.",
)
def churn_tuning(context: dg.AssetExecutionContext, config: TuningConfig, lake: LakeResource, mlflow: MLflowResource,
                 snapshots: pl.LazyFrame, labels: pl.LazyFrame) -> pl.DataFrame:
    from olist_next_assets.lib.churn.training import labelled, sample_majority
    from olist_next_assets.lib.churn.tuning import tune

    as_of = dt.date.fromisoformat(config.as_of_week or weekly_partitions.get_last_partition_key())
    windows = model_windows(as_of, label_summary(labels))
    if isinstance(windows, NoModel):
        raise dg.Failure(f"Nothing to tune on as of {as_of}: {windows.reason}.")
    train = sample_majority(labelled(snapshots, labels, windows.train_from, windows.train_to),
                            config.negatives_per_positive, config.seed)
    result = tune(train, budget_seconds=config.budget_seconds, max_trials=config.max_trials, seed=config.seed)
    tracker = mlflow.tracker()
    run_id = tracker.start_run(f"churn_tuning as of {as_of}", {"dagster_run_id": context.run.run_id, "kind": "tuning"})
    tracker.log(run_id, params={**result.params, "as_of_week": as_of, "budget_seconds": config.budget_seconds,
                                **{f"window_{k}": v for k, v in windows.as_dict().items()}},
                metrics={"best_roc_auc": result.best_roc_auc, "default_roc_auc": result.default_roc_auc,
                         "trials": result.trials, "seconds": result.seconds})
    row = pl.DataFrame({
        "as_of_week": [as_of], "tuned_at": [dt.datetime.now(dt.UTC)], "params": [json.dumps(result.params)],
        "holdout_roc_auc": [result.best_roc_auc], "default_params_roc_auc": [result.default_roc_auc],
        "trials": [result.trials], "seconds": [result.seconds], "mlflow_run_id": [run_id],
    })
    history = lake.read(CHURN_TUNING)
    if not history.is_empty():  # one row per as-of week: a re-tune replaces it
        row = pl.concat([history.filter(pl.col("as_of_week") != as_of), row.cast(history.schema)]).sort("as_of_week")
    context.add_output_metadata({
        "trials": result.trials, "seconds": round(result.seconds, 1), "best_roc_auc": result.best_roc_auc,
        "default_params_roc_auc": result.default_roc_auc, "params": dg.MetadataValue.json(result.params),
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(run_id)),
    })
    return row


@delta_asset(
    CHURN_MODEL.path,
    weekly=True,
    ins=ML_INPUTS,
    deps=[CHURN_TUNING],
    extra_kinds=ML_KINDS,
    check_specs=[
        dg.AssetCheckSpec(checks.QUALITY_GATE, asset=CHURN_MODEL, blocking=True,
                          description="The model in use beats the recency-only rule on ROC-AUC and PR-AUC, "
                                      "out of time, every week."),
        dg.AssetCheckSpec(checks.LEAKAGE_CANARY, asset=CHURN_MODEL, blocking=True,
                          description=f"Out-of-time ROC-AUC <= {checks.MAX_PLAUSIBLE_ROC_AUC} and a shuffled-label "
                                      f"model <= {checks.MAX_SHUFFLED_ROC_AUC}; otherwise suspect leakage."),
        dg.AssetCheckSpec(checks.FEATURE_CONTRACT, asset=CHURN_MODEL, blocking=True,
                          description="Features = the gold contract's; no label-derived, identifier or "
                                      "absolute-time column."),
    ],
    description="The churn model as of week W (XGBoost, registered in MLflow as `olist_next_churn`): trained "
                "every `cadence_weeks` on snapshots whose labels matured before W, validated out of time, "
                "promoted only if it beats the model in use; carried forward in between.",
)
def churn_model(context: dg.AssetExecutionContext, config: ModelConfig, lake: LakeResource, landing: LandingZone,
                mlflow: MLflowResource, snapshots: pl.LazyFrame, labels: pl.LazyFrame):
    from olist_next_assets.lib.churn.backtest import BacktestConfig, WeekInputs, records_frame, weekly_models

    weeks = week_dates(context)
    previous = lake.read(CHURN_MODEL, (weeks[0] - WEEK, weeks[0]))
    inputs = WeekInputs(
        snapshots=snapshots, labels=labels, label_summary=label_summary(labels), first_partition=_first_partition(),
        truth_file=_truth(landing), tuned=lake.read(CHURN_TUNING),
        run_tags={"dagster_run_id": context.run.run_id,
                  "data_version_customer_360": str(lake.version(CUSTOMER_360)),
                  "data_version_churn_labels": str(lake.version(CHURN_LABELS))},
    )
    backtest = BacktestConfig(**config.model_dump())
    records = records_frame(list(weekly_models(
        weeks, previous.row(0, named=True) if not previous.is_empty() else None, inputs, mlflow.tracker(), backtest,
    )))
    latest = records.row(-1, named=True)
    metadata = {
        "weeks": records.height,
        "weeks_trained": records.filter(pl.col("status") == "trained").height,
        "weeks_without_model": records.filter(pl.col("model_version").is_null()).height,
        "promotions": records.filter(pl.col("decision").str.starts_with("promoted")).height,
        "latest_week": str(latest["week"]),
        "latest_status": latest["note"] or latest["status"],
        "model_weeks": dg.MetadataValue.md(_status_table(records)),
    }
    if latest["model_version"] is not None:
        metadata |= {
            "model_version": latest["model_version"],
            "roc_auc": latest["roc_auc"], "pr_auc": latest["pr_auc"], "top_decile_lift": latest["top_decile_lift"],
            "brier": latest["brier"], "recency_roc_auc": latest["recency_roc_auc"], "rfm_roc_auc": latest["rfm_roc_auc"],
            "best_achievable_roc_auc": latest["best_achievable_roc_auc"] or float("nan"),
            "mlflow_run": dg.MetadataValue.url(mlflow.run_url(latest["mlflow_run_id"])),
            "lift_curve": dg.MetadataValue.md(_mlflow_plot(mlflow, latest["mlflow_run_id"], "lift")),
        }
    yield dg.Output(records, metadata=metadata)
    written = lake.read(CHURN_MODEL, (weeks[0], weeks[-1] + WEEK))
    yield checks.quality_gate(written)
    yield checks.leakage_canary(written)
    yield checks.feature_contract(written, snapshots.collect_schema().names())


def _mlflow_plot(mlflow: MLflowResource, run_id: str, name: str) -> str:
    """A plot logged with the model's MLflow run, inline in the Dagster UI."""
    import tempfile

    from olist_next_assets.lib.previews import png_markdown

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(mlflow.tracker().client.download_artifacts(run_id, f"plots/{name}.png", tmp))
        return png_markdown(path.read_bytes(), f"{name} curve of the model in use")


def _status_table(records: pl.DataFrame) -> str:
    """The weeks where something happened (training, promotion, refusal), as Markdown."""
    events = records.filter(pl.col("status") == "trained")
    lines = ["| week | version in use | challenger | ROC-AUC | recency | decision |", "|---|---|---|---|---|---|"]
    for r in events.iter_rows(named=True):
        lines.append(f"| {r['week']} | v{r['model_version']} | v{r['challenger_version']} | {r['roc_auc']:.3f} | "
                     f"{r['recency_roc_auc']:.3f} | {r['decision']} |")
    return "\n".join(lines) if events.height else "No model trained in these weeks."


@delta_asset(
    CHURN_SCORES.path,
    weekly=True,
    ins={
        "snapshot": upstream(["gold", "customer_360"], engine=True),
        "models": upstream(["ml", "churn_model"], columns=[WEEK_COLUMN, "model_version", "mlflow_run_id"]),
    },
    extra_kinds={"xgboost", "spark"},
    check_specs=[dg.AssetCheckSpec(checks.SCORES_COMPLETE, asset=CHURN_SCORES, blocking=True,
                                   description="Every snapshot customer scored once by the week's model; "
                                               "probabilities in [0, 1].")],
    description="Every customer of week W's snapshot scored by model W: churn probability, risk band, the top 3 "
                "reasons (XGBoost feature contributions, in words) and the registry version. Weeks without a "
                "model have no scores.",
)
def churn_scores(context: dg.AssetExecutionContext, config: ScoringConfig, lake: LakeResource,
                 mlflow: MLflowResource, snapshot: Any, models: pl.LazyFrame):
    from olist_next_assets.lib.churn.scoring import SCORE_SCHEMA, score

    weeks = week_dates(context)
    records = models.collect()
    tracker = mlflow.tracker()
    with_model = records.filter(pl.col("model_version").is_not_null()).sort(WEEK_COLUMN)
    started = time.monotonic()
    metadata = {"weeks_scored": with_model.height, "weeks_without_model": records.height - with_model.height}
    in_use = list(with_model.select(WEEK_COLUMN, "model_version", "mlflow_run_id").iter_rows())

    if is_spark(snapshot):
        from olist_next_assets.lib.spark.scoring import score_weeks

        models_by_week = {week: (tracker.load(version), version, run_id) for week, version, run_id in in_use}
        yield dg.Output(score_weeks(snapshot, models_by_week, high_share=config.high_risk_share,
                                    low_share=config.low_risk_share), metadata={**metadata, "engine": "spark"})
    else:
        def frames():
            for week, version, run_id in in_use:
                rows = snapshot.filter(pl.col(WEEK_COLUMN) == week).collect()
                yield score(rows, tracker.load(version), version, run_id, high_share=config.high_risk_share,
                            low_share=config.low_risk_share)

        yield dg.Output(FrameStream(SCORE_SCHEMA, frames()), metadata={**metadata, "engine": "polars"})
    elapsed = time.monotonic() - started  # scoring and writing: the plan or stream is consumed by the write
    written = lake.read(CHURN_SCORES, (weeks[0], weeks[-1] + WEEK))
    scored = written.height
    counts = (lake.scan(CUSTOMER_360).filter(window_filter(WEEK_COLUMN, weeks[0], weeks[-1] + WEEK))
              .group_by(WEEK_COLUMN).agg(pl.len().alias("customers")).collect())
    result = checks.scores_complete(written, counts, records)
    latest = written.filter(pl.col(WEEK_COLUMN) == written[WEEK_COLUMN].max()) if not written.is_empty() else written
    yield result._replace(metadata={
        **result.metadata,
        "customers_per_second_incl_write": dg.MetadataValue.int(round(scored / elapsed) if elapsed else 0),
        "latest_week_bands": dg.MetadataValue.json(dict(latest.group_by("risk_band").len().sort("risk_band").iter_rows())),
        "latest_week_riskiest": dg.MetadataValue.md(
            output_metadata(latest.sort("churn_probability", descending=True))["preview"].value),
        "latest_week_score_distribution": dg.MetadataValue.md(_distribution(latest)),
    })


def _distribution(scores: pl.DataFrame) -> str:
    if scores.is_empty():
        return "No scores."
    from olist_next_assets.lib.churn.plots import score_distribution
    from olist_next_assets.lib.previews import figure_png, png_markdown

    return png_markdown(figure_png(score_distribution(scores["churn_probability"].to_numpy())),
                        "churn probability distribution")


ml_assets = [churn_tuning, churn_model, churn_scores]
