"""Jobs that span domains."""

import dagster as dg

main_job = dg.define_asset_job(
    name="olist_next_job",
    selection=dg.AssetSelection.all(),
    description="The whole graph, landing zone to gold, for any range of weeks in one run.",
)

features_job = dg.define_asset_job(
    name="features_job",
    selection=dg.AssetSelection.groups("silver", "gold"),
    description="Silver tables and the weekly Customer 360 snapshots and labels, from bronze.",
)
