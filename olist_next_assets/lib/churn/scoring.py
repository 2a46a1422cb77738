"""Weekly scores: churn probability, risk band and the top reasons, with the model version."""

from __future__ import annotations

import polars as pl

from olist_next_assets.lib.churn.reasons import TOP_REASONS, top_reasons
from olist_next_assets.lib.churn.training import ChurnModel
from olist_next_assets.lib.contracts import TIMESTAMP, WEEK_COLUMN
from olist_next_assets.lib.snapshots import CUSTOMER

SCORE_SCHEMA = pl.Schema({
    WEEK_COLUMN: pl.Date, "cutoff": TIMESTAMP, CUSTOMER: pl.String, "churn_probability": pl.Float64,
    "risk_band": pl.String, **{f"reason_{i}": pl.String for i in range(1, TOP_REASONS + 1)},
    **{f"reason_feature_{i}": pl.String for i in range(1, TOP_REASONS + 1)},
    "model_version": pl.Int64, "mlflow_run_id": pl.String,
})


def risk_band(high_share: float, low_share: float) -> pl.Expr:
    """Bands relative to the week: the ``high_share`` riskiest customers are ``high``, the
    ``low_share`` least risky ``low``. With ~97% churn everywhere, absolute thresholds would put
    nearly everyone in one band; a rank says whom to look at first."""
    rank = pl.col("churn_probability").rank("average") / pl.len()
    return (pl.when(rank > 1 - high_share).then(pl.lit("high"))
            .when(rank <= low_share).then(pl.lit("low")).otherwise(pl.lit("medium")))


def score(snapshot: pl.DataFrame, model: ChurnModel, version: int, run_id: str, *, high_share: float = 0.2,
          low_share: float = 0.4) -> pl.DataFrame:
    """Every customer of one week's snapshot, scored by one model."""
    if snapshot.is_empty():
        return pl.DataFrame(schema=SCORE_SCHEMA)
    probability, contributions = model.contributions(snapshot)
    reasons = top_reasons(snapshot, list(model.encoder.features), contributions)
    return pl.concat(
        [snapshot.select(WEEK_COLUMN, "cutoff", CUSTOMER), reasons,
         pl.DataFrame({"churn_probability": probability.astype("float64")})],
        how="horizontal",
    ).with_columns(
        risk_band(high_share, low_share).alias("risk_band"),
        pl.lit(version, pl.Int64).alias("model_version"),
        pl.lit(run_id, pl.String).alias("mlflow_run_id"),
    ).select(SCORE_SCHEMA.names())
