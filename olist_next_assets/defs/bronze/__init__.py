"""Bronze domain: raw exports -> contract-checked Delta tables and quarantine."""

import dagster as dg

from olist_next_assets.defs.bronze.assets import bronze_assets, bronze_table_keys
from olist_next_assets.defs.bronze.jobs import bronze_job

schema_change_checks = dg.build_column_schema_change_checks(
    assets=bronze_table_keys, severity=dg.AssetCheckSeverity.ERROR
)

defs = dg.Definitions(
    assets=bronze_assets,
    asset_checks=schema_change_checks,
    jobs=[bronze_job],
)
