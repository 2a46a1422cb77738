"""Jobs that span domains."""

import dagster as dg

# Runs that write the lake carry this tag; dagster.yaml lets one such run at a time, so two runs
# never write the same partition at once (the others wait in the queue).
WRITES_LAKE = {"olist/writes": "lake"}

main_job = dg.define_asset_job(
    name="olist_next_job",
    tags=WRITES_LAKE,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(["ml", "churn_tuning"]),
    description="The whole graph, landing zone to weekly churn scores, for any range of weeks in one run "
                "(hyperparameter search is its own on-demand `tuning_job`).",
)

lake_job = dg.define_asset_job(
    name="lake_job",
    tags=WRITES_LAKE,
    selection=dg.AssetSelection.groups("bronze", "silver", "gold"),
    description="The medallion tables only: landing zone to bronze (with quarantine), silver and gold, "
                "the heavy transforms that the engine setting (polars or spark) computes.",
)

features_job = dg.define_asset_job(
    name="features_job",
    tags=WRITES_LAKE,
    selection=dg.AssetSelection.groups("silver", "gold"),
    description="Silver tables and the weekly Customer 360 snapshots and labels, from bronze.",
)
