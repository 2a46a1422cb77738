"""Silver domain: typed, conformed tables over bronze (orders, lines, payments, reviews, customers)."""

import dagster as dg

from olist_next_assets.defs.schema_checks import build_schema_drift_checks
from olist_next_assets.defs.silver.assets import silver_assets

schema_drift_checks = [build_schema_drift_checks([a.key for a in silver_assets])]

defs = dg.Definitions(assets=silver_assets, asset_checks=schema_drift_checks)
