"""Bronze domain: raw exports -> contract-checked Delta tables and quarantine."""

import dagster as dg

from olist_next_assets.defs.bronze.assets import bronze_assets, bronze_table_keys
from olist_next_assets.defs.bronze.jobs import bronze_job
from olist_next_assets.defs.schema_checks import build_schema_drift_checks

schema_drift_checks = [build_schema_drift_checks(bronze_table_keys)]

defs = dg.Definitions(
    assets=bronze_assets,
    asset_checks=schema_drift_checks,
    jobs=[bronze_job],
)
