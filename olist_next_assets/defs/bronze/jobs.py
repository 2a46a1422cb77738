"""Jobs over the bronze layer."""

import dagster as dg

bronze_job = dg.define_asset_job(
    name="bronze_job",
    tags={"olist/writes": "lake"},
    selection=dg.AssetSelection.groups("bronze"),
    description="Ingest the landing zone into bronze Delta tables (one run covers any week range).",
)
