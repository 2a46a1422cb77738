"""Outreach domain: weekly campaign targets with a holdout, retention e-mails, measured lift."""

import dagster as dg

from olist_next_assets.defs.outreach.assets import outreach_assets
from olist_next_assets.defs.schema_checks import build_schema_drift_checks

defs = dg.Definitions(
    assets=outreach_assets,
    asset_checks=[build_schema_drift_checks([a.key for a in outreach_assets])],
)
