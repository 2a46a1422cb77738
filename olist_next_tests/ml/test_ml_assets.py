"""The ML assets in real Dagster runs on generated Olist data: bronze to weekly scores."""

from __future__ import annotations

import polars as pl
import pytest

from olist_next_tests.conftest import MODEL_CONFIG
from olist_next_tests.test_pipeline import run_graph

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graph(built_graph):
    return built_graph


def test_the_whole_graph_trains_promotes_and_scores(graph):
    lake, _, _, result, tracker = graph
    assert result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for name in ("beats_recency_baseline", "leakage_canary", "feature_contract"):
        assert evaluations[("ml/churn_model", name)], name
    assert evaluations[("ml/churn_scores", "scores_complete")]

    records = pl.read_delta(str(lake / "ml" / "churn_model")).sort("week")
    assert records.height == 112
    assert records["status"].unique().sort().to_list() == ["carried", "no_model", "trained"]
    assert records.head(20)["model_version"].null_count() == 20  # no labels have matured in the first months
    in_use = records.drop_nulls("model_version")
    assert in_use.height > 0
    assert (in_use["roc_auc"] > in_use["recency_roc_auc"]).all()
    assert (in_use["best_achievable_roc_auc"] > in_use["roc_auc"]).all()  # the generator's truth is the ceiling
    champion = tracker.champion()
    assert champion is not None and champion.version == in_use["model_version"][-1]

    scores = pl.read_delta(str(lake / "ml" / "churn_scores"))
    snap = pl.read_delta(str(lake / "gold" / "customer_360"), columns=["week", "customer_unique_id"])
    expected = snap.join(in_use.select("week"), on="week")
    assert scores.height == expected.height
    assert scores.join(in_use.select("week", "model_version"), on="week")["model_version"].equals(
        scores.join(in_use.select("week", pl.col("model_version").alias("expected")), on="week")["expected"]
    )
    # a customer without reasons has no feature pushing towards churn: never among the riskiest
    model_event = next(e for e in result.get_asset_materialization_events()
                       if e.asset_key.to_user_string() == "ml/churn_model")
    metadata = model_event.materialization.metadata
    assert metadata["lift_curve"].value.startswith("![lift curve") and "data:image/png;base64," in metadata["lift_curve"].value
    assert metadata["mlflow_run"].value.startswith("http://127.0.0.1:5000/#/experiments/")
    assert scores["reason_1"].null_count() < scores.height * 0.25
    assert scores.filter(pl.col("reason_1").is_null() & (pl.col("risk_band") == "high")).height == 0


def test_the_campaign_targets_emails_and_holds_out(graph):
    lake, _, _, result, _ = graph
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for name in ("one_row_per_target", "no_unflagged_guardrail_failure", "coupon_codes_unique", "no_email_for_holdout"):
        assert evaluations[("outreach/retention_emails", name)], name
    targets = pl.read_delta(str(lake / "outreach" / "campaign_targets"))
    emails = pl.read_delta(str(lake / "outreach" / "retention_emails"))
    scored_weeks = pl.read_delta(str(lake / "ml" / "churn_scores"), columns=["week"])["week"].unique()
    assert set(targets["week"].unique()) == set(scored_weeks)  # a campaign every week with scores
    per_week = targets.group_by("week").agg((pl.col("group") == "email").sum().alias("emails"))
    assert per_week["emails"].max() == 150
    # nobody is targeted twice within the 8-week cooldown
    repeat = targets.sort("week").group_by("customer_unique_id").agg(pl.col("week").diff().min().alias("gap"))
    assert repeat.drop_nulls("gap").filter(pl.col("gap") < pl.duration(weeks=8)).is_empty()
    written = emails.filter(pl.col("group") == "email")
    assert written["status"].unique().to_list() == ["generated"] and written["body"].null_count() == 0
    assert emails.filter(pl.col("group") == "holdout")["body"].null_count() == emails.filter(pl.col("group") == "holdout").height
    assert set(written["tone"].unique()) == {"apologetic", "referral", "friendly"}
    codes_ok = all(r["coupon_code"] in r["body"] for r in written.head(50).iter_rows(named=True))
    assert codes_ok
    lifted = pl.read_delta(str(lake / "outreach" / "campaign_lift"))
    assert lifted.height == targets["week"].n_unique()
    assert lifted["expected_net"].str.starts_with("R$").all()


def test_rerunning_recent_weeks_reproduces_models_scores_and_emails(graph):
    lake, landing, instance, _, _ = graph
    before = {t: pl.read_delta(str(lake / "ml" / t)).sort("week", "customer_unique_id" if t == "churn_scores" else "week")
              for t in ("churn_model", "churn_scores")}
    emails_before = pl.read_delta(str(lake / "outreach" / "retention_emails")).sort("week", "customer_unique_id")
    result = run_graph(lake, landing, instance, "2018-09-03", "2018-10-15", run_config=MODEL_CONFIG)
    assert result.success
    emails_after = pl.read_delta(str(lake / "outreach" / "retention_emails")).sort("week", "customer_unique_id")
    assert emails_after.equals(emails_before)  # the rerun kept every e-mail and wrote none
    materialization = next(e for e in result.get_asset_materialization_events()
                           if e.asset_key.to_user_string() == "outreach/retention_emails")
    assert materialization.materialization.metadata["written_this_run"].value == 0
    after_scores = pl.read_delta(str(lake / "ml" / "churn_scores")).sort("week", "customer_unique_id")
    assert after_scores.equals(before["churn_scores"])
    after_models = pl.read_delta(str(lake / "ml" / "churn_model")).sort("week")
    stable = ["week", "status", "model_version", "train_from", "train_to", "roc_auc"]
    assert after_models.select(stable).equals(before["churn_model"].select(stable))
