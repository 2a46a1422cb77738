"""Jobs that span domains."""

import dagster as dg

main_job = dg.define_asset_job(
    name="olist_next_job",
    selection=dg.AssetSelection.all(),
    description="The whole graph, landing zone to gold, for any range of weeks in one run.",
)
