"""Jobs over the bronze layer."""

import dagster as dg

from olist_next_assets.defs.partitions import weekly_partitions

bronze_job = dg.define_asset_job(
    name="bronze_job",
    selection=dg.AssetSelection.groups("bronze"),
    partitions_def=weekly_partitions,
    description="Ingest the landing zone into bronze Delta tables (one run covers any week range).",
)
