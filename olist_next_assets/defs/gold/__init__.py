"""Gold domain: weekly point-in-time Customer 360 snapshots and churn labels."""

import dagster as dg

from olist_next_assets.defs.gold.assets import gold_assets
from olist_next_assets.defs.schema_checks import build_schema_drift_checks

schema_drift_checks = [build_schema_drift_checks([a.key for a in gold_assets])]

defs = dg.Definitions(assets=gold_assets, asset_checks=schema_drift_checks)
