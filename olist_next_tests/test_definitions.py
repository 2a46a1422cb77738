"""The code location as the Dagster UI sees it: lineage, partitions, checks, metadata."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from olist_next_assets.definitions import defs
from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_assets.lib.contracts import CONTRACTS

GRAPH = defs.resolve_asset_graph()
EVENT_TABLES = {"orders", "order_items", "order_payments", "order_reviews"}
SILVER_WEEKLY = {"completed_orders", "order_lines"}


def test_asset_keys_and_lineage_snapshot():
    keys = {key.to_user_string() for key in GRAPH.get_all_asset_keys()}
    assert keys == {f"{layer}/{t}" for layer in ("bronze", "quarantine") for t in CONTRACTS} | {
        f"silver/{t}" for t in ("customers", "orders", "completed_orders", "order_lines", "order_payments",
                                "order_reviews")
    } | {"gold/customer_360", "gold/churn_labels", "ml/churn_tuning", "ml/churn_model", "ml/churn_scores",
         "outreach/campaign_targets", "outreach/retention_emails", "outreach/campaign_lift"}
    parents = {k.to_user_string(): sorted(p.to_user_string() for p in GRAPH.get(k).parent_keys)
               for k in GRAPH.get_all_asset_keys()}
    assert parents == {
        "silver/customers": ["bronze/customers"],
        "silver/orders": ["bronze/customers", "bronze/orders"],
        "silver/completed_orders": ["silver/order_payments", "silver/orders"],
        "silver/order_lines": ["bronze/category_translation", "bronze/order_items", "bronze/products"],
        "silver/order_payments": ["bronze/order_payments"],
        "silver/order_reviews": ["bronze/order_reviews"],
        "gold/customer_360": ["silver/order_lines", "silver/order_payments", "silver/order_reviews", "silver/orders"],
        "gold/churn_labels": ["gold/customer_360", "silver/orders"],
        "ml/churn_tuning": ["gold/churn_labels", "gold/customer_360"],
        "ml/churn_model": ["gold/churn_labels", "gold/customer_360", "ml/churn_tuning"],
        "ml/churn_scores": ["gold/customer_360", "ml/churn_model"],
        "outreach/campaign_targets": ["gold/customer_360", "ml/churn_scores"],
        "outreach/retention_emails": ["gold/customer_360", "outreach/campaign_targets", "silver/order_reviews",
                                      "silver/orders"],
        "outreach/campaign_lift": ["gold/churn_labels", "outreach/campaign_targets"],
        # a multi-asset's outputs share its inputs: quarantine/<t> has bronze/<t>'s parents
        **{f"quarantine/{t}": parents[f"bronze/{t}"] for t in CONTRACTS},
        "bronze/orders": ["bronze/customers"],
        "bronze/order_items": ["bronze/orders", "bronze/products", "bronze/sellers"],
        "bronze/order_payments": ["bronze/orders"],
        "bronze/order_reviews": ["bronze/orders"],
        "bronze/customers": [], "bronze/geolocation": [], "bronze/products": [], "bronze/sellers": [],
        "bronze/category_translation": [],
    }


def test_every_asset_explains_itself_in_the_ui():
    for key in GRAPH.get_all_asset_keys():
        node = GRAPH.get(key)
        assert node.description, key
        assert node.group_name == {"quarantine": "bronze"}.get(key.path[0], key.path[0]), key
        assert node.owners == ["team:data-engineering"], key
        assert {"polars", "delta"} <= set(node.kinds), key
        if key.path[0] in ("bronze", "quarantine"):
            assert "dagster/column_schema" in node.metadata, key


def test_event_tables_are_weekly_from_monday_utc_and_backfill_in_one_run():
    for key in GRAPH.get_all_asset_keys():
        node = GRAPH.get(key)
        weekly = key.path[0] != "quarantine" and (
            key.path[1] in EVENT_TABLES or key.path[0] == "gold" or key.path[1] in SILVER_WEEKLY
            or key.path[1] in ("churn_model", "churn_scores") or key.path[0] == "outreach"
        )
        if weekly:
            assert node.partitions_def == weekly_partitions
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
        else:
            assert node.partitions_def is None
    first = weekly_partitions.get_first_partition_window()
    assert first.start.date() == dt.date(2016, 8, 29) and first.start.weekday() == 0
    assert str(first.start.tzinfo) == "UTC"
    assert weekly_partitions.get_partition_keys()[-1] == "2018-10-15"


def test_gold_checks_guard_leakage_and_schema():
    names = {(k.asset_key.to_user_string(), k.name) for k in GRAPH.asset_check_keys}
    assert {("gold/customer_360", "point_in_time"), ("gold/customer_360", "feature_sanity"),
            ("gold/churn_labels", "label_maturity")} <= names
    for key in GRAPH.get_all_asset_keys():
        if key.path[0] in ("silver", "gold"):
            assert (key.to_user_string(), "column_schema_drift") in names, key


def test_model_checks_are_blocking_and_jobs_split_tuning_from_the_weekly_run():
    assets = defs.get_repository_def().assets_defs_by_key.values()
    specs = {(spec.asset_key.to_user_string(), spec.name): spec for node in assets for spec in node.check_specs}
    for name in ("beats_recency_baseline", "leakage_canary", "feature_contract"):
        assert specs[("ml/churn_model", name)].blocking, name
    assert specs[("ml/churn_scores", "scores_complete")].blocking
    main = {k.to_user_string() for k in defs.resolve_job_def("olist_next_job").asset_layer.selected_asset_keys}
    assert "ml/churn_model" in main and "ml/churn_scores" in main and "ml/churn_tuning" not in main
    tuning = {k.to_user_string() for k in defs.resolve_job_def("tuning_job").asset_layer.selected_asset_keys}
    assert tuning == {"ml/churn_tuning"}


def test_jobs_schedules_and_sensors_snapshot():
    jobs = {job.name: job for job in defs.get_repository_def().get_all_jobs() if not job.name.startswith("__")}
    assert set(jobs) == {"olist_next_job", "lake_job", "bronze_job", "features_job", "model_job", "tuning_job"}
    for name, job in jobs.items():
        assert job.tags.get("olist/writes") == "lake", name  # dagster.yaml queues lake writers one at a time
        assert (job.partitions_def == weekly_partitions) == (name != "tuning_job"), name
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("weekly_schedule")
    assert (schedule.cron_schedule, schedule.job_name) == ("0 6 * * 1", "olist_next_job")
    sensor = repository.get_sensor_def("landing_sensor")
    assert sensor.job_name == "olist_next_job" and sensor.minimum_interval_seconds == 60


def test_the_engine_setting_keeps_the_graph_and_runs_spark_in_one_process(monkeypatch):
    """Switching engines changes how the heavy assets compute, never the graph: same keys, checks and
    partitions; Spark runs use the in-process executor (one JVM per run), polars the default one."""
    from olist_next_assets.definitions import build_definitions

    monkeypatch.setenv("OLIST_ENGINE", "spark")
    spark_defs = build_definitions()
    spark_graph = spark_defs.resolve_asset_graph()
    assert spark_graph.get_all_asset_keys() == GRAPH.get_all_asset_keys()
    assert spark_graph.asset_check_keys == GRAPH.asset_check_keys
    assert spark_defs.resolve_job_def("olist_next_job").executor_def.name == "in_process"
    assert defs.resolve_job_def("olist_next_job").executor_def.name != "in_process"
    heavy = {"bronze/orders", "silver/orders", "silver/order_reviews", "gold/customer_360", "gold/churn_labels",
             "ml/churn_scores"}
    for key in heavy:
        assert "spark" in GRAPH.get(dg.AssetKey.from_user_string(key)).kinds, key
    monkeypatch.setenv("OLIST_ENGINE", "duckdb")
    with pytest.raises(ValueError, match="engine must be one of"):
        build_definitions()


def test_checks_guard_every_bronze_table():
    checks_by_asset: dict[str, set[str]] = {}
    for check_key in GRAPH.asset_check_keys:
        checks_by_asset.setdefault(check_key.asset_key.to_user_string(), set()).add(check_key.name)
    for table, contract in CONTRACTS.items():
        names = checks_by_asset[f"bronze/{table}"]
        assert {"contract_conformance", "row_reconciliation", "source_schema_drift"} <= names
        assert "column_schema_drift" in names, names
        assert ("primary_key_unique" in names) == bool(contract.primary_key)


def test_bronze_job_is_partitioned_and_loads():
    job = defs.resolve_job_def("bronze_job")
    assert job.partitions_def == weekly_partitions
