"""Gold domain: weekly point-in-time Customer 360 snapshots and churn labels."""

import dagster as dg

from olist_next_assets.defs.gold.assets import gold_assets

schema_change_checks = dg.build_column_schema_change_checks(
    assets=[a.key for a in gold_assets], severity=dg.AssetCheckSeverity.ERROR
)

defs = dg.Definitions(assets=gold_assets, asset_checks=schema_change_checks)
