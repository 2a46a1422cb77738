"""Silver domain: typed, conformed tables over bronze (orders, lines, payments, reviews, customers)."""

import dagster as dg

from olist_next_assets.defs.silver.assets import silver_assets

schema_change_checks = dg.build_column_schema_change_checks(
    assets=[a.key for a in silver_assets], severity=dg.AssetCheckSeverity.ERROR
)

defs = dg.Definitions(assets=silver_assets, asset_checks=schema_change_checks)
