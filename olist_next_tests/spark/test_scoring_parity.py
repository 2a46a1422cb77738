"""Batch scoring on Spark equals the polars scorer: same probabilities, bands, reasons and versions."""

from __future__ import annotations

import polars as pl

from olist_next_assets.lib.churn.scoring import score
from olist_next_assets.lib.churn.training import fit, labelled, sample_majority
from olist_next_assets.lib.churn.windows import label_summary, model_windows
from olist_next_assets.lib.snapshots import WEEK
from olist_next_assets.lib.spark.scoring import score_weeks
from olist_next_tests.ml.planted import FIRST_WEEK, planted
from olist_next_tests.spark.parity import assert_same


def test_spark_scores_every_week_like_the_polars_scorer(spark, tmp_path):
    snaps, labels = planted(weeks=37, customers=800)
    windows = model_windows(FIRST_WEEK + 30 * WEEK, label_summary(labels.lazy()))
    train = sample_majority(labelled(snaps.lazy(), labels.lazy(), windows.train_from, windows.train_to), 10, 42)
    model = fit(train, seed=42)
    weeks = {FIRST_WEEK + 31 * WEEK: (model, 3, "run-a"), FIRST_WEEK + 32 * WEEK: (model, 3, "run-a"),
             FIRST_WEEK + 36 * WEEK: (model, 4, "run-b")}  # each week keeps its own version and run
    snaps.write_delta(str(tmp_path / "customer_360"), delta_write_options={"partition_by": ["week"]})
    frame = spark.read.format("delta").load(str(tmp_path / "customer_360"))

    on_spark = pl.from_arrow(score_weeks(frame, weeks, high_share=0.2, low_share=0.4).toArrow())
    expected = pl.concat([score(snaps.filter(pl.col("week") == week), model, version, run)
                          for week, (model, version, run) in weeks.items()])
    assert on_spark["week"].unique().sort().to_list() == sorted(weeks)  # weeks without a model: no scores
    assert_same(expected, on_spark, "churn_scores")
