"""ML domain: tuning, the weekly churn model (MLflow registry) and weekly churn scores."""

import dagster as dg

from olist_next_assets.defs.ml.assets import churn_model, churn_scores, churn_tuning, ml_assets
from olist_next_assets.defs.schema_checks import build_schema_drift_checks

tuning_job = dg.define_asset_job(
    name="tuning_job",
    tags={"olist/writes": "lake"},
    selection=[churn_tuning],
    description="Hyperparameter search on demand (or on its own schedule); weekly retrains reuse the result.",
)

model_job = dg.define_asset_job(
    name="model_job",
    tags={"olist/writes": "lake"},
    selection=[churn_model, churn_scores],
    description="The weekly churn model records (retrain on cadence, promotion) and weekly scores, from gold.",
)

defs = dg.Definitions(
    assets=ml_assets,
    asset_checks=[build_schema_drift_checks([a.key for a in ml_assets if a is not churn_tuning])],
    jobs=[tuning_job, model_job],
)
