"""The Olist-Next code location: every domain's definitions plus the environment's resources."""

import dagster as dg

from olist_next_assets.defs import bronze, gold, ml, outreach, silver
from olist_next_assets.defs.automation import landing_sensor, weekly_schedule
from olist_next_assets.defs.jobs import features_job, lake_job, main_job
from olist_next_assets.defs.resources import resources_for_env


def build_definitions() -> dg.Definitions:
    resources = resources_for_env()
    # Spark: every step in the run's process, so a run starts one JVM, not one per step.
    executor = dg.in_process_executor if resources["compute"].is_spark else None
    return dg.Definitions.merge(
        bronze.defs, silver.defs, gold.defs, ml.defs, outreach.defs,
        dg.Definitions(jobs=[main_job, lake_job, features_job], schedules=[weekly_schedule], sensors=[landing_sensor],
                       resources=resources, executor=executor))


defs = build_definitions()
