"""Hyperparameter search within a time budget (Optuna TPE, seeded).

Trials are judged on held-out *customers* of the training window (never on the out-of-time
validation weeks, which stay untouched for the model's report). The weekly retrains reuse the
best parameters with early stopping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import optuna
import polars as pl

from olist_next_assets.lib.churn.metrics import evaluate
from olist_next_assets.lib.churn.training import DEFAULT_PARAMS, _unit_hash, fit
from olist_next_assets.lib.snapshots import CUSTOMER

HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class TuningResult:
    params: dict[str, float | int]
    best_roc_auc: float
    default_roc_auc: float
    trials: int
    seconds: float


def _space(trial: optuna.Trial) -> dict[str, float | int]:
    return {
        "max_depth": trial.suggest_int("max_depth", 2, 7),
        "eta": trial.suggest_float("eta", 0.02, 0.3, log=True),
        "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 100.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 20.0, log=True),
        "gamma": trial.suggest_float("gamma", 0.0, 2.0),
    }


def tune(train: pl.DataFrame, *, budget_seconds: float, max_trials: int, seed: int = 42,
         threads: int | None = None) -> TuningResult:
    """Search until the budget or the trial count runs out; the defaults are trial 0."""
    started = time.monotonic()
    held = train.select((_unit_hash(seed + 2, CUSTOMER) < HOLDOUT_SHARE).alias("h"))["h"]
    fit_rows, holdout = train.filter(~held), train.filter(held)
    returned = (~holdout["churned"]).to_numpy()

    def score(params: dict) -> float:
        model = fit(fit_rows, params, seed=seed, threads=threads)
        return evaluate(returned, 1 - model.churn_probability(holdout))["roc_auc"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(dict(DEFAULT_PARAMS))
    remaining = budget_seconds - (time.monotonic() - started)
    study.optimize(lambda t: score(_space(t)), n_trials=max_trials, timeout=max(remaining, 1.0))
    default = study.trials[0].value
    return TuningResult(
        params=dict(study.best_params), best_roc_auc=float(study.best_value),
        default_roc_auc=float(default if default is not None else np.nan),
        trials=len(study.trials), seconds=time.monotonic() - started,
    )
