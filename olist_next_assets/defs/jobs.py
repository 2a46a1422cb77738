"""Jobs that span domains."""

import dagster as dg

main_job = dg.define_asset_job(
    name="olist_next_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(["ml", "churn_tuning"]),
    description="The whole graph, landing zone to weekly churn scores, for any range of weeks in one run "
                "(hyperparameter search is its own on-demand `tuning_job`).",
)

features_job = dg.define_asset_job(
    name="features_job",
    selection=dg.AssetSelection.groups("silver", "gold"),
    description="Silver tables and the weekly Customer 360 snapshots and labels, from bronze.",
)
