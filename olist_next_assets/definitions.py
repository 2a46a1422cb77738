"""The Olist-Next code location: every domain's definitions plus the environment's resources."""

import dagster as dg

from olist_next_assets.defs import bronze
from olist_next_assets.defs.resources import resources_for_env


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(bronze.defs, dg.Definitions(resources=resources_for_env()))


defs = build_definitions()
