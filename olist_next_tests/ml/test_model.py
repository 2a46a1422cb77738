"""The churn model's logic on planted data: windows, training, baselines, canaries, reasons."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from olist_next_assets.defs.ml import checks
from olist_next_assets.lib.churn import backtest
from olist_next_assets.lib.churn.backtest import BacktestConfig, WeekInputs, records_frame, weekly_models
from olist_next_assets.lib.churn.features import FEATURES, FeatureEncoder, check_feature_list
from olist_next_assets.lib.churn.reasons import top_reasons
from olist_next_assets.lib.churn.scoring import score
from olist_next_assets.lib.churn.training import evaluate_all, fit, labelled, sample_majority
from olist_next_assets.lib.churn.tuning import tune
from olist_next_assets.lib.churn.windows import NoModel, Windows, label_summary, model_windows
from olist_next_assets.lib.snapshots import WEEK, cutoff_of
from olist_next_tests.ml.planted import FIRST_WEEK, HORIZON_DAYS, planted

SNAPSHOT_COLUMNS = ["week", "cutoff", "customer_unique_id", *FEATURES, "first_purchase_at", "last_purchase_at"]


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def split(data):
    snaps, labels = data
    windows = model_windows(FIRST_WEEK + 30 * WEEK, label_summary(labels.lazy()))
    assert isinstance(windows, Windows)
    train = sample_majority(labelled(snaps.lazy(), labels.lazy(), windows.train_from, windows.train_to), 10, 42)
    validation = labelled(snaps.lazy(), labels.lazy(), windows.validation_from, windows.validation_to).collect()
    return train, validation


def test_windows_are_out_of_time_and_matured_before_the_cutoff(data):
    summary = label_summary(data[1].lazy())
    horizon = dt.timedelta(days=HORIZON_DAYS)
    seen = 0
    for offset in range(40):
        week = FIRST_WEEK + offset * WEEK
        windows = model_windows(week, summary, min_train_positives=10, min_validation_positives=5)
        if isinstance(windows, NoModel):
            assert offset < 15, windows.reason
            continue
        seen += 1
        # every training label window closed before the first validation cutoff
        assert cutoff_of(windows.train_to) + horizon <= cutoff_of(windows.validation_from)
        # every validation label matured before this week's cutoff
        assert cutoff_of(windows.validation_to) + horizon <= cutoff_of(week)
        assert windows.validation_to - windows.validation_from == 3 * WEEK
    assert seen > 20
    early = model_windows(FIRST_WEEK + 2 * WEEK, summary)
    assert isinstance(early, NoModel) and "matured" in early.reason


def test_majority_class_is_sampled_and_weighted_back(data, split):
    train, _ = split
    returners = train.filter(~pl.col("churned"))
    churners = train.filter(pl.col("churned"))
    assert churners.height == pytest.approx(10 * returners.height, rel=0.1)
    assert returners["weight"].unique().to_list() == [1.0]
    # weights restore the population churn rate (so probabilities stay calibrated)
    weighted_churn = churners["weight"].sum() / train["weight"].sum()
    _, labels = data
    assert weighted_churn == pytest.approx(labels["churned"].mean(), abs=0.01)


def test_model_beats_both_baselines_out_of_time_and_canaries_stay_quiet(split):
    train, validation = split
    model = fit(train, seed=42)
    ev = evaluate_all(model, train, validation, seed=42)
    assert ev.model["roc_auc"] > ev.recency["roc_auc"] + 0.05
    assert ev.model["roc_auc"] > ev.rfm["roc_auc"] + 0.05
    assert ev.model["pr_auc"] > max(ev.recency["pr_auc"], ev.rfm["pr_auc"])
    assert ev.model["top_decile_lift"] > 1.5
    assert ev.model["roc_auc"] < checks.MAX_PLAUSIBLE_ROC_AUC
    assert ev.shuffled_roc_auc < checks.MAX_SHUFFLED_ROC_AUC
    calibration = ev.calibration
    assert calibration.height == 10 and calibration["customers"].sum() == validation.height
    # weighted-back sampling keeps probabilities near the truth: mean prediction ~ base rate
    assert ev.p_return.mean() == pytest.approx(ev.returned.mean(), rel=0.25)


def test_training_is_deterministic(split):
    train, validation = split
    a, b = fit(train, seed=42), fit(train, seed=42)
    np.testing.assert_array_equal(a.churn_probability(validation), b.churn_probability(validation))


def test_feature_contract_rejects_label_derived_and_post_cutoff_columns():
    assert check_feature_list(FEATURES, SNAPSHOT_COLUMNS) == []
    problems = check_feature_list([*FEATURES, "days_to_next_purchase", "last_purchase_at"], SNAPSHOT_COLUMNS)
    assert any("days_to_next_purchase is derived from the label" in p for p in problems)
    assert any("last_purchase_at is an identifier or absolute time" in p for p in problems)
    assert any("missing" in p for p in check_feature_list(FEATURES[:-1], SNAPSHOT_COLUMNS))
    record = {"model_version": [1], "features": [json.dumps([*FEATURES, "churned"])], "week": [FIRST_WEEK]}
    result = checks.feature_contract(pl.DataFrame(record), SNAPSHOT_COLUMNS)
    assert not result.passed and "churned is derived from the label" in result.description


def test_unseen_categories_become_missing_instead_of_failing(split):
    train, _ = split
    encoder = FeatureEncoder.fit(train)
    row = train.head(1).with_columns(pl.lit("XX").alias("customer_state"))
    matrix = encoder.matrix(row)
    assert np.isnan(matrix[0, list(encoder.features).index("customer_state")])
    assert FeatureEncoder.from_json(encoder.to_json()) == encoder


def test_a_planted_leak_trips_the_canary():
    snaps, labels = planted(leak=True)
    windows = model_windows(FIRST_WEEK + 30 * WEEK, label_summary(labels.lazy()))
    train = sample_majority(labelled(snaps.lazy(), labels.lazy(), windows.train_from, windows.train_to), 10, 42)
    validation = labelled(snaps.lazy(), labels.lazy(), windows.validation_from, windows.validation_to).collect()
    ev = evaluate_all(fit(train, seed=42), train, validation, seed=42)
    record = {"week": [FIRST_WEEK], "model_version": [1], "roc_auc": [ev.model["roc_auc"]],
              "shuffled_roc_auc": [ev.shuffled_roc_auc]}
    result = checks.leakage_canary(pl.DataFrame(record))
    assert not result.passed
    assert "encodes the label" in result.description


def test_shuffled_label_canary_names_its_suspicion():
    result = checks.leakage_canary(pl.DataFrame({"week": [FIRST_WEEK], "model_version": [3], "roc_auc": [0.7],
                                                 "shuffled_roc_auc": [0.61]}))
    assert not result.passed and "shuffled labels" in result.description and "overlap" in result.description


def test_quality_gate_fails_when_the_model_does_not_beat_recency():
    records = pl.DataFrame({"week": [FIRST_WEEK, FIRST_WEEK + WEEK], "model_version": [1, 1],
                            "roc_auc": [0.60, 0.55], "recency_roc_auc": [0.52, 0.56],
                            "pr_auc": [0.04, 0.04], "recency_pr_auc": [0.03, 0.03]})
    result = checks.quality_gate(records)
    assert not result.passed and str(FIRST_WEEK + WEEK) in result.description
    assert checks.quality_gate(records.head(1)).passed


def test_reasons_are_the_features_pushing_towards_churn_in_words(data):
    frame = data[0].head(1).with_columns(
        pl.lit(250.0).alias("recency_days"), pl.lit(0.5).alias("late_share"), pl.lit("RJ").alias("customer_state"),
        pl.lit(1.0).alias("review_last"),
    )
    contributions = np.zeros((1, len(FEATURES) + 1))
    for name, value in {"recency_days": 0.9, "late_share": 0.5, "review_last": 0.2, "customer_state": -1.0}.items():
        contributions[0, FEATURES.index(name)] = value
    reasons = top_reasons(frame, FEATURES, contributions).row(0, named=True)
    assert reasons["reason_1"] == "No purchase for 250 days"
    assert reasons["reason_2"] == "50% of deliveries arrived late"
    assert reasons["reason_3"] == "Last review 1.0 of 5"
    only_one = contributions.copy()
    only_one[0, FEATURES.index("late_share")] = only_one[0, FEATURES.index("review_last")] = -0.1
    reasons = top_reasons(frame, FEATURES, only_one).row(0, named=True)
    assert reasons["reason_1"] == "No purchase for 250 days" and reasons["reason_2"] is None


def test_scores_are_reproducible_with_bands_and_reasons(data, split):
    train, _ = split
    model = fit(train, seed=42)
    week = data[0].filter(pl.col("week") == FIRST_WEEK + 35 * WEEK)
    first, second = (score(week, model, 7, "run") for _ in range(2))
    assert first.equals(second)
    assert first.height == week.height and first["model_version"].unique().to_list() == [7]
    shares = first["risk_band"].value_counts(normalize=True).sort("risk_band")
    assert dict(shares.iter_rows()) == pytest.approx({"high": 0.2, "low": 0.4, "medium": 0.4}, abs=0.01)
    high = first.filter(pl.col("risk_band") == "high")
    assert high["churn_probability"].min() >= first.filter(pl.col("risk_band") == "low")["churn_probability"].max()
    assert first["reason_1"].null_count() < first.height * 0.05


def test_tuning_stays_within_its_trial_budget_and_is_seeded(split):
    train, _ = split
    a = tune(train, budget_seconds=60, max_trials=4, seed=1, threads=2)
    b = tune(train, budget_seconds=60, max_trials=4, seed=1, threads=2)
    assert a.trials == 4 and a.params == b.params
    assert a.best_roc_auc >= a.default_roc_auc  # the defaults are trial 0
    quick = tune(train, budget_seconds=0.5, max_trials=100, seed=1, threads=2)
    assert 1 <= quick.trials < 100


def test_params_come_from_the_latest_tuning_done_as_of_the_week():
    tuned = pl.DataFrame({"as_of_week": [FIRST_WEEK + 10 * WEEK, FIRST_WEEK + 20 * WEEK],
                          "params": [json.dumps({"max_depth": 3}), json.dumps({"max_depth": 6})]})
    assert backtest.params_for(FIRST_WEEK + 5 * WEEK, tuned)[1] == "defaults"
    params, source = backtest.params_for(FIRST_WEEK + 15 * WEEK, tuned)
    assert params["max_depth"] == 3 and source.startswith("tuned as of")
    assert backtest.params_for(FIRST_WEEK + 25 * WEEK, tuned)[0]["max_depth"] == 6


def test_weekly_backtest_trains_on_cadence_carries_and_registers(data, tracker):
    snaps, labels = data
    inputs = WeekInputs(snaps.lazy(), labels.lazy(), label_summary(labels.lazy()), FIRST_WEEK, None)
    weeks = [FIRST_WEEK + i * WEEK for i in range(12, 30)]
    config = BacktestConfig(cadence_weeks=4, min_train_positives=50, threads=2)
    records = records_frame(list(weekly_models(weeks, None, inputs, tracker, config)))
    assert records.height == len(weeks)
    trained = records.filter(pl.col("status") == "trained")
    assert trained.height >= 3
    # training happens only on the cadence (weeks since the first partition divisible by 4)
    assert all(((w - FIRST_WEEK).days // 7) % 4 == 0 for w in trained["week"].to_list()[1:])
    carried = records.filter(pl.col("status") == "carried")
    assert carried.height > 0 and carried["note"].str.starts_with("carried").all()
    first = records.filter(pl.col("model_version").is_not_null()).row(0, named=True)
    assert first["decision"].startswith("promoted: first model")
    # every week with a model names a registry version that exists, with its run
    for version, run_id in records.drop_nulls("model_version").select("model_version", "mlflow_run_id").unique().rows():
        registered = tracker.client.get_model_version("olist_next_churn", str(version))
        assert registered.run_id == run_id
    champion = tracker.champion()
    assert champion is not None and champion.version == records["model_version"].drop_nulls()[-1]
    assert checks.quality_gate(records).passed and checks.leakage_canary(records).passed
    # a loaded registry model predicts exactly like the one trained
    run = tracker.client.get_run(first["mlflow_run_id"])
    assert {"val_roc_auc", "recency_roc_auc", "rfm_pr_auc", "shuffled_label_roc_auc"} <= set(run.data.metrics)
    assert run.data.params["window_train_to"] == str(first["train_to"])
    artifacts = {a.path for a in tracker.client.list_artifacts(first["mlflow_run_id"], "plots")}
    assert {"plots/roc.png", "plots/precision_recall.png", "plots/lift.png", "plots/calibration.png",
            "plots/feature_importance.png"} <= artifacts

    # a rerun with the same inputs reuses the registered models: same records, no new versions
    versions = len(tracker.client.search_model_versions("name='olist_next_churn'"))
    again = records_frame(list(weekly_models(weeks, None, inputs, tracker, config)))
    assert again.equals(records)
    assert len(tracker.client.search_model_versions("name='olist_next_churn'")) == versions


def test_a_worse_challenger_is_refused_and_the_incumbent_kept(data, tracker):
    snaps, labels = data
    hobbled = pl.DataFrame({"as_of_week": [FIRST_WEEK + 19 * WEEK],  # useless parameters from week 19 on
                            "params": [json.dumps({"max_depth": 1, "eta": 0.001, "colsample_bytree": 0.05})]})
    inputs = WeekInputs(snaps.lazy(), labels.lazy(), label_summary(labels.lazy()), FIRST_WEEK, None, tuned=hobbled)
    weeks = [FIRST_WEEK + i * WEEK for i in range(16, 25)]
    records = records_frame(list(weekly_models(weeks, None, inputs, tracker, BacktestConfig(min_train_positives=50,
                                                                                            threads=2))))
    refused = records.filter(pl.col("decision").str.starts_with("kept"))
    assert refused.height >= 1
    row = refused.row(0, named=True)
    assert row["challenger_version"] != row["model_version"]
    assert row["challenger_roc_auc"] <= row["incumbent_roc_auc"] or row["challenger_roc_auc"] <= row["recency_roc_auc"]
    assert tracker.champion().version == records["model_version"].drop_nulls()[-1]
    rejected = tracker.client.get_model_version("olist_next_churn", str(row["challenger_version"]))
    assert rejected.tags["promoted"] == "false" and rejected.tags["decision"].startswith("kept")
